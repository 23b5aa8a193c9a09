// needlecheck: the command-line client of needlecheckd, for people.
// See `needlecheck --help` (tools/cli/cli_args.cc, UsageText()).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/common/grpc_client_channel.h"
#include "adapters/fhir/fhir_extract.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "service/kb/knowledge_base.h"
#include "tools/cli/access_log_command.h"
#include "tools/cli/cli_args.h"
#include "tools/cli/cli_output.h"
#include "tools/cli/stats_command.h"
#include "tools/cli/text_command.h"

namespace needlecheck::cli {
namespace {

using needlecheck::grpc_client::ClientChannelSecurity;

void PrintError(absl::string_view message) {
  std::cerr << "needlecheck: " << message;
  if (message.empty() || message.back() != '\n') std::cerr << "\n";
}

OutputStyle StdoutStyle() {
  OutputStyle style;
  style.color = UseColor(isatty(STDOUT_FILENO) != 0, std::getenv("NO_COLOR"));
  return style;
}

std::unique_ptr<needlecheck::v1::ScreeningService::Stub> NewStub(
    const CliInvocation& inv, const ClientChannelSecurity& security) {
  return needlecheck::v1::ScreeningService::NewStub(
      needlecheck::grpc_client::NewClientChannel(inv.server, security));
}

void SetDeadline(const CliInvocation& inv, grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(inv.timeout));
}

int ReportRpcError(absl::string_view rpc, const CliInvocation& inv,
                   const ClientChannelSecurity& security,
                   const grpc::Status& status) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string text =
      FormatRpcError(rpc, code, status.error_message(), status.error_details());
  if (code == absl::StatusCode::kUnavailable) {
    absl::StrAppend(&text, "  (",
                    needlecheck::grpc_client::ConnectionHint(
                        security, inv.server, "--server"),
                    ")\n");
  } else if (code == absl::StatusCode::kDeadlineExceeded) {
    absl::StrAppend(&text, "  (no answer within ",
                    absl::FormatDuration(inv.timeout), "; see --timeout)\n");
  }
  PrintError(text);
  // A request the server rejected as invalid is an input error.
  return code == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitRpc;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read error"));
  }
  return contents.str();
}

// The record from --record (proto JSON) or --fhir (FHIR R4 JSON, with the
// Fitzpatrick skin type taken as of the session date).
absl::StatusOr<needlecheck::v1::PatientRecord> LoadRecord(
    const CliInvocation& inv) {
  const std::string& path =
      inv.fhir_path.empty() ? inv.record_path : inv.fhir_path;
  absl::StatusOr<std::string> json = ReadFile(path);
  if (!json.ok()) return json.status();
  if (inv.fhir_path.empty()) return ParseRecordJson(*json, path);
  needlecheck::fhir::ExtractOptions options;
  options.as_of_date = inv.date;
  absl::StatusOr<needlecheck::fhir::FhirExtract> extract =
      needlecheck::fhir::ExtractFromJson(*json, options);
  if (!extract.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", extract.status().message()));
  }
  return std::move(extract->record);
}

int RunScreen(const CliInvocation& inv, const ClientChannelSecurity& security) {
  absl::StatusOr<needlecheck::v1::PatientRecord> record = LoadRecord(inv);
  if (!record.ok()) {
    PrintError(record.status().message());
    return kExitUsage;
  }
  needlecheck::v1::ScreenRequest request;
  *request.mutable_record() = *std::move(record);
  needlecheck::v1::PlannedSession* session = request.mutable_session();
  session->set_date(inv.date);
  for (const auto& area : inv.areas) *session->add_areas() = area;
  if (!inv.anesthetic.empty()) {
    session->mutable_anesthetic()->set_text(inv.anesthetic);
  }

  grpc::ClientContext context;
  SetDeadline(inv, &context);
  needlecheck::v1::ScreenResponse response;
  const grpc::Status status =
      NewStub(inv, security)->Screen(&context, request, &response);
  if (!status.ok()) return ReportRpcError("Screen", inv, security, status);
  std::cout << (inv.json ? ToJson(response)
                         : FormatScreenResponse(response, StdoutStyle()));
  return kExitOk;
}

