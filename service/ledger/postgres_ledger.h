// The PostgreSQL AlertLedger, for several needlecheckd replicas sharing one
// database (alert_ledger.h has the contract; this header adds how it is
// opened, what it guarantees in the database, and what differs from SQLite).
//
// Why libpq (the C client) and not libpqxx: our modules return
// absl::Status and never let exceptions cross their boundaries, while
// libpqxx 7 reports every error by throwing; libpq gives direct control of
// the connection state (PQstatus, PQping), of the socket (poll() with a
// deadline on every result, TCP keepalives and tcp_user_timeout) and of the
// connect timeout, which is what keeps every call bounded when the network
// or the server goes away. common/postgres/pg_conn.h wraps it in RAII types.
//
// Same guarantees as SQLite
// - RecordFeedback() is committed before OK (synchronous_commit = on is set
//   on every session) and idempotent on (alert_id, outcome, instant of
//   outcome_timestamp): a UNIQUE constraint (feedback_once) and INSERT ...
//   ON CONFLICT DO NOTHING; the first feedback wins, on whichever replica.
// - RecordScreening() and AccessLog::RecordAccess() queue for a background
//   writer that commits batches (one multi-row INSERT ... SELECT FROM
//   unnest(...) per table) at least every `flush_window`, with the same
//   queue bounds, refusals (UNAVAILABLE, counted as screenings_refused),
//   retries (backoff up to 1 s) and callbacks as SqliteLedgerOptions.
//   Batches are idempotent (each screening and access record carries a
//   unique key, inserted ON CONFLICT DO NOTHING), so a batch whose COMMIT
//   reached the server but whose answer was lost is retried without
//   duplicates.
// - GetAlertStats() computes the statistics in SQL over the whole database
//   (every replica's rows), with SQLite's semantics (byte-order "C"
//   collation for the ordering by rule id and reason text); it commits this
//   replica's queue first.
//
// Several replicas
// - Alert ids are UUIDs (ids::NewUuidV4()), so any replica accepts feedback for
//   any alert. An alert issued by another replica may still be in that
//   replica's write queue: feedback for an alert id not (yet) in the
//   database is not refused at once; it is re-checked until
//   `unknown_alert_grace` has passed (default 2 x flush_window + 100 ms),
//   and only then answered NOT_FOUND. Feedback for an alert in this
//   replica's own queue commits the queue first, as with SQLite.
// - Schema changes happen at open, in one transaction holding
//   pg_advisory_xact_lock(kPostgresMigrationLockKey), so replicas starting
//   together migrate exactly once; the others wait for the lock and find
//   the schema current. A database whose schema_version is newer than this
//   binary knows is refused with FAILED_PRECONDITION; one with ledger
//   tables but no needlecheck_schema_version table is refused too (never
//   adopt someone else's tables).
//
// The database (in the schema first on the role's search_path, "public"
// by default; ALTER ROLE ... SET search_path chooses another)
//   needlecheck_schema_version  one row: version, migrated_at
//   screenings            one row per Screen call (screening_key unique)
//   alerts                one row per alert issued (alert_id primary key)
//   feedback              UNIQUE (alert_id, outcome, outcome_at_us)
//   feedback_suggestions  accepted suggestion ids, in request order
//   access_log            the access-audit trail (record_key unique),
//                         append-only: a trigger refuses UPDATE, TRUNCATE,
//                         and DELETE outside the pruning pass
//   access_log_retention  the one-row cutoff the pruning pass moves
// Times are Unix microseconds (bigint, UTC), days "YYYY-MM-DD" text, as in
// the SQLite file. The role needs CONNECT on the database and CREATE on the
// schema (the database owner has it on "public"), for the migration; after
// that, SELECT/INSERT on the tables, DELETE/UPDATE on access_log and
// access_log_retention for the pruning pass.
//
// Connections and outages
// - The writer has its own connection; feedback, statistics and access-log
//   reads share a pool of up to `pool_size` more, so concurrent calls do
//   not queue on one connection. Every statement is bounded by
//   `statement_timeout` (server side, and the client's wait for the answer),
//   connecting by `connect_timeout`.
// - When the database cannot be reached, the writer's batch fails and is
//   retried (reconnecting, backoff up to 1 s). Meanwhile RecordFeedback()
//   and GetAlertStats() answer UNAVAILABLE at once (feedback cannot be made
//   durable); unlike SQLite (which refuses screenings as soon as writes
//   fail), RecordScreening() keeps queueing through the outage, as access
//   records do, until `max_queued_screenings` are waiting, and only then
//   refuses (UNAVAILABLE, screenings_refused; needlecheckd then screens
//   without alert ids, as with a full disk): a database restart should
//   not cost alert ids. A pool connection that failed is not
//   tried again before its backoff (up to 1 s) has passed, so no call
//   waits for a dead server. The first successful commit ends the outage
//   (on_write_recovered) and everything queued is committed.
// - Messages name SQLSTATEs and libpq's primary message, never row content
//   (patient ids, comments) and never the password.
//
// What a crash can lose
// - Feedback: nothing that was acknowledged (committed before OK).
// - Issued alerts and access records: what was queued in the crashed
//   replica and not yet committed: at most the last `flush_window` (plus,
//   during a database outage, everything still waiting in its queue).
// - A clean Close() (SIGTERM drain) commits everything, if the database is
//   reachable within a few retries; otherwise DATA_LOSS names the count.
// - A database crash loses nothing committed (PostgreSQL's WAL; fsync must
//   stay on in production).
//
// Thread-safety: as AlertLedger. One background writer thread per ledger.
#ifndef SERVICE_LEDGER_POSTGRES_LEDGER_H_
#define SERVICE_LEDGER_POSTGRES_LEDGER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/ledger/alert_ledger.h"

