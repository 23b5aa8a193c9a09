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
// Opening: only a missing file is a new ledger
// - A missing file is created under a temporary name (<file>.new), given
//   its schema, checkpointed, closed and only then renamed into place, so a
//   crash during creation never leaves an empty or half-made ledger file.
// - Everything else that is there must be a sound ledger, or the open fails
//   with DATA_LOSS and touches nothing: an empty (0-byte) file, a file that
//   is not SQLite, one that fails `PRAGMA quick_check`, or a write-ahead log
//   (<file>-wal) without its file. (SQLite itself would start an empty
//   database over an empty file and delete its -wal: history gone without a
//   word.) MoveDamagedLedgerAside() is the explicit way out.
// - The integrity check is bounded by `integrity_check_time_limit`: when
//   the limit is hit, the open succeeds and reports kIncomplete (the caller
//   logs it); damage in the unchecked part then shows as failing writes
//   (see AlertLedger: Screen goes on without alert ids).
//
// What a crash can lose
// - Feedback: nothing that was acknowledged (committed before OK).
// - Issued alerts: the screenings queued but not yet committed, i.e. at
//   most those of the last `flush_window` (plus, if the disk is failing,
//   the batch being retried; new screenings are refused meanwhile).
// - A clean Close() (needlecheckd's SIGTERM drain) commits everything.
// - Access records (access_log.h): as issued alerts, the last
//   `flush_window`; during a disk outage, every record still waiting.
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
  // beyond it is refused at once (UNAVAILABLE). Must be > 0. Default: 10000.
  size_t max_queued_screenings = 10000;

  // Screenings per transaction, at most, each with the access records
  // queued among them (at most as many again); a queue of this many
  // screenings is committed without waiting for the window. Must be > 0.
  // Default: 1000.
  size_t max_batch_screenings = 1000;

  // SQLite's busy timeout (waiting for another connection's lock). Must be
  // >= 0. Default: 5 seconds.
  absl::Duration busy_timeout = absl::Seconds(5);

  // The clock for feedback's recorded_at column and the retention cutoff.
  // Default (null): absl::Now.
  std::function<absl::Time()> clock;

  // Called on the writer thread after a batch commit fails (the batch is
  // kept and retried with backoff, up to 1 s apart). The status names the
  // SQLite error, never any row content, so it is safe to log. Default
  // (null): nothing.
  std::function<void(const absl::Status&)> on_write_error;

  // Called on the writer thread when a commit succeeds after failed ones:
  // how long writes failed and how many attempts failed. Default (null):
  // nothing.
  std::function<void(absl::Duration failing_for, int64_t failed_attempts)>
      on_write_recovered;

  // Called on the writer thread after each successful batch commit: how
  // long the transaction took (BEGIN to COMMIT, the fsync included) and how
  // many screenings it held. For metrics. Default (null): nothing.
  std::function<void(absl::Duration took, size_t screenings)>
      on_batch_committed;

  // How long the integrity check at open (PRAGMA quick_check) may take; a
  // check cut short is reported as kIncomplete (the open succeeds). Zero
  // skips the check. Must be >= 0 and finite. Default: 30 seconds (a
  // ledger of a million screenings, about 300 MB, checks in a few seconds).
  absl::Duration integrity_check_time_limit = absl::Seconds(30);

  // Access records (access_log.h) queued and not yet committed, at most;
  // they stay queued while writes fail, and a RecordAccess() beyond it is
  // refused (UNAVAILABLE). Must be > 0. Default: 100000 (about 50 MB).
  size_t max_queued_access_records = 100000;

  // Access records older than this are deleted by the pruning pass. Must
  // be > 0 and finite. Default: 2190 days (six years, HIPAA 164.316(b)(2)).
  absl::Duration access_log_retention = absl::Hours(24 * 2190);

  // How often the writer runs the pruning pass (the first runs at open).
  // Must be > 0 and finite. Default: 1 hour.
  absl::Duration access_log_prune_interval = absl::Hours(1);

  // Called on the writer thread after a pruning pass deleted records: how
  // many. Default (null): nothing.
  std::function<void(int64_t deleted)> on_access_pruned;

  // Test only: while a file of this name exists, every write (screening
  // batches and feedback) fails with UNAVAILABLE as on a full disk, before
  // SQLite is asked. For tests that cannot fill a real file system.
  // Default: "" (never).
  std::string fail_writes_while_exists;
};

// What OpenSqliteLedger() found and did.
struct LedgerOpenReport {
  enum class Check { kSkipped, kPassed, kIncomplete };
  bool created = false;  // there was no file: a new ledger was made
  Check integrity_check = Check::kSkipped;
  absl::Duration check_took;  // how long the integrity check ran
};

// The ledger file of `options`: `path`, else <data_dir>/ledger.sqlite3.
std::string LedgerFilePath(const SqliteLedgerOptions& options);

// OK, or INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateSqliteLedgerOptions(const SqliteLedgerOptions& options);

// Opens (creating when missing, see above) and checks the ledger file,
// migrates it, then starts the writer. `report` (may be null) tells what it
// found. Errors: INVALID_ARGUMENT (options), UNAVAILABLE (cannot open or
// lock the file, WAL not possible there), FAILED_PRECONDITION (newer
// schema, a SQLite file that is not a ledger), DATA_LOSS (the file is
// damaged, empty or not SQLite, or its -wal is there without it; the
// message names the file and the problem; nothing was changed).
absl::StatusOr<std::unique_ptr<AlertLedger>> OpenSqliteLedger(
    const SqliteLedgerOptions& options, LedgerOpenReport* report = nullptr);

// Moves a ledger file that OpenSqliteLedger() refused with DATA_LOSS aside,
// with its -wal and -shm, to "<path>.damaged-YYYYMMDDTHHMMSSZ" (plus "-2",
// "-3", ... if taken; the companions keep their "-wal"/"-shm" suffix), and
// syncs the folder. Nothing is deleted. Returns the new name of the file.
// NOT_FOUND when there is nothing to move; UNAVAILABLE when a rename fails.
absl::StatusOr<std::string> MoveDamagedLedgerAside(const std::string& path,
                                                   absl::Time now);

}  // namespace needlecheck::ledger

#endif  // SERVICE_LEDGER_SQLITE_LEDGER_H_
