// LoopWorkerPool<Job, Result>: the worker threads of an event-loop server.
// The loop thread Submit()s jobs; `threads` threads take them in order and
// run `work(job)` (which may block: a gRPC call, a database transaction);
// each result goes back to the loop thread, where `deliver(result)` runs
// as a libevent callback of `base`. So the loop never blocks and the
// results are handled on the thread that owns the connections.
//
// Contract
// - `work` runs on a pool thread and must not throw. `deliver` runs on the
//   thread running `base`'s loop, for every result, in the order the
//   results were made; results made after the loop stopped are dropped.
// - Stop(): jobs not started are dropped, the threads are joined (a job in
//   progress is waited for). Idempotent; the destructor calls it. Call it
//   before `base` is freed, and before what `work` uses goes.
// - Post(result): a result made outside `work` (a job finished by an
//   asynchronous callback) goes to `deliver` the same way.
// - Thread safety: Submit() and Post() from any thread (normally the
//   loop's and a callback's); Stop() from one thread, not a pool thread.
#ifndef ADAPTERS_COMMON_LOOP_WORKER_POOL_H_
#define ADAPTERS_COMMON_LOOP_WORKER_POOL_H_

#include <event2/event.h>

#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace needlecheck::event_server {

template <typename Job, typename Result>
class LoopWorkerPool {
 public:
  using Work = std::function<Result(Job& job)>;
  using Deliver = std::function<void(Result& result)>;

  // `base` must be thread-aware (PrepareProcessForEventServers()).
  LoopWorkerPool(event_base* base, int threads, Work work, Deliver deliver)
      : work_(std::move(work)),
        deliver_(std::move(deliver)),
        results_event_(event_new(base, -1, 0, &OnResults, this)) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Loop(); });
    }
  }
  LoopWorkerPool(const LoopWorkerPool&) = delete;
  LoopWorkerPool& operator=(const LoopWorkerPool&) = delete;
  ~LoopWorkerPool() {
    Stop();
    if (results_event_ != nullptr) event_free(results_event_);
  }

  void Submit(Job job) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    jobs_.push_back(std::move(job));
  }

  // Hands a result made elsewhere (say, by a callback that finishes a job
  // asynchronously) to `deliver` on the loop thread, as if a pool thread
  // had returned it. Any thread; only while the pool exists.
  void Post(Result result) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      results_.push_back(std::move(result));
    }
    event_active(results_event_, EV_READ, 0);
  }

  void Stop() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_) {
    for (;;) {
      Job job;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return stop_ || !jobs_.empty();
        };
        mu_.Await(absl::Condition(&ready));
        if (stop_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      Post(work_(job));
    }
  }

  static void OnResults(evutil_socket_t, short, void* self) {
    auto* pool = static_cast<LoopWorkerPool*>(self);
    std::vector<Result> results;
    {
      absl::MutexLock lock(&pool->mu_);
      results.swap(pool->results_);
    }
    for (Result& r : results) pool->deliver_(r);
  }

  const Work work_;
  const Deliver deliver_;
  event* const results_event_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<Result> results_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace needlecheck::event_server

#endif  // ADAPTERS_COMMON_LOOP_WORKER_POOL_H_
