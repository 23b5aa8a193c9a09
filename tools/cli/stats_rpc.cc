// RunStatsCommand(): the gRPC half of `needlecheck stats` (the parsing and
// formatting live in stats_command.cc, which needs no gRPC).
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/common/grpc_client_channel.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tools/cli/access_log_command.h"
#include "tools/cli/cli_output.h"
#include "tools/cli/stats_command.h"

namespace needlecheck::cli {

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
  absl::StatusOr<needlecheck::grpc_client::ClientChannelSecurity> security =
      needlecheck::grpc_client::LoadClientChannelSecurity(options->tls, "");
  if (!security.ok()) {
    std::cerr << "needlecheck: " << security.status().message() << "\n";
    return kExitUsage;
  }
  auto stub = needlecheck::v1::ScreeningService::NewStub(
      needlecheck::grpc_client::NewClientChannel(options->server, *security));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options->timeout));
  needlecheck::v1::AlertStats stats;
  const grpc::Status status =
      stub->GetAlertStats(&context, BuildStatsRequest(*options), &stats);
  if (!status.ok()) {
    const auto code = static_cast<absl::StatusCode>(status.error_code());
    std::string text = FormatRpcError(
        "GetAlertStats", code, status.error_message(), status.error_details());
    if (code == absl::StatusCode::kUnavailable) {
      absl::StrAppend(&text, "  (",
                      needlecheck::grpc_client::ConnectionHint(
                          *security, options->server, "--server"),
                      ")\n");
    } else if (code == absl::StatusCode::kUnimplemented) {
      absl::StrAppend(&text,
                      "  (the server runs without an alert ledger: "
                      "--ledger=none)\n");
    }
    std::cerr << "needlecheck: " << text;
    return code == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitRpc;
  }
  std::cout << (options->json ? ToJson(stats) : FormatAlertStats(stats));
  return kExitOk;
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
  absl::StatusOr<needlecheck::grpc_client::ClientChannelSecurity> security =
      needlecheck::grpc_client::LoadClientChannelSecurity(options->tls, "");
  if (!security.ok()) {
    std::cerr << "needlecheck: " << security.status().message() << "\n";
    return kExitUsage;
  }
  auto stub = needlecheck::v1::ScreeningService::NewStub(
      needlecheck::grpc_client::NewClientChannel(options->server, *security));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options->timeout));
  needlecheck::v1::GetAccessLogResponse log;
  const grpc::Status status =
      stub->GetAccessLog(&context, BuildAccessLogRequest(*options), &log);
  if (!status.ok()) {
    const auto code = static_cast<absl::StatusCode>(status.error_code());
    std::string text = FormatRpcError(
        "GetAccessLog", code, status.error_message(), status.error_details());
    if (code == absl::StatusCode::kUnavailable) {
      absl::StrAppend(&text, "  (",
                      needlecheck::grpc_client::ConnectionHint(
                          *security, options->server, "--server"),
                      ")\n");
    } else if (code == absl::StatusCode::kUnimplemented) {
      absl::StrAppend(&text,
                      "  (the server runs without a ledger: --ledger=none, "
                      "so it keeps no access trail)\n");
    }
    std::cerr << "needlecheck: " << text;
    return code == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitRpc;
  }
  std::cout << (options->json ? ToJson(log) : FormatAccessLog(log));
  return kExitOk;
}

}  // namespace needlecheck::cli
