// Unit tests of the CLI's argument parsing (tools/cli/cli_args.h).
#include "tools/cli/cli_args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cli {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using needlecheck::v1::TREATMENT_AREA_CHEEKS;
using needlecheck::v1::TREATMENT_AREA_FULL_FACE;
using needlecheck::v1::TREATMENT_AREA_PERIORBITAL;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

TEST(ParseAreaTest, NameOnly) {
  auto area = ParseArea("cheeks");
  ASSERT_THAT(area, IsOk());
  EXPECT_EQ(area->area(), TREATMENT_AREA_CHEEKS);
  EXPECT_EQ(area->needle_depth_mm(), 0);
}

TEST(ParseAreaTest, NameWithDepth) {
  auto area = ParseArea("periorbital:0.5");
  ASSERT_THAT(area, IsOk());
  EXPECT_EQ(area->area(), TREATMENT_AREA_PERIORBITAL);
  EXPECT_DOUBLE_EQ(area->needle_depth_mm(), 0.5);
}

TEST(ParseAreaTest, HyphenUnderscoreAndCase) {
  for (const char* spec :
       {"full-face", "full_face", "Full-Face", "FULL_FACE"}) {
    auto area = ParseArea(spec);
    ASSERT_THAT(area, IsOk()) << spec;
    EXPECT_EQ(area->area(), TREATMENT_AREA_FULL_FACE) << spec;
  }
}

TEST(ParseAreaTest, EveryListedNameParses) {
  const std::vector<std::string> names = AreaNames();
  EXPECT_EQ(names.size(), 16u);
  EXPECT_EQ(names.front(), "full-face");
  EXPECT_EQ(names.back(), "other");
  for (const std::string& name : names) {
    auto area = ParseArea(name);
    ASSERT_THAT(area, IsOk()) << name;
    EXPECT_EQ(AreaName(area->area()), name);
  }
}

TEST(ParseAreaTest, UnknownNameListsValidNames) {
  EXPECT_THAT(
      ParseArea("eyelid:0.3"),
      StatusIs(kInvalid,
               AllOf(HasSubstr("unknown area 'eyelid'"), HasSubstr("full-face"),
                     HasSubstr("periorbital"), HasSubstr("hands"))));
}

TEST(ParseAreaTest, UnspecifiedAndEmptyAreRejected) {
  EXPECT_THAT(ParseArea("unspecified"), StatusIs(kInvalid));
  EXPECT_THAT(ParseArea(""), StatusIs(kInvalid));
  EXPECT_THAT(ParseArea(":0.5"), StatusIs(kInvalid));
  EXPECT_THAT(ParseArea("treatment_area_cheeks"), StatusIs(kInvalid));
}

TEST(ParseAreaTest, BadDepths) {
  for (const char* spec : {"cheeks:", "cheeks:abc", "cheeks:0", "cheeks:-1",
                           "cheeks:nan", "cheeks:inf", "cheeks:0.5mm"}) {
    EXPECT_THAT(ParseArea(spec), StatusIs(kInvalid, HasSubstr("needle depth")))
        << spec;
  }
}

TEST(ParseCommandLineTest, FullScreenCommand) {
  auto inv = ParseCommandLine(
      {"screen", "--record", "r.json", "--date=2026-12-01", "--area",
       "periorbital:0.5", "--area=cheeks", "--anesthetic", "lidocaine",
       "--server=localhost:1234", "--json", "--timeout", "2500ms"});
  ASSERT_THAT(inv, IsOk());
  EXPECT_EQ(inv->command, Command::kScreen);
  EXPECT_EQ(inv->record_path, "r.json");
  EXPECT_EQ(inv->date, "2026-12-01");
  ASSERT_EQ(inv->areas.size(), 2u);
  EXPECT_EQ(inv->areas[0].area(), TREATMENT_AREA_PERIORBITAL);
  EXPECT_DOUBLE_EQ(inv->areas[0].needle_depth_mm(), 0.5);
  EXPECT_EQ(inv->areas[1].area(), TREATMENT_AREA_CHEEKS);
  EXPECT_EQ(inv->anesthetic, "lidocaine");
  EXPECT_EQ(inv->server, "localhost:1234");
  EXPECT_TRUE(inv->json);
  EXPECT_EQ(inv->timeout, absl::Milliseconds(2500));
}

