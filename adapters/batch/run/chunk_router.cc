#include "adapters/batch/run/chunk_router.h"

#include <algorithm>

namespace needlecheck::batch {
namespace {

// Lines taken at a time: enough to make the shared counter cheap, few
// enough to balance the two threads at a chunk's end.
constexpr size_t kBlock = 8;

}  // namespace

ChunkRouter::ChunkRouter(int threads) {
  if (threads > 1) helper_ = std::thread([this] { HelperLoop(); });
}

ChunkRouter::~ChunkRouter() {
  if (!helper_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  helper_.join();
}

void ChunkRouter::Work(ResourceRouter& router) {
  std::vector<RoutedLine>& lines = *lines_;
  const size_t n = lines.size();
  for (size_t from = next_.fetch_add(kBlock); from < n;
       from = next_.fetch_add(kBlock)) {
    for (size_t i = from; i < std::min(n, from + kBlock); ++i) {
      RoutedLine& line = lines[i];
      line.fragment.clear();
      line.route = router.RoutePadded(line.text, &line.routed);
      if (line.route.ok() && (*keep_)(line.routed)) {
        router.MapRouted(&line.fragment);
      }
    }
  }
}

bool ChunkRouter::HelperHasWork() const {
  return stop_ || generation_ != helper_seen_;
}

bool ChunkRouter::HelperIdle() const { return !helper_busy_; }

void ChunkRouter::HelperLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ChunkRouter::HelperHasWork));
      if (stop_) return;
      helper_seen_ = generation_;
    }
    Work(helper_router_);
    absl::MutexLock lock(&mu_);
    helper_busy_ = false;
  }
}

void ChunkRouter::Route(std::vector<RoutedLine>& lines,
                        absl::FunctionRef<bool(const RouteResult&)> keep) {
  lines_ = &lines;
  keep_ = &keep;
  next_.store(0);
  const bool helped = helper_.joinable() && lines.size() > kBlock;
  if (helped) {
    absl::MutexLock lock(&mu_);
    helper_busy_ = true;
    ++generation_;
  }
  Work(router_);
  if (helped) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ChunkRouter::HelperIdle));
  }
  lines_ = nullptr;
  keep_ = nullptr;
}

}  // namespace needlecheck::batch
