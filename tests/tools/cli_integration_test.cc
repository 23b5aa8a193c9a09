// End-to-end tests of the `needlecheck` CLI: starts the real needlecheckd on
// 127.0.0.1:0 and runs the real `needlecheck` binary against it with the
// example record shipped in deploy/examples/record.json.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.pb.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/tools/run_command.h"

namespace needlecheck::testing {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

constexpr char kExampleRecord[] = "deploy/examples/record.json";
constexpr char kSessionDate[] = "2026-12-01";  // 20 days after the last session

// A loopback port nobody listens on (bound, then released).
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 1;  // port 1 on loopback: nothing listens there either
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

class CliIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = BinaryPath("tools/cli/needlecheck");
    const std::string server = BinaryPath("service/needlecheckd");
    record_ = SourcePath(kExampleRecord);
    ASSERT_FALSE(cli_.empty()) << "NEEDLECHECK_BINARY_DIR is not set";
    ASSERT_FALSE(record_.empty()) << "NEEDLECHECK_SOURCE_DIR is not set";
    ASSERT_FALSE(tmp_.path().empty());
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(server,
                             {"--listen=127.0.0.1:0",
                              "--data_dir=" + tmp_.Path("needlecheckd_data")});
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  CommandResult Cli(std::vector<std::string> args) {
    absl::StatusOr<CommandResult> result = RunCommand(cli_, args);
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : CommandResult();
  }

  // `needlecheck screen` on the example record against the test server.
  CommandResult Screen(const std::vector<std::string>& extra,
                       const std::string& record = "") {
    std::vector<std::string> args = {
        "screen", "--record",     record.empty() ? record_ : record,
        "--date", kSessionDate,   "--server",
        address_, "--timeout=30s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Cli(args);
  }

  // Declared before server_: the server stops before its files go away.
  ScopedTempDir tmp_;
  std::string cli_;
  std::string record_;
  std::unique_ptr<ServerProcess> server_;
  std::string address_;
};

TEST_F(CliIntegrationTest, ScreenPrintsExpectedRules) {
  const CommandResult result =
      Screen({"--area", "cheeks", "--area", "periorbital:0.5", "--anesthetic",
              "lidocaine"});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  // Active atopic dermatitis; a cheeks session 20 days before; lidocaine
  // allergy only in a free-text note, lidocaine planned.
  EXPECT_THAT(
      result.stdout_text,
      AllOf(HasSubstr("[CRITICAL] MN-CI-ECZEMA"),
            HasSubstr("[CRITICAL] MN-FREQ-INTERVAL"),
            HasSubstr("[CRITICAL] MN-ALLERGY-ANESTHETIC"),
            HasSubstr("cond-atopic-dermatitis"), HasSubstr("proc-mn-2"),
            HasSubstr("allergy-dental-visit"), HasSubstr("knowledge base ")));
  // Acne scars are the indication, not active acne.
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("MN-CI-ACNE")));
  // Not a terminal: no colour codes.
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("\033[")));
}

// --fhir reads a FHIR R4 bundle: a Synthea patient from the shared corpus
// with active atopic dermatitis (SNOMED 24079001).
TEST_F(CliIntegrationTest, ScreenFhirBundleFromTheCorpus) {
  const std::string bundle =
      std::string(NEEDLECHECK_SHARED_DIR) +
      "/corpus/fhir-r4-bundles/"
      "Asa_Hermiston_4384bf23-1dc3-48ca-8c84-89fbaff201ae.json";
  if (access(bundle.c_str(), R_OK) != 0) GTEST_SKIP() << "no shared corpus";
  const CommandResult result =
      Cli({"screen", "--fhir", bundle, "--date", "2026-12-01", "--area",
           "cheeks", "--server", address_});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(result.stdout_text, HasSubstr("[CRITICAL] MN-CI-ECZEMA"));
  EXPECT_THAT(result.stdout_text, HasSubstr("http://snomed.info/sct|24079001"));
}

TEST_F(CliIntegrationTest, ScreenFhirBadDateNamesResourceAndPath) {
  const std::string path = tmp_.Path("bad.json");
  {
    std::ofstream out(path);
    out << R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":)"
        << R"({"resourceType":"Condition","id":"c1","onsetDateTime":"2026-02-30"}}]})";
  }
  const CommandResult result = Cli(
      {"screen", "--fhir", path, "--date", "2026-12-01", "--server", address_});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("Condition/c1"), HasSubstr("onsetDateTime")));
}