TEST(ParseCommandLineTest, ScreenDefaults) {
  auto inv =
      ParseCommandLine({"screen", "--record=r.json", "--date=2026-12-01"});
  ASSERT_THAT(inv, IsOk());
  EXPECT_TRUE(inv->areas.empty());
  EXPECT_EQ(inv->anesthetic, "");
  EXPECT_EQ(inv->server, "127.0.0.1:50051");
  EXPECT_FALSE(inv->json);
  EXPECT_EQ(inv->timeout, absl::Seconds(10));
}

TEST(ParseCommandLineTest, DateTimeIsAccepted) {
  EXPECT_THAT(ParseCommandLine({"screen", "--record=r.json",
                                "--date=2026-12-01T09:30:00+01:00"}),
              IsOk());
}

TEST(ParseCommandLineTest, ScreenRequiresRecordAndDate) {
  EXPECT_THAT(ParseCommandLine({"screen", "--date=2026-12-01"}),
              StatusIs(kInvalid, HasSubstr("--record")));
  EXPECT_THAT(ParseCommandLine({"screen", "--record=r.json"}),
              StatusIs(kInvalid, HasSubstr("--date")));
}

TEST(ParseCommandLineTest, BadDates) {
  for (const char* date : {"2026-13-01", "2026-12", "2026", "12/01/2026",
                           "2026-02-30", "tomorrow"}) {
    EXPECT_THAT(ParseCommandLine({"screen", "--record=r.json",
                                  std::string("--date=") + date}),
                StatusIs(kInvalid, HasSubstr("--date")))
        << date;
  }
}

TEST(ParseCommandLineTest, StrictFlags) {
  const std::vector<std::string> base = {"screen", "--record=r.json",
                                         "--date=2026-12-01"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return ParseCommandLine(args);
  };
  EXPECT_THAT(with({"--colour"}), StatusIs(kInvalid, HasSubstr("--colour")));
  EXPECT_THAT(with({"-x"}), StatusIs(kInvalid, HasSubstr("-x")));
  EXPECT_THAT(with({"stray"}), StatusIs(kInvalid, HasSubstr("stray")));
  EXPECT_THAT(with({"--date=2026-12-02"}),
              StatusIs(kInvalid, HasSubstr("twice")));
  EXPECT_THAT(with({"--json", "--json"}),
              StatusIs(kInvalid, HasSubstr("twice")));
  EXPECT_THAT(with({"--json=true"}), StatusIs(kInvalid, HasSubstr("--json")));
  EXPECT_THAT(with({"--anesthetic"}),
              StatusIs(kInvalid, HasSubstr("needs a value")));
  EXPECT_THAT(with({"--anesthetic="}),
              StatusIs(kInvalid, HasSubstr("non-empty")));
  EXPECT_THAT(with({"--area=nose:x"}), StatusIs(kInvalid, HasSubstr("depth")));
  for (const char* t : {"--timeout=10", "--timeout=0s", "--timeout=-1s",
                        "--timeout=inf", "--timeout=soon"}) {
    EXPECT_THAT(with({t}), StatusIs(kInvalid, HasSubstr("--timeout"))) << t;
  }
}

TEST(ParseCommandLineTest, KbLint) {
  auto inv = ParseCommandLine({"kb", "lint", "kb.textproto"});
  ASSERT_THAT(inv, IsOk());
  EXPECT_EQ(inv->command, Command::kKbLint);
  EXPECT_EQ(inv->kb_file, "kb.textproto");

  EXPECT_THAT(ParseCommandLine({"kb", "lint"}),
              StatusIs(kInvalid, HasSubstr("exactly one FILE")));
  EXPECT_THAT(ParseCommandLine({"kb", "lint", "a", "b"}),
              StatusIs(kInvalid, HasSubstr("exactly one FILE")));
  EXPECT_THAT(ParseCommandLine({"kb", "lint", "a", "--server=x:1"}),
              StatusIs(kInvalid, HasSubstr("--server")));
  // "--" ends the flags: a file may start with a dash.
  inv = ParseCommandLine({"kb", "lint", "--", "-odd.textproto"});
  ASSERT_THAT(inv, IsOk());
  EXPECT_EQ(inv->kb_file, "-odd.textproto");
}

