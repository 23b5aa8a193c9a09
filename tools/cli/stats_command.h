// `needlecheck stats`: the alert ledger's statistics (GetAlertStats) for
// people.
//
//   needlecheck stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--rule ID]...
//                     [--top N] [--server HOST:PORT] [--json] [--timeout 10s]
//                     [--tls_ca PEM [--tls_cert PEM --tls_key PEM]]
//                     [--tls_server_name NAME]
//
// Contract
// - ParseStatsArgs() reads the arguments after "stats" into a StatsOptions,
//   or returns INVALID_ARGUMENT with a message a person can act on (exit
//   code kExitUsage). Strict like the other commands: unknown flags, a
//   missing or repeated value (other than --rule), a date that is not a
//   real YYYY-MM-DD day, --from after --to and stray arguments are errors.
// - BuildStatsRequest() and FormatAlertStats() are pure; FormatAlertStats()
//   prints a table: rule, fired, critical/warning/info, accepted,
//   overridden, override %, top override reasons ("-" for the override %
//   of a rule with no feedback yet).
// - RunStatsCommand() does the RPC and printing; it is what `needlecheck`
//   calls for "stats" (exit codes as for every command: 0 done, 1 the
//   server or RPC failed, 2 usage error or a request the server rejected as
//   invalid).
// - Thread-safe (no state).
#ifndef TOOLS_CLI_STATS_COMMAND_H_
#define TOOLS_CLI_STATS_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/common/client_tls_options.h"
#include "needlecheck/v1/ledger.pb.h"
#include "tools/cli/cli_args.h"

namespace needlecheck::cli {

struct StatsOptions {
  bool help = false;               // --help: print StatsUsageText()
  std::string from;                // --from, "" for no lower bound
  std::string to;                  // --to, "" for no upper bound
  std::vector<std::string> rules;  // every --rule, in order
  int top = 0;                     // --top (1-50); 0: the server's default (5)
  std::string server = kDefaultServer;
  bool json = false;
  absl::Duration timeout = absl::Seconds(10);
  // --tls_ca, --tls_cert, --tls_key, --tls_server_name; usage rules checked
  // by ParseStatsArgs(), files read when the command runs.
  needlecheck::grpc_client::ClientTlsOptions tls;
};

// `args` are the arguments after "stats".
absl::StatusOr<StatsOptions> ParseStatsArgs(
    const std::vector<std::string>& args);

needlecheck::v1::GetAlertStatsRequest BuildStatsRequest(
    const StatsOptions& options);

// The statistics as a table, for people.
std::string FormatAlertStats(const needlecheck::v1::AlertStats& stats);

std::string StatsUsageText();

// Parses `args` (after "stats"), calls GetAlertStats and prints the result;
// the process exit code.
int RunStatsCommand(const std::vector<std::string>& args);

}  // namespace needlecheck::cli

#endif  // TOOLS_CLI_STATS_COMMAND_H_
