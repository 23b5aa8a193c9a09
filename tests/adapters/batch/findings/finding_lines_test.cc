// FindingRecord <-> findings.ndjson and findings.csv lines, and from the
// Audit RPC's AuditFinding.
#include "adapters/batch/findings/finding_lines.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/audit.pb.h"
#include "nlohmann/json.hpp"
#include "tests/adapters/batch/findings/finding_test_data.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::batch::testing::Finding;
using ::needlecheck::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FindingRecordTest, JsonLineRoundTripsEveryField) {
  FindingRecord f =
      Finding("p\"1", "s1", "2026-03-01", Verdict::kTreatedDespiteWarning);
  f.areas = {"cheeks", "forehead"};
  f.needle_depth_mm = 0.75;
  f.anesthetic = "EMLA cream";
  f.performer = "Dr. Ana Ruiz";
  f.location = "North Clinic";
  f.days_since_previous_session = 41;
  f.alerts = {{"MN-ANTICOAGULANT", "warning", "On warfarin", "medication"},
              {"MN-SKIN-TYPE-MISSING", "info", "No skin type", "data quality"}};
  const std::string line = FindingToJsonLine(f);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr("\"verdict\":\"treated_despite_warning\""));
  EXPECT_THAT(line, HasSubstr("{\"rule_id\":\"MN-ANTICOAGULANT\",\"severity\":"
                              "\"warning\",\"category\":\"medication\","
                              "\"summary\":\"On warfarin\"}"));
  absl::StatusOr<FindingRecord> back = FindingFromJsonLine(line);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(FindingToJsonLine(*back), line);
  EXPECT_EQ(back->patient_id, "p\"1");
  EXPECT_EQ(back->days_since_previous_session, 41);
  EXPECT_DOUBLE_EQ(back->needle_depth_mm, 0.75);
  ASSERT_EQ(back->alerts.size(), 2u);
  EXPECT_EQ(back->alerts[1].severity, "info");
  EXPECT_EQ(back->alerts[1].category, "data quality");
}

// What FindingToJsonLine wrote with nlohmann's DOM before it wrote the
// text itself: the oracle for byte identity.
std::string NlohmannJsonLine(const FindingRecord& finding) {
  const auto string_or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::ordered_json(nullptr)
                     : nlohmann::ordered_json(s);
  };
  nlohmann::ordered_json line;
  line["patient_id"] = finding.patient_id;
  line["session_id"] = finding.session_id;
  line["session_date"] = finding.session_date;
  line["verdict"] = VerdictName(finding.verdict);
  nlohmann::ordered_json alerts = nlohmann::ordered_json::array();
  for (const FindingAlert& alert : finding.alerts) {
    nlohmann::ordered_json a;
    a["rule_id"] = alert.rule_id;
    a["severity"] = alert.severity;
    a["category"] = alert.category;
    a["summary"] = alert.summary;
    alerts.push_back(std::move(a));
  }
  line["alerts"] = std::move(alerts);
  line["areas"] = finding.areas;
  line["needle_depth_mm"] =
      finding.needle_depth_mm > 0
          ? nlohmann::ordered_json(finding.needle_depth_mm)
          : nlohmann::ordered_json(nullptr);
  line["anesthetic"] = string_or_null(finding.anesthetic);
  line["performer"] = string_or_null(finding.performer);
  line["location"] = string_or_null(finding.location);
  line["days_since_previous_session"] =
      finding.days_since_previous_session >= 0
          ? nlohmann::ordered_json(finding.days_since_previous_session)
          : nlohmann::ordered_json(nullptr);
  line["knowledge_base_version"] = finding.knowledge_base_version;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(FindingRecordTest, JsonLineIsByteForByteWhatNlohmannWrote) {
  // Escapes, control characters, UTF-8 (good and bad), numbers of every
  // shape: the text written without a DOM is the DOM's.
  const std::vector<std::string> texts = {
      "",
      "plain",
      "q\"uote\\back/slash",
      std::string("ctl\0\x01\x1f\b\t\n\f\r\x7f end", 16),
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\x89",
      "bad \xff lead, cut \xe2\x82, overlong \xc0\xaf, surrogate \xed\xa0\x80",
      "tail cut \xf0\x9f\x92",
  };
  const std::vector<double> depths = {0,    0.5,  0.75,  1.0,
                                      2.5,  0.1,  1e-7,  3.0,
                                      1e17, 1.25, 1e300, 0.3333333333333333};
  int cases = 0;
  for (const std::string& text : texts) {
    for (double depth : depths) {
      FindingRecord f =
          Finding(text, "s" + text, "2026-03-01", Verdict::kIntervalViolation);
      f.areas = {text, "cheeks"};
      f.needle_depth_mm = depth;
      f.anesthetic = text;
      f.performer = "Dr. " + text;
      f.location = text;
      f.days_since_previous_session = cases % 3 == 0 ? -1 : cases * 7;
      f.alerts = {{text, "critical", text, "c"}, {"R2", "info", "s", text}};
      f.knowledge_base_version = text;
      EXPECT_EQ(FindingToJsonLine(f), NlohmannJsonLine(f))
          << "text case " << cases;
      ++cases;
    }
  }
  FindingRecord empty;
  EXPECT_EQ(FindingToJsonLine(empty), NlohmannJsonLine(empty));
}

