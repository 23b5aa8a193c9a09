#include "adapters/batch/report/report_html.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/batch/report/report_test_data.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::batch::testing::Count;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The text between the start of the element with id `id` and its first
// "</svg>" ("" if absent).
std::string SvgById(const std::string& html, absl::string_view id) {
  const size_t start = html.find(absl::StrCat("<svg id=\"", id, "\""));
  if (start == std::string::npos) return "";
  const size_t end = html.find("</svg>", start);
  if (end == std::string::npos) return "";
  return html.substr(start, end - start);
}

// The names of all tags in `html` (after "<" or "</"), lower case.
std::set<std::string> TagNames(const std::string& html) {
  std::set<std::string> names;
  for (size_t pos = html.find('<'); pos != std::string::npos;
       pos = html.find('<', pos + 1)) {
    size_t i = pos + 1;
    if (i < html.size() && html[i] == '/') ++i;
    std::string name;
    while (i < html.size() &&
           (absl::ascii_isalnum(html[i]) || html[i] == '!')) {
      name.push_back(absl::ascii_tolower(html[i++]));
    }
    names.insert(name);
  }
  return names;
}

// Every element the renderer writes; anything else came from the data.
const std::set<std::string>& OurTags() {
  static const std::set<std::string> kTags = {
      "!doctype", "html",   "head",       "meta",  "title",    "style",
      "body",     "header", "div",        "h1",    "h2",       "h3",
      "p",        "nav",    "a",          "main",  "section",  "strong",
      "small",    "figure", "figcaption", "svg",   "g",        "rect",
      "line",     "text",   "tspan",      "table", "colgroup", "col",
      "thead",    "tbody",  "tr",         "th",    "td",       "details",
      "summary",  "span",   "ul",         "li",    "footer"};
  return kTags;
}

void ExpectOnlyOurTags(const std::string& html) {
  for (const std::string& name : TagNames(html)) {
    EXPECT_TRUE(OurTags().count(name)) << "unexpected tag <" << name << ">";
  }
}

// Every href is in-page (#...).
void ExpectOnlyInPageLinks(const std::string& html) {
  for (size_t pos = html.find("href="); pos != std::string::npos;
       pos = html.find("href=", pos + 1)) {
    EXPECT_EQ(html.substr(pos, 7), "href=\"#") << html.substr(pos, 40);
  }
}

TEST(HtmlEscapeTest, EscapesMarkupCharacters) {
  EXPECT_EQ(HtmlEscape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("a & \"b\" 'c'"), "a &amp; &quot;b&quot; &#39;c&#39;");
  EXPECT_EQ(HtmlEscape("Ren\xc3\xa9 \xe2\x80\x93 \xf0\x9f\x98\x80"),
            "Ren\xc3\xa9 \xe2\x80\x93 \xf0\x9f\x98\x80");
}

TEST(HtmlEscapeTest, ReplacesInvalidUtf8AndControls) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(HtmlEscape("a\xff"
                       "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(HtmlEscape("\xc3"), kFffd);                          // truncated
  EXPECT_EQ(HtmlEscape("\xc0\xaf"), kFffd + kFffd);              // overlong
  EXPECT_EQ(HtmlEscape("\xed\xa0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(HtmlEscape(std::string("x\0y", 3)), "x" + kFffd + "y");
  EXPECT_EQ(HtmlEscape("tab\tnl\n"), "tab\tnl\n");
  EXPECT_EQ(HtmlEscape("\x1b[31m"), kFffd + "[31m");
}

TEST(RenderAuditReportTest, PageSkeleton) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  EXPECT_THAT(html, StartsWith("<!DOCTYPE html>\n<html lang=\"en\">"));
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\">"));
  EXPECT_THAT(html, HasSubstr("<title>needlecheck audit report</title>"));
  EXPECT_THAT(html, HasSubstr("<h1>needlecheck audit report</h1>"));
  EXPECT_THAT(html, HasSubstr("<strong>2026.11.1</strong>"));
  EXPECT_THAT(html, HasSubstr("Content-Security-Policy"));
  EXPECT_TRUE(absl::EndsWith(html, "</html>\n"));
}

TEST(RenderAuditReportTest, SelfContained) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  // No script, link, img, object, iframe, font...: only our elements.
  ExpectOnlyOurTags(html);
  ExpectOnlyInPageLinks(html);
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

