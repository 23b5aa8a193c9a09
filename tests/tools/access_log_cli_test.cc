// `needlecheck access-log`: argument parsing and the table (pure), and end
// to end, the real CLI against the real needlecheckd on 127.0.0.1:0 after
// screens of two patients: --from/--to, --patient filtering, --json.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/tools/run_command.h"
#include "tools/cli/access_log_command.h"

namespace needlecheck::testing {
namespace {

using ::needlecheck::cli::AccessLogOptions;
using ::needlecheck::cli::FormatAccessLog;
using ::needlecheck::cli::ParseAccessLogArgs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(AccessLogArgsTest, NeedsBothDaysInOrder) {
  EXPECT_FALSE(ParseAccessLogArgs({}).ok());
  EXPECT_FALSE(ParseAccessLogArgs({"--from", "2026-12-01"}).ok());
  EXPECT_FALSE(
      ParseAccessLogArgs({"--from", "2026-12-02", "--to", "2026-12-01"}).ok());
  EXPECT_FALSE(
      ParseAccessLogArgs({"--from", "2026-02-30", "--to", "2026-12-01"}).ok());
  EXPECT_FALSE(ParseAccessLogArgs({"--from", "2026-12-01", "--to", "2026-12-01",
                                   "--patient", "a", "--patient", "b"})
                   .ok());
  EXPECT_FALSE(ParseAccessLogArgs({"--from", "2026-12-01", "--to", "2026-12-01",
                                   "--limit", "0"})
                   .ok());
  absl::StatusOr<AccessLogOptions> options =
      ParseAccessLogArgs({"--from=2026-12-01", "--to", "2026-12-03",
                          "--patient", "p1", "--json", "--limit=5"});
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->from, "2026-12-01");
  EXPECT_EQ(options->to, "2026-12-03");
  EXPECT_EQ(options->patient_id, "p1");
  EXPECT_TRUE(options->json);
  EXPECT_EQ(options->limit, 5);
  EXPECT_TRUE(ParseAccessLogArgs({"--bogus", "--help"})->help);
}

TEST(AccessLogFormatTest, OneLinePerRecordWithStoredValuesEscaped) {
  needlecheck::v1::GetAccessLogResponse log;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        records {
          time: "2026-12-01T10:00:00.000001Z"
          caller: "tls cn=gateway"
          on_behalf_iss: "https://ehr"
          on_behalf_sub: "client"
          on_behalf_user: "Practitioner/1"
          action: "ScreenStream"
          stream_index: 2
          patient_id: "p1\nforged line"
          outcome: "OK"
        }
        truncated: true
      )pb",
      &log));
  const std::string table = FormatAccessLog(log);
  const std::vector<std::string> lines =
      absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << table;  // header, record, count, truncated
  EXPECT_THAT(lines[1], HasSubstr("ScreenStream#2"));
  EXPECT_THAT(lines[1], HasSubstr("p1\\nforged line"));
  EXPECT_THAT(lines[1], HasSubstr("https://ehr client - Practitioner/1"));
  EXPECT_THAT(lines[3], HasSubstr("more records matched"));
}

class AccessLogCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = BinaryPath("tools/cli/needlecheck");
    ASSERT_FALSE(cli_.empty());
    ASSERT_FALSE(tmp_.path().empty());
    auto process = ServerProcess::Start(
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

  // A screen of the example record under another patient id, over gRPC.
  void Screen(const std::string& patient) {
    const CommandResult json =
        Cli({"screen", "--record", SourcePath("deploy/examples/record.json"),
             "--date", "2026-12-01", "--server", address_, "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
    // The CLI screens the file's patient; re-screen under `patient`.
    auto stub = needlecheck::v1::ScreeningService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    needlecheck::v1::ScreenRequest request;
    request.mutable_record()->set_patient_id(patient);
    request.mutable_record()->set_no_known_allergies(true);
    request.mutable_session()->set_date("2026-12-01");
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    needlecheck::v1::ScreenResponse response;
    ASSERT_TRUE(stub->Screen(&context, request, &response).ok());
  }

  std::string Today(int days) {
    return absl::FormatTime("%Y-%m-%d", absl::Now() + absl::Hours(24 * days),
                            absl::UTCTimeZone());
  }

  ScopedTempDir tmp_;
  std::string cli_;
  std::unique_ptr<ServerProcess> server_;
  std::string address_;
};

TEST_F(AccessLogCliTest, FiltersByPatientAndPrintsJson) {
  ASSERT_NO_FATAL_FAILURE(Screen("cli-patient-a"));
  ASSERT_NO_FATAL_FAILURE(Screen("cli-patient-b"));

  const CommandResult all = Cli({"access-log", "--from", Today(-1), "--to",
                                 Today(1), "--server", address_});
  ASSERT_EQ(all.exit_code, 0) << all.stderr_text;
  EXPECT_THAT(all.stdout_text, HasSubstr("cli-patient-a"));
  EXPECT_THAT(all.stdout_text, HasSubstr("cli-patient-b"));
  EXPECT_THAT(all.stdout_text, HasSubstr("4 access records"));  // 2 CLI + 2

  const CommandResult only_a =
      Cli({"access-log", "--from", Today(-1), "--to", Today(1), "--patient",
           "cli-patient-a", "--server", address_});
  ASSERT_EQ(only_a.exit_code, 0) << only_a.stderr_text;
  EXPECT_THAT(only_a.stdout_text, HasSubstr("cli-patient-a"));
  EXPECT_THAT(only_a.stdout_text, Not(HasSubstr("cli-patient-b")));
  EXPECT_THAT(only_a.stdout_text, HasSubstr("1 access record\n"));

  const CommandResult json =
      Cli({"access-log", "--from", Today(-1), "--to", Today(1), "--patient",
           "cli-patient-b", "--server", address_, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
  needlecheck::v1::GetAccessLogResponse log;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.stdout_text, &log).ok())
      << json.stdout_text;
  ASSERT_EQ(log.records_size(), 1);
  EXPECT_EQ(log.records(0).action(), "Screen");
  EXPECT_EQ(log.records(0).patient_id(), "cli-patient-b");
  EXPECT_EQ(log.records(0).outcome(), "OK");

  // Days without accesses.
  const CommandResult none = Cli({"access-log", "--from", "2001-01-01", "--to",
                                  "2001-01-31", "--server", address_});
  ASSERT_EQ(none.exit_code, 0);
  EXPECT_THAT(none.stdout_text, HasSubstr("0 access records"));

  const CommandResult bad = Cli({"access-log", "--from", Today(1), "--to",
                                 Today(-1), "--server", address_});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace needlecheck::testing
