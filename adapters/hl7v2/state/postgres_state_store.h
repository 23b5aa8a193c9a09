// The patient-state store in PostgreSQL, beside the alert ledger in its
// database (tables prefixed hl7_, their own version table
// hl7_schema_version). The contract is PatientStateStore's.
//
// - Durability: every session runs with synchronous_commit = on, so each
//   call's COMMIT has reached the server's WAL on disk before it returns.
// - Serialization: a write transaction first claims its message key (the
//   unique key (sender, control_id) of hl7_answers makes a racing duplicate
//   wait for the first and then return its ACK), then takes
//   pg_advisory_xact_lock on each identifier key it names (sorted) and
//   SELECT ... FOR UPDATE on the patient rows, so concurrent updates of one
//   patient serialize; deadlocks and serialization failures are retried.
// - Deadlines: every statement is bounded (statement_timeout and
//   lock_timeout on the server, the client's wait a little longer): a hung
//   server or network fails the call with UNAVAILABLE instead of hanging
//   it. A pooled connection found dead is replaced once.
// - Opening connects (retrying with backoff for at most `connect_timeout`,
//   e.g. while the server starts; a refused login fails at once) and
//   migrates the schema under pg_advisory_xact_lock (pg_migrate.h); a newer
//   schema is refused with FAILED_PRECONDITION.
// - Passwords: from `password_file`, else libpq's PGPASSWORD / PGPASSFILE
//   (~/.pgpass). A DSN carrying a password is refused (INVALID_ARGUMENT):
//   DSNs end up in logs. The password is never logged nor put in a message.
#ifndef ADAPTERS_HL7V2_STATE_POSTGRES_STATE_STORE_H_
#define ADAPTERS_HL7V2_STATE_POSTGRES_STATE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/state/patient_state_store.h"

namespace needlecheck::hl7v2 {

struct PostgresStateStoreOptions {
  // libpq connection string (key=value or postgresql:// URI), without a
  // password. Required.
  std::string dsn;
  // A file holding the password; "" for libpq's own sources.
  std::string password_file;
  // How long opening keeps trying to reach the server.
  absl::Duration connect_timeout = absl::Seconds(30);
  // How long one statement (or lock wait) may take.
  absl::Duration statement_timeout = absl::Seconds(5);
  // Connections at most (the callers beyond it wait for one).
  int pool_size = 8;
};

absl::StatusOr<std::unique_ptr<PatientStateStore>> OpenPostgresStateStore(
    const PostgresStateStoreOptions& options);

// The schema version OpenPostgresStateStore() migrates to.
int LatestPostgresStateSchemaVersion();

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_STATE_POSTGRES_STATE_STORE_H_
