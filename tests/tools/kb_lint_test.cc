// Runs the real `needlecheck kb lint` on the bundled knowledge-base file and
// on broken copies of it.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/tools/run_command.h"

namespace needlecheck::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kBundledFile[] = "service/kb/data/microneedling.textproto";

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class KbLintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = BinaryPath("tools/cli/needlecheck");
    bundled_ = SourcePath(kBundledFile);
    ASSERT_FALSE(cli_.empty()) << "NEEDLECHECK_BINARY_DIR is not set";
    ASSERT_FALSE(bundled_.empty()) << "NEEDLECHECK_SOURCE_DIR is not set";
    ASSERT_FALSE(tmp_.path().empty());
    lines_ = absl::StrSplit(ReadFileOrDie(bundled_), '\n');
  }

  CommandResult Lint(const std::string& path) {
    absl::StatusOr<CommandResult> result =
        RunCommand(cli_, {"kb", "lint", path});
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : CommandResult();
  }

  // The 1-based number of the first line starting with `prefix`; 0 if none.
  int FindLine(const std::string& prefix) const {
    for (size_t i = 0; i < lines_.size(); ++i) {
      if (absl::StartsWith(lines_[i], prefix)) return static_cast<int>(i) + 1;
    }
    return 0;
  }

  ScopedTempDir tmp_;
  std::string cli_;
  std::string bundled_;
  std::vector<std::string> lines_;
};

TEST_F(KbLintTest, BundledFileIsValid) {
  const CommandResult result = Lint(bundled_);
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(result.stdout_text,
              MatchesRegex("OK [^ ]+: [0-9]+ rules, [0-9]+ value sets\n"));
  EXPECT_EQ(result.stderr_text, "");
}

TEST_F(KbLintTest, SyntaxErrorNamesFileAndLine) {
  const int line = FindLine("version:");
  ASSERT_GT(line, 0);
  // Insert an unknown top-level field right after the version line.
  std::vector<std::string> broken = lines_;
  broken.insert(broken.begin() + line, "no_such_field: 1");
  const std::string path =
      tmp_.WriteFile("kb_syntax_error.textproto", absl::StrJoin(broken, "\n"));

  const CommandResult result = Lint(path);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.stdout_text, "");
  EXPECT_THAT(result.stderr_text,
              HasSubstr(absl::StrCat(path, ":", line + 1, ":")));
  EXPECT_THAT(result.stderr_text, HasSubstr("no_such_field"));
}

TEST_F(KbLintTest, ValidationErrorNamesFileLineAndField) {
  const int line = FindLine("  min_interval_days:");
  ASSERT_GT(line, 0);
  std::vector<std::string> broken = lines_;
  broken[line - 1] = "  min_interval_days: -28";
  const std::string path =
      tmp_.WriteFile("kb_bad_threshold.textproto", absl::StrJoin(broken, "\n"));

  const CommandResult result = Lint(path);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.stderr_text,
              HasSubstr(absl::StrCat(path, ":", line, ":")));
  EXPECT_THAT(result.stderr_text, HasSubstr("min_interval_days"));
}

TEST_F(KbLintTest, MissingFile) {
  const std::string path = tmp_.Path("no_such_kb.textproto");
  const CommandResult result = Lint(path);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.stderr_text, HasSubstr(path));
}

TEST_F(KbLintTest, UsageErrorsExitTwo) {
  absl::StatusOr<CommandResult> result = RunCommand(cli_, {"kb", "lint"});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("exactly one FILE"));
  EXPECT_THAT(result->stderr_text, HasSubstr("needlecheck --help"));
}

TEST_F(KbLintTest, HelpDocumentsExitCodes) {
  absl::StatusOr<CommandResult> result = RunCommand(cli_, {"--help"});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_THAT(result->stdout_text, ContainsRegex("Exit codes:\n  0 "));
  EXPECT_THAT(result->stdout_text, HasSubstr("kb lint FILE"));
}

}  // namespace
}  // namespace needlecheck::testing
