// A small RAII layer over libpq. A base library (needlecheck_postgres): the
// service's PostgreSQL ledger and the adapters' stores use it; it includes
// nothing from either.
//
// Contract
// - PgConnection owns one PGconn (PQfinish on destruction). Connect() takes
//   libpq keyword/value parameters (the DSN is passed as "dbname" with
//   expand_dbname, so key=value strings and postgresql:// URIs both work)
//   and adds what keeps every call bounded: connect_timeout, TCP
//   keepalives, tcp_user_timeout, and statement_timeout on the server.
// - Exec()/Query() send one statement (text parameters, $1..$n; std::nullopt
//   is NULL) and wait for its result at most `deadline` (poll() on the
//   socket): a dead network or a frozen server fails the call instead of
//   hanging it. A connection whose call timed out, or whose socket broke,
//   is marked broken(): the caller drops it and connects again.
// - Errors: PERMISSION_DENIED when the server refuses the login (no or a
//   wrong password) or a statement (42501: missing privilege), UNAVAILABLE for
//   connection problems (refused, lost, timed out, server shutting down,
//   SQLSTATE classes 08, 53, 57), ALREADY_EXISTS for unique violations (23505),
//   INVALID_ARGUMENT for data the server refuses (class 22), ABORTED for
//   serialization failures and deadlocks (40), INTERNAL otherwise. Messages
//   carry the SQLSTATE and libpq's primary message only (never DETAIL, which
//   quotes row values), prefixed with `what`.
// - Not thread-safe: one thread uses a connection at a time.
#ifndef COMMON_POSTGRES_PG_CONN_H_
#define COMMON_POSTGRES_PG_CONN_H_

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace needlecheck::postgres {

// The result of one statement (PQclear on destruction).
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  int Rows() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const {
    return PQgetisnull(result_.get(), row, col) != 0;
  }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(result_.get(), row, col),
                       PQgetlength(result_.get(), row, col));
  }
  int64_t Int(int row, int col) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

using PgParams = std::vector<std::optional<std::string>>;

struct PgConnectOptions {
  // A libpq connection string (key=value or postgresql:// URI).
  std::string dsn;
  // Non-empty: passed as the "password" parameter.
  std::string password;
  // Per-attempt connect timeout (libpq rounds to whole seconds, >= 2).
  absl::Duration connect_timeout = absl::Seconds(3);
  // How long one statement may take (server statement_timeout, and the
  // client's wait for the result a little longer).
  absl::Duration statement_timeout = absl::Seconds(5);
  // application_name shown in pg_stat_activity.
  std::string application_name = "needlecheckd";
  // Where a password may come from, named when the server asks for one and
  // none was given.
  std::string password_hint = "PGPASSWORD or ~/.pgpass";
};

class PgConnection {
 public:
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const PgConnectOptions& options);

  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` (one statement, or several without parameters).
  absl::Status Exec(absl::string_view sql, absl::string_view what);
  absl::StatusOr<PgResult> Query(absl::string_view sql, const PgParams& params,
                                 absl::string_view what);

  // The socket broke or a call timed out: do not use it again.
  bool broken() const {
    return broken_ || PQstatus(conn_.get()) != CONNECTION_OK;
  }
  // A call waited its whole deadline without an answer (a hung server or
  // network): retrying at once would only wait again.
  bool timed_out() const { return timed_out_; }

 private:
  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  explicit PgConnection(PGconn* conn, absl::Duration deadline)
      : conn_(conn), deadline_(deadline) {}
  // Waits for the result of the query just sent.
  absl::StatusOr<PgResult> Await(absl::string_view what);

  std::unique_ptr<PGconn, Finish> conn_;
  absl::Duration deadline_;
  bool broken_ = false;
  bool timed_out_ = false;
};

// Runs `body` between BEGIN and COMMIT on `db` (ROLLBACK when it fails).
template <typename F>
absl::Status PgTransaction(PgConnection& db, F body,
                           absl::string_view begin = "BEGIN") {
  if (absl::Status s = db.Exec(begin, "begin"); !s.ok()) return s;
  absl::Status status = body();
  if (!status.ok()) {
    if (!db.broken()) db.Exec("ROLLBACK", "rollback").IgnoreError();
    return status;
  }
  return db.Exec("COMMIT", "commit");
}

// A PostgreSQL array literal of `values` ('{"a","b"}'), for $n::text[].
std::string PgTextArray(const std::vector<std::string>& values);

// `text` as PostgreSQL text accepts it: NUL bytes and invalid UTF-8
// sequences become U+FFFD, so that no request can make a batch fail for
// ever.
std::string PgSafeText(absl::string_view text);

// True when `dsn` carries a password (password=..., or user:pw@ in a URI).
// INVALID_ARGUMENT when libpq cannot parse it (the message never quotes
// the string).
absl::StatusOr<bool> DsnHasPassword(const std::string& dsn);

// `dsn` without its password, for logs ("" when it cannot be parsed).
std::string DsnWithoutPassword(const std::string& dsn);

// The password kept in the file `path` (for PgConnectOptions::password):
// its content without one trailing line end. At most 4 KiB. Read with
// ReadRegularFile() (common/files/bounded_file.h), so a FIFO or a device
// never blocks or floods the reader. Errors name the path, never the
// content, and start "password file": NOT_FOUND / PERMISSION_DENIED when it
// cannot be opened, FAILED_PRECONDITION when it is not a regular file,
// RESOURCE_EXHAUSTED when it is larger, INVALID_ARGUMENT when it is empty.
absl::StatusOr<std::string> ReadPasswordFile(const std::string& path);

}  // namespace needlecheck::postgres

#endif  // COMMON_POSTGRES_PG_CONN_H_
