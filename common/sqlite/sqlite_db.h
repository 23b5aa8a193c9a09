// Thin RAII wrappers over the SQLite C API: a connection and a prepared
// statement. A base library (needlecheck_sqlite): the service's alert ledger
// and the adapters' stores use it; it includes nothing from either.
//
// Contract
// - Every failure becomes an absl::Status: SQLITE_BUSY/SQLITE_LOCKED (after
//   the busy timeout) -> UNAVAILABLE, SQLITE_FULL/IOERR/CANTOPEN/READONLY/
//   PERM -> UNAVAILABLE, SQLITE_CORRUPT/NOTADB -> DATA_LOSS, a constraint
//   -> ALREADY_EXISTS, everything else INTERNAL. Messages carry SQLite's
//   error text (which never contains bound values) and the step ("BEGIN",
//   "insert alert", ...), never bound values, so they are safe to log.
// - Not thread-safe: one Connection (and its statements) per thread at a
//   time; callers guard each with a mutex. Connections are opened
//   SQLITE_OPEN_NOMUTEX (that guard is the caller's), and the first Open()
//   in the process turns off SQLite's memory statistics
//   (SQLITE_CONFIG_MEMSTATUS), which otherwise take a process-wide mutex on
//   every allocation SQLite makes; nothing here reads them. All SQLite use
//   goes through this wrapper, so that setting precedes any other.
#ifndef COMMON_SQLITE_SQLITE_DB_H_
#define COMMON_SQLITE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace needlecheck::sqlite {

// A status for SQLite result code `rc` (extended codes allowed).
absl::Status SqliteError(int rc, absl::string_view what,
                         absl::string_view detail);

class Statement;

// What PRAGMA quick_check found (Connection::QuickCheck()).
struct QuickCheckResult {
  enum class Outcome {
    kOk,            // the whole file was checked: no problem
    kDamaged,       // problems found (or SQLITE_CORRUPT while checking)
    kNotADatabase,  // SQLITE_NOTADB: not a SQLite file (or its header is)
    kIncomplete,    // interrupted at the time limit: nothing found so far
  };
  Outcome outcome = Outcome::kOk;
  // kDamaged: SQLite's findings, first ones first (page numbers and table
  // names, never row content).
  std::vector<std::string> problems;
};

class Connection {
 public:
  // Opens (read-write, creating when `create`) or read-only `path`.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, bool read_only, bool create,
      absl::Duration busy_timeout);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more statements without results (or ignoring them).
  absl::Status Exec(absl::string_view sql);
  // Prepares one statement; `what` names it in errors.
  absl::StatusOr<Statement> Prepare(absl::string_view sql,
                                    absl::string_view what);
  // An integer pragma's value, e.g. "user_version".
  absl::StatusOr<int64_t> PragmaInt(absl::string_view pragma);
  // A text pragma's value, e.g. "journal_mode".
  absl::StatusOr<std::string> PragmaText(absl::string_view pragma);
  // Switches the file to write-ahead logging (the stores' readers run
  // beside their one writer). UNAVAILABLE "cannot use WAL mode there
  // (journal_mode is delete)" when SQLite keeps another mode (a network
  // file system, an in-memory database); other errors as for Exec().
  absl::Status UseWal();

  // Runs PRAGMA quick_check (at most `max_problems` findings). A watchdog
  // thread interrupts it (sqlite3_interrupt) once `time_limit` has passed:
  // kIncomplete then. Other errors (I/O, busy) as for Exec().
  absl::StatusOr<QuickCheckResult> QuickCheck(absl::Duration time_limit,
                                              int max_problems);

  sqlite3* raw() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based. Text is copied (SQLITE_TRANSIENT).
  Statement& BindText(int index, absl::string_view value);
  // Text that is not copied (SQLITE_STATIC): `value`'s bytes must stay
  // valid and unchanged until Reset() (or the statement's end). For hot
  // loops that bind, run and reset.
  Statement& BindTextNoCopy(int index, absl::string_view value);
  // Bytes as a BLOB (stored and compared byte-exact, whatever they hold).
  Statement& BindBlob(int index, absl::string_view value);
  Statement& BindInt(int index, int64_t value);
  Statement& BindNull(int index);

  // One step: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows to matter.
  absl::Status Run();
  // Resets for another execution and clears bindings.
  void Reset();

  int64_t ColumnInt(int col) const;
  double ColumnDouble(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  friend class Connection;
  Statement(sqlite3_stmt* stmt, sqlite3* db, absl::string_view what)
      : stmt_(stmt), db_(db), what_(what) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  std::string what_;
  // The first binding error, reported by Step().
  int bind_rc_ = SQLITE_OK;
};

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it or the
// commit fails.
template <typename Body>
absl::Status InTransaction(Connection& db, Body&& body) {
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status status = body();
  if (status.ok()) status = db.Exec("COMMIT");
  if (!status.ok()) {
    // A failed COMMIT may leave the transaction open; ROLLBACK ends it (and
    // fails harmlessly when SQLite already rolled back).
    db.Exec("ROLLBACK").IgnoreError();
  }
  return status;
}

}  // namespace needlecheck::sqlite

#endif  // COMMON_SQLITE_SQLITE_DB_H_