TEST(FindingRecordTest, UnknownValuesAreNulls) {
  const FindingRecord f = Finding("p1", "s1", "2026-03-01", Verdict::kClear);
  const std::string line = FindingToJsonLine(f);
  EXPECT_THAT(line, HasSubstr("\"needle_depth_mm\":null"));
  EXPECT_THAT(line, HasSubstr("\"days_since_previous_session\":null"));
  EXPECT_THAT(line, HasSubstr("\"performer\":null"));
  absl::StatusOr<FindingRecord> back = FindingFromJsonLine(line);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->days_since_previous_session, -1);
  EXPECT_EQ(back->performer, "");
}

TEST(FindingRecordTest, BadLinesAreErrorsNamingTheProblem) {
  EXPECT_THAT(FindingFromJsonLine("{").status().message(),
              HasSubstr("malformed JSON"));
  EXPECT_THAT(FindingFromJsonLine("[]").status().message(),
              HasSubstr("not a JSON object"));
  EXPECT_THAT(
      FindingFromJsonLine(
          R"({"patient_id":"p","session_id":"s","session_date":"d","verdict":"bad","alerts":[]})")
          .status()
          .message(),
      HasSubstr("verdict"));
  EXPECT_THAT(
      FindingFromJsonLine(
          R"({"patient_id":"p","session_id":"s","session_date":"d","verdict":"clear"})")
          .status()
          .message(),
      HasSubstr("alerts"));
}

TEST(FindingRecordTest, FromProtoNamesAreasSeveritiesAndVerdict) {
  v1::AuditFinding finding;
  finding.set_patient_id("p1");
  finding.set_verdict(v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  finding.set_knowledge_base_version("kb1");
  v1::AuditedSession* session = finding.mutable_session();
  session->set_procedure_id("s2");
  session->set_date("2026-01-25");
  session->add_areas(v1::TREATMENT_AREA_FULL_FACE);
  session->set_days_since_previous_session(15);
  session->mutable_anesthetic()->add_codings()->set_display("Lidocaine");
  session->set_performer("Dr. X");
  v1::Alert* alert = finding.add_alerts();
  alert->set_rule_id("MN-FREQ-INTERVAL");
  alert->set_severity(v1::SEVERITY_CRITICAL);
  alert->set_summary("Too soon");
  const FindingRecord record = FindingFromProto(finding);
  EXPECT_EQ(record.verdict, Verdict::kIntervalViolation);
  EXPECT_THAT(record.areas, ElementsAre("full_face"));
  EXPECT_EQ(record.days_since_previous_session, 15);
  EXPECT_EQ(record.anesthetic, "Lidocaine");
  EXPECT_EQ(record.performer, "Dr. X");
  ASSERT_EQ(record.alerts.size(), 1u);
  EXPECT_EQ(record.alerts[0].severity, "critical");
}

TEST(FindingRecordTest, CsvQuotesAndDefusesFormulas) {
  FindingRecord f =
      Finding("=HYPERLINK(\"x\")", "s,1", "2026-03-01", Verdict::kClear);
  f.performer = "Ruiz, \"Ana\"";
  f.alerts = {{"MN-A", "critical", "", "contraindication"},
              {"MN-B", "info", "", "data quality"}};
  const std::string row = FindingToCsvRow(f);
  EXPECT_THAT(row, HasSubstr("\"'=HYPERLINK(\"\"x\"\")\""));
  EXPECT_THAT(row, HasSubstr("\"s,1\""));
  EXPECT_THAT(row, HasSubstr("\"Ruiz, \"\"Ana\"\"\""));
  EXPECT_THAT(row, HasSubstr(",clear,1,0,1,MN-A:critical;MN-B:info,"));
  EXPECT_EQ(row.substr(row.size() - 2), "\r\n");
  EXPECT_THAT(FindingsCsvHeader(), HasSubstr("patient_id,session_id"));
}

// Every cell of a row, byte for byte as the rows of the first version (built
// cell by cell and joined): defused formulas in each text column, quotes,
// commas and line breaks inside cells, areas and alerts joined, depths in
// their shortest form, the optional columns empty.
TEST(FindingRecordTest, CsvRowsAreByteForByteTheSame) {
  FindingRecord f =
      Finding("-p,1", "@s\"1", "2026-03-01", Verdict::kTreatedDespiteCritical);
  f.areas = {"full_face", "neck,x"};
  f.needle_depth_mm = 0.25;
  f.anesthetic = "+EMLA\r\n5%";
  f.performer = "\tDr. \"X\"";
  f.location = "Room 1";
  f.days_since_previous_session = 0;
  f.alerts = {{"MN-A", "critical", "s", "c"},
              {"MN-B", "warning", "", ""},
              {"=MN-C", "info", "", ""}};
  f.knowledge_base_version = "kb-2026.12";
  EXPECT_EQ(FindingToCsvRow(f),
            "\"'-p,1\",\"'@s\"\"1\",2026-03-01,treated_despite_critical,1,1,"
            "1,MN-A:critical;MN-B:warning;=MN-C:info,\"full_face;neck,x\","
            "0.25,\"'+EMLA\r\n5%\",\"'\tDr. \"\"X\"\"\",Room 1,0,"
            "kb-2026.12\r\n");
  FindingRecord g = Finding("p2", "s2", "2026-03-02", Verdict::kClear);
  g.knowledge_base_version = "";
  EXPECT_EQ(FindingToCsvRow(g), "p2,s2,2026-03-02,clear,0,0,0,,,,,,,,\r\n");
  g.needle_depth_mm = 1.0 / 3;
  g.days_since_previous_session = 400;
  EXPECT_EQ(FindingToCsvRow(g),
            "p2,s2,2026-03-02,clear,0,0,0,,,0.333333,,,,400,\r\n");
}

}  // namespace
}  // namespace needlecheck::batch