TEST(RenderAuditReportTest, HostileTextIsEscaped) {
  AuditSummary s = testing::RealisticSummary();
  s.knowledge_base_versions.insert("<b>kb</b>");
  s.by_rule["<i>MN-X</i>"] = {"\"><svg onload=alert(3)>", 1, 1, 0, 0,
                              "<b>category</b>"};
  s.by_location["</td><script>alert(4)</script>"] =
      testing::MakeCounts(1, 0, 0, 0);
  s.input.skipped_files["<x>.txt"] = "'quoted' & <b>bold</b>";
  const std::string html = RenderAuditReport(s);
  // No markup from the data survives: no element other than ours, no
  // attribute broken out of.
  ExpectOnlyOurTags(html);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  EXPECT_THAT(html, Not(HasSubstr("<i>")));
  EXPECT_THAT(html, Not(HasSubstr("\"><svg")));
  EXPECT_THAT(html, Not(ContainsRegex("<[^>]* on[a-z]+=")));
  // The texts are there, escaped.
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("Dr. &quot;Eve&quot; &lt;img src=x "
                              "onerror=alert(2)&gt; &amp; Co"));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;kb&lt;/b&gt;"));
  EXPECT_THAT(html, HasSubstr("&lt;i&gt;MN-X&lt;/i&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;&gt;&lt;svg onload=alert(3)&gt;"));
  EXPECT_THAT(html, HasSubstr("&lt;/td&gt;&lt;script&gt;alert(4)"));
  EXPECT_THAT(html, HasSubstr("&#39;quoted&#39; &amp; &lt;b&gt;bold"));
  // Exactly the three chart svgs plus the mini bars of the group tables.
  EXPECT_EQ(Count(html, "<svg id="), 3u);
}

TEST(RenderAuditReportTest, ChartsPresentWithBarsAndTooltips) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  for (const char* id :
       {kChartByRuleId, kChartByMonthId, kChartDaysBetweenId}) {
    SCOPED_TRACE(id);
    const std::string svg = SvgById(html, id);
    ASSERT_FALSE(svg.empty());
    EXPECT_THAT(svg, HasSubstr("role=\"img\""));
    EXPECT_THAT(svg, HasSubstr("aria-label=\""));
    EXPECT_THAT(svg, HasSubstr("viewBox=\""));
    EXPECT_GE(Count(svg, "<rect"), 7u);
    EXPECT_GE(Count(svg, "<title>"), 7u);
  }
  EXPECT_EQ(Count(html, "<figure>"), 3u);
  EXPECT_EQ(Count(html, "<figcaption>"), 3u);
}

TEST(RenderAuditReportTest, RuleChart) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  const std::string svg = SvgById(html, kChartByRuleId);
  // One row per rule, most sessions first, severity colours.
  EXPECT_EQ(Count(svg, "<g><title>"), 7u);
  EXPECT_LT(svg.find("MN-SKIN-TYPE-MISSING"), svg.find("MN-FREQ-INTERVAL"));
  EXPECT_THAT(svg, HasSubstr("fill=\"#c62828\""));  // critical
  EXPECT_THAT(svg, HasSubstr("fill=\"#f59e0b\""));  // warning
  EXPECT_THAT(svg, HasSubstr("fill=\"#1d6fc4\""));  // info
  EXPECT_THAT(svg,
              HasSubstr("<title>MN-EYE-DEPTH: Periorbital needle depth "
                        "{depth} mm is above the {max_depth} mm limit for the "
                        "under-eye area \xE2\x80\x94 18 sessions (6 critical, "
                        "12 warning, 0 info)</title>"));
  // The data table has the summaries.
  EXPECT_THAT(html, HasSubstr("<td>Active eczema/dermatitis: microneedling is "
                              "not recommended</td>"));
}

TEST(RenderAuditReportTest, MonthChartFillsGaps) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  const std::string svg = SvgById(html, kChartByMonthId);
  // 14 months, 2025-08 (no sessions) included as an empty month.
  EXPECT_EQ(Count(svg, "<g><title>"), 14u);
  EXPECT_THAT(svg, HasSubstr("<title>2025-08: 0 sessions"));
  EXPECT_THAT(svg, HasSubstr("from 2024-11 to 2025-12"));
  EXPECT_THAT(svg, HasSubstr(">Nov</text>"));
  EXPECT_THAT(svg, HasSubstr(">2024</text>"));
  EXPECT_THAT(svg, HasSubstr(">2025</text>"));
  EXPECT_THAT(html, HasSubstr("<tr><td>2025-08</td><td class=\"num\">0</td>"));
}

