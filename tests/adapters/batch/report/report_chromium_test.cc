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
#include "adapters/batch/report/report_html.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/batch/report/report_test_data.h"
#include "tests/testing/headless_chromium.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"

extern char** environ;

namespace needlecheck::batch {
namespace {

using ::needlecheck::batch::testing::Count;
using ::needlecheck::testing::FindChromium;
using ::needlecheck::testing::PageProblems;
using ::needlecheck::testing::RunChromium;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::SvgById;
using ::testing::HasSubstr;
using ::testing::Not;

using ::needlecheck::testing::ReadFile;

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

  const ::needlecheck::testing::ChromiumRun run = RunChromium(
      chromium, dir, "dump", {"--dump-dom"}, absl::StrCat("file://", report));
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
  const ::needlecheck::testing::ChromiumRun run = RunChromium(
      chromium, dir, "empty", {"--dump-dom"}, absl::StrCat("file://", report));
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
  const ::needlecheck::testing::ChromiumRun run =
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
  const ::needlecheck::testing::ChromiumRun run = RunChromium(
      chromium, dir, "broken", {"--dump-dom"}, absl::StrCat("file://", page));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(PageProblems(run.err), Not(::testing::IsEmpty())) << run.err;
}

}  // namespace
}  // namespace needlecheck::batch
