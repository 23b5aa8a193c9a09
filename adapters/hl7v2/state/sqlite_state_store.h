// The patient-state store in one SQLite file (the listener's
// <data_dir>/hl7-state.sqlite). The contract is PatientStateStore's.
//
// - The file: WAL journal, synchronous=FULL (each commit is fsynced before
//   the call returns), a 10 s busy timeout (another process holding the
//   file: UNAVAILABLE after it). Tables hl7_patients (one serialized
//   PatientRecord per patient), hl7_identifiers (identifier key -> patient),
//   hl7_answers (sender, control id -> ACK, unique), hl7_outbox. The file is
//   marked by PRAGMA application_id and versioned by PRAGMA user_version.
// - Opening creates the file (not its folder) when missing, migrates an
//   older schema, and refuses: a newer schema (FAILED_PRECONDITION), a
//   SQLite file that is not a state store, e.g. the alert ledger
//   (FAILED_PRECONDITION), a damaged or non-SQLite file (DATA_LOSS, after a
//   bounded PRAGMA quick_check), a file or folder it cannot open or write
//   (UNAVAILABLE). Messages name the path, never contents.
// - Concurrency: one write connection (SQLite has one writer at a time
//   anyway) with group commit: the writes that arrive while a commit waits
//   for its fsync run next, together, each in its own SAVEPOINT, under one
//   COMMIT and one fsync; each call still returns only once its own changes
//   are durable, and one call's error undoes only its own changes. One read
//   connection behind its own mutex, so that LoadPatient, FindAck and
//   PendingOutbound read a committed snapshot while a write is in flight.
#ifndef ADAPTERS_HL7V2_STATE_SQLITE_STATE_STORE_H_
#define ADAPTERS_HL7V2_STATE_SQLITE_STATE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/hl7v2/state/patient_state_store.h"

namespace needlecheck::hl7v2 {

absl::StatusOr<std::unique_ptr<PatientStateStore>> OpenSqliteStateStore(
    const std::string& path);

// The schema version OpenSqliteStateStore() writes (PRAGMA user_version).
int LatestSqliteStateSchemaVersion();

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_STATE_SQLITE_STATE_STORE_H_
