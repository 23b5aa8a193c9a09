#include "common/postgres/pg_conn.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files/bounded_file.h"
#include "common/text/utf8.h"

namespace needlecheck::postgres {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

// libpq's connection message, on one line.
std::string ConnectionMessage(PGconn* conn) {
  std::string text = PQerrorMessage(conn);
  absl::StripTrailingAsciiWhitespace(&text);
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  return text;
}

absl::StatusCode CodeOf(absl::string_view sqlstate) {
  if (sqlstate.size() != 5) return absl::StatusCode::kUnavailable;
  if (sqlstate == "23505") return absl::StatusCode::kAlreadyExists;
  if (sqlstate == "57014") return absl::StatusCode::kUnavailable;  // timeout
  if (sqlstate == "P0001") return absl::StatusCode::kFailedPrecondition;
  if (sqlstate == "42501") return absl::StatusCode::kPermissionDenied;
  const absl::string_view cls = sqlstate.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58") {
    return absl::StatusCode::kUnavailable;
  }
  if (cls == "22") return absl::StatusCode::kInvalidArgument;
  if (cls == "40") return absl::StatusCode::kAborted;
  return absl::StatusCode::kInternal;
}

absl::Status ErrorOf(PGconn* conn, const PGresult* result,
                     absl::string_view what) {
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  if (sqlstate == nullptr) {
    // Raised by libpq itself: the connection is gone.
    return absl::UnavailableError(
        absl::StrCat(what, ": ", ConnectionMessage(conn)));
  }
  return absl::Status(
      CodeOf(sqlstate),
      absl::StrCat(what, ": ", primary == nullptr ? "error" : primary,
                   " (SQLSTATE ", sqlstate, ")"));
}

}  // namespace

int64_t PgResult::Int(int row, int col) const {
  int64_t value = 0;
  if (!absl::SimpleAtoi(PQgetvalue(result_.get(), row, col), &value)) return 0;
  return value;
}

int64_t PgResult::Affected() const {
  int64_t value = 0;
  if (!absl::SimpleAtoi(PQcmdTuples(result_.get()), &value)) return 0;
  return value;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const PgConnectOptions& options) {
  const std::string connect_timeout = absl::StrCat(
      std::max<int64_t>(2, absl::ToInt64Seconds(absl::Ceil(
                               options.connect_timeout, absl::Seconds(1)))));
  const std::string user_timeout =
      absl::StrCat(absl::ToInt64Milliseconds(options.statement_timeout));
  // Ours first, then the DSN (which may override them), then the password.
  std::vector<const char*> keys = {
      "connect_timeout",     "keepalives",       "keepalives_idle",
      "keepalives_interval", "keepalives_count", "tcp_user_timeout",
      "application_name",    "client_encoding",  "dbname"};
  std::vector<const char*> values = {connect_timeout.c_str(),
                                     "1",
                                     "5",
                                     "2",
                                     "2",
                                     user_timeout.c_str(),
                                     options.application_name.c_str(),
                                     "UTF8",
                                     options.dsn.c_str()};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(),
                                  /*expand_dbname=*/1);
  if (raw == nullptr) {
    return absl::ResourceExhaustedError("libpq: out of memory");
  }
  std::unique_ptr<PgConnection> conn(
      new PgConnection(raw, options.statement_timeout + absl::Seconds(1)));
  if (PQstatus(raw) != CONNECTION_OK) {
    const std::string message = ConnectionMessage(raw);
    // Waiting does not help a refused login: say so instead of retrying.
    if (PQconnectionNeedsPassword(raw) ||
        absl::StrContains(message, "authentication failed")) {
      return absl::PermissionDeniedError(absl::StrCat(
          "PostgreSQL refused the login: ", message,
          PQconnectionNeedsPassword(raw)
              ? absl::StrCat(" (it needs a password: ", options.password_hint,
                             ")")
              : std::string()));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", message));
  }
  if (absl::Status s = conn->Exec(
          absl::StrCat("SET synchronous_commit = on; SET statement_timeout = ",
                       absl::ToInt64Milliseconds(options.statement_timeout),
                       "; SET lock_timeout = ",
                       absl::ToInt64Milliseconds(options.statement_timeout)),
          "session settings");
      !s.ok()) {
    return s;
  }
  return conn;
}

absl::Status PgConnection::Exec(absl::string_view sql, absl::string_view what) {
  if (broken()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": the connection to PostgreSQL was lost"));
  }
  const std::string text(sql);
  if (PQsendQuery(conn_.get(), text.c_str()) == 0) {
    broken_ = true;
    return absl::UnavailableError(
        absl::StrCat(what, ": ", ConnectionMessage(conn_.get())));
  }
  return Await(what).status();
}

