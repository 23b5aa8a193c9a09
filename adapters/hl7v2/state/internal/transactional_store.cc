#include "adapters/hl7v2/state/internal/transactional_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace needlecheck::hl7v2::internal {
namespace {

using ::needlecheck::v1::PatientRecord;

// Conflicts with concurrent callers are retried this many times in all.
constexpr int kMaxAttempts = 8;

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

// The identifiers' keys, sorted and distinct (the lock order).
absl::StatusOr<std::vector<std::string>> SortedKeys(
    const std::vector<PatientIdentifier>& ids, absl::string_view what) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const PatientIdentifier& id : ids) {
    if (id.id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": a patient identifier has an empty id"));
    }
    keys.push_back(id.Key());
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

absl::StatusOr<std::vector<std::string>> RequiredKeys(
    const std::vector<PatientIdentifier>& ids, absl::string_view what) {
  if (ids.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": no patient identifier"));
  }
  return SortedKeys(ids, what);
}

// The one patient `keys` name: nullopt when none, FAILED_PRECONDITION when
// they name two.
absl::StatusOr<std::optional<int64_t>> OnePatient(
    StateTransaction& tx, const std::vector<std::string>& keys,
    absl::string_view what) {
  absl::StatusOr<std::vector<int64_t>> found = tx.FindPatients(keys);
  if (!found.ok()) return found.status();
  if (found->empty()) return std::nullopt;
  if (found->size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        what,
        ": the message's patient identifiers name two different stored "
        "patients; nothing was changed (merge them with ADT^A40 first)"));
  }
  return found->front();
}

absl::StatusOr<PatientRecord> ParseRecord(StateTransaction& tx,
                                          int64_t patient) {
  absl::StatusOr<std::string> bytes = tx.LoadRecord(patient);
  if (!bytes.ok()) return bytes.status();
  PatientRecord record;
  if (!record.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat("stored patient record ", patient, " does not parse"));
  }
  return record;
}

// Saves `record` as `patient` (a new row when nullopt); returns its row.
absl::StatusOr<int64_t> SaveRecord(StateTransaction& tx,
                                   std::optional<int64_t> patient,
                                   const PatientRecord& record, int64_t now) {
  std::string bytes;
  if (!record.SerializeToString(&bytes)) {
    return absl::InternalError("cannot serialize a patient record");
  }
  // proto3 refuses to parse text fields that are not UTF-8 (serializing
  // them only logs): a record saved so could never be loaded again.
  if (PatientRecord check; !check.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(
        "the patient record holds text that is not valid UTF-8; nothing was "
        "stored");
  }
  if (!patient.has_value()) return tx.InsertPatient(bytes, now);
  if (absl::Status s = tx.UpdateRecord(*patient, bytes, now); !s.ok()) {
    return s;
  }
  return *patient;
}

std::vector<std::string> Union(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  std::vector<std::string> all;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(),
                 std::back_inserter(all));
  return all;
}

}  // namespace

absl::Status TransactionalStateStore::Transact(
    Mode mode, const Body& body, const absl::Status* final_error) {
  absl::Status status;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    status = RunTransaction(mode, body);
    if (final_error != nullptr && !final_error->ok()) return *final_error;
    if (status.code() != absl::StatusCode::kAborted &&
        status.code() != absl::StatusCode::kAlreadyExists) {
      return status;
    }
    // A concurrent caller won the race: back off a little, staggered.
    absl::SleepFor(absl::Milliseconds(attempt * (1 + NowMicros() % 5)));
  }
  return absl::Status(status.code(),
                      absl::StrCat(status.message(), " (after ", kMaxAttempts,
                                   " attempts with concurrent writers)"));
}