TEST(RenderAuditReportTest, MonthKeysThatAreNotMonthsAreShownAsTheyAre) {
  AuditSummary s;
  s.by_month["unknown"] = testing::MakeCounts(0, 0, 1, 2);
  s.by_month["2025-02"] = testing::MakeCounts(1, 0, 0, 2);
  s.totals = testing::MakeCounts(1, 0, 1, 4);
  const std::string svg = SvgById(RenderAuditReport(s), kChartByMonthId);
  EXPECT_EQ(Count(svg, "<g><title>"), 2u);
  EXPECT_THAT(svg, HasSubstr(">unknown</text>"));
}

TEST(RenderAuditReportTest, IntervalChartHas28DayLine) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  const std::string svg = SvgById(html, kChartDaysBetweenId);
  EXPECT_EQ(Count(svg, "<g><title>"), 27u);
  EXPECT_THAT(svg, HasSubstr("28-day minimum"));
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray"));
  // 2 + 7 + 14 + 25 = 48 of 621.
  EXPECT_THAT(svg, HasSubstr("under 28 days: 48 (7.7%)"));
  EXPECT_THAT(svg, HasSubstr("28 days or more: 573"));
  EXPECT_THAT(svg, HasSubstr("<title>21\xE2\x80\x93"
                             "27 days: 25 sessions"));
  EXPECT_THAT(svg, HasSubstr("<title>182+ days: 19 sessions"));
  EXPECT_THAT(html, HasSubstr("<strong>48</strong> of 621 sessions"));
}

TEST(RenderAuditReportTest, OverviewExplainsEachVerdict) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  for (const char* label :
       {"Interval violation", "Treated despite a critical alert",
        "Treated despite a warning", "Clear"}) {
    EXPECT_THAT(html, HasSubstr(absl::StrCat("<div class=\"label\">", label,
                                             "</div>")));
  }
  EXPECT_THAT(html, HasSubstr("less than 28 days after an earlier session"));
  EXPECT_THAT(html, HasSubstr("Sessions audited"));
  EXPECT_THAT(html, HasSubstr("Sessions flagged"));
}

TEST(RenderAuditReportTest, PerformerAndLocationTables) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  EXPECT_THAT(html, HasSubstr("<section id=\"by-performer\">"));
  EXPECT_THAT(html, HasSubstr("<section id=\"by-location\">"));
  EXPECT_THAT(html, HasSubstr("<td>Clinic North (Leeds)</td>"));
  // Most flagged first: Alex (40) before Eve (31) before Priya (20).
  const size_t section = html.find("<section id=\"by-performer\">");
  const size_t alex = html.find("<td>Alex Moreau, RN</td>", section);
  const size_t eve = html.find("<td>Dr. &quot;Eve&quot;", section);
  const size_t priya = html.find("<td>Dr. Priya Natarajan</td>", section);
  EXPECT_LT(alex, eve);
  EXPECT_LT(eve, priya);

  AuditSummary without = testing::RealisticSummary();
  without.by_performer.clear();
  without.by_location.clear();
  const std::string html2 = RenderAuditReport(without);
  EXPECT_THAT(html2, Not(HasSubstr("id=\"by-performer\"")));
  EXPECT_THAT(html2, Not(HasSubstr("id=\"by-location\"")));
}

TEST(RenderAuditReportTest, WorstCasesTable) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  const size_t section = html.find("<section id=\"worst-cases\">");
  ASSERT_NE(section, std::string::npos);
  const std::string table = html.substr(section);
  EXPECT_THAT(table, HasSubstr("The 50 most serious"));
  EXPECT_THAT(table, HasSubstr("<td class=\"id\">pat-01000</td>"));
  EXPECT_THAT(table, HasSubstr("<td class=\"id\">proc-050000</td>"));
  EXPECT_THAT(table, HasSubstr(">2025-01-01</td>"));
  EXPECT_THAT(table, HasSubstr("<span class=\"id\">MN-FREQ-INTERVAL</span> "
                               "Only 7 days since the last session"));
  EXPECT_EQ(Count(table.substr(0, table.find("</table>")), "<tr><td"), 50u);
}

