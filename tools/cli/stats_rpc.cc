// RunStatsCommand(): the gRPC half of `needlecheck stats` (the parsing and
// formatting live in stats_command.cc, which needs no gRPC).
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapters/common/grpc_client_channel.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tools/cli/access_log_command.h"
#include "tools/cli/cli_output.h"
#include "tools/cli/stats_command.h"

namespace needlecheck::cli {

namespace {

// What `stats` and `access-log` share once their flags are parsed: the
// channel from the TLS flags, one call with the deadline, and an error text
// with the hint that fits the code. `call` makes the RPC into `response`;
// `format` prints it.
template <typename Options, typename Response, typename Call, typename Format>
int CallLedgerRead(const Options& options, absl::string_view rpc,
                   absl::string_view unimplemented_hint, Call call,
                   Format format) {
  absl::StatusOr<needlecheck::grpc_client::ClientChannelSecurity> security =
      needlecheck::grpc_client::LoadClientChannelSecurity(options.tls, "");
  if (!security.ok()) {
    std::cerr << "needlecheck: " << security.status().message() << "\n";
    return kExitUsage;
  }
  if (absl::Status s = needlecheck::grpc_client::CheckClientTarget(
          options.server, *security, "--server");
      !s.ok()) {
    std::cerr << "needlecheck: " << s.message() << "\n";
    return kExitUsage;
  }
  auto stub = needlecheck::v1::ScreeningService::NewStub(
      needlecheck::grpc_client::NewClientChannel(options.server, *security));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options.timeout));
  Response response;
  const grpc::Status status = call(*stub, &context, &response);
  if (!status.ok()) {
    const auto code = static_cast<absl::StatusCode>(status.error_code());
    std::string text = FormatRpcError(rpc, code, status.error_message(),
                                      status.error_details());
    if (code == absl::StatusCode::kUnavailable) {
      absl::StrAppend(&text, "  (",
                      needlecheck::grpc_client::ConnectionHint(
                          *security, options.server, "--server"),
                      ")\n");
    } else if (code == absl::StatusCode::kUnimplemented) {
      absl::StrAppend(&text, "  (", unimplemented_hint, ")\n");
    }
    std::cerr << "needlecheck: " << text;
    return code == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitRpc;
  }
  std::cout << format(response);
  return kExitOk;
}

}  // namespace

int RunStatsCommand(const std::vector<std::string>& args) {
  absl::StatusOr<StatsOptions> options = ParseStatsArgs(args);
  if (!options.ok()) {
    std::cerr << "needlecheck: " << options.status().message() << "\n"
              << "Run 'needlecheck stats --help' for usage.\n";
    return kExitUsage;
  }
  if (options->help) {
    std::cout << StatsUsageText();
    return kExitOk;
  }
  const needlecheck::v1::GetAlertStatsRequest request =
      BuildStatsRequest(*options);
  return CallLedgerRead<StatsOptions, needlecheck::v1::AlertStats>(
      *options, "GetAlertStats",
      "the server runs without an alert ledger: --ledger=none",
      [&request](needlecheck::v1::ScreeningService::Stub& stub,
                 grpc::ClientContext* context,
                 needlecheck::v1::AlertStats* stats) {
        return stub.GetAlertStats(context, request, stats);
      },
      [json = options->json](const needlecheck::v1::AlertStats& stats) {
        return json ? ToJson(stats) : FormatAlertStats(stats);
      });
}

int RunAccessLogCommand(const std::vector<std::string>& args) {
  absl::StatusOr<AccessLogOptions> options = ParseAccessLogArgs(args);
  if (!options.ok()) {
    std::cerr << "needlecheck: " << options.status().message() << "\n"
              << "Run 'needlecheck access-log --help' for usage.\n";
    return kExitUsage;
  }
  if (options->help) {
    std::cout << AccessLogUsageText();
    return kExitOk;
  }
  const needlecheck::v1::GetAccessLogRequest request =
      BuildAccessLogRequest(*options);
  return CallLedgerRead<AccessLogOptions,
                        needlecheck::v1::GetAccessLogResponse>(
      *options, "GetAccessLog",
      "the server runs without a ledger: --ledger=none, so it keeps no "
      "access trail",
      [&request](needlecheck::v1::ScreeningService::Stub& stub,
                 grpc::ClientContext* context,
                 needlecheck::v1::GetAccessLogResponse* log) {
        return stub.GetAccessLog(context, request, log);
      },
      [json = options->json](const needlecheck::v1::GetAccessLogResponse& log) {
        return json ? ToJson(log) : FormatAccessLog(log);
      });
}

}  // namespace needlecheck::cli
