#include "adapters/batch/run/chunk_router.h"

#include <algorithm>

namespace needlecheck::batch {
namespace {

// Lines taken at a time: enough to make the shared counter cheap, few
// enough to balance the two threads at a chunk's end.
constexpr size_t kBlock = 8;
// Lines longer than this are routed by the calling thread only.
constexpr size_t kHelperMaxLine = size_t{256} << 10;
// Fragment capacity a line slot keeps from one chunk to the next.
constexpr size_t kKeptFragmentBytes = size_t{64} << 10;

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

void ChunkRouter::RouteLine(ResourceRouter& router, RoutedLine& line) {
  // A long resource's fragment is not kept for the next chunk.
  if (line.fragment.capacity() > kKeptFragmentBytes) {
    std::string().swap(line.fragment);
  } else {
    line.fragment.clear();
  }
  line.route = router.RoutePadded(line.text, &line.routed);
  if (line.route.ok() && (*keep_)(line.routed)) {
    router.MapRouted(&line.fragment);
  }
}

void ChunkRouter::Work(ResourceRouter& router, bool helper) {
  std::vector<RoutedLine>& lines = *lines_;
  const size_t n = lines.size();
  for (size_t from = next_.fetch_add(kBlock); from < n;
       from = next_.fetch_add(kBlock)) {
    for (size_t i = from; i < std::min(n, from + kBlock); ++i) {
      // The helper leaves long lines to the calling thread: its parser
      // stays small, so a long line costs one parser's memory, not two.
      lines[i].deferred = helper && lines[i].text.size() > kHelperMaxLine;
      if (!lines[i].deferred) RouteLine(router, lines[i]);
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
    Work(helper_router_, /*helper=*/true);
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
  Work(router_, /*helper=*/false);
  if (helped) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ChunkRouter::HelperIdle));
    }
    for (RoutedLine& line : lines) {
      if (line.deferred) RouteLine(router_, line);
    }
  }
  lines_ = nullptr;
  keep_ = nullptr;
}

}  // namespace needlecheck::batch
