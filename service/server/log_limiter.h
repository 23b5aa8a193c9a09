// LogLimiter: one log line per interval for an event that every call may
// hit (a full disk under the alert ledger), with a count of the events held
// back, so that a fault is logged once per interval, not once per call.
//
// Contract
// - ShouldLog() counts one event. It returns true for the first event and
//   then for the first one at least `interval` after the last logged one;
//   *held_back is then the number of events not logged in between.
// - Thread-safe; never blocks beyond a short mutex.
//
// Example
//   LogLimiter limiter(absl::Seconds(10));
//   int64_t held_back = 0;
//   if (limiter.ShouldLog(&held_back)) {
//     LogError("ledger_record_failed", {{"not_logged_since_last", held_back}});
//   }
#ifndef SERVICE_SERVER_LOG_LIMITER_H_
#define SERVICE_SERVER_LOG_LIMITER_H_

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace needlecheck::server {

class LogLimiter {
 public:
  // `clock` defaults (null) to absl::Now.
  explicit LogLimiter(absl::Duration interval,
                      std::function<absl::Time()> clock = nullptr);

  bool ShouldLog(int64_t* held_back) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const absl::Duration interval_;
  const std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  bool logged_any_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_logged_ ABSL_GUARDED_BY(mu_);
  int64_t held_back_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_LOG_LIMITER_H_