TEST_F(CliIntegrationTest, ScreenJsonParses) {
  const CommandResult result =
      Screen({"--area=cheeks", "--anesthetic=lidocaine", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  needlecheck::v1::ScreenResponse response;
  const auto status = google::protobuf::util::JsonStringToMessage(
      result.stdout_text, &response);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << result.stdout_text;
  EXPECT_FALSE(response.knowledge_base_version().empty());
  std::set<std::string> rule_ids;
  for (const auto& alert : response.alerts()) rule_ids.insert(alert.rule_id());
  EXPECT_THAT(rule_ids, IsSupersetOf({"MN-CI-ECZEMA", "MN-FREQ-INTERVAL",
                                      "MN-ALLERGY-ANESTHETIC"}));
}

TEST_F(CliIntegrationTest, NoAlertsForACleanRecord) {
  const std::string record = tmp_.WriteFile("clean_record.json", R"({
    "patientId": "p-clean",
    "fitzpatrickSkinType": 2,
    "noKnownAllergies": true
  })");
  const CommandResult result =
      Screen({"--area=forehead", "--anesthetic=lidocaine"}, record);
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(result.stdout_text, HasSubstr("No alerts (knowledge base "));
}

TEST_F(CliIntegrationTest, BadRecordJsonIsAnInputError) {
  const std::string record = tmp_.WriteFile(
      "unknown_field.json", R"({"patientId": "p", "allergy": []})");
  const CommandResult result = Screen({}, record);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.stdout_text, "");
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr(record), HasSubstr("allergy")));

  const CommandResult missing = Screen({}, record + ".missing");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.stderr_text, HasSubstr("cannot open"));
}

TEST_F(CliIntegrationTest, UnknownAreaListsValidNames) {
  const CommandResult result = Screen({"--area=eyelids:0.3"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("unknown area 'eyelids'"),
                    HasSubstr("periorbital"), HasSubstr("full-face")));
}

TEST_F(CliIntegrationTest, ServerRejectionPrintsFieldViolations) {
  // A condition onset that is not a date: the server answers
  // INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.
  const std::string record = tmp_.WriteFile("bad_date.json", R"({
    "patientId": "p-bad",
    "conditions": [{"id": "c1", "code": {"text": "eczema"},
                    "clinicalStatus": "active", "onset": "2026-13-45"}]
  })");
  const CommandResult result = Screen({"--area=cheeks"}, record);
  EXPECT_EQ(result.exit_code, 2) << result.stdout_text;
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("Screen failed: INVALID_ARGUMENT"),
                    HasSubstr("  field "), HasSubstr("onset")));
}

// 200 bad dates: the server's answer stays INVALID_ARGUMENT (an input
// error, exit 2) with a bounded list, instead of overflowing the client's
// metadata limit (RESOURCE_EXHAUSTED, exit 1).
TEST_F(CliIntegrationTest, TwoHundredBadDatesAreStillAnInputError) {
  std::string conditions;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&conditions, i == 0 ? "" : ",", R"({"id": "c)", i,
                    R"(", "code": {"text": "eczema"},
                    "clinicalStatus": "active", "onset": "2026-13-45"})");
  }
  const std::string record =
      tmp_.WriteFile("many_bad_dates.json",
                     absl::StrCat(R"({"patientId": "p-bad", "conditions": [)",
                                  conditions, "]}"));
  const CommandResult result = Screen({"--area=cheeks"}, record);
  EXPECT_EQ(result.exit_code, 2) << result.stderr_text;
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("Screen failed: INVALID_ARGUMENT"),
                    HasSubstr("field record.conditions[0].onset"),
                    HasSubstr("more violations not listed")));
}

TEST_F(CliIntegrationTest, UnreachableServerIsAnRpcError) {
  const CommandResult result =
      Cli({"screen", "--record", record_, "--date", kSessionDate, "--server",
           absl::StrCat("127.0.0.1:", UnusedPort()), "--timeout=5s"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr("Screen failed: "));
  EXPECT_THAT(result.stderr_text,
              AnyOf(HasSubstr("UNAVAILABLE"), HasSubstr("DEADLINE_EXCEEDED")));
}

TEST_F(CliIntegrationTest, KbShowListsRulesAndValueSets) {
  const CommandResult result = Cli({"kb", "show", "--server", address_});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(result.stdout_text,
              AllOf(HasSubstr("Knowledge base "), HasSubstr("Rules ("),
                    HasSubstr("MN-CI-ECZEMA"), HasSubstr("MN-FREQ-INTERVAL"),
                    HasSubstr("Value sets (")));
  // The ConText lists the server reads free text with, and their sources.
  EXPECT_THAT(result.stdout_text,
              AllOf(HasSubstr("Context lists ("),
                    HasSubstr("negex-negation-forward  trigger  negated  "
                              "forward"),
                    HasSubstr("Chapman et al."), HasSubstr("Harkema et al.")));

  const CommandResult json =
      Cli({"kb", "show", "--server", address_, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
  needlecheck::v1::KnowledgeBase kb;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.stdout_text, &kb).ok());
  EXPECT_GT(kb.rules_size(), 0);
  EXPECT_GT(kb.context_lists_size(), 0);
}

}  // namespace
}  // namespace needlecheck::testing
