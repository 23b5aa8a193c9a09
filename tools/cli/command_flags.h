// The flag reader of the `needlecheck` commands that take only flags and
// ask needlecheckd for a period's records (`stats`, `access-log`):
// "--name value", "--name=value", switches without a value, and the flags
// such commands share (--from, --to, --json, --server, --timeout, --tls_*).
//
// Contract
// - HelpRequested(): "--help", "-h" or "-help" anywhere; it wins over every
//   other problem.
// - ReadCommandFlags() reads the arguments in order and hands each flag to
//   `apply` as soon as it is read, so the first problem in argument order is
//   the one reported: apply's error, or INVALID_ARGUMENT checked in this
//   order for each argument: "unexpected argument 'x' for '<command>'" (not
//   --name),
//   "--json takes no value" (a switch given =value), "unknown flag --x for
//   '<command>'", "--x needs a value" (the last argument), "--x needs a
//   non-empty value", "--x given twice" (unless the flag may repeat).
// - ApplySharedFlag() sets --from or --to (a day as YYYY-MM-DD:
//   IsCivilDayText), --json, --server, --timeout (a positive finite
//   duration) or a --tls_* flag; false for any other flag.
// - CheckPeriodAndTls(): --from not after --to, and the TLS combination
//   (client_tls_options.h), once all flags are read.
// - Pure functions; thread-safe.
#ifndef TOOLS_CLI_COMMAND_FLAGS_H_
#define TOOLS_CLI_COMMAND_FLAGS_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "adapters/common/client_tls_options.h"

namespace needlecheck::cli {

// A flag a command accepts.
struct CommandFlagSpec {
  enum Kind {
    kValue,          // --name VALUE, at most once
    kRepeatedValue,  // --name VALUE, any number of times
    kSwitch,         // --name, no value, at most once
  };
  absl::string_view name;  // without "--"
  Kind kind = kValue;
};

// --from, --to, --json (a switch), --server, --timeout and the four --tls_*
// flags.
extern const CommandFlagSpec kSharedFlags[9];

// One flag as given.
struct CommandFlag {
  std::string name;   // without "--"
  std::string value;  // "" for a switch
};

bool HelpRequested(const std::vector<std::string>& args);

// `args` are the arguments after the command's name; `accepted` lists every
// flag the command takes.
absl::Status ReadCommandFlags(
    const std::vector<std::string>& args, absl::string_view command,
    absl::Span<const CommandFlagSpec> accepted,
    absl::FunctionRef<absl::Status(const CommandFlag&)> apply);

// Where a command keeps the shared flags.
struct SharedFlags {
  std::string* from;
  std::string* to;
  bool* json;
  std::string* server;
  absl::Duration* timeout;
  needlecheck::grpc_client::ClientTlsOptions* tls;
};

// Applies `flag` when it is a shared flag: true with the status of its
// value, false (and OK) when it is not one.
bool ApplySharedFlag(const CommandFlag& flag, const SharedFlags& out,
                     absl::Status* status);

// The checks once every flag is read: "--from A is after --to B" when both
// are given, then CheckClientTlsOptions.
absl::Status CheckPeriodAndTls(
    const std::string& from, const std::string& to,
    const needlecheck::grpc_client::ClientTlsOptions& tls);

}  // namespace needlecheck::cli

#endif  // TOOLS_CLI_COMMAND_FLAGS_H_
