// QueuedLedger: what both ledgers (SQLite and PostgreSQL) do the same way
// around their WriteQueue (write_queue.h): RecordScreening(),
// RecordAccess(), Flush() and Counters() go to the queue, and the ledger is
// its own access log. Internal to service/ledger.
//
// Contract
// - A subclass implements the storage: WriteBatch() (one batch, one
//   transaction, on the writer thread) and DeleteExpired() (the access
//   log's pruning pass), plus the rest of AlertLedger and AccessLog.
// - It calls StartQueue() last in its constructor: the writer thread may
//   call WriteBatch()/DeleteExpired() before StartQueue() returns, so
//   everything they use must be set up. Its Close() stops the queue, and
//   its destructor calls Close() (no virtual call reaches a destroyed
//   subclass).
#ifndef SERVICE_LEDGER_INTERNAL_QUEUED_LEDGER_H_
#define SERVICE_LEDGER_INTERNAL_QUEUED_LEDGER_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/ledger/access_log.h"
#include "service/ledger/alert_ledger.h"
#include "service/ledger/internal/write_queue.h"

namespace needlecheck::ledger::internal {

class QueuedLedger : public AlertLedger, public AccessLog {
 public:
  absl::Status RecordScreening(ScreeningRecord screening) final {
    return queue_->AddScreening(std::move(screening));
  }
  absl::Status Flush() final { return queue_->Flush(); }
  LedgerCounters Counters() const final { return queue_->Counters(); }
  AccessLog* access_log() final { return this; }
  absl::Status RecordAccess(AccessEntry entry) final {
    return queue_->AddAccess(std::move(entry));
  }

 protected:
  // Commits one batch in one transaction (writer thread only).
  virtual absl::Status WriteBatch(const std::vector<QueuedWrite>& batch) = 0;
  // The pruning pass without counting (the queue counts its own passes:
  // its writer may run one before queue_ is set).
  virtual absl::StatusOr<int64_t> DeleteExpired() = 0;

  // Creates the queue and starts its writer; last in the constructor.
  void StartQueue(WriteQueueOptions options) {
    queue_ = std::make_unique<WriteQueue>(
        std::move(options),
        [this](const std::vector<QueuedWrite>& batch) {
          return WriteBatch(batch);
        },
        [this] { return DeleteExpired(); });
  }

  std::unique_ptr<WriteQueue> queue_;
};

}  // namespace needlecheck::ledger::internal

#endif  // SERVICE_LEDGER_INTERNAL_QUEUED_LEDGER_H_