absl::StatusOr<std::string> TransactionalStateStore::AnswerOnce(
    const MessageKey& key, absl::string_view ack, const Apply& apply,
    const absl::Status* final_error) {
  std::string answer;
  absl::Status status = Transact(
      Mode::kWrite,
      [&](StateTransaction& tx) -> absl::Status {
        const int64_t now = NowMicros();
        absl::StatusOr<std::optional<std::string>> first =
            tx.ClaimAnswer(key, ack, now);
        if (!first.ok()) return first.status();
        if (first->has_value()) {
          answer = **std::move(first);
          return absl::OkStatus();
        }
        answer = std::string(ack);
        return apply(tx, now);
      },
      final_error);
  if (!status.ok()) return status;
  return answer;
}

absl::StatusOr<std::optional<std::string>> TransactionalStateStore::FindAck(
    const MessageKey& key) {
  std::optional<std::string> ack;
  absl::Status status =
      Transact(Mode::kRead, [&](StateTransaction& tx) -> absl::Status {
        absl::StatusOr<std::optional<std::string>> found = tx.FindAnswer(key);
        if (!found.ok()) return found.status();
        ack = *std::move(found);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return ack;
}

absl::StatusOr<std::string> TransactionalStateStore::UpdatePatient(
    const MessageKey& key, const std::vector<PatientIdentifier>& ids,
    const RecordMutation& mutate, absl::string_view ack) {
  absl::StatusOr<std::vector<std::string>> keys =
      RequiredKeys(ids, "UpdatePatient");
  if (!keys.ok()) return keys.status();
  // The mutation's own error is returned as is, never retried.
  absl::Status mutation_error;
  return AnswerOnce(
      key, ack,
      [&](StateTransaction& tx, int64_t now) -> absl::Status {
        mutation_error = absl::OkStatus();
        if (absl::Status s = tx.LockIdentifiers(*keys); !s.ok()) return s;
        absl::StatusOr<std::optional<int64_t>> patient =
            OnePatient(tx, *keys, "UpdatePatient");
        if (!patient.ok()) return patient.status();
        PatientRecord record;
        if (patient->has_value()) {
          absl::StatusOr<PatientRecord> stored = ParseRecord(tx, **patient);
          if (!stored.ok()) return stored.status();
          record = *std::move(stored);
        }
        mutation_error = mutate(&record);
        if (!mutation_error.ok()) return mutation_error;
        absl::StatusOr<int64_t> row = SaveRecord(tx, *patient, record, now);
        if (!row.ok()) return row.status();
        return tx.LinkIdentifiers(*keys, *row);
      },
      &mutation_error);
}

absl::StatusOr<std::string> TransactionalStateStore::MergePatients(
    const MessageKey& key, const std::vector<PatientIdentifier>& surviving,
    const std::vector<PatientIdentifier>& prior, const RecordMerge& merge,
    absl::string_view ack) {
  absl::StatusOr<std::vector<std::string>> survivor_keys =
      RequiredKeys(surviving, "MergePatients (surviving)");
  if (!survivor_keys.ok()) return survivor_keys.status();
  absl::StatusOr<std::vector<std::string>> prior_keys =
      RequiredKeys(prior, "MergePatients (prior)");
  if (!prior_keys.ok()) return prior_keys.status();
  const std::vector<std::string> all_keys = Union(*survivor_keys, *prior_keys);
  return AnswerOnce(
      key, ack, [&](StateTransaction& tx, int64_t now) -> absl::Status {
        if (absl::Status s = tx.LockIdentifiers(all_keys); !s.ok()) return s;
        absl::StatusOr<std::optional<int64_t>> survivor =
            OnePatient(tx, *survivor_keys, "MergePatients (surviving)");
        if (!survivor.ok()) return survivor.status();
        absl::StatusOr<std::optional<int64_t>> gone =
            OnePatient(tx, *prior_keys, "MergePatients (prior)");
        if (!gone.ok()) return gone.status();
        std::optional<int64_t> row = *survivor;
        if (gone->has_value() && *gone != *survivor) {
          PatientRecord merged;
          if (row.has_value()) {
            absl::StatusOr<PatientRecord> stored = ParseRecord(tx, *row);
            if (!stored.ok()) return stored.status();
            merged = *std::move(stored);
          }
          absl::StatusOr<PatientRecord> old = ParseRecord(tx, **gone);
          if (!old.ok()) return old.status();
          merge(*old, &merged);
          absl::StatusOr<int64_t> saved = SaveRecord(tx, row, merged, now);
          if (!saved.ok()) return saved.status();
          row = *saved;
          // Every identifier of the prior patient moves, also those the
          // message does not name.
          if (absl::Status s = tx.RelinkPatient(**gone, *row); !s.ok()) {
            return s;
          }
          if (absl::Status s = tx.DeletePatient(**gone); !s.ok()) return s;
        } else if (!row.has_value()) {
          absl::StatusOr<int64_t> saved =
              SaveRecord(tx, std::nullopt, PatientRecord(), now);
          if (!saved.ok()) return saved.status();
          row = *saved;
        }
        return tx.LinkIdentifiers(all_keys, *row);
      });
}

absl::StatusOr<PatientRecord> TransactionalStateStore::LoadPatient(
    const std::vector<PatientIdentifier>& ids) {
  absl::StatusOr<std::vector<std::string>> keys =
      SortedKeys(ids, "LoadPatient");
  if (!keys.ok()) return keys.status();
  PatientRecord record;
  if (keys->empty()) return record;
  absl::Status status =
      Transact(Mode::kRead, [&](StateTransaction& tx) -> absl::Status {
        record.Clear();
        absl::StatusOr<std::optional<int64_t>> patient =
            OnePatient(tx, *keys, "LoadPatient");
        if (!patient.ok()) return patient.status();
        if (!patient->has_value()) return absl::OkStatus();
        absl::StatusOr<PatientRecord> stored = ParseRecord(tx, **patient);
        if (!stored.ok()) return stored.status();
        record = *std::move(stored);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return record;
}

absl::StatusOr<std::string> TransactionalStateStore::RecordAck(
    const MessageKey& key, absl::string_view ack, absl::string_view outbound) {
  return AnswerOnce(key, ack,
                    [&](StateTransaction& tx, int64_t now) -> absl::Status {
                      if (outbound.empty()) return absl::OkStatus();
                      return tx.QueueOutbound(outbound, now);
                    });
}

absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>>
TransactionalStateStore::PendingOutbound(int limit) {
  if (limit < 0) {
    return absl::InvalidArgumentError("PendingOutbound: negative limit");
  }
  std::vector<OutboundMessage> pending;
  if (limit == 0) return pending;
  absl::Status status =
      Transact(Mode::kRead, [&](StateTransaction& tx) -> absl::Status {
        absl::StatusOr<std::vector<OutboundMessage>> listed =
            tx.ListOutbound(limit);
        if (!listed.ok()) return listed.status();
        pending = *std::move(listed);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return pending;
}

absl::Status TransactionalStateStore::MarkDelivered(int64_t id) {
  return Transact(Mode::kWrite, [&](StateTransaction& tx) -> absl::Status {
    absl::StatusOr<bool> deleted = tx.DeleteOutbound(id);
    if (!deleted.ok()) return deleted.status();
    if (!*deleted) {
      return absl::NotFoundError(absl::StrCat(
          "MarkDelivered: outbound message ", id, " is not queued"));
    }
    return absl::OkStatus();
  });
}

absl::Status TransactionalStateStore::MarkAttempted(int64_t id) {
  return Transact(Mode::kWrite, [&](StateTransaction& tx) -> absl::Status {
    absl::StatusOr<bool> counted = tx.CountAttempt(id, NowMicros());
    if (!counted.ok()) return counted.status();
    if (!*counted) {
      return absl::NotFoundError(absl::StrCat(
          "MarkAttempted: outbound message ", id, " is not queued"));
    }
    return absl::OkStatus();
  });
}

absl::Status TransactionalStateStore::PruneAnswers(absl::Time before) {
  const int64_t before_us = absl::ToUnixMicros(before);
  return Transact(Mode::kWrite, [&](StateTransaction& tx) {
    return tx.DeleteAnswersBefore(before_us);
  });
}

}  // namespace needlecheck::hl7v2::internal
