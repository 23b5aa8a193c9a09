#include "service/ledger/internal/queued_ledger.h"

#include <string>
#include <vector>

#include "common/ids/uuid.h"
#include "service/ledger/validation.h"

namespace needlecheck::ledger::internal {

using ::needlecheck::v1::RecordFeedbackRequest;
using ::needlecheck::v1::RecordFeedbackResponse;

absl::StatusOr<RecordFeedbackResponse> QueuedLedger::RecordFeedback(
    const RecordFeedbackRequest& request) {
  if (std::vector<FieldError> errors = ValidateFeedbackRequest(request);
      !errors.empty()) {
    return InvalidArgumentFromErrors("invalid feedback", errors);
  }
  absl::StatusOr<absl::Time> outcome_at =
      ParseRfc3339(request.outcome_timestamp());
  if (!outcome_at.ok()) return outcome_at.status();  // validated above
  // Refused at once while commits fail (it could not be made durable).
  absl::StatusOr<bool> pending =
      queue_->CheckFeedbackWritable(request.alert_id());
  if (!pending.ok()) return pending.status();
  absl::StatusOr<RecordFeedbackResponse> response = [&]() {
    using Result = absl::StatusOr<RecordFeedbackResponse>;
    if (*pending) {
      // The alert is still in the write queue: commit it first.
      if (absl::Status s = Flush(); !s.ok()) return Result(s);
    }
    absl::StatusOr<std::string> feedback_id = ids::NewUuidV4();
    if (!feedback_id.ok()) return Result(feedback_id.status());
    return InsertFeedback(request, *outcome_at, *feedback_id);
  }();
  queue_->CountFeedback(response);
  return response;
}

absl::StatusOr<int64_t> QueuedLedger::PruneExpired() {
  absl::StatusOr<int64_t> deleted = DeleteExpired();
  if (deleted.ok()) queue_->CountPruned(*deleted);
  return deleted;
}

}  // namespace needlecheck::ledger::internal
