#include "service/server/reload_worker.h"

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace needlecheck::server {
namespace {

// A reload that blocks until released, counting how often it ran.
class BlockingReload {
 public:
  void Run() {
    absl::MutexLock lock(&mu_);
    ++started_;
    mu_.Await(absl::Condition(&released_));
    ++finished_;
  }
  void WaitStarted(int n) {
    absl::MutexLock lock(&mu_);
    auto started = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return started_ >= n;
    };
    mu_.Await(absl::Condition(&started));
  }
  void WaitFinished(int n) {
    absl::MutexLock lock(&mu_);
    auto finished = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return finished_ >= n;
    };
    mu_.Await(absl::Condition(&finished));
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }
  int started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }

 private:
  absl::Mutex mu_;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  int finished_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(ReloadWorkerTest, RequestsDuringAReloadFoldIntoOneMore) {
  BlockingReload reload;
  ReloadWorker worker([&reload] { reload.Run(); });
  EXPECT_FALSE(worker.Request());
  reload.WaitStarted(1);
  // The reload is blocked; requests return at once and fold into one.
  EXPECT_FALSE(worker.Request());
  EXPECT_TRUE(worker.Request());
  EXPECT_TRUE(worker.Request());
  reload.Release();
  reload.WaitFinished(2);
  EXPECT_TRUE(worker.Stop(absl::Seconds(60)));
  EXPECT_EQ(reload.started(), 2);
}

TEST(ReloadWorkerTest, StopGivesUpOnAStuckReload) {
  BlockingReload reload;
  auto worker = std::make_unique<ReloadWorker>([&reload] { reload.Run(); });
  worker->Request();
  reload.WaitStarted(1);
  EXPECT_FALSE(worker->Stop(absl::Milliseconds(50)));
  EXPECT_FALSE(worker->Request());  // no more after Stop()
  reload.Release();
  EXPECT_TRUE(worker->Stop(absl::Seconds(60)));
  worker.reset();
  EXPECT_EQ(reload.started(), 1);
}

TEST(ReloadWorkerTest, StopsWhenIdle) {
  std::atomic<int> runs{0};
  ReloadWorker worker([&runs] { ++runs; });
  EXPECT_TRUE(worker.Stop(absl::Seconds(60)));
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace needlecheck::server
