#include "common/sqlite/sqlite_db.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace needlecheck::sqlite {

absl::Status SqliteError(int rc, absl::string_view what,
                         absl::string_view detail) {
  const std::string message =
      absl::StrCat(what, ": ", sqlite3_errstr(rc), detail.empty() ? "" : " (",
                   detail, detail.empty() ? "" : ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

namespace {

// Process-wide settings, made once before SQLite initializes (afterwards
// sqlite3_config() refuses with SQLITE_MISUSE, which leaves the defaults:
// slower, not wrong).
void ConfigureSqliteOnce() {
  static const bool configured = [] {
    // The memory statistics cost a global mutex per sqlite3_malloc/free.
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  }();
  (void)configured;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const std::string& path, bool read_only, bool create,
    absl::Duration busy_timeout) {
  ConfigureSqliteOnce();
  int flags = SQLITE_OPEN_NOMUTEX;  // each Connection is used by one thread
  if (read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (create) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string detail =
        db != nullptr ? sqlite3_errmsg(db) : std::string();
    sqlite3_close_v2(db);
    return SqliteError(rc, absl::StrCat("cannot open \"", path, "\""), detail);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(
      db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() { sqlite3_close_v2(db_); }

absl::Status Connection::Exec(absl::string_view sql) {
  const std::string text(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string detail = error != nullptr ? error : "";
    sqlite3_free(error);
    // The SQL is ours (never holds values), so naming its start is safe.
    return SqliteError(rc, text.substr(0, text.find_first_of("(\n")), detail);
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql,
                                              absl::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(
      db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(rc, absl::StrCat("prepare ", what), sqlite3_errmsg(db_));
  }
  return Statement(stmt, db_, what);
}

absl::StatusOr<int64_t> Connection::PragmaInt(absl::string_view pragma) {
  absl::StatusOr<Statement> stmt =
      Prepare(absl::StrCat("PRAGMA ", pragma), pragma);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row)
    return absl::InternalError(absl::StrCat("PRAGMA ", pragma, ": no value"));
  return stmt->ColumnInt(0);
}

absl::StatusOr<std::string> Connection::PragmaText(absl::string_view pragma) {
  absl::StatusOr<Statement> stmt =
      Prepare(absl::StrCat("PRAGMA ", pragma), pragma);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row)
    return absl::InternalError(absl::StrCat("PRAGMA ", pragma, ": no value"));
  return stmt->ColumnText(0);
}

absl::Status Connection::UseWal() {
  absl::StatusOr<std::string> mode = PragmaText("journal_mode = WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return absl::UnavailableError(absl::StrCat(
        "cannot use WAL mode there (journal_mode is ", *mode, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<QuickCheckResult> Connection::QuickCheck(
    absl::Duration time_limit, int max_problems) {
  // The watchdog: from the deadline on, interrupts every millisecond until
  // the check is over. Repeated, because an interrupt that lands before the
  // statement has started is cleared when it starts.
  absl::Mutex mu;
  bool done = false;
  const absl::Time deadline = absl::Now() + time_limit;
  std::thread watchdog([&] {
    absl::MutexLock lock(&mu);
    auto finished = [&done]() { return done; };
    mu.AwaitWithDeadline(absl::Condition(&finished), deadline);
    while (!done) {
      sqlite3_interrupt(db_);
      mu.AwaitWithTimeout(absl::Condition(&finished), absl::Milliseconds(1));
    }
  });
  QuickCheckResult result;
  absl::Status status;
  sqlite3_stmt* stmt = nullptr;
  const std::string sql =
      absl::StrCat("PRAGMA quick_check(", max_problems, ")");
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      const std::string row =
          text == nullptr ? std::string() : reinterpret_cast<const char*>(text);
      if (row != "ok") result.problems.push_back(row);
    }
  }
  {
    absl::MutexLock lock(&mu);
    done = true;
  }
  watchdog.join();
  switch (rc & 0xff) {
    case SQLITE_DONE:
      result.outcome = result.problems.empty()
                           ? QuickCheckResult::Outcome::kOk
                           : QuickCheckResult::Outcome::kDamaged;
      break;
    case SQLITE_INTERRUPT:
      // Findings of a cut-short walk are not trustworthy: report none.
      result.outcome = QuickCheckResult::Outcome::kIncomplete;
      result.problems.clear();
      break;
    case SQLITE_CORRUPT:
      result.outcome = QuickCheckResult::Outcome::kDamaged;
      result.problems.push_back(sqlite3_errmsg(db_));
      break;
    case SQLITE_NOTADB:
      result.outcome = QuickCheckResult::Outcome::kNotADatabase;
      break;
    default:
      status = SqliteError(rc, "quick_check", sqlite3_errmsg(db_));
      break;
  }
  sqlite3_finalize(stmt);
  if (!status.ok()) return status;
  return result;
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      what_(std::move(other.what_)),
      bind_rc_(other.bind_rc_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    what_ = std::move(other.what_);
    bind_rc_ = other.bind_rc_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::BindText(int index, absl::string_view value) {
  const int rc =
      sqlite3_bind_text(stmt_, index, value.data(),
                        static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindTextNoCopy(int index, absl::string_view value) {
  // Empty text, not NULL, for "": the pointer must not be null.
  const int rc = sqlite3_bind_text(
      stmt_, index, value.data() == nullptr ? "" : value.data(),
      static_cast<int>(value.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view value) {
  // A zero-length blob, not NULL, for "": the pointer must not be null.
  const int rc =
      sqlite3_bind_blob(stmt_, index, value.empty() ? "" : value.data(),
                        static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindInt(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return SqliteError(bind_rc_, absl::StrCat("bind ", what_), "");
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, what_, sqlite3_errmsg(db_));
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

int64_t Statement::ColumnInt(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

double Statement::ColumnDouble(int col) const {
  return sqlite3_column_double(stmt_, col);
}

std::string Statement::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Statement::ColumnBlob(int col) const {
  const void* bytes = sqlite3_column_blob(stmt_, col);
  if (bytes == nullptr) return std::string();
  return std::string(static_cast<const char*>(bytes),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

bool Statement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

}  // namespace needlecheck::sqlite
