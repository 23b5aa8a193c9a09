// WriteQueue: the batched writer both ledgers share (SQLite and
// PostgreSQL): the in-memory queue of screenings and access records, the
// background thread that commits them in batches, Flush(), the failing
// state with its retries, and the counters. Internal to service/ledger;
// alert_ledger.h and access_log.h state the contract it implements.
//
// Contract
// - The owner supplies `write_batch` (commit one batch in one transaction;
//   called on the writer thread only) and `prune` (the access log's pruning
//   pass, returning how many records it deleted; called on the writer
//   thread at start and every prune_interval; a failure goes to
//   on_write_error, deletions to on_access_pruned and access_pruned). The
//   writer may call it before the constructor returns.
// - AddScreening()/AddAccess() queue or refuse at once (UNAVAILABLE:
//   closing, queue full, and, with refuse_screenings_while_failing, a
//   screening while the last commit failed). The writer commits at least
//   every flush_window, at most max_batch_screenings screenings per batch
//   (and at most as many access records besides), in queue order; a
//   failed batch is kept and retried (backoff 50 ms doubling to 1 s),
//   calling on_write_error; the first success after failures calls
//   on_write_recovered; each success calls on_batch_committed.
// - Stop() commits what is queued (a few attempts once stopping), stops
//   the writer and returns DATA_LOSS naming what it could not write; the
//   owner then closes its database and calls MarkClosed(), after which
//   Flush() and CheckOpen() answer UNAVAILABLE.
// - Thread-safe.
#ifndef SERVICE_LEDGER_INTERNAL_WRITE_QUEUE_H_
#define SERVICE_LEDGER_INTERNAL_WRITE_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "needlecheck/v1/ledger.pb.h"
#include "service/ledger/alert_ledger.h"

namespace needlecheck::ledger::internal {

// One queued write: a screening, or an access record (is_access). `seq`
// counts writes queued since open (unique per queue).
struct QueuedWrite {
  uint64_t seq = 0;
  ScreeningRecord record;
  absl::Time queued_at;
  bool is_access = false;
  AccessEntry access;
};

struct WriteQueueOptions {
  absl::Duration flush_window = absl::Milliseconds(200);
  size_t max_queued_screenings = 10000;
  size_t max_batch_screenings = 1000;
  size_t max_queued_access_records = 100000;
  absl::Duration prune_interval = absl::Hours(1);
  // SQLite: refuse screenings as soon as a commit failed; PostgreSQL: keep
  // queueing them up to the bound through an outage.
  bool refuse_screenings_while_failing = true;
  // What the writer waits for, in "queue is full" messages ("the disk").
  std::string storage = "the disk";
  std::function<void(const absl::Status&)> on_write_error;
  std::function<void(absl::Duration, int64_t)> on_write_recovered;
  std::function<void(absl::Duration, size_t)> on_batch_committed;
  std::function<void(int64_t)> on_access_pruned;
};

class WriteQueue {
 public:
  using WriteBatchFn =
      std::function<absl::Status(const std::vector<QueuedWrite>&)>;

  // Starts the writer thread.
  using PruneFn = std::function<absl::StatusOr<int64_t>()>;

  WriteQueue(WriteQueueOptions options, WriteBatchFn write_batch,
             PruneFn prune);
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;
  ~WriteQueue();

  absl::Status AddScreening(ScreeningRecord screening) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AddAccess(AccessEntry entry) ABSL_LOCKS_EXCLUDED(mu_);
  // Commits every write queued before the call (see AlertLedger::Flush).
  absl::Status Flush() ABSL_LOCKS_EXCLUDED(mu_);

  // For RecordFeedback: UNAVAILABLE when closed or stopping, or while
  // commits fail (then counted as feedback_refused); else whether the
  // alert may still be waiting in this queue (rarely true of one that is
  // not: ids are tracked by 64-bit hash, and a false true costs a Flush).
  absl::StatusOr<bool> CheckFeedbackWritable(const std::string& alert_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // UNAVAILABLE once MarkClosed() was called.
  absl::Status CheckOpen() const ABSL_LOCKS_EXCLUDED(mu_);
  // Waits up to `d`; false when Stop() began meanwhile (or before).
  bool SleepUnlessStopping(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

  // Counts the outcome of a RecordFeedback() that got past the checks.
  void CountFeedback(
      const absl::StatusOr<needlecheck::v1::RecordFeedbackResponse>& response)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Counts a pruning pass run outside the writer (AccessLog::PruneExpired).
  void CountPruned(int64_t deleted) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status Stop() ABSL_LOCKS_EXCLUDED(mu_);
  void MarkClosed() ABSL_LOCKS_EXCLUDED(mu_);
  LedgerCounters Counters() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void WriterLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void Committed(const std::vector<QueuedWrite>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WritesFailing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes per batch, at most: max_batch_screenings screenings plus as many
  // access records (each Screen queues one), so a batch is bounded whatever
  // the mix.
  size_t MaxBatchWrites() const;

  const WriteQueueOptions options_;
  const WriteBatchFn write_batch_;
  const PruneFn prune_;

  mutable absl::Mutex mu_;
  std::deque<QueuedWrite> queue_ ABSL_GUARDED_BY(mu_);
  // Hashes of the alert ids queued or in the batch being written -> how
  // many times (a repeated id would be a bug, but must not corrupt the
  // count). Hashes, not the ids: no copy of each id allocated under mu_ by
  // the gRPC threads and freed by the writer.
  absl::flat_hash_map<uint64_t, int> pending_alert_ids_ ABSL_GUARDED_BY(mu_);
  // Sequence numbers count writes queued since open; committed_seq_ is a
  // prefix of them (the writer takes from the front, commits in order).
  uint64_t queued_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t committed_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t flush_target_ ABSL_GUARDED_BY(mu_) = 0;
  size_t screenings_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  size_t access_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t write_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_write_error_ ABSL_GUARDED_BY(mu_);
  bool writes_failing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time failing_since_ ABSL_GUARDED_BY(mu_);
  int64_t failed_attempts_ ABSL_GUARDED_BY(mu_) = 0;  // in this outage
  bool closing_ ABSL_GUARDED_BY(mu_) = false;         // Stop() has begun
  bool writer_done_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // MarkClosed()
  uint64_t lost_ ABSL_GUARDED_BY(mu_) = 0;    // given up at Stop()
  LedgerCounters counters_ ABSL_GUARDED_BY(mu_);

  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  absl::Status stop_status_ ABSL_GUARDED_BY(stop_mu_);

  std::thread writer_;
};

// The queue settings of a ledger's options (SqliteLedgerOptions,
// PostgresLedgerOptions: the same field names).
template <typename LedgerOptions>
WriteQueueOptions WriteQueueOptionsFrom(const LedgerOptions& options) {
  WriteQueueOptions queue;
  queue.flush_window = options.flush_window;
  queue.max_queued_screenings = options.max_queued_screenings;
  queue.max_batch_screenings = options.max_batch_screenings;
  queue.max_queued_access_records = options.max_queued_access_records;
  queue.prune_interval = options.access_log_prune_interval;
  queue.on_write_error = options.on_write_error;
  queue.on_write_recovered = options.on_write_recovered;
  queue.on_batch_committed = options.on_batch_committed;
  queue.on_access_pruned = options.on_access_pruned;
  return queue;
}

// UNAVAILABLE "the alert ledger is closed".
absl::Status LedgerClosed();

}  // namespace needlecheck::ledger::internal

#endif  // SERVICE_LEDGER_INTERNAL_WRITE_QUEUE_H_
