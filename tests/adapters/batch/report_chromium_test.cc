// report.html in a real browser: Debian's chromium, headless. The page must
// load with no console message at all (it has no script, so any message is
// a CSP violation, a failed load or a parse problem), and the DOM the
// browser built must hold the three charts with their bars. A screenshot
// run must produce a PNG.
//
// chromium missing: skipped, unless CI=true (then a failure), so that a CI
// image without it cannot pass silently. `deploy/local.sh test` installs it.
// NEEDLECHECK_CHROMIUM=/path/to/chromium overrides the binary.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapters/batch/report_html.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/batch/report_test_data.h"
#include "tests/testing/scoped_temp_dir.h"

extern char** environ;

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// Seconds one chromium run may take before `timeout` kills it.
constexpr int kRunTimeoutSeconds = 45;

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

// $NEEDLECHECK_CHROMIUM, else chromium (or chromium-browser) on $PATH; ""
// when there is none.
std::string FindChromium() {
  if (const char* env = std::getenv("NEEDLECHECK_CHROMIUM");
      env != nullptr && env[0] != '\0') {
    return IsExecutable(env) ? env : "";
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::string candidate = absl::StrCat(dir, "/", name);
      if (IsExecutable(candidate)) return candidate;
    }
  }
  return "";
}

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

#define REQUIRE_CHROMIUM(chromium)                                         \
  do {                                                                     \
    if ((chromium).empty()) {                                              \
      if (InCi()) {                                                        \
        FAIL() << "chromium is not installed and CI=true: install Debian " \
                  "package chromium (deploy/local.sh test does)";          \
      }                                                                    \
      GTEST_SKIP() << "chromium is not installed (Debian package "         \
                      "chromium; deploy/local.sh test installs it)";       \
    }                                                                      \
  } while (false)

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct RunResult {
  int exit_code = -1;  // 128 + signal when a signal ended it
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs chromium headless on `url` with `args` added, under `timeout`, with
// stdout and stderr captured in `dir`, and HOME and the XDG folders in
// `dir` so that nothing outside it is touched.
RunResult RunChromium(const std::string& chromium, const ScopedTempDir& dir,
                      const std::string& name,
                      const std::vector<std::string>& args,
                      const std::string& url) {
  std::vector<std::string> argv = {
      "timeout",
      "-k",
      "5",
      absl::StrCat(kRunTimeoutSeconds),
      chromium,
      // New headless mode (plain --headless means the same since 132).
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      absl::StrCat("--user-data-dir=", dir.Path(name + "-profile")),
      "--enable-logging=stderr",
      "--v=0",
  };
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    if (absl::StartsWith(entry, "HOME=") ||
        absl::StartsWith(entry, "XDG_CONFIG_HOME=") ||
        absl::StartsWith(entry, "XDG_CACHE_HOME=")) {
      continue;
    }
    env.emplace_back(entry);
  }
  env.push_back(absl::StrCat("HOME=", dir.path()));
  env.push_back(absl::StrCat("XDG_CONFIG_HOME=", dir.Path("xdg-config")));
  env.push_back(absl::StrCat("XDG_CACHE_HOME=", dir.Path("xdg-cache")));

  std::vector<char*> c_argv, c_env;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (std::string& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  const std::string out_path = dir.Path(name + ".stdout");
  const std::string err_path = dir.Path(name + ".stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  RunResult result;
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "timeout", &actions, nullptr, c_argv.data(),
                              c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.err = absl::StrCat("posix_spawnp(timeout) failed: ", rc);
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return result;
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = absl::StrCat(result.err, ReadFile(err_path));
  return result;
}

// Lines of chromium's stderr that report something from the page: console
// messages (CSP violations and script errors are logged as CONSOLE),
// uncaught exceptions, failed loads.
std::vector<std::string> PageProblems(const std::string& stderr_text) {
  std::vector<std::string> problems;
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    if (absl::StrContains(line, ":CONSOLE") ||
        absl::StrContains(line, "Uncaught") ||
        absl::StrContains(line, "Failed to load") ||
        absl::StrContains(line, "Content Security Policy") ||
        absl::StrContains(line, "net::ERR_")) {
      problems.emplace_back(line);
    }
  }
  return problems;
}

// The element from `<svg id="id"` to its `</svg>` in a DOM dump.
std::string SvgById(const std::string& dom, absl::string_view id) {
  const size_t start = dom.find(absl::StrCat("<svg id=\"", id, "\""));
  if (start == std::string::npos) return "";
  const size_t end = dom.find("</svg>", start);
  if (end == std::string::npos) return "";
  return dom.substr(start, end - start);
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

uint32_t BigEndian32(const std::string& bytes, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1]))
          << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2]))
          << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
}

