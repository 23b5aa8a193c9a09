// Command-line parsing for the `needlecheck` client CLI.
//
// Contract
// - ParseCommandLine() turns the arguments after the program name into a
//   CliInvocation, or returns INVALID_ARGUMENT with a message a person can
//   act on (the caller prints it and exits with kExitUsage). It does no I/O:
//   it neither reads the record file nor contacts the server.
// - Parsing is strict: unknown flags, missing values, a flag given twice
//   (other than the repeatable --area) and stray positional arguments are
//   errors. Flags take their value as `--flag=VALUE` or `--flag VALUE`.
// - ParseArea() reads one `--area NAME[:DEPTH_MM]` value.
// - Pure functions; thread-safe.
#ifndef TOOLS_CLI_CLI_ARGS_H_
#define TOOLS_CLI_CLI_ARGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/common/client_tls_options.h"
#include "needlecheck/v1/session.pb.h"

namespace needlecheck::cli {

// Process exit codes, documented in `needlecheck --help`.
inline constexpr int kExitOk = 0;     // done (with or without alerts)
inline constexpr int kExitRpc = 1;    // the server or the RPC failed
inline constexpr int kExitUsage = 2;  // bad usage or bad input file

// The server the CLI talks to unless --server says otherwise.
inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

enum class Command {
  kHelp,    // needlecheck --help / help / <command> --help
  kScreen,  // needlecheck screen ...
  kKbLint,  // needlecheck kb lint FILE
  kKbShow,  // needlecheck kb show ...
  kHealth,  // needlecheck health ...
};

struct CliInvocation {
  Command command = Command::kHelp;

  // screen: --record FILE, the proto JSON record, or --fhir FILE, a FHIR R4
  // document (Bundle, resource, prefetch object); exactly one is required.
  std::string record_path;
  std::string fhir_path;
  // screen: --date (required), checked to name a full day.
  std::string date;
  // screen: every --area, in the order given.
  std::vector<needlecheck::v1::AreaPlan> areas;
  // screen: --anesthetic TEXT; empty when not given.
  std::string anesthetic;

  // screen, kb show, health: --server HOST:PORT.
  std::string server = kDefaultServer;
  // screen, kb show, health: --json prints the response as proto JSON.
  bool json = false;
  // screen, kb show, health: --timeout, the RPC deadline. Default 10
  // seconds.
  absl::Duration timeout = absl::Seconds(10);
  // screen, kb show, health: --tls_ca, --tls_cert, --tls_key,
  // --tls_server_name (client_tls_options.h). Their usage rules are checked
  // here; the files are read when the command runs.
  needlecheck::grpc_client::ClientTlsOptions tls;

  // kb lint: the knowledge-base file.
  std::string kb_file;
};

// Parses the arguments after argv[0].
absl::StatusOr<CliInvocation> ParseCommandLine(
    const std::vector<std::string>& args);

// Parses "NAME[:DEPTH_MM]", e.g. "periorbital:0.5", "full-face", "cheeks".
// NAME is a TreatmentArea enum suffix, case-insensitive, with '-' or '_'
// between words; DEPTH_MM a positive number of millimetres. Unknown names
// give an error listing the valid ones.
absl::StatusOr<needlecheck::v1::AreaPlan> ParseArea(absl::string_view spec);

// The valid area names, in enum order ("full-face", "forehead", ...).
std::vector<std::string> AreaNames();

// The CLI-style name of an area ("full-face"); "unspecified" for 0.
std::string AreaName(needlecheck::v1::TreatmentArea area);

// The full help text (`needlecheck --help`), including the exit codes.
std::string UsageText();

// One "--name" or "--name=value" argument of a subcommand's own parser.
struct FlagArgument {
  std::string name;   // without the dashes
  std::string value;  // after '=', when has_value
  bool has_value = false;
};

// INVALID_ARGUMENT "unexpected argument 'ARG' for 'COMMAND'" when `arg` is
// not a flag ("x", "--").
absl::StatusOr<FlagArgument> ParseFlagArgument(const std::string& arg,
                                               absl::string_view command);

}  // namespace needlecheck::cli

#endif  // TOOLS_CLI_CLI_ARGS_H_
