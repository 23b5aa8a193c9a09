// `needlecheck access-log`: the access-audit trail (GetAccessLog) for a
// privacy officer.
//
//   needlecheck access-log --from YYYY-MM-DD --to YYYY-MM-DD [--patient ID]
//                          [--limit N] [--server HOST:PORT] [--json]
//                          [--timeout 10s] [--tls_ca PEM [--tls_cert PEM
//                          --tls_key PEM]] [--tls_server_name NAME]
//
// Contract
// - ParseAccessLogArgs() reads the arguments after "access-log", or returns
//   INVALID_ARGUMENT with a message a person can act on (exit kExitUsage).
//   Strict like `stats`: --from and --to are required real days, --from
//   not after --to; unknown flags, missing or repeated values and stray
//   arguments are errors.
// - FormatAccessLog() prints a table, one access per line: time (UTC),
//   action (with the stream position), patient, outcome, caller, on behalf
//   of (iss sub tenant user), trace id, detail; control characters in
//   stored values are C-escaped so that a value cannot forge a line. A
//   truncated answer ends with a line saying so. --json prints the
//   GetAccessLogResponse as proto JSON instead.
// - RunAccessLogCommand() does the RPC and printing (exit codes: 0 done,
//   1 the server or RPC failed, 2 usage error or a request the server
//   rejected as invalid).
// - Thread-safe (no state).
#ifndef TOOLS_CLI_ACCESS_LOG_COMMAND_H_
#define TOOLS_CLI_ACCESS_LOG_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/common/client_tls_options.h"
#include "needlecheck/v1/access_log.pb.h"
#include "tools/cli/cli_args.h"

namespace needlecheck::cli {

struct AccessLogOptions {
  bool help = false;       // --help: print AccessLogUsageText()
  std::string from;        // --from (required)
  std::string to;          // --to (required)
  std::string patient_id;  // --patient; "" for every patient
  int limit = 0;           // --limit (1-10000); 0: the server's (10000)
  std::string server = kDefaultServer;
  bool json = false;
  absl::Duration timeout = absl::Seconds(10);
  // --tls_ca, --tls_cert, --tls_key, --tls_server_name, as for every
  // command (client_tls_options.h); none: plaintext.
  needlecheck::grpc_client::ClientTlsOptions tls;
};

// `args` are the arguments after "access-log".
absl::StatusOr<AccessLogOptions> ParseAccessLogArgs(
    const std::vector<std::string>& args);

needlecheck::v1::GetAccessLogRequest BuildAccessLogRequest(
    const AccessLogOptions& options);

std::string FormatAccessLog(const needlecheck::v1::GetAccessLogResponse& log);

std::string AccessLogUsageText();

// Parses `args` (after "access-log"), calls GetAccessLog and prints the
// result; the process exit code.
int RunAccessLogCommand(const std::vector<std::string>& args);

}  // namespace needlecheck::cli

#endif  // TOOLS_CLI_ACCESS_LOG_COMMAND_H_
