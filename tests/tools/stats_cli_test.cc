// End to end: the real `needlecheck stats` against the real needlecheckd on
// 127.0.0.1:0. Alerts come from `needlecheck screen --json` on the example
// record; feedback is sent over gRPC by the test (the CLI has no feedback
// command: that is the CDS Hooks service's job).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/tools/run_command.h"

namespace needlecheck::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class StatsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = BinaryPath("tools/cli/needlecheck");
    ASSERT_FALSE(cli_.empty());
    ASSERT_FALSE(tmp_.path().empty());
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(
            BinaryPath("service/needlecheckd"),
            {"--listen=127.0.0.1:0", "--data_dir=" + tmp_.Path("data")});
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  CommandResult Cli(std::vector<std::string> args) {
    absl::StatusOr<CommandResult> result = RunCommand(cli_, args);
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : CommandResult();
  }

  // Screens the example record with the CLI; the alerts it got.
  std::vector<needlecheck::v1::Alert> ScreenExample() {
    const CommandResult result =
        Cli({"screen", "--record", SourcePath("deploy/examples/record.json"),
             "--date", "2026-12-01", "--area", "cheeks", "--anesthetic",
             "lidocaine", "--server", address_, "--json", "--timeout=30s"});
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    needlecheck::v1::ScreenResponse response;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(result.stdout_text,
                                                            &response)
                    .ok());
    return {response.alerts().begin(), response.alerts().end()};
  }

  void SendFeedback(const std::string& alert_id, bool overridden,
                    const std::string& reason) {
    auto stub = needlecheck::v1::ScreeningService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    needlecheck::v1::RecordFeedbackRequest request;
    request.set_alert_id(alert_id);
    request.set_outcome(overridden
                            ? needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN
                            : needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED);
    request.set_outcome_timestamp("2026-12-01T09:00:00Z");
    request.mutable_override_reason()->set_display(reason);
    needlecheck::v1::RecordFeedbackResponse response;
    const grpc::Status status =
        stub->RecordFeedback(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  ScopedTempDir tmp_;
  std::string cli_;
  std::unique_ptr<ServerProcess> server_;
  std::string address_;
};

TEST_F(StatsCliTest, PrintsFeedbackPerRule) {
  const std::vector<needlecheck::v1::Alert> alerts = ScreenExample();
  ASSERT_GE(alerts.size(), 2u);
  ASSERT_FALSE(alerts[0].alert_id().empty());
  SendFeedback(alerts[0].alert_id(), true, "Benefit outweighs risk");
  SendFeedback(alerts[1].alert_id(), false, "");

  CommandResult result = Cli({"stats", "--server", address_, "--timeout=30s"});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  const std::string& out = result.stdout_text;
  EXPECT_THAT(out, AllOf(HasSubstr("Alert statistics, all days: 1 screening"),
                         HasSubstr("RULE"), HasSubstr("OVERRIDE %"),
                         HasSubstr("Benefit outweighs risk (1)"),
                         HasSubstr("100.0%"), HasSubstr("TOTAL")));
  for (const auto& alert : alerts) {
    EXPECT_THAT(out, HasSubstr(alert.rule_id()));
  }

  // --rule keeps only that rule; --json is the proto JSON.
  result = Cli({"stats", "--server", address_, "--rule", alerts[0].rule_id(),
                "--json", "--timeout=30s"});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  needlecheck::v1::AlertStats stats;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(result.stdout_text, &stats)
          .ok())
      << result.stdout_text;
  ASSERT_EQ(stats.rules_size(), 1);
  EXPECT_EQ(stats.rules(0).rule_id(), alerts[0].rule_id());
  EXPECT_EQ(stats.rules(0).fired(), 1);
  EXPECT_EQ(stats.rules(0).overridden(), 1);
  EXPECT_EQ(stats.screenings(), 1);

  // A period without alerts.
  result = Cli({"stats", "--server", address_, "--from", "2001-01-01", "--to",
                "2001-01-31", "--timeout=30s"});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(
      result.stdout_text,
      AllOf(HasSubstr("2001-01-01 to 2001-01-31: 0 screenings"),
            HasSubstr("No alerts were issued"), Not(HasSubstr("RULE"))));
}

TEST_F(StatsCliTest, UsageErrorsExit2AndServerErrorsExit1) {
  CommandResult result = Cli({"stats", "--from", "2026-13-01"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.stderr_text, HasSubstr("not a calendar day"));
  result = Cli({"stats", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.stdout_text, HasSubstr("needlecheck stats"));
  result = Cli({"--help"});
  EXPECT_THAT(result.stdout_text, HasSubstr("needlecheck stats"));

  // Stop the server: the CLI reports the RPC failure.
  const std::string address = address_;
  server_.reset();  // kills it
  result = Cli({"stats", "--server", address, "--timeout=5s"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr("GetAlertStats failed"));
}

}  // namespace
}  // namespace needlecheck::testing
