#include "service/ledger/internal/write_queue.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace needlecheck::ledger::internal {
namespace {

// Retry backoff for failed batch commits. The cap is also how long the
// ledger may take to notice that the storage works again.
constexpr absl::Duration kFirstRetryDelay = absl::Milliseconds(50);
constexpr absl::Duration kMaxRetryDelay = absl::Seconds(1);
// Attempts per batch once Stop() has begun, before giving up.
constexpr int kCloseAttempts = 3;

// The key of an alert id in pending_alert_ids_.
uint64_t AlertIdKey(absl::string_view alert_id) {
  return static_cast<uint64_t>(absl::HashOf(alert_id));
}

}  // namespace

absl::Status LedgerClosed() {
  return absl::UnavailableError("the alert ledger is closed");
}

WriteQueue::WriteQueue(WriteQueueOptions options, WriteBatchFn write_batch,
                       PruneFn prune)
    : options_(std::move(options)),
      write_batch_(std::move(write_batch)),
      prune_(std::move(prune)) {
  writer_ = std::thread([this] { WriterLoop(); });
}

WriteQueue::~WriteQueue() { Stop().IgnoreError(); }

absl::Status WriteQueue::AddScreening(ScreeningRecord screening) {
  absl::MutexLock lock(&mu_);
  if (closing_) {
    ++counters_.screenings_refused;
    return LedgerClosed();
  }
  // Never wait for the storage: the caller answers without the record.
  if (writes_failing_ && options_.refuse_screenings_while_failing) {
    ++counters_.screenings_refused;
    return WritesFailing();
  }
  if (screenings_waiting_ >= options_.max_queued_screenings) {
    ++counters_.screenings_refused;
    return absl::UnavailableError(
        absl::StrCat("the alert ledger's write queue is full (",
                     options_.max_queued_screenings, " screenings waiting for ",
                     options_.storage, ")"));
  }
  for (const IssuedAlert& alert : screening.alerts) {
    ++pending_alert_ids_[AlertIdKey(alert.alert_id)];
  }
  QueuedWrite item;
  item.seq = queued_seq_++;
  item.record = std::move(screening);
  item.queued_at = absl::Now();
  queue_.push_back(std::move(item));
  ++screenings_waiting_;
  ++counters_.screenings_queued;
  return absl::OkStatus();
}

absl::Status WriteQueue::AddAccess(AccessEntry entry) {
  absl::MutexLock lock(&mu_);
  if (closing_) {
    ++counters_.access_refused;
    return LedgerClosed();
  }
  // Queued even while writes fail (access_log.h): refused only when full.
  if (access_waiting_ >= options_.max_queued_access_records) {
    ++counters_.access_refused;
    return absl::UnavailableError(
        absl::StrCat("the access log's write queue is full (",
                     options_.max_queued_access_records,
                     " access records waiting for ", options_.storage, ")"));
  }
  QueuedWrite item;
  item.seq = queued_seq_++;
  item.queued_at = absl::Now();
  item.is_access = true;
  item.access = std::move(entry);
  queue_.push_back(std::move(item));
  ++access_waiting_;
  ++counters_.access_queued;
  return absl::OkStatus();
}

absl::Status WriteQueue::WritesFailing() const {
  return absl::UnavailableError(
      absl::StrCat("the alert ledger cannot write at the moment (failing for ",
                   absl::FormatDuration(absl::Trunc(
                       absl::Now() - failing_since_, absl::Milliseconds(1))),
                   "): ", last_write_error_.message()));
}

absl::Status WriteQueue::Flush() {
  absl::MutexLock lock(&mu_);
  if (closed_) return LedgerClosed();
  const uint64_t target = queued_seq_;
  if (committed_seq_ >= target) return absl::OkStatus();
  if (writes_failing_) return WritesFailing();
  flush_target_ = std::max(flush_target_, target);
  const int64_t failures_before = write_failures_;
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return committed_seq_ >= target || write_failures_ > failures_before ||
           writer_done_;
  };
  mu_.Await(absl::Condition(&done));
  if (committed_seq_ >= target) return absl::OkStatus();
  if (!last_write_error_.ok()) {
    return absl::Status(last_write_error_.code(),
                        absl::StrCat("the alert ledger could not commit "
                                     "queued screenings: ",
                                     last_write_error_.message()));
  }
  return LedgerClosed();
}

absl::StatusOr<bool> WriteQueue::CheckFeedbackWritable(
    const std::string& alert_id) {
  absl::MutexLock lock(&mu_);
  if (closed_ || closing_) return LedgerClosed();
  // It could not be made durable: say so now rather than after a wait.
  if (writes_failing_) {
    ++counters_.feedback_refused;
    return WritesFailing();
  }
  return pending_alert_ids_.contains(AlertIdKey(alert_id));
}

absl::Status WriteQueue::CheckOpen() const {
  absl::MutexLock lock(&mu_);
  return closed_ ? LedgerClosed() : absl::OkStatus();
}

bool WriteQueue::SleepUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto closing = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closing_; };
  return !mu_.AwaitWithTimeout(absl::Condition(&closing), d);
}

void WriteQueue::CountFeedback(
    const absl::StatusOr<needlecheck::v1::RecordFeedbackResponse>& response) {
  absl::MutexLock lock(&mu_);
  if (!response.ok()) {
    if (!absl::IsNotFound(response.status())) ++counters_.feedback_refused;
  } else if (response->duplicate()) {
    ++counters_.feedback_duplicates;
  } else {
    ++counters_.feedback_recorded;
  }
}

