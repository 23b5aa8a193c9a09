// `needlecheck stats`: argument parsing, the request it builds and the table
// it prints (in process; the end-to-end run is in stats_cli_test.cc).
#include "tools/cli/stats_command.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cli {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseStatsArgsTest, Defaults) {
  absl::StatusOr<StatsOptions> options = ParseStatsArgs({});
  ASSERT_THAT(options, IsOk());
  EXPECT_FALSE(options->help);
  EXPECT_TRUE(options->from.empty());
  EXPECT_TRUE(options->to.empty());
  EXPECT_TRUE(options->rules.empty());
  EXPECT_EQ(options->top, 0);
  EXPECT_EQ(options->server, kDefaultServer);
  EXPECT_FALSE(options->json);
  EXPECT_EQ(options->timeout, absl::Seconds(10));
}

TEST(ParseStatsArgsTest, EveryFlagBothForms) {
  absl::StatusOr<StatsOptions> options =
      ParseStatsArgs({"--from", "2026-11-01", "--to=2026-11-30", "--rule",
                      "MN-CI-ECZEMA", "--rule=MN-FREQ-INTERVAL", "--top", "3",
                      "--server=127.0.0.1:9", "--json", "--timeout", "2s"});
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->from, "2026-11-01");
  EXPECT_EQ(options->to, "2026-11-30");
  EXPECT_THAT(options->rules, ElementsAre("MN-CI-ECZEMA", "MN-FREQ-INTERVAL"));
  EXPECT_EQ(options->top, 3);
  EXPECT_EQ(options->server, "127.0.0.1:9");
  EXPECT_TRUE(options->json);
  EXPECT_EQ(options->timeout, absl::Seconds(2));

  const needlecheck::v1::GetAlertStatsRequest request =
      BuildStatsRequest(*options);
  EXPECT_EQ(request.from_date(), "2026-11-01");
  EXPECT_EQ(request.to_date(), "2026-11-30");
  EXPECT_THAT(request.rule_ids(),
              ElementsAre("MN-CI-ECZEMA", "MN-FREQ-INTERVAL"));
  EXPECT_EQ(request.top_reasons(), 3);
}

TEST(ParseStatsArgsTest, Help) {
  absl::StatusOr<StatsOptions> options = ParseStatsArgs({"--from", "x", "-h"});
  ASSERT_THAT(options, IsOk());
  EXPECT_TRUE(options->help);
  EXPECT_THAT(StatsUsageText(), HasSubstr("--rule ID"));
}

TEST(ParseStatsArgsTest, RejectsBadInput) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--from", "2026-02-30"}, "not a calendar day"},
      {{"--to", "2026/11/30"}, "not a calendar day"},
      {{"--from", "2026-12-01", "--to", "2026-11-30"}, "after --to"},
      {{"--from", "2026-11-01", "--from", "2026-11-02"}, "given twice"},
      {{"--top", "0"}, "1 to 50"},
      {{"--top", "many"}, "1 to 50"},
      {{"--timeout", "forever"}, "positive duration"},
      {{"--rule"}, "needs a value"},
      {{"--rule="}, "non-empty"},
      {{"--json=yes"}, "takes no value"},
      {{"--colour"}, "unknown flag --colour"},
      {{"extra"}, "unexpected argument 'extra'"},
  };
  for (const auto& [args, message] : cases) {
    EXPECT_THAT(
        ParseStatsArgs(args),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << args[0];
  }
}

needlecheck::v1::AlertStats SampleStats() {
  needlecheck::v1::AlertStats stats;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        from_date: "2026-11-01"
        to_date: "2026-11-30"
        screenings: 42
        rules {
          rule_id: "MN-CI-ECZEMA"
          fired: 10
          critical: 10
          accepted: 3
          overridden: 5
          override_rate: 0.625
          top_override_reasons { reason: "Patient consented" count: 3 }
          top_override_reasons { reason: "(none given)" count: 2 }
        }
        rules { rule_id: "MN-INFO" fired: 4 info: 4 }
      )pb",
      &stats));
  return stats;
}

TEST(FormatAlertStatsTest, PrintsATable) {
  const std::string text = FormatAlertStats(SampleStats());
  EXPECT_EQ(text,
            "Alert statistics, 2026-11-01 to 2026-11-30: 42 screenings\n"
            "\n"
            "RULE           FIRED   CRIT   WARN   INFO  ACCEPTED  OVERRIDDEN  "
            "OVERRIDE %  TOP OVERRIDE REASONS\n"
            "MN-CI-ECZEMA      10     10      0      0         3           5  "
            "     62.5%  Patient consented (3); (none given) (2)\n"
            "MN-INFO            4      0      0      4         0           0  "
            "         -\n"
            "TOTAL             14                              3           5  "
            "     62.5%\n");
}

TEST(FormatAlertStatsTest, EmptyPeriodAndOpenBounds) {
  needlecheck::v1::AlertStats stats;
  stats.set_screenings(1);
  EXPECT_EQ(FormatAlertStats(stats),
            "Alert statistics, all days: 1 screening\n"
            "No alerts were issued in this period.\n");
  stats.set_from_date("2026-11-01");
  EXPECT_THAT(FormatAlertStats(stats), HasSubstr("from 2026-11-01:"));
  stats.clear_from_date();
  stats.set_to_date("2026-11-30");
  EXPECT_THAT(FormatAlertStats(stats), HasSubstr("up to 2026-11-30:"));
  stats.set_from_date("2026-11-30");
  EXPECT_THAT(FormatAlertStats(stats), HasSubstr("statistics, 2026-11-30:"));
  EXPECT_THAT(FormatAlertStats(stats), Not(HasSubstr("RULE")));
}

}  // namespace
}  // namespace needlecheck::cli

namespace needlecheck::cli {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseStatsArgsTlsTest, TlsFlagsAndTheirRules) {
  absl::StatusOr<StatsOptions> options =
      ParseStatsArgs({"--tls_ca=ca.pem", "--tls_cert", "c.pem", "--tls_key",
                      "c.key", "--tls_server_name=localhost"});
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->tls.ca_file, "ca.pem");
  EXPECT_EQ(options->tls.cert_file, "c.pem");
  EXPECT_EQ(options->tls.key_file, "c.key");
  EXPECT_EQ(options->tls.server_name, "localhost");
  EXPECT_THAT(ParseStatsArgs({"--tls_ca=a", "--tls_key=k"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--tls_key needs --tls_cert")));
  EXPECT_THAT(ParseStatsArgs({"--tls_ca=a", "--tls_ca=b"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--tls_ca given twice")));
  EXPECT_THAT(StatsUsageText(), HasSubstr("--tls_ca"));
}

}  // namespace
}  // namespace needlecheck::cli
