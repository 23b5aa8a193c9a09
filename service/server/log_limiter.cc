#include "service/server/log_limiter.h"

#include <utility>

#include "absl/time/clock.h"

namespace needlecheck::server {

LogLimiter::LogLimiter(absl::Duration interval,
                       std::function<absl::Time()> clock)
    : interval_(interval), clock_(std::move(clock)) {}

bool LogLimiter::ShouldLog(int64_t* held_back) {
  const absl::Time now = clock_ ? clock_() : absl::Now();
  absl::MutexLock lock(&mu_);
  if (logged_any_ && now - last_logged_ < interval_) {
    ++held_back_;
    return false;
  }
  logged_any_ = true;
  last_logged_ = now;
  *held_back = held_back_;
  held_back_ = 0;
  return true;
}

}  // namespace needlecheck::server
