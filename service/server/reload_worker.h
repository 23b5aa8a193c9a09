// ReloadWorker: runs a reload (needlecheckd's knowledge base on SIGHUP) on a
// thread of its own, so that the thread that asks for it (the signal
// thread) never waits for one and can always handle SIGTERM.
//
// Contract
// - Request() never blocks. A request made while no reload runs starts one;
//   requests made while one runs fold into a single further reload after it
//   (Request() then returns true for all but the first of them).
// - Stop() takes no more requests (a queued reload is dropped) and waits up
//   to `timeout` for a reload under way; true when the thread has ended and
//   was joined. When it returns false the thread still runs `reload`: the
//   caller must not destroy what `reload` uses, and must end the process
//   instead (needlecheckd does, after draining).
// - The destructor stops with no time limit.
// - Thread-safe.
#ifndef SERVICE_SERVER_RELOAD_WORKER_H_
#define SERVICE_SERVER_RELOAD_WORKER_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace needlecheck::server {

class ReloadWorker {
 public:
  explicit ReloadWorker(std::function<void()> reload);
  ReloadWorker(const ReloadWorker&) = delete;
  ReloadWorker& operator=(const ReloadWorker&) = delete;
  ~ReloadWorker();

  bool Request() ABSL_LOCKS_EXCLUDED(mu_);
  bool Stop(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pending_ || stop_;
  }

  const std::function<void()> reload_;
  absl::Mutex mu_;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_RELOAD_WORKER_H_