TEST(RenderAuditReportTest, InputSection) {
  const std::string html = RenderAuditReport(testing::RealisticSummary());
  const size_t section = html.find("<section id=\"input\">");
  ASSERT_NE(section, std::string::npos);
  const std::string input = html.substr(section);
  EXPECT_THAT(input, HasSubstr("<td class=\"id\">Condition.ndjson.gz</td>"));
  EXPECT_THAT(input, HasSubstr("<td>Lines read</td><td class=\"num\">3,149"));
  EXPECT_THAT(input, HasSubstr("Malformed lines (skipped)</td><td class=\"num "
                               "warn\">1</td>"));
  EXPECT_THAT(input, HasSubstr("<td class=\"id\">export-log.txt</td><td>not a "
                               "FHIR resource file"));
  EXPECT_THAT(input, HasSubstr("Patients whose record was rejected"));
  EXPECT_THAT(input, HasSubstr("<td>Condition</td><td class=\"num\">1,302"));
}

TEST(RenderAuditReportTest, EmptySummaryRendersSentences) {
  const std::string html = RenderAuditReport(AuditSummary());
  EXPECT_THAT(html, HasSubstr("<h1>needlecheck audit report</h1>"));
  EXPECT_THAT(html, Not(HasSubstr("<svg id=")));
  EXPECT_THAT(html, HasSubstr("No rule fired on any session"));
  EXPECT_THAT(html, HasSubstr("No sessions were audited"));
  EXPECT_THAT(html, HasSubstr("there are no intervals to chart"));
  EXPECT_THAT(html, HasSubstr("No session was flagged."));
  EXPECT_THAT(html, HasSubstr("No file was read."));
  EXPECT_THAT(html, HasSubstr("not recorded in the findings"));
  EXPECT_THAT(html, Not(HasSubstr("<small>")));  // no percent of nothing
  EXPECT_THAT(html, Not(HasSubstr("nan%")));
  EXPECT_THAT(html, Not(HasSubstr("inf%")));
  EXPECT_THAT(html, Not(HasSubstr("nan\"")));  // no NaN coordinates
  EXPECT_TRUE(absl::EndsWith(html, "</html>\n"));
}

TEST(RenderAuditReportTest, SessionsWithoutIntervalsOrRules) {
  AuditSummary s;
  s.totals = testing::MakeCounts(0, 0, 0, 3);
  s.by_month["2025-05"] = s.totals;
  const std::string html = RenderAuditReport(s);
  EXPECT_THAT(html, HasSubstr("<svg id=\"chart-by-month\""));
  EXPECT_THAT(html, Not(HasSubstr("<svg id=\"chart-by-rule\"")));
  EXPECT_THAT(html, Not(HasSubstr("<svg id=\"chart-days-between\"")));
}

TEST(RenderAuditReportTest, LongRuleIdsAreTruncatedInTheChartOnly) {
  AuditSummary s;
  const std::string id = "MN-A-VERY-LONG-RULE-IDENTIFIER-\xc3\xa9\xc3\xa9";
  s.by_rule[id] = {"long", 1, 0, 1, 0, "precaution"};
  const std::string html = RenderAuditReport(s);
  const std::string svg = SvgById(html, kChartByRuleId);
  EXPECT_THAT(svg,
              HasSubstr(">MN-A-VERY-LONG-RULE-IDENTIF\xE2\x80\xA6</text>"));
  EXPECT_THAT(svg, HasSubstr(absl::StrCat("<title>", id)));
  EXPECT_THAT(html, HasSubstr(absl::StrCat("<td class=\"id\">", id, "</td>")));
}

TEST(RenderAuditReportTest, Deterministic) {
  EXPECT_EQ(RenderAuditReport(testing::RealisticSummary()),
            RenderAuditReport(testing::RealisticSummary()));
}

TEST(RenderAuditReportTest, HugeCountsFormat) {
  AuditSummary s;
  s.totals = testing::MakeCounts(1234567, 0, 0, 8765433);
  s.by_month["2025-01"] = s.totals;
  const std::string html = RenderAuditReport(s);
  EXPECT_THAT(html, HasSubstr(">10,000,000</div>"));
  EXPECT_THAT(html, HasSubstr("1,234,567 <small>12.3%</small>"));
}

}  // namespace
}  // namespace needlecheck::batch