TEST(ReportChromiumTest, LoadsWithoutConsoleErrorsAndHasTheCharts) {
  const std::string chromium = FindChromium();
  REQUIRE_CHROMIUM(chromium);
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string report = dir.WriteFile(
      "report.html", RenderAuditReport(testing::RealisticSummary()));
  ASSERT_FALSE(report.empty());

  const RunResult run = RunChromium(chromium, dir, "dump", {"--dump-dom"},
                                    absl::StrCat("file://", report));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(PageProblems(run.err), ::testing::IsEmpty())
      << "chromium reported problems with the page:\n"
      << absl::StrJoin(PageProblems(run.err), "\n");

  const std::string& dom = run.out;
  ASSERT_THAT(dom, HasSubstr("<title>needlecheck audit report</title>"));
  for (const char* id :
       {kChartByRuleId, kChartByMonthId, kChartDaysBetweenId}) {
    SCOPED_TRACE(id);
    const std::string svg = SvgById(dom, id);
    ASSERT_FALSE(svg.empty()) << "no <svg id=\"" << id << "\"> in the DOM";
    EXPECT_THAT(svg, HasSubstr("role=\"img\""));
    EXPECT_GE(Count(svg, "<rect "), 7u);
  }
  // The 14 months, the 27 weeks and the 7 rules are all bars (<g> each).
  EXPECT_EQ(Count(SvgById(dom, kChartByMonthId), "<g>"), 14u);
  EXPECT_EQ(Count(SvgById(dom, kChartDaysBetweenId), "<g>"), 27u);
  EXPECT_EQ(Count(SvgById(dom, kChartByRuleId), "<g>"), 7u);
  // The hostile patient id and performer name stayed text.
  EXPECT_THAT(dom, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(dom, Not(HasSubstr("<script")));
  EXPECT_THAT(dom, Not(HasSubstr("<img")));
  EXPECT_THAT(dom, HasSubstr("The 50 most serious"));
}

TEST(ReportChromiumTest, EmptyReportLoadsWithoutConsoleErrors) {
  const std::string chromium = FindChromium();
  REQUIRE_CHROMIUM(chromium);
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string report =
      dir.WriteFile("empty.html", RenderAuditReport(AuditSummary()));
  const RunResult run = RunChromium(chromium, dir, "empty", {"--dump-dom"},
                                    absl::StrCat("file://", report));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(PageProblems(run.err), ::testing::IsEmpty())
      << absl::StrJoin(PageProblems(run.err), "\n");
  EXPECT_THAT(run.out, HasSubstr("No sessions were audited"));
  EXPECT_THAT(run.out, Not(HasSubstr("<svg id=")));
}

TEST(ReportChromiumTest, Screenshot) {
  const std::string chromium = FindChromium();
  REQUIRE_CHROMIUM(chromium);
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string report = dir.WriteFile(
      "report.html", RenderAuditReport(testing::RealisticSummary()));
  const std::string png = dir.Path("report.png");
  const RunResult run =
      RunChromium(chromium, dir, "shot",
                  {absl::StrCat("--screenshot=", png),
                   "--window-size=1280,2400", "--hide-scrollbars"},
                  absl::StrCat("file://", report));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(PageProblems(run.err), ::testing::IsEmpty())
      << absl::StrJoin(PageProblems(run.err), "\n");
  const std::string bytes = ReadFile(png);
  ASSERT_GE(bytes.size(), 24u) << "no screenshot at " << png;
  EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian32(bytes, 16), 1280u);  // width
  EXPECT_EQ(BigEndian32(bytes, 20), 2400u);  // height
  // A page of charts and tables compresses to well over a blank page.
  EXPECT_GT(bytes.size(), 50u * 1024);
}

// The control: a page with a CSP violation and a script error must be
// caught by PageProblems(), or a change in chromium's log format would let
// the tests above pass without looking.
TEST(ReportChromiumTest, ProblemsOfABrokenPageAreSeen) {
  const std::string chromium = FindChromium();
  REQUIRE_CHROMIUM(chromium);
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string page = dir.WriteFile(
      "broken.html",
      "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-"
      "Policy\" content=\"default-src 'none'\"><title>broken</title></head>"
      "<body><img src=\"http://203.0.113.1/x.png\"></body></html>");
  const RunResult run = RunChromium(chromium, dir, "broken", {"--dump-dom"},
                                    absl::StrCat("file://", page));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(PageProblems(run.err), Not(::testing::IsEmpty())) << run.err;
}

}  // namespace
}  // namespace needlecheck::batch