absl::StatusOr<PgResult> PgConnection::Query(absl::string_view sql,
                                             const PgParams& params,
                                             absl::string_view what) {
  if (broken()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": the connection to PostgreSQL was lost"));
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::optional<std::string>& p : params) {
    values.push_back(p.has_value() ? p->c_str() : nullptr);
  }
  const std::string text(sql);
  if (PQsendQueryParams(conn_.get(), text.c_str(),
                        static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0) == 0) {
    broken_ = true;
    return absl::UnavailableError(
        absl::StrCat(what, ": ", ConnectionMessage(conn_.get())));
  }
  return Await(what);
}

absl::StatusOr<PgResult> PgConnection::Await(absl::string_view what) {
  const absl::Time deadline = absl::Now() + deadline_;
  PGconn* c = conn_.get();
  ResultPtr last;
  absl::Status error;
  while (true) {
    while (PQisBusy(c)) {
      const int64_t left_ms = absl::ToInt64Milliseconds(
          absl::Ceil(deadline - absl::Now(), absl::Milliseconds(1)));
      if (left_ms <= 0) {
        broken_ = true;
        timed_out_ = true;
        return absl::UnavailableError(absl::StrCat(
            what, ": PostgreSQL did not answer within ",
            absl::FormatDuration(deadline_), " (connection dropped)"));
      }
      pollfd pfd{PQsocket(c), POLLIN, 0};
      const int rc = poll(
          &pfd, 1, static_cast<int>(std::min<int64_t>(left_ms, 60 * 1000)));
      if (rc < 0 && errno != EINTR) {
        broken_ = true;
        return absl::UnavailableError(absl::StrCat(what, ": poll failed"));
      }
      if (rc > 0 && PQconsumeInput(c) == 0) {
        broken_ = true;
        return absl::UnavailableError(
            absl::StrCat(what, ": ", ConnectionMessage(c)));
      }
    }
    ResultPtr result(PQgetResult(c));
    if (result == nullptr) break;
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE ||
        status == PGRES_NONFATAL_ERROR) {
      if (error.ok()) error = ErrorOf(c, result.get(), what);
      continue;
    }
    last = std::move(result);
  }
  if (PQstatus(c) != CONNECTION_OK) broken_ = true;
  if (!error.ok()) return error;
  if (last == nullptr) {
    return absl::InternalError(absl::StrCat(what, ": no result"));
  }
  return PgResult(last.release());
}

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string PgSafeText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    // NUL, and each byte that does not start a well-formed sequence, is
    // replaced on its own.
    const int n = text[i] == '\0' ? 0 : text::Utf8SequenceLength(text, i);
    if (n <= 0) {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
    } else {
      out.append(text.data() + i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    }
  }
  return out;
}

absl::StatusOr<bool> DsnHasPassword(const std::string& dsn) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
      PQconninfoParse(dsn.c_str(), &err));
  if (err != nullptr) PQfreemem(err);  // may quote the string: not used
  if (opts == nullptr) {
    return absl::InvalidArgumentError(
        "not a libpq connection string (key=value pairs, or a "
        "postgresql:// URI)");
  }
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == "password" && o->val != nullptr &&
        o->val[0] != '\0') {
      return true;
    }
  }
  return false;
}

std::string DsnWithoutPassword(const std::string& dsn) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
      PQconninfoParse(dsn.c_str(), &err));
  if (err != nullptr) PQfreemem(err);
  if (opts == nullptr) return "";
  std::vector<std::string> parts;
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::string(o->keyword) == "password") continue;
    // Quoted only when it has to be (empty, blanks, quotes, backslashes).
    const absl::string_view raw = o->val;
    const bool plain = !raw.empty() &&
                       raw.find_first_of(" \t\n'\\") == absl::string_view::npos;
    std::string value;
    for (char c : raw) {
      if (c == '\'' || c == '\\') value.push_back('\\');
      value.push_back(c);
    }
    parts.push_back(plain ? absl::StrCat(o->keyword, "=", value)
                          : absl::StrCat(o->keyword, "='", value, "'"));
  }
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<std::string> ReadPasswordFile(const std::string& path) {
  constexpr size_t kMaxBytes = 4096;
  absl::StatusOr<std::string> content = ReadRegularFile(path, kMaxBytes);
  if (!content.ok()) {
    return absl::Status(
        content.status().code(),
        absl::StrCat("password file: ", content.status().message()));
  }
  absl::string_view text = *content;
  absl::ConsumeSuffix(&text, "\n");
  absl::ConsumeSuffix(&text, "\r");
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("password file \"", path, "\": empty"));
  }
  return std::string(text);
}

}  // namespace needlecheck::postgres