namespace needlecheck::ledger {

// The advisory lock held by the migration transaction ("NCKLLEDG").
inline constexpr int64_t kPostgresMigrationLockKey = 0x4E434B4C4C454447;

struct PostgresLedgerOptions {
  // libpq connection string: "host=... port=... dbname=... user=..." or a
  // postgresql:// URI. Must not contain a password (use `password`,
  // PGPASSWORD or a ~/.pgpass / PGPASSFILE file). Required.
  std::string dsn;

  // The password, passed to libpq as the "password" parameter; empty:
  // libpq's own PGPASSWORD / PGPASSFILE apply. Never logged. Default: "".
  std::string password;

  // As SqliteLedgerOptions. Default: 200 ms.
  absl::Duration flush_window = absl::Milliseconds(200);
  // As SqliteLedgerOptions. Default: 10000.
  size_t max_queued_screenings = 10000;
  // As SqliteLedgerOptions. Default: 1000.
  size_t max_batch_screenings = 1000;
  // As SqliteLedgerOptions. Default: 100000.
  size_t max_queued_access_records = 100000;
  // As SqliteLedgerOptions. Default: 2190 days.
  absl::Duration access_log_retention = absl::Hours(24 * 2190);
  // As SqliteLedgerOptions. Default: 1 hour.
  absl::Duration access_log_prune_interval = absl::Hours(1);

  // Feedback for an alert id not in the database is re-checked for this
  // long (another replica may still be committing it) before NOT_FOUND.
  // Must be >= 0 and finite. Default (nullopt): 2 x flush_window + 100 ms.
  std::optional<absl::Duration> unknown_alert_grace;

  // Connections for feedback, statistics and access-log reads, at most
  // (the writer has one more). Must be > 0. Default: 4.
  size_t pool_size = 4;

  // How long one connection attempt may take. Must be > 0. Default: 3 s.
  absl::Duration connect_timeout = absl::Seconds(3);
  // How long one statement may take. Must be > 0. Default: 5 s.
  absl::Duration statement_timeout = absl::Seconds(5);
  // OpenPostgresLedger() retries connecting (backoff up to 1 s) for this
  // long before giving up with UNAVAILABLE. Must be >= 0. Default: 30 s.
  absl::Duration open_timeout = absl::Seconds(30);

  // As SqliteLedgerOptions. Default (null): absl::Now.
  std::function<absl::Time()> clock;
  std::function<void(const absl::Status&)> on_write_error;
  std::function<void(absl::Duration failing_for, int64_t failed_attempts)>
      on_write_recovered;
  std::function<void(absl::Duration took, size_t screenings)>
      on_batch_committed;
  std::function<void(int64_t deleted)> on_access_pruned;
  // Called when a connection attempt at open failed and will be retried
  // after `retry_in`. Default (null): nothing.
  std::function<void(const absl::Status&, absl::Duration retry_in)>
      on_open_retry;
};

// What OpenPostgresLedger() found and did.
struct PostgresOpenReport {
  int schema_version_before = 0;  // 0: a new database
  int schema_version = 0;         // now
  bool migrated = false;          // this call changed the schema
  int connect_attempts = 0;
};

// OK, or INVALID_ARGUMENT naming the first bad field (a DSN carrying a
// password is refused; the message never quotes it).
absl::Status ValidatePostgresLedgerOptions(
    const PostgresLedgerOptions& options);

// Connects (retrying for up to open_timeout), migrates the schema (see
// above) and starts the writer. Errors: INVALID_ARGUMENT (options),
// UNAVAILABLE (the database could not be reached in time, or the
// migration failed on a connection error), FAILED_PRECONDITION (newer
// schema, foreign tables), PERMISSION_DENIED/INTERNAL (the migration was
// refused: privileges).
absl::StatusOr<std::unique_ptr<AlertLedger>> OpenPostgresLedger(
    const PostgresLedgerOptions& options, PostgresOpenReport* report = nullptr);

// The schema version this binary migrates to.
int LatestPostgresSchemaVersion();

// INVALID_ARGUMENT when `dsn` carries a password (password=, or user:pw@ in
// a URI) or cannot be parsed; the message never quotes the DSN.
absl::Status CheckDsnHasNoPassword(const std::string& dsn);

// `dsn` with any password removed, for logs.
std::string DsnForLogs(const std::string& dsn);

}  // namespace needlecheck::ledger

#endif  // SERVICE_LEDGER_POSTGRES_LEDGER_H_
