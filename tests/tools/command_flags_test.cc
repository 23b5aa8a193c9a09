// The flag reader of `needlecheck stats` and `needlecheck access-log`
// (tools/cli/command_flags.h).
#include "tools/cli/command_flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cli {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const CommandFlagSpec kAccepted[] = {
    {"from"},
    {"rule", CommandFlagSpec::kRepeatedValue},
    {"json", CommandFlagSpec::kSwitch},
};

// Reads `args`; the flags read, as "name=value", in `read`; a flag whose
// value is `fail_on` is refused.
absl::Status Read(const std::vector<std::string>& args,
                  std::vector<std::string>* read,
                  const char* fail_on = nullptr) {
  return ReadCommandFlags(args, "demo", kAccepted,
                          [&](const CommandFlag& flag) -> absl::Status {
                            if (fail_on != nullptr && flag.value == fail_on) {
                              return absl::InvalidArgumentError("bad value");
                            }
                            read->push_back(flag.name + "=" + flag.value);
                            return absl::OkStatus();
                          });
}

TEST(CommandFlagsTest, BothValueFormsSwitchesAndRepeats) {
  std::vector<std::string> read;
  ASSERT_THAT(
      Read({"--from", "2026-11-01", "--rule=a", "--json", "--rule", "b"},
           &read),
      IsOk());
  EXPECT_THAT(read,
              ElementsAre("from=2026-11-01", "rule=a", "json=", "rule=b"));
}

TEST(CommandFlagsTest, EachProblemByName) {
  struct Case {
    std::vector<std::string> args;
    const char* want;
  };
  const Case kCases[] = {
      {{"extra"}, "unexpected argument 'extra' for 'demo'"},
      {{"--"}, "unexpected argument '--' for 'demo'"},
      {{"--json=yes"}, "--json takes no value"},
      {{"--colour", "red"}, "unknown flag --colour for 'demo'"},
      {{"--from"}, "--from needs a value"},
      {{"--from="}, "--from needs a non-empty value"},
      {{"--from", ""}, "--from needs a non-empty value"},
      {{"--from", "a", "--from", "b"}, "--from given twice"},
      {{"--json", "--json"}, "--json given twice"},
  };
  for (const Case& c : kCases) {
    std::vector<std::string> read;
    EXPECT_THAT(Read(c.args, &read),
                StatusIs(absl::StatusCode::kInvalidArgument, c.want))
        << c.want;
  }
}

// Flags are applied as they are read: a bad value before a stray argument
// is the error reported, and nothing after it is read.
TEST(CommandFlagsTest, TheFirstProblemInArgumentOrderWins) {
  std::vector<std::string> read;
  EXPECT_THAT(Read({"--rule", "x", "--from", "bad", "extra"}, &read, "bad"),
              StatusIs(absl::StatusCode::kInvalidArgument, "bad value"));
  EXPECT_THAT(read, ElementsAre("rule=x"));
}

TEST(CommandFlagsTest, HelpAnywhere) {
  EXPECT_TRUE(HelpRequested({"--bogus", "-h"}));
  EXPECT_TRUE(HelpRequested({"--help"}));
  EXPECT_TRUE(HelpRequested({"-help"}));
  EXPECT_FALSE(HelpRequested({"--helpful"}));
}

TEST(CommandFlagsTest, SharedFlags) {
  std::string from, to, server;
  bool json = false;
  absl::Duration timeout = absl::Seconds(10);
  needlecheck::grpc_client::ClientTlsOptions tls;
  const SharedFlags out{&from, &to, &json, &server, &timeout, &tls};
  absl::Status status;
  EXPECT_TRUE(ApplySharedFlag({"from", "2026-11-01"}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"to", "2026-11-30"}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"json", ""}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"server", "h:1"}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"timeout", "500ms"}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"tls_ca", "ca.pem"}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"tls_cert", "c.pem"}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"tls_key", "k.pem"}, out, &status));
  EXPECT_TRUE(ApplySharedFlag({"tls_server_name", "n"}, out, &status));
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(from, "2026-11-01");
  EXPECT_EQ(to, "2026-11-30");
  EXPECT_TRUE(json);
  EXPECT_EQ(server, "h:1");
  EXPECT_EQ(timeout, absl::Milliseconds(500));
  EXPECT_EQ(tls.ca_file, "ca.pem");
  EXPECT_EQ(tls.cert_file, "c.pem");
  EXPECT_EQ(tls.key_file, "k.pem");
  EXPECT_EQ(tls.server_name, "n");
  EXPECT_FALSE(ApplySharedFlag({"rule", "x"}, out, &status));
  EXPECT_THAT(status, IsOk());
  EXPECT_TRUE(ApplySharedFlag({"to", "2026-02-30"}, out, &status));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               "--to 2026-02-30: not a calendar day (expected "
                               "YYYY-MM-DD)"));
  for (const char* bad : {"forever", "0s", "-1s", "inf"}) {
    EXPECT_TRUE(ApplySharedFlag({"timeout", bad}, out, &status));
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("positive duration")))
        << bad;
  }
}

TEST(CommandFlagsTest, PeriodAndTls) {
  needlecheck::grpc_client::ClientTlsOptions tls;
  EXPECT_THAT(CheckPeriodAndTls("2026-11-01", "2026-11-30", tls), IsOk());
  EXPECT_THAT(CheckPeriodAndTls("", "2026-11-30", tls), IsOk());
  EXPECT_THAT(CheckPeriodAndTls("2026-12-01", "2026-11-30", tls),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--from 2026-12-01 is after --to 2026-11-30"));
  tls.cert_file = "c.pem";
  EXPECT_THAT(CheckPeriodAndTls("", "", tls),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace needlecheck::cli