void WriteQueue::CountPruned(int64_t deleted) {
  absl::MutexLock lock(&mu_);
  counters_.access_pruned += deleted;
}

void WriteQueue::Committed(const std::vector<QueuedWrite>& batch) {
  committed_seq_ += batch.size();
  for (const QueuedWrite& w : batch) {
    if (w.is_access) {
      --access_waiting_;
      continue;
    }
    --screenings_waiting_;
    ++counters_.screenings_committed;
    for (const IssuedAlert& alert : w.record.alerts) {
      auto it = pending_alert_ids_.find(AlertIdKey(alert.alert_id));
      if (it != pending_alert_ids_.end() && --it->second <= 0) {
        pending_alert_ids_.erase(it);
      }
    }
  }
}

size_t WriteQueue::MaxBatchWrites() const {
  return 2 * options_.max_batch_screenings;
}

void WriteQueue::WriterLoop() {
  std::vector<QueuedWrite> batch;
  absl::Duration retry_delay = kFirstRetryDelay;
  int attempts = 0;  // for the current batch
  mu_.Lock();
  while (true) {
    if (batch.empty()) {
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || closing_;
      };
      if (!closing_ && absl::Now() >= next_prune_) {
        mu_.Unlock();
        const absl::StatusOr<int64_t> pruned = prune_();
        if (!pruned.ok() && options_.on_write_error) {
          options_.on_write_error(pruned.status());
        }
        if (pruned.ok() && *pruned > 0 && options_.on_access_pruned) {
          options_.on_access_pruned(*pruned);
        }
        mu_.Lock();
        if (pruned.ok()) counters_.access_pruned += *pruned;
        // A failed pass is retried at the next interval, like a good one.
        next_prune_ = absl::Now() + options_.prune_interval;
      }
      // Clamped, so that a wall-clock step cannot postpone the prune.
      mu_.AwaitWithTimeout(
          absl::Condition(&has_work),
          std::clamp(next_prune_ - absl::Now(), absl::ZeroDuration(),
                     options_.prune_interval));
      if (queue_.empty() && !closing_) continue;  // time to prune
      if (queue_.empty()) break;  // closing, and everything is committed
      // Let the batch fill for the rest of its window, unless someone is
      // waiting for it or it is already full.
      auto cut_short = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closing_ || flush_target_ > committed_seq_ ||
               screenings_waiting_ >= options_.max_batch_screenings ||
               queue_.size() >= MaxBatchWrites();
      };
      // Clamped, so that a wall-clock step cannot stretch the window.
      const absl::Duration waited = absl::Now() - queue_.front().queued_at;
      const absl::Duration left =
          std::clamp(options_.flush_window - waited, absl::ZeroDuration(),
                     options_.flush_window);
      mu_.AwaitWithTimeout(absl::Condition(&cut_short), left);
      size_t screenings = 0;
      while (!queue_.empty() && batch.size() < MaxBatchWrites()) {
        if (!queue_.front().is_access) {
          if (screenings == options_.max_batch_screenings) break;
          ++screenings;
        }
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      attempts = 0;
    }
    mu_.Unlock();
    const absl::Time write_start = absl::Now();
    const absl::Status status = write_batch_(batch);
    if (status.ok() && options_.on_batch_committed) {
      options_.on_batch_committed(absl::Now() - write_start, batch.size());
    }
    ++attempts;
    if (!status.ok() && options_.on_write_error) {
      options_.on_write_error(status);
    }
    mu_.Lock();
    if (status.ok() && writes_failing_) {
      writes_failing_ = false;
      const absl::Duration failing_for = absl::Now() - failing_since_;
      const int64_t failed_attempts = failed_attempts_;
      failed_attempts_ = 0;
      if (options_.on_write_recovered) {
        mu_.Unlock();
        options_.on_write_recovered(failing_for, failed_attempts);
        mu_.Lock();
      }
    }
    if (status.ok()) {
      Committed(batch);
      batch.clear();
      retry_delay = kFirstRetryDelay;
      continue;
    }
    ++write_failures_;
    ++counters_.batch_write_failures;
    last_write_error_ = status;
    if (!writes_failing_) {
      writes_failing_ = true;
      failing_since_ = absl::Now();
    }
    ++failed_attempts_;
    if (closing_ && attempts >= kCloseAttempts) {
      // Give up: Stop() reports how many writes this loses.
      lost_ = batch.size() + queue_.size();
      break;
    }
    // Back off before retrying the same batch; Stop() cuts the wait short.
    auto closing = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closing_; };
    mu_.AwaitWithTimeout(absl::Condition(&closing), retry_delay);
    retry_delay = std::min(retry_delay * 2, kMaxRetryDelay);
  }
  writer_done_ = true;
  mu_.Unlock();
}

absl::Status WriteQueue::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (stopped_) return stop_status_;
  stopped_ = true;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  writer_.join();
  absl::MutexLock lock(&mu_);
  if (lost_ > 0) {
    stop_status_ = absl::DataLossError(
        absl::StrCat("the alert ledger could not write ", lost_,
                     " queued screenings and access records before closing: ",
                     last_write_error_.message()));
  }
  return stop_status_;
}

void WriteQueue::MarkClosed() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

LedgerCounters WriteQueue::Counters() const {
  absl::MutexLock lock(&mu_);
  LedgerCounters counters = counters_;
  counters.queue_depth = static_cast<int64_t>(screenings_waiting_);
  counters.writes_failing = writes_failing_;
  return counters;
}

}  // namespace needlecheck::ledger::internal