int RunKbShow(const CliInvocation& inv, const ClientChannelSecurity& security) {
  grpc::ClientContext context;
  SetDeadline(inv, &context);
  needlecheck::v1::KnowledgeBase kb;
  const grpc::Status status =
      NewStub(inv, security)
          ->GetKnowledgeBase(&context,
                             needlecheck::v1::GetKnowledgeBaseRequest(), &kb);
  if (!status.ok()) {
    return ReportRpcError("GetKnowledgeBase", inv, security, status);
  }
  std::cout << (inv.json ? ToJson(kb) : FormatKnowledgeBase(kb, StdoutStyle()));
  return kExitOk;
}

// grpc.health.v1.Health/Check for the whole server (service ""): prints
// the serving status; exit 0 only for SERVING.
int RunHealth(const CliInvocation& inv, const ClientChannelSecurity& security) {
  using grpc::health::v1::HealthCheckResponse;
  // Without the channel's own health checking, which would leave out a
  // NOT_SERVING server instead of letting it answer NOT_SERVING.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INHIBIT_HEALTH_CHECKING, 1);
  auto stub = grpc::health::v1::Health::NewStub(
      needlecheck::grpc_client::NewClientChannel(inv.server, security, args));
  grpc::ClientContext context;
  SetDeadline(inv, &context);
  HealthCheckResponse response;
  const grpc::Status status =
      stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  if (!status.ok()) {
    ReportRpcError("Health/Check", inv, security, status);
    return kExitRpc;  // no answer is never "serving", whatever the code
  }
  std::cout << (inv.json ? ToJson(response)
                         : absl::StrCat(HealthCheckResponse::ServingStatus_Name(
                                            response.status()),
                                        "\n"));
  return response.status() == HealthCheckResponse::SERVING ? kExitOk : kExitRpc;
}

int RunKbLint(const CliInvocation& inv) {
  absl::StatusOr<std::shared_ptr<const kb::KnowledgeBase>> kb =
      kb::LoadKnowledgeBaseFile(inv.kb_file);
  if (!kb.ok()) {
    // The loader's messages already start with FILE:LINE:COL.
    std::cerr << kb.status().message() << "\n";
    return kExitUsage;
  }
  std::cout << "OK " << (*kb)->version() << ": "
            << (*kb)->definition().rules_size() << " rules, "
            << (*kb)->definition().value_sets_size() << " value sets\n";
  return kExitOk;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "stats") {
    return RunStatsCommand({args.begin() + 1, args.end()});  // stats_command.h
  }
  if (!args.empty() && args[0] == "text") {
    return RunTextCommand({args.begin() + 1, args.end()});  // text_command.h
  }
  if (!args.empty() && args[0] == "access-log") {
    return RunAccessLogCommand(
        {args.begin() + 1, args.end()});  // access_log_command.h
  }
  absl::StatusOr<CliInvocation> inv = ParseCommandLine(args);
  if (!inv.ok()) {
    PrintError(inv.status().message());
    std::cerr << "Run 'needlecheck --help' for usage.\n";
    return kExitUsage;
  }
  if (inv->command == Command::kHelp) {
    std::cout << UsageText();
    return kExitOk;
  }
  if (inv->command == Command::kKbLint) return RunKbLint(*inv);
  // Every other command talks to needlecheckd: the TLS files first.
  absl::StatusOr<ClientChannelSecurity> security =
      needlecheck::grpc_client::LoadClientChannelSecurity(inv->tls, "");
  if (!security.ok()) {
    PrintError(security.status().message());
    return kExitUsage;
  }
  if (absl::Status s = needlecheck::grpc_client::CheckClientTarget(
          inv->server, *security, "--server");
      !s.ok()) {
    PrintError(s.message());
    return kExitUsage;
  }
  switch (inv->command) {
    case Command::kScreen:
      return RunScreen(*inv, *security);
    case Command::kKbShow:
      return RunKbShow(*inv, *security);
    case Command::kHealth:
      return RunHealth(*inv, *security);
    case Command::kHelp:
    case Command::kKbLint:
      break;
  }
  return kExitUsage;
}

}  // namespace
}  // namespace needlecheck::cli

int main(int argc, char** argv) { return needlecheck::cli::Main(argc, argv); }
