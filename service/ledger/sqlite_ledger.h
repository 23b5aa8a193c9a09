// The SQLite AlertLedger (alert_ledger.h has the contract; this header only
// adds how the SQLite one is opened and what it guarantees on disk).
//
// On disk
// - One file, by default <data_dir>/ledger.sqlite3, in WAL mode (with its
//   -wal and -shm companions while open). Foreign keys on, a busy timeout
//   so that a second reader (sqlite3 CLI, backup) cannot fail a write at
//   once.
// - synchronous=FULL: every commit fsyncs the WAL. That is what makes
//   RecordFeedback() durable before it returns OK, even against power loss
//   (NORMAL would only sync at checkpoints, so the last commits could vanish
//   with the power; it would be enough against a process crash alone).
//   Batching keeps the cost of issued-alert rows to one fsync per batch.
//   Close() checkpoints and truncates the WAL.
// - Schema versioned with PRAGMA user_version and migrated at open
//   (internal/sqlite_schema.h); a file from a newer needlecheckd, or a
//   SQLite file that is not a ledger, is refused with FAILED_PRECONDITION.
//
// What a crash can lose
// - Feedback: nothing that was acknowledged (committed before OK).
// - Issued alerts: the screenings queued but not yet committed, i.e. at
//   most those of the last `flush_window` (plus, if the disk is failing,
//   the retry backlog, which is bounded by `max_queued_screenings` and
//   reported through on_write_error).
// - A clean Close() (needlecheckd's SIGTERM drain) commits everything.
//
// Thread-safety: as AlertLedger. One background writer thread per ledger.
#ifndef SERVICE_LEDGER_SQLITE_LEDGER_H_
#define SERVICE_LEDGER_SQLITE_LEDGER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/ledger/alert_ledger.h"

namespace needlecheck::ledger {

// The file name under the data folder.
inline constexpr char kLedgerFileName[] = "ledger.sqlite3";

struct SqliteLedgerOptions {
  // The folder holding the ledger file; must exist. Required unless `path`
  // is set. Default: "".
  std::string data_dir;

  // The ledger file. Empty: <data_dir>/ledger.sqlite3. Default: "".
  std::string path;

  // How long a screening may wait in memory before its batch is committed
  // (the most a crash can lose). Zero commits each screening as soon as the
  // writer gets to it. Must be >= 0 and finite. Default: 200 ms.
  absl::Duration flush_window = absl::Milliseconds(200);

  // Screenings queued and not yet committed, at most; a RecordScreening()
  // beyond it blocks. Must be > 0. Default: 10000.
  size_t max_queued_screenings = 10000;

  // Screenings per transaction, at most; a queue this long is committed
  // without waiting for the window. Must be > 0. Default: 1000.
  size_t max_batch_screenings = 1000;

  // How long RecordScreening() blocks on a full queue before it returns
  // UNAVAILABLE. Must be >= 0. Default: 2 seconds.
  absl::Duration max_enqueue_wait = absl::Seconds(2);

  // SQLite's busy timeout (waiting for another connection's lock). Must be
  // >= 0. Default: 5 seconds.
  absl::Duration busy_timeout = absl::Seconds(5);

  // The clock for feedback's recorded_at column. Default (null): absl::Now.
  std::function<absl::Time()> clock;

  // Called on the writer thread after a batch commit fails (the batch is
  // kept and retried with backoff). The status names the SQLite error, never
  // any row content, so it is safe to log. Default (null): nothing.
  std::function<void(const absl::Status&)> on_write_error;
};

// OK, or INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateSqliteLedgerOptions(const SqliteLedgerOptions& options);

// Opens (creating when missing) and migrates the ledger file, then starts
// the writer. Errors: INVALID_ARGUMENT (options), UNAVAILABLE (cannot open
// or lock the file, WAL not possible there), FAILED_PRECONDITION (newer
// schema, not a ledger), DATA_LOSS (corrupt file).
absl::StatusOr<std::unique_ptr<AlertLedger>> OpenSqliteLedger(
    const SqliteLedgerOptions& options);

}  // namespace needlecheck::ledger

#endif  // SERVICE_LEDGER_SQLITE_LEDGER_H_