TEST(ParseCommandLineTest, KbShow) {
  auto inv = ParseCommandLine({"kb", "show", "--server", "h:9", "--json"});
  ASSERT_THAT(inv, IsOk());
  EXPECT_EQ(inv->command, Command::kKbShow);
  EXPECT_EQ(inv->server, "h:9");
  EXPECT_TRUE(inv->json);
  EXPECT_THAT(ParseCommandLine({"kb", "show", "--area=cheeks"}),
              StatusIs(kInvalid, HasSubstr("--area")));
  EXPECT_THAT(ParseCommandLine({"kb", "show", "x"}), StatusIs(kInvalid));
}

TEST(ParseCommandLineTest, CommandErrors) {
  EXPECT_THAT(ParseCommandLine({}),
              StatusIs(kInvalid, HasSubstr("no command")));
  EXPECT_THAT(ParseCommandLine({"scan"}),
              StatusIs(kInvalid, HasSubstr("unknown command 'scan'")));
  EXPECT_THAT(ParseCommandLine({"kb"}), StatusIs(kInvalid, HasSubstr("lint")));
  EXPECT_THAT(ParseCommandLine({"kb", "dump"}),
              StatusIs(kInvalid, HasSubstr("unknown kb subcommand")));
}

TEST(ParseCommandLineTest, Help) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"-h"},
                                             {"help"},
                                             {"screen", "--help"},
                                             {"screen", "--date=bad", "--help"},
                                             {"kb", "--help"},
                                             {"kb", "lint", "--help"},
                                             {"kb", "show", "-h"}}) {
    auto inv = ParseCommandLine(args);
    ASSERT_THAT(inv, IsOk()) << args[0];
    EXPECT_EQ(inv->command, Command::kHelp) << args[0];
  }
}

TEST(UsageTextTest, DocumentsCommandsAndExitCodes) {
  const std::string usage = UsageText();
  EXPECT_THAT(
      usage,
      HasSubstr("needlecheck screen (--record FILE.json | --fhir FILE.json)"));
  EXPECT_THAT(usage, HasSubstr("needlecheck kb lint FILE"));
  EXPECT_THAT(usage, HasSubstr("needlecheck kb show"));
  EXPECT_THAT(usage, HasSubstr("Exit codes"));
  EXPECT_THAT(usage, HasSubstr("NO_COLOR"));
  EXPECT_THAT(usage, HasSubstr("decolletage"));
  EXPECT_THAT(usage, HasSubstr("127.0.0.1:50051"));
}

}  // namespace
}  // namespace needlecheck::cli

