// AlertLedger: what alerts needlecheckd issued, and what clinicians did with
// them. Read this header first; sqlite_ledger.h has the SQLite
// implementation (the default), validation.h the request checks.
//
// Contract
// - RecordScreening() records one Screen call: request id, time, patient id,
//   knowledge-base version and each alert (alert_id, rule id, severity).
//   It only queues the screening for a background writer, which commits
//   queued screenings in batches at least every `flush_window` (200 ms by
//   default, SqliteLedgerOptions). OK means "queued": a crash (SIGKILL,
//   power loss) may lose the screenings of the last flush window; Flush()
//   and Close() commit everything queued before they were called, so a
//   clean stop (SIGTERM drain) loses nothing that was acknowledged.
//   It never waits for the disk: while the writer cannot commit (the last
//   batch commit failed: disk full, I/O error, damaged file, lock held
//   elsewhere past the busy timeout), and when the queue is full, it
//   refuses at once with UNAVAILABLE (counted as screenings_refused), so a
//   caller can go on without the record (needlecheckd answers Screen
//   without alert ids). Nothing is ever dropped silently: every screening
//   is either queued (OK) or refused with an error. The batch that failed
//   stays queued and is retried (backoff up to 1 s); the first commit that
//   succeeds ends the failing state.
// - RecordFeedback() is durable before it returns OK: the row is committed
//   (SQLite WAL, synchronous=FULL: the WAL is fsync'ed on commit). It is
//   idempotent on (alert_id, outcome, outcome_timestamp as an instant): a
//   repeat returns the first feedback's id with duplicate = true and
//   changes nothing (the first comment and reason win). An alert still in
//   the write queue is committed first, so feedback right after a Screen
//   works. While the writer cannot commit, it answers UNAVAILABLE at once
//   (it cannot be made durable), counted as feedback_refused. The user
//   comment is stored, never logged.
// - GetAlertStats() commits the queue first (read-your-writes; UNAVAILABLE
//   at once while the writer cannot commit), then
//   counts alerts by the UTC day they were issued. Per alert only its
//   latest feedback (by outcome_timestamp, then arrival) counts, so
//   accepted + overridden <= fired; top override reasons come from those
//   latest OVERRIDDEN feedbacks, by reason display, else code, else
//   "(none given)"; most frequent first, ties by reason text.
// - Errors: INVALID_ARGUMENT (the message names each bad field, e.g.
//   "outcome_timestamp: not an RFC 3339 date-time"; see validation.h),
//   NOT_FOUND (feedback for an alert_id the ledger never issued),
//   UNAVAILABLE (closed, queue full, writes failing, database busy / disk
//   full / I/O error: retry later), DATA_LOSS (damaged, empty or non-SQLite
//   file at open, a damaged page met later, or Close() could not write
//   queued screenings), FAILED_PRECONDITION (OpenSqliteLedger: file from a
//   newer needlecheckd or not a ledger), INTERNAL (anything else).
//   Messages never contain patient ids, comments or other request content.
// - access_log(): the access-audit trail kept in the same database
//   (access_log.h: durability, append-only, retention), or null when this
//   ledger keeps none.
// - Thread-safe: every method may be called concurrently from any thread.
//   Close() is idempotent; after it, every call returns UNAVAILABLE. The
//   destructor calls Close().
//
// Example
//   SqliteLedgerOptions options;
//   options.data_dir = "/var/lib/needlecheck";
//   ASSIGN_OR_RETURN(std::unique_ptr<AlertLedger> ledger,
//                    OpenSqliteLedger(options));
//   RETURN_IF_ERROR(ledger->RecordScreening(std::move(screening)));
//   ASSIGN_OR_RETURN(auto ack, ledger->RecordFeedback(feedback_request));
//   RETURN_IF_ERROR(ledger->Close());
#ifndef SERVICE_LEDGER_ALERT_LEDGER_H_
#define SERVICE_LEDGER_ALERT_LEDGER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "needlecheck/v1/alert.pb.h"
#include "needlecheck/v1/ledger.pb.h"
#include "service/ledger/access_log.h"

namespace needlecheck::ledger {

// One alert as the ledger keeps it.
struct IssuedAlert {
  std::string alert_id;  // Alert.alert_id (ids::NewUuidV4())
  std::string rule_id;
  needlecheck::v1::Severity severity = needlecheck::v1::SEVERITY_UNSPECIFIED;
};

// One Screen call.
struct ScreeningRecord {
  std::string request_id;
  // When the screening was done; its UTC day is the alerts' issue day.
  absl::Time screened_at = absl::UnixEpoch();
  std::string patient_id;
  std::string knowledge_base_version;
  std::vector<IssuedAlert> alerts;
};

// Running totals since the ledger was opened (for logs and monitoring),
// and the writer's state now.
struct LedgerCounters {
  int64_t screenings_queued = 0;     // RecordScreening() returned OK
  int64_t screenings_committed = 0;  // written and committed
  int64_t screenings_refused = 0;    // RecordScreening() returned an error
  int64_t batch_write_failures = 0;  // failed batch commits (then retried)
  int64_t feedback_recorded = 0;     // new feedback committed
  int64_t feedback_duplicates = 0;   // repeats answered with duplicate=true
  int64_t feedback_refused = 0;      // RecordFeedback() could not commit
  int64_t queue_depth = 0;           // screenings queued, not yet committed
  int64_t access_queued = 0;         // RecordAccess() returned OK
  int64_t access_refused = 0;        // RecordAccess() returned an error
  int64_t access_pruned = 0;         // records deleted past retention
  bool writes_failing = false;       // the last batch commit failed
};

class AlertLedger {
 public:
  virtual ~AlertLedger() = default;

  virtual absl::Status RecordScreening(ScreeningRecord screening) = 0;

  virtual absl::StatusOr<needlecheck::v1::RecordFeedbackResponse>
  RecordFeedback(const needlecheck::v1::RecordFeedbackRequest& request) = 0;

  virtual absl::StatusOr<needlecheck::v1::AlertStats> GetAlertStats(
      const needlecheck::v1::GetAlertStatsRequest& request) = 0;

  // Commits every screening queued before the call. UNAVAILABLE (or the
  // write error) when a commit failed; the screenings stay queued and are
  // retried.
  virtual absl::Status Flush() = 0;

  // Commits everything queued, stops the writer and closes the database.
  // DATA_LOSS names how many screenings could not be written.
  virtual absl::Status Close() = 0;

  virtual LedgerCounters Counters() const = 0;

  // The access-audit trail in this ledger's database; null: none. Owned by
  // the ledger. Pure, so that a wrapper cannot drop the trail by
  // forgetting to forward it.
  virtual AccessLog* access_log() = 0;
};

}  // namespace needlecheck::ledger

#endif  // SERVICE_LEDGER_ALERT_LEDGER_H_
