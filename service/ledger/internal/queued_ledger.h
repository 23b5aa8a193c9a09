// QueuedLedger: what both ledgers (SQLite and PostgreSQL) do the same way
// around their WriteQueue (write_queue.h): RecordScreening(),
// RecordAccess(), Flush() and Counters() go to the queue, and the ledger is
// its own access log; RecordFeedback() (validation, committing a still
// queued alert first, the new feedback id, counting) and PruneExpired()
// (counted pruning) are the same steps around the storage's part.
// Internal to service/ledger.
//
// Contract
// - A subclass implements the storage: WriteBatch() (one batch, one
//   transaction, on the writer thread), DeleteExpired() (the access log's
//   pruning pass) and InsertFeedback() (one validated feedback row), plus
//   the rest of AlertLedger and AccessLog.
// - It calls StartQueue() last in its constructor: the writer thread may
//   call WriteBatch()/DeleteExpired() before StartQueue() returns, so
//   everything they use must be set up. Its Close() stops the queue, and
//   its destructor calls Close() (no virtual call reaches a destroyed
//   subclass).
#ifndef SERVICE_LEDGER_INTERNAL_QUEUED_LEDGER_H_
#define SERVICE_LEDGER_INTERNAL_QUEUED_LEDGER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "needlecheck/v1/ledger.pb.h"
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
  absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> RecordFeedback(
      const needlecheck::v1::RecordFeedbackRequest& request) final;
  absl::StatusOr<int64_t> PruneExpired() final;

 protected:
  // Commits one batch in one transaction (writer thread only).
  virtual absl::Status WriteBatch(const std::vector<QueuedWrite>& batch) = 0;
  // The pruning pass without counting (the queue counts its own passes:
  // its writer may run one before queue_ is set).
  virtual absl::StatusOr<int64_t> DeleteExpired() = 0;
  // Records feedback on the alert `request` names (request validated,
  // `outcome_at` its parsed outcome time) under `new_feedback_id`:
  // NOT_FOUND for an unknown alert; durable when it returns OK.
  virtual absl::StatusOr<needlecheck::v1::RecordFeedbackResponse>
  InsertFeedback(const needlecheck::v1::RecordFeedbackRequest& request,
                 absl::Time outcome_at, const std::string& new_feedback_id) = 0;

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