namespace needlecheck::cli {
namespace {

TEST(ParseCommandLineFhirTest, FhirInsteadOfRecord) {
  auto inv = ParseCommandLine({"screen", "--fhir", "bundle.json",
                               "--date=2026-12-01", "--area=cheeks"});
  ASSERT_THAT(inv, ::needlecheck::testing::IsOk());
  EXPECT_EQ(inv->fhir_path, "bundle.json");
  EXPECT_TRUE(inv->record_path.empty());
}

TEST(ParseCommandLineFhirTest, ExactlyOneRecordSource) {
  EXPECT_THAT(
      ParseCommandLine({"screen", "--date=2026-12-01"}),
      ::needlecheck::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                       ::testing::HasSubstr("--fhir")));
  EXPECT_THAT(
      ParseCommandLine(
          {"screen", "--record=r.json", "--fhir=b.json", "--date=2026-12-01"}),
      ::needlecheck::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace needlecheck::cli

namespace needlecheck::cli {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::StatusCode kBadTls = absl::StatusCode::kInvalidArgument;

TEST(ParseCommandLineTlsTest, EveryServerCommandTakesTheTlsFlags) {
  const std::vector<std::string> tls = {
      "--tls_ca",  "ca.pem",     "--tls_cert=client.pem",
      "--tls_key", "client.key", "--tls_server_name=needlecheckd.internal"};
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"screen", "--record=r.json", "--date=2026-12-01"},
           {"kb", "show"},
           {"health"}}) {
    args.insert(args.end(), tls.begin(), tls.end());
    absl::StatusOr<CliInvocation> inv = ParseCommandLine(args);
    ASSERT_THAT(inv, IsOk()) << args[0];
    EXPECT_EQ(inv->tls.ca_file, "ca.pem");
    EXPECT_EQ(inv->tls.cert_file, "client.pem");
    EXPECT_EQ(inv->tls.key_file, "client.key");
    EXPECT_EQ(inv->tls.server_name, "needlecheckd.internal");
  }
  // None given: plaintext.
  absl::StatusOr<CliInvocation> plain = ParseCommandLine({"kb", "show"});
  ASSERT_THAT(plain, IsOk());
  EXPECT_FALSE(plain->tls.tls());
}

TEST(ParseCommandLineTlsTest, UsageErrors) {
  EXPECT_THAT(ParseCommandLine({"health", "--tls_ca=a.pem", "--tls_cert=c"}),
              StatusIs(kBadTls, HasSubstr("--tls_cert needs --tls_key")));
  EXPECT_THAT(ParseCommandLine({"health", "--tls_ca=a.pem", "--tls_key=k"}),
              StatusIs(kBadTls, HasSubstr("--tls_key needs --tls_cert")));
  EXPECT_THAT(ParseCommandLine({"kb", "show", "--tls_cert=c", "--tls_key=k"}),
              StatusIs(kBadTls, HasSubstr("need --tls_ca")));
  EXPECT_THAT(ParseCommandLine({"health", "--tls_ca=a", "--tls_ca=b"}),
              StatusIs(kBadTls, HasSubstr("--tls_ca given twice")));
  EXPECT_THAT(ParseCommandLine({"health", "--tls_ca="}),
              StatusIs(kBadTls, HasSubstr("--tls_ca needs a non-empty value")));
  EXPECT_THAT(ParseCommandLine({"health", "--tls_ca"}),
              StatusIs(kBadTls, HasSubstr("--tls_ca needs a value")));
  // kb lint talks to no server.
  EXPECT_THAT(ParseCommandLine({"kb", "lint", "kb.textproto", "--tls_ca=a"}),
              StatusIs(kBadTls, HasSubstr("unknown flag --tls_ca")));
}

TEST(ParseCommandLineHealthTest, FlagsAndErrors) {
  absl::StatusOr<CliInvocation> inv =
      ParseCommandLine({"health", "--server=127.0.0.1:7", "--timeout=2s"});
  ASSERT_THAT(inv, IsOk());
  EXPECT_EQ(inv->command, Command::kHealth);
  EXPECT_EQ(inv->server, "127.0.0.1:7");
  EXPECT_EQ(inv->timeout, absl::Seconds(2));
  EXPECT_THAT(ParseCommandLine({"health", "extra"}),
              StatusIs(kBadTls, HasSubstr("unexpected argument 'extra'")));
  EXPECT_THAT(ParseCommandLine({"health", "--record=r.json"}),
              StatusIs(kBadTls, HasSubstr("unknown flag --record")));
  absl::StatusOr<CliInvocation> help = ParseCommandLine({"health", "--help"});
  ASSERT_THAT(help, IsOk());
  EXPECT_EQ(help->command, Command::kHelp);
}

TEST(UsageTextTest, DocumentsHealthAndTls) {
  const std::string usage = UsageText();
  EXPECT_THAT(usage, HasSubstr("needlecheck health [--server HOST:PORT]"));
  EXPECT_THAT(usage, HasSubstr("grpc.health.v1.Health/Check"));
  EXPECT_THAT(usage, HasSubstr("exits 0 only when SERVING"));
  for (const char* flag :
       {"--tls_ca FILE.pem", "--tls_cert FILE.pem", "--tls_key FILE.pem",
        "--tls_server_name NAME", "mutual TLS"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
TEST(ParseFlagArgumentTest, NameAndValue) {
  auto plain = ParseFlagArgument("--json", "x");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "json");
  EXPECT_FALSE(plain->has_value);
  auto valued = ParseFlagArgument("--tsv=a=b", "x");
  ASSERT_TRUE(valued.ok());
  EXPECT_EQ(valued->name, "tsv");
  EXPECT_EQ(valued->value, "a=b");
  EXPECT_TRUE(valued->has_value);
  EXPECT_EQ(ParseFlagArgument("--", "text classify").status().message(),
            "unexpected argument '--' for 'text classify'");
  EXPECT_FALSE(ParseFlagArgument("tsv", "x").ok());
}

}  // namespace needlecheck::cli
