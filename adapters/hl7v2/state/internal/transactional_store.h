// The PatientStateStore contract written once over the few operations a
// database must offer inside one transaction (StateTransaction); the SQLite
// and PostgreSQL backends implement those operations and how a transaction
// runs (TransactionalStateStore::RunTransaction). Internal to
// adapters/hl7v2/state.
//
// Contract
// - Keys reach the backends as bytes (identifier keys, sender, control id,
//   ACKs and outbound messages are stored byte-exact, whatever their
//   encoding).
// - RunTransaction(kWrite, body) runs `body` in one transaction that
//   serializes with every other writer of the same patients and commits
//   durably; kRead runs a read-only snapshot. Either rolls back when `body`
//   fails. A backend may run `body` again after a failure that left nothing
//   committed or whose commit outcome is unknown (a lost connection): every
//   body here is idempotent, because the first thing a write does is
//   claiming its message key.
// - TransactionalStateStore retries a whole transaction a few times when it
//   fails with ABORTED (a deadlock or serialization failure) or
//   ALREADY_EXISTS (a concurrent caller inserted the same key first).
#ifndef ADAPTERS_HL7V2_STATE_INTERNAL_TRANSACTIONAL_STORE_H_
#define ADAPTERS_HL7V2_STATE_INTERNAL_TRANSACTIONAL_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/hl7v2/state/patient_state_store.h"

namespace needlecheck::hl7v2::internal {

// What one transaction may do. Times are microseconds since the epoch.
class StateTransaction {
 public:
  virtual ~StateTransaction() = default;
  // Records key -> `ack` when the key is new (nullopt); otherwise returns
  // the ACK recorded first and records nothing.
  virtual absl::StatusOr<std::optional<std::string>> ClaimAnswer(
      const MessageKey& key, absl::string_view ack, int64_t now_us) = 0;
  virtual absl::StatusOr<std::optional<std::string>> FindAnswer(
      const MessageKey& key) = 0;
  // Serializes this transaction with every other one that locks any of
  // `keys` (identifier keys, sorted and distinct) until it ends.
  virtual absl::Status LockIdentifiers(
      const std::vector<std::string>& keys) = 0;
  // The patient rows `keys` link to, distinct, in the order of `keys`.
  virtual absl::StatusOr<std::vector<int64_t>> FindPatients(
      const std::vector<std::string>& keys) = 0;
  // The serialized record of `patient` (write transactions lock the row).
  virtual absl::StatusOr<std::string> LoadRecord(int64_t patient) = 0;
  virtual absl::StatusOr<int64_t> InsertPatient(absl::string_view record,
                                                int64_t now_us) = 0;
  virtual absl::Status UpdateRecord(int64_t patient, absl::string_view record,
                                    int64_t now_us) = 0;
  virtual absl::Status DeletePatient(int64_t patient) = 0;
  // Links every identifier of patient `from` to patient `to`.
  virtual absl::Status RelinkPatient(int64_t from, int64_t to) = 0;
  // Links each of `keys` to `patient`, replacing any earlier link.
  virtual absl::Status LinkIdentifiers(const std::vector<std::string>& keys,
                                       int64_t patient) = 0;
  virtual absl::Status QueueOutbound(absl::string_view message,
                                     int64_t now_us) = 0;
  virtual absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>>
  ListOutbound(int limit) = 0;
  // False when `id` is not queued.
  virtual absl::StatusOr<bool> DeleteOutbound(int64_t id) = 0;
  virtual absl::StatusOr<bool> CountAttempt(int64_t id, int64_t now_us) = 0;
  virtual absl::Status DeleteAnswersBefore(int64_t before_us) = 0;
};

class TransactionalStateStore : public PatientStateStore {
 public:
  absl::StatusOr<std::optional<std::string>> FindAck(
      const MessageKey& key) override;
  absl::StatusOr<std::string> UpdatePatient(
      const MessageKey& key, const std::vector<PatientIdentifier>& ids,
      const RecordMutation& mutate, absl::string_view ack) override;
  absl::StatusOr<std::string> MergePatients(
      const MessageKey& key, const std::vector<PatientIdentifier>& surviving,
      const std::vector<PatientIdentifier>& prior, const RecordMerge& merge,
      absl::string_view ack) override;
  absl::StatusOr<needlecheck::v1::PatientRecord> LoadPatient(
      const std::vector<PatientIdentifier>& ids) override;
  absl::StatusOr<std::string> RecordAck(const MessageKey& key,
                                        absl::string_view ack,
                                        absl::string_view outbound) override;
  absl::StatusOr<std::vector<OutboundMessage>> PendingOutbound(
      int limit) override;
  absl::Status MarkDelivered(int64_t id) override;
  absl::Status MarkAttempted(int64_t id) override;
  absl::Status PruneAnswers(absl::Time before) override;

 protected:
  enum class Mode { kRead, kWrite };
  using Body = std::function<absl::Status(StateTransaction&)>;
  virtual absl::Status RunTransaction(Mode mode, const Body& body) = 0;

 private:
  // RunTransaction with the retries of conflicts described above; never
  // retried once `final_error` (when given) is set: the caller's own
  // callback failed.
  absl::Status Transact(Mode mode, const Body& body,
                        const absl::Status* final_error = nullptr);
  // One write transaction that answers `key` once: claims it with `ack`
  // and runs `apply`, or, when it was answered before, changes nothing.
  // Returns the ACK recorded first.
  using Apply = std::function<absl::Status(StateTransaction&, int64_t now_us)>;
  absl::StatusOr<std::string> AnswerOnce(
      const MessageKey& key, absl::string_view ack, const Apply& apply,
      const absl::Status* final_error = nullptr);
};

}  // namespace needlecheck::hl7v2::internal

#endif  // ADAPTERS_HL7V2_STATE_INTERNAL_TRANSACTIONAL_STORE_H_
