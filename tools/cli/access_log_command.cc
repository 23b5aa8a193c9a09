#include "tools/cli/access_log_command.h"

#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/cli/command_flags.h"

namespace needlecheck::cli {
namespace {

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
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
  if (HelpRequested(args)) {
    options.help = true;
    return options;
  }
  std::vector<CommandFlagSpec> accepted = {{"patient"}, {"limit"}};
  accepted.insert(accepted.end(), std::begin(kSharedFlags),
                  std::end(kSharedFlags));
  const SharedFlags shared{&options.from,   &options.to,      &options.json,
                           &options.server, &options.timeout, &options.tls};
  absl::Status read = ReadCommandFlags(
      args, "access-log", accepted,
      [&](const CommandFlag& flag) -> absl::Status {
        const std::string& name = flag.name;
        const std::string& value = flag.value;
        absl::Status status;
        if (ApplySharedFlag(flag, shared, &status)) {
          return status;
        } else if (name == "patient") {
          options.patient_id = value;
        } else {  // limit
          if (!absl::SimpleAtoi(value, &options.limit) || options.limit < 1 ||
              options.limit > 10000) {
            return UsageError(absl::StrCat(
                "--limit ", value, ": expected a number from 1 to 10000"));
          }
        }
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  if (options.from.empty() || options.to.empty()) {
    return UsageError("--from and --to are required (YYYY-MM-DD, UTC days)");
  }
  if (absl::Status s = CheckPeriodAndTls(options.from, options.to, options.tls);
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
