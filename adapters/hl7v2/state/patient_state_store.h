// PatientStateStore: what needlecheck-hl7 remembers between messages, kept
// durably: each patient's record (a needlecheck.v1.PatientRecord built from
// ADT feeds), which identifiers name which patient, the ACK of every
// message answered (so that a resent message gets the same ACK and changes
// nothing), and the outbox of ORU^R01 messages for the alerts receiver.
// Backends: SQLite (sqlite_state_store.h) and PostgreSQL
// (postgres_state_store.h), with one contract.
//
// Contract
// - Every method is one transaction: it happens wholly or not at all, and
//   it is durable (SQLite: WAL with synchronous=FULL; PostgreSQL:
//   synchronous_commit=on) before the method returns OK. A message whose ACK
//   was returned by UpdatePatient/MergePatients/RecordAck survives a crash
//   of the process (and of the machine, as far as fsync reaches).
// - Duplicates: a MessageKey (sender + control id) is answered once. When it
//   is already recorded, UpdatePatient/MergePatients/RecordAck return the
//   stored ACK and change nothing, also when two callers race with the same
//   key: both get the ACK of the one that committed first.
// - Identifiers: PatientIdentifier::Key() links to one patient. A message
//   may name several identifiers; those not yet known are linked to the
//   patient the others name (or to a new patient). When the identifiers of
//   one message name two DIFFERENT stored patients, the store refuses it
//   with FAILED_PRECONDITION and changes nothing: picking one of them could
//   attach one person's allergy list to another's record (AL1/DG1 lists
//   are snapshots that replace the stored ones), and merging two patients
//   is what ADT^A40 is for. LoadPatient refuses such ids the same way.
// - Mutations (RecordMutation, RecordMerge) may run more than once for one
//   call (the transaction is retried after a conflict with a concurrent
//   caller), always on a freshly loaded record: they must depend only on
//   their arguments, and must not call the store (they run inside its
//   transaction). An error from `mutate` rolls everything back and is
//   returned as is.
// - Concurrent updates of one patient serialize: no update is lost.
// - Errors: INVALID_ARGUMENT (no identifier, an identifier with an empty
//   id, a negative limit, a record whose text fields are not UTF-8, which
//   protobuf could not parse back), FAILED_PRECONDITION (conflicting
//   identifiers, see above), NOT_FOUND (MarkDelivered/MarkAttempted of an id
//   not queued), UNAVAILABLE (the database cannot be reached or written, busy
//   beyond the timeouts), DATA_LOSS (a damaged file or stored record), INTERNAL
//   otherwise. Messages name the operation and the database's error text,
//   never patient data, identifiers or message contents: safe to log.
// - Thread-safe: any number of threads may call any method at once.
#ifndef ADAPTERS_HL7V2_STATE_PATIENT_STATE_STORE_H_
#define ADAPTERS_HL7V2_STATE_PATIENT_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/patient_identifier.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::hl7v2 {

class PatientStateStore {
 public:
  virtual ~PatientStateStore() = default;
  using RecordMutation =
      std::function<absl::Status(needlecheck::v1::PatientRecord*)>;
  using RecordMerge =
      std::function<void(const needlecheck::v1::PatientRecord& prior,
                         needlecheck::v1::PatientRecord* surviving)>;

  // The ACK stored for `key`, or nullopt when this message was never
  // answered.
  virtual absl::StatusOr<std::optional<std::string>> FindAck(
      const MessageKey& key) = 0;
  // If `key` is recorded: returns its stored ACK, changes nothing. Else:
  // loads the patient any of `ids` names (empty record for a new patient),
  // runs `mutate` (its error aborts everything and is returned), saves the
  // record, links every id to the patient, records key -> `ack`, returns
  // `ack`.
  virtual absl::StatusOr<std::string> UpdatePatient(
      const MessageKey& key, const std::vector<PatientIdentifier>& ids,
      const RecordMutation& mutate, absl::string_view ack) = 0;
  // A40. Same duplicate rule. The prior patient's record is merged into the
  // surviving one (created if unknown), the prior ids re-linked to the
  // survivor, the prior record removed. When no prior patient is stored,
  // `merge` is not called and the prior ids are linked to the survivor;
  // when both lists already name the same patient, only the links change.
  virtual absl::StatusOr<std::string> MergePatients(
      const MessageKey& key, const std::vector<PatientIdentifier>& surviving,
      const std::vector<PatientIdentifier>& prior, const RecordMerge& merge,
      absl::string_view ack) = 0;
  // The record of the patient any of `ids` names; an empty record when none
  // is known.
  virtual absl::StatusOr<needlecheck::v1::PatientRecord> LoadPatient(
      const std::vector<PatientIdentifier>& ids) = 0;
  // Records key -> `ack` (a screened or not-screened booking) and, when
  // `outbound` is non-empty, queues `outbound` (an ER7 ORU^R01) for the
  // alerts receiver, atomically. Same duplicate rule.
  virtual absl::StatusOr<std::string> RecordAck(const MessageKey& key,
                                                absl::string_view ack,
                                                absl::string_view outbound) = 0;
  struct OutboundMessage {
    int64_t id = 0;
    std::string message;
    int attempts = 0;
  };
  // At most `limit` queued messages, oldest first (by id: queue order).
  virtual absl::StatusOr<std::vector<OutboundMessage>> PendingOutbound(
      int limit) = 0;
  // Removes message `id` from the outbox.
  virtual absl::Status MarkDelivered(int64_t id) = 0;
  // Counts one more delivery attempt of `id` (and records when).
  virtual absl::Status MarkAttempted(int64_t id) = 0;
  // Forgets answered-message keys recorded before `before` (the duplicate
  // window).
  virtual absl::Status PruneAnswers(absl::Time before) = 0;
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_STATE_PATIENT_STATE_STORE_H_
