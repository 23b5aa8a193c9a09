#include "tools/cli/access_log_command.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace needlecheck::cli {
namespace {

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

bool IsDay(absl::string_view text) {
  if (text.size() != 10) return false;
  absl::Time t;
  std::string error;
  return absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error) &&
         absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()) == text;
}

// A stored value for the table: "-" when empty, control characters and
// quotes escaped.
std::string Cell(absl::string_view value) {
  if (value.empty()) return "-";
  return absl::CHexEscape(value);
}

}  // namespace

absl::StatusOr<AccessLogOptions> ParseAccessLogArgs(
    const std::vector<std::string>& args) {
  AccessLogOptions options;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      AccessLogOptions help;
      help.help = true;
      return help;
    }
  }
  std::vector<std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return UsageError(
          absl::StrCat("unexpected argument '", arg, "' for 'access-log'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    for (const std::string& s : seen) {
      if (s == name)
        return UsageError(absl::StrCat("--", name, " given twice"));
    }
    seen.push_back(name);
    if (name == "json") {
      if (has_value) return UsageError("--json takes no value");
      options.json = true;
      continue;
    }
    if (name != "from" && name != "to" && name != "patient" &&
        name != "limit" && name != "server" && name != "timeout" &&
        name != "tls_ca" && name != "tls_cert" && name != "tls_key" &&
        name != "tls_server_name") {
      return UsageError(
          absl::StrCat("unknown flag --", name, " for 'access-log'"));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return UsageError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    if (value.empty()) {
      return UsageError(absl::StrCat("--", name, " needs a non-empty value"));
    }
    if (name == "from" || name == "to") {
      if (!IsDay(value)) {
        return UsageError(
            absl::StrCat("--", name, " ", value,
                         ": not a calendar day (expected YYYY-MM-DD)"));
      }
      (name == "from" ? options.from : options.to) = value;
    } else if (name == "patient") {
      options.patient_id = value;
    } else if (name == "limit") {
      if (!absl::SimpleAtoi(value, &options.limit) || options.limit < 1 ||
          options.limit > 10000) {
        return UsageError(absl::StrCat("--limit ", value,
                                       ": expected a number from 1 to 10000"));
      }
    } else if (name == "server") {
      options.server = value;
    } else if (name == "tls_ca") {
      options.tls.ca_file = value;
    } else if (name == "tls_cert") {
      options.tls.cert_file = value;
    } else if (name == "tls_key") {
      options.tls.key_file = value;
    } else if (name == "tls_server_name") {
      options.tls.server_name = value;
    } else {  // timeout
      if (!absl::ParseDuration(value, &options.timeout) ||
          options.timeout <= absl::ZeroDuration() ||
          options.timeout == absl::InfiniteDuration()) {
        return UsageError(absl::StrCat(
            "--timeout ", value, ": expected a positive duration such as 10s"));
      }
    }
  }
  if (options.from.empty() || options.to.empty()) {
    return UsageError("--from and --to are required (YYYY-MM-DD, UTC days)");
  }
  if (options.from > options.to) {
    return UsageError(
        absl::StrCat("--from ", options.from, " is after --to ", options.to));
  }
  if (absl::Status s =
          needlecheck::grpc_client::CheckClientTlsOptions(options.tls, "");
      !s.ok()) {
    return s;
  }
  return options;
}

needlecheck::v1::GetAccessLogRequest BuildAccessLogRequest(
    const AccessLogOptions& options) {
  needlecheck::v1::GetAccessLogRequest request;
  request.set_from_date(options.from);
  request.set_to_date(options.to);
  request.set_patient_id(options.patient_id);
  request.set_limit(options.limit);
  return request;
}

std::string FormatAccessLog(const needlecheck::v1::GetAccessLogResponse& log) {
  std::string out;
  absl::StrAppend(
      &out, absl::StrFormat(
                "%-27s  %-16s  %-12s  %-18s  %-30s  %-40s  %-32s  %s\n",
                "TIME (UTC)", "ACTION", "PATIENT", "OUTCOME", "CALLER",
                "ON BEHALF OF (iss sub tenant user)", "TRACE ID", "DETAIL"));
  for (const needlecheck::v1::AccessRecord& r : log.records()) {
    std::string action = r.action();
    if (r.stream_index() >= 0) absl::StrAppend(&action, "#", r.stream_index());
    std::string on_behalf = "-";
    if (!r.on_behalf_iss().empty() || !r.on_behalf_sub().empty() ||
        !r.on_behalf_tenant().empty() || !r.on_behalf_user().empty()) {
      on_behalf =
          absl::StrJoin({Cell(r.on_behalf_iss()), Cell(r.on_behalf_sub()),
                         Cell(r.on_behalf_tenant()), Cell(r.on_behalf_user())},
                        " ");
    }
    absl::StrAppend(
        &out,
        absl::StrFormat("%-27s  %-16s  %-12s  %-18s  %-30s  %-40s  %-32s  %s\n",
                        Cell(r.time()), Cell(action), Cell(r.patient_id()),
                        Cell(r.outcome()), Cell(r.caller()), on_behalf,
                        Cell(r.trace_id()), Cell(r.detail())));
  }
  absl::StrAppend(&out, log.records_size(), " access record",
                  log.records_size() == 1 ? "" : "s", "\n");
  if (log.truncated()) {
    absl::StrAppend(&out,
                    "(more records matched: narrow the dates or raise "
                    "--limit)\n");
  }
  return out;
}

std::string AccessLogUsageText() {
  return R"(Usage: needlecheck access-log --from YYYY-MM-DD --to YYYY-MM-DD
                              [--patient ID] [--limit N] [--server HOST:PORT]
                              [--json] [--timeout 10s]
                              [--tls_ca FILE.pem [--tls_cert FILE.pem --tls_key FILE.pem]]
                              [--tls_server_name NAME]

The access-audit trail of needlecheckd: one line per access to patient data
(Screen, ScreenStream item, Audit record, RecordFeedback, GetAlertStats,
GetAccessLog, the CDS Hooks gateway's FHIR fetches), oldest first.

  --from, --to   first and last UTC day, inclusive (required)
  --patient ID   only this patient's accesses
  --limit N      at most N records (1-10000; default 10000)
  --json         the GetAccessLogResponse as JSON
  --server       needlecheckd's address (default 127.0.0.1:50051)
  --timeout      RPC deadline (default 10s)
  --tls_ca, --tls_cert, --tls_key, --tls_server_name
                 TLS to needlecheckd, as for every command (see 'needlecheck
                 --help'); none given: plaintext

Reading the trail is itself recorded (action GetAccessLog).
Exit codes: 0 done, 1 the server or RPC failed, 2 usage error.
)";
}

}  // namespace needlecheck::cli
