#include "service/server/reload_worker.h"

#include <utility>

namespace needlecheck::server {

ReloadWorker::ReloadWorker(std::function<void()> reload)
    : reload_(std::move(reload)), thread_([this] { Loop(); }) {}

ReloadWorker::~ReloadWorker() {
  if (thread_.joinable()) Stop(absl::InfiniteDuration());
}

bool ReloadWorker::Request() {
  absl::MutexLock lock(&mu_);
  if (stop_) return false;
  const bool folded = pending_;
  pending_ = true;
  return folded;
}

bool ReloadWorker::Stop(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    pending_ = false;
    if (!mu_.AwaitWithTimeout(absl::Condition(&done_), timeout)) return false;
  }
  thread_.join();
  return true;
}

void ReloadWorker::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ReloadWorker::HasWork));
      if (stop_) {
        done_ = true;
        return;
      }
      pending_ = false;
    }
    reload_();
  }
}

}  // namespace needlecheck::server
