#include "adapters/batch/report/summary_json.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/adapters/batch/report/report_test_data.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

std::vector<std::string> Keys(const Json& object) {
  std::vector<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) {
    keys.push_back(it.key());
  }
  return keys;
}

// A small summary built by hand, every field set.
AuditSummary HandBuilt() {
  AuditSummary s;
  s.knowledge_base_versions = {"2026.11.1", "2026.12.0"};
  s.patients = 5;
  s.patients_with_sessions = 4;
  s.patients_flagged = 2;
  s.totals = testing::MakeCounts(1, 2, 3, 10);
  s.by_rule["MN-FREQ-INTERVAL"] = {"Only {days} days", 1, 1, 0, 0, "frequency"};
  s.by_rule["MN-CI-ECZEMA"] = {"Active eczema", 2, 2, 0, 0, "contraindication"};
  s.by_month["2025-01"] = testing::MakeCounts(1, 0, 1, 4);
  s.by_month["2025-03"] = testing::MakeCounts(0, 2, 2, 6);
  s.by_performer["Alex"] = testing::MakeCounts(1, 1, 0, 3);
  s.by_location["North"] = testing::MakeCounts(0, 0, 1, 2);
  s.days_between_sessions.buckets[2] = 1;
  s.days_between_sessions.buckets[26] = 2;
  s.days_between_sessions.under_28_days = 1;
  s.days_between_sessions.with_previous = 3;
  WorstCase w;
  w.finding.patient_id = "pat-1";
  w.finding.session_id = "proc-1";
  w.finding.session_date = "2025-01-20";
  w.finding.verdict = Verdict::kIntervalViolation;
  w.finding.areas = {"cheeks", "neck"};
  w.finding.performer = "Alex";
  w.finding.days_since_previous_session = 14;
  w.finding.alerts = {
      {"MN-FREQ-INTERVAL", "critical", "Only 14 days", "frequency"}};
  w.critical = 1;
  s.worst_cases.push_back(w);
  w.finding.session_id = "proc-2";
  w.finding.verdict = Verdict::kTreatedDespiteWarning;
  w.finding.days_since_previous_session = -1;
  w.finding.alerts = {
      {"MN-ANTICOAGULANT", "warning", "Takes warfarin", "medication"}};
  w.critical = 0;
  w.warning = 1;
  s.worst_cases.push_back(w);
  s.input.files["Patient.ndjson"] = {5, 5, 0, 0};
  s.input.files["Procedure.ndjson.gz"] = {20, 18, 1, 1};
  s.input.skipped_files["notes.txt"] = "not a FHIR resource file";
  s.input.resources_by_type = {{"Patient", 5}, {"Procedure", 18}};
  s.input.rejected_resources = 2;
  s.input.rejected_patients = 1;
  return s;
}

Json Parse(const std::string& text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(json.is_discarded()) << text;
  return json;
}

TEST(SummaryToJsonTest, TopLevelKeysInFixedOrder) {
  const Json json = Parse(SummaryToJson(HandBuilt()));
  EXPECT_THAT(
      Keys(json),
      ElementsAre("schema", "knowledge_base_versions", "patients", "sessions",
                  "by_rule", "by_month", "by_performer", "by_location",
                  "days_between_sessions", "worst_cases", "input"));
  EXPECT_EQ(json["schema"], "needlecheck.audit.summary/1");
  EXPECT_EQ(json["knowledge_base_versions"],
            Json::array({"2026.11.1", "2026.12.0"}));
}

TEST(SummaryToJsonTest, PrettyPrintedWithTrailingNewline) {
  const std::string text = SummaryToJson(HandBuilt());
  EXPECT_EQ(
      text.rfind("{\n  \"schema\": \"needlecheck.audit.summary/1\",\n", 0), 0u);
  ASSERT_GE(text.size(), 2u);
  EXPECT_EQ(text.substr(text.size() - 2), "}\n");
}

TEST(SummaryToJsonTest, PatientsAndSessions) {
  const Json json = Parse(SummaryToJson(HandBuilt()));
  EXPECT_EQ(json["patients"],
            Json::parse(R"({"audited": 5, "with_sessions": 4, "flagged": 2})"));
  EXPECT_EQ(Keys(json["patients"]),
            (std::vector<std::string>{"audited", "with_sessions", "flagged"}));
  EXPECT_EQ(json["sessions"]["total"], 16);
  EXPECT_THAT(Keys(json["sessions"]["by_verdict"]),
              ElementsAre("interval_violation", "treated_despite_critical",
                          "treated_despite_warning", "clear"));
  EXPECT_EQ(json["sessions"]["by_verdict"]["interval_violation"], 1);
  EXPECT_EQ(json["sessions"]["by_verdict"]["treated_despite_critical"], 2);
  EXPECT_EQ(json["sessions"]["by_verdict"]["treated_despite_warning"], 3);
  EXPECT_EQ(json["sessions"]["by_verdict"]["clear"], 10);
}

TEST(SummaryToJsonTest, ByRuleMonthPerformerLocation) {
  const Json json = Parse(SummaryToJson(HandBuilt()));
  EXPECT_THAT(Keys(json["by_rule"]),
              ElementsAre("MN-CI-ECZEMA", "MN-FREQ-INTERVAL"));
  const Json& rule = json["by_rule"]["MN-CI-ECZEMA"];
  EXPECT_THAT(Keys(rule), ElementsAre("category", "summary", "sessions",
                                      "critical", "warning", "info"));
  EXPECT_EQ(rule["summary"], "Active eczema");
  EXPECT_EQ(rule["sessions"], 2);
  EXPECT_EQ(rule["critical"], 2);

  EXPECT_THAT(Keys(json["by_month"]), ElementsAre("2025-01", "2025-03"));
  const Json& month = json["by_month"]["2025-03"];
  EXPECT_THAT(Keys(month),
              ElementsAre("interval_violation", "treated_despite_critical",
                          "treated_despite_warning", "clear", "total"));
  EXPECT_EQ(month["treated_despite_critical"], 2);
  EXPECT_EQ(month["total"], 10);
  EXPECT_EQ(json["by_performer"]["Alex"]["total"], 5);
  EXPECT_EQ(json["by_location"]["North"]["treated_despite_warning"], 1);
}

TEST(SummaryToJsonTest, DaysBetweenSessions) {
  const Json json = Parse(SummaryToJson(HandBuilt()));
  const Json& days = json["days_between_sessions"];
  EXPECT_THAT(Keys(days), ElementsAre("bucket_days", "buckets", "under_28_days",
                                      "with_previous"));
  EXPECT_EQ(days["bucket_days"], 7);
  ASSERT_EQ(days["buckets"].size(), 27u);
  EXPECT_EQ(days["buckets"][0],
            Json::parse(R"({"from": 0, "to": 6, "sessions": 0})"));
  EXPECT_EQ(days["buckets"][2],
            Json::parse(R"({"from": 14, "to": 20, "sessions": 1})"));
  EXPECT_EQ(days["buckets"][25],
            Json::parse(R"({"from": 175, "to": 181, "sessions": 0})"));
  EXPECT_EQ(days["buckets"][26],
            Json::parse(R"({"from": 182, "to": null, "sessions": 2})"));
  EXPECT_EQ(days["under_28_days"], 1);
  EXPECT_EQ(days["with_previous"], 3);
}

TEST(SummaryToJsonTest, WorstCases) {
  const Json json = Parse(SummaryToJson(HandBuilt()));
  ASSERT_EQ(json["worst_cases"].size(), 2u);
  const Json& first = json["worst_cases"][0];
  EXPECT_THAT(Keys(first),
              ElementsAre("patient_id", "session_id", "session_date", "verdict",
                          "areas", "performer", "location",
                          "days_since_previous_session", "critical", "warning",
                          "alerts"));
  EXPECT_EQ(first["patient_id"], "pat-1");
  EXPECT_EQ(first["session_id"], "proc-1");
  EXPECT_EQ(first["session_date"], "2025-01-20");
  EXPECT_EQ(first["verdict"], "interval_violation");
  EXPECT_EQ(first["areas"], Json::array({"cheeks", "neck"}));
  EXPECT_EQ(first["performer"], "Alex");
  EXPECT_EQ(first["location"], "");
  EXPECT_EQ(first["days_since_previous_session"], 14);
  EXPECT_EQ(first["critical"], 1);
  EXPECT_EQ(first["warning"], 0);
  EXPECT_EQ(first["alerts"], Json::parse(R"([{"rule_id": "MN-FREQ-INTERVAL",
                             "severity": "critical",
                             "summary": "Only 14 days"}])"));
  const Json& second = json["worst_cases"][1];
  EXPECT_EQ(second["verdict"], "treated_despite_warning");
  EXPECT_TRUE(second["days_since_previous_session"].is_null());
}

TEST(SummaryToJsonTest, Input) {
  const Json json = Parse(SummaryToJson(HandBuilt()));
  const Json& input = json["input"];
  EXPECT_THAT(
      Keys(input),
      ElementsAre("files", "skipped_files", "resources_by_type", "lines",
                  "resources", "malformed_lines", "resources_without_patient",
                  "rejected_resources", "rejected_patients"));
  EXPECT_EQ(input["files"]["Procedure.ndjson.gz"],
            Json::parse(R"({"lines": 20, "resources": 18, "malformed": 1,
                            "without_patient": 1})"));
  EXPECT_EQ(input["skipped_files"]["notes.txt"], "not a FHIR resource file");
  EXPECT_EQ(input["resources_by_type"]["Procedure"], 18);
  EXPECT_EQ(input["lines"], 25);
  EXPECT_EQ(input["resources"], 23);
  EXPECT_EQ(input["malformed_lines"], 1);
  EXPECT_EQ(input["resources_without_patient"], 1);
  EXPECT_EQ(input["rejected_resources"], 2);
  EXPECT_EQ(input["rejected_patients"], 1);
}

TEST(SummaryToJsonTest, EmptySummary) {
  const Json json = Parse(SummaryToJson(AuditSummary()));
  EXPECT_EQ(json["knowledge_base_versions"], Json::array());
  EXPECT_EQ(json["sessions"]["total"], 0);
  EXPECT_EQ(json["by_rule"], Json::object());
  EXPECT_EQ(json["by_month"], Json::object());
  EXPECT_EQ(json["worst_cases"], Json::array());
  EXPECT_EQ(json["days_between_sessions"]["buckets"].size(), 27u);
  EXPECT_EQ(json["input"]["files"], Json::object());
}

TEST(SummaryToJsonTest, InvalidUtf8IsReplacedNotThrown) {
  AuditSummary s;
  WorstCase w;
  w.finding.patient_id = "pat-\xff\xfe";
  w.finding.performer = "Ren\xc3\xa9";  // valid: kept
  s.worst_cases.push_back(w);
  s.by_performer["bad\xc3"] = testing::MakeCounts(0, 0, 0, 1);
  const Json json = Parse(SummaryToJson(s));
  EXPECT_EQ(json["worst_cases"][0]["patient_id"],
            "pat-\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(json["worst_cases"][0]["performer"], "Ren\xc3\xa9");
  EXPECT_TRUE(json["by_performer"].contains("bad\xEF\xBF\xBD"));
}

// The layout is nlohmann's dump(2) (what wrote summary.json before):
// parsed and dumped again by nlohmann, the text comes back byte for byte.
TEST(SummaryToJsonTest, LayoutIsNlohmannsPrettyDump) {
  AuditSummary bad_utf8;
  WorstCase w;
  w.finding.patient_id = "pat-\xff\x01\"";
  bad_utf8.worst_cases.push_back(w);
  bad_utf8.input.skipped_files["x\xc3"] = "tab\there";
  for (const AuditSummary& s :
       {HandBuilt(), testing::RealisticSummary(), AuditSummary(), bad_utf8}) {
    const std::string text = SummaryToJson(s);
    EXPECT_EQ(
        text,
        Parse(text).dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  }
}

TEST(SummaryToJsonTest, Deterministic) {
  EXPECT_EQ(SummaryToJson(testing::RealisticSummary()),
            SummaryToJson(testing::RealisticSummary()));
}

void ExpectSameInput(const InputCounts& a, const InputCounts& b) {
  ASSERT_EQ(a.files.size(), b.files.size());
  for (const auto& [name, counts] : a.files) {
    auto it = b.files.find(name);
    ASSERT_NE(it, b.files.end()) << name;
    EXPECT_EQ(counts.lines, it->second.lines) << name;
    EXPECT_EQ(counts.resources, it->second.resources) << name;
    EXPECT_EQ(counts.malformed, it->second.malformed) << name;
    EXPECT_EQ(counts.without_patient, it->second.without_patient) << name;
  }
  EXPECT_EQ(a.skipped_files, b.skipped_files);
  EXPECT_EQ(a.resources_by_type, b.resources_by_type);
  EXPECT_EQ(a.rejected_resources, b.rejected_resources);
  EXPECT_EQ(a.rejected_patients, b.rejected_patients);
}

TEST(InputCountsFromSummaryJsonTest, RoundTrip) {
  for (const AuditSummary& s :
       {HandBuilt(), testing::RealisticSummary(), AuditSummary()}) {
    absl::StatusOr<InputCounts> input =
        InputCountsFromSummaryJson(SummaryToJson(s));
    ASSERT_THAT(input, IsOk());
    ExpectSameInput(*input, s.input);
    // The audited patients come back from "patients.audited".
    EXPECT_EQ(input->patients_audited, s.patients);
  }
}

TEST(InputCountsFromSummaryJsonTest, TotalFileCounts) {
  const InputFileCounts total = TotalFileCounts(HandBuilt().input);
  EXPECT_EQ(total.lines, 25);
  EXPECT_EQ(total.resources, 23);
  EXPECT_EQ(total.malformed, 1);
  EXPECT_EQ(total.without_patient, 1);
}

TEST(InputCountsFromSummaryJsonTest, IgnoresUnknownKeys) {
  Json json = Parse(SummaryToJson(HandBuilt()));
  json["input"]["added_later"] = {1, 2};
  json["something_else"] = "x";
  absl::StatusOr<InputCounts> input = InputCountsFromSummaryJson(json.dump());
  ASSERT_THAT(input, IsOk());
  ExpectSameInput(*input, HandBuilt().input);
}

// The summary.json of HandBuilt() with `edit` applied, read back.
template <typename Edit>
absl::StatusOr<InputCounts> ReadEdited(Edit edit) {
  Json json = Json::parse(SummaryToJson(HandBuilt()));
  edit(json);
  return InputCountsFromSummaryJson(json.dump());
}

TEST(InputCountsFromSummaryJsonTest, NotJson) {
  EXPECT_THAT(InputCountsFromSummaryJson("{\"schema\": "),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON")));
  EXPECT_THAT(InputCountsFromSummaryJson(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(InputCountsFromSummaryJson("[1, 2]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected an object, got array")));
}

TEST(InputCountsFromSummaryJsonTest, WrongOrMissingSchema) {
  EXPECT_THAT(
      ReadEdited([](Json& j) { j["schema"] = "needlecheck.audit.summary/2"; }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("schema: expected \"needlecheck.audit.summary/1\", "
                         "got \"needlecheck.audit.summary/2\"")));
  EXPECT_THAT(ReadEdited([](Json& j) { j.erase("schema"); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing \"schema\"")));
}

TEST(InputCountsFromSummaryJsonTest, MissingOrWrongInput) {
  EXPECT_THAT(ReadEdited([](Json& j) { j.erase("input"); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing \"input\"")));
  EXPECT_THAT(ReadEdited([](Json& j) { j["input"] = 3; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input: expected an object, got number")));
  EXPECT_THAT(ReadEdited([](Json& j) { j["input"].erase("files"); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input: missing \"files\"")));
  EXPECT_THAT(
      ReadEdited([](Json& j) { j["input"].erase("rejected_patients"); }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("input: missing \"rejected_patients\"")));
}

TEST(InputCountsFromSummaryJsonTest, BadCountsNameTheirPath) {
  EXPECT_THAT(
      ReadEdited(
          [](Json& j) { j["input"]["files"]["Patient.ndjson"]["lines"] = -1; }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("input.files[\"Patient.ndjson\"].lines: negative "
                         "count -1")));
  EXPECT_THAT(
      ReadEdited([](Json& j) {
        j["input"]["files"]["Patient.ndjson"]["resources"] = 2.5;
      }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("input.files[\"Patient.ndjson\"].resources: expected "
                         "a non-negative integer, got number")));
  EXPECT_THAT(ReadEdited([](Json& j) {
                j["input"]["files"]["Patient.ndjson"].erase("malformed");
              }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input.files[\"Patient.ndjson\"]: missing "
                                 "\"malformed\"")));
  EXPECT_THAT(
      ReadEdited([](Json& j) { j["input"]["files"]["Patient.ndjson"] = "5"; }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("input.files[\"Patient.ndjson\"]: expected an "
                         "object, got string")));
  EXPECT_THAT(
      ReadEdited([](Json& j) { j["input"]["resources_by_type"]["X"] = "1"; }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("input.resources_by_type[\"X\"]: expected a "
                         "non-negative integer, got string")));
  EXPECT_THAT(
      ReadEdited([](Json& j) { j["input"]["skipped_files"]["a.txt"] = 1; }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("input.skipped_files[\"a.txt\"]: expected a string, "
                         "got number")));
  EXPECT_THAT(InputCountsFromSummaryJson(
                  R"({"schema": "needlecheck.audit.summary/1", "input": {
                      "files": {}, "skipped_files": {},
                      "resources_by_type": {}, "lines": 0, "resources": 0,
                      "malformed_lines": 0, "resources_without_patient": 0,
                      "rejected_resources": 18446744073709551615,
                      "rejected_patients": 0}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input.rejected_resources: count out of "
                                 "range")));
}

TEST(InputCountsFromSummaryJsonTest, SchemaOfAnotherTypeIsShownAsJson) {
  EXPECT_THAT(ReadEdited([](Json& j) { j["schema"] = 7; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("schema: expected \"needlecheck.audit."
                                 "summary/1\", got 7")));
  EXPECT_THAT(ReadEdited([](Json& j) {
                j["schema"] = {{"v", nullptr}};
              }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("got {\"v\":null}")));
}

TEST(InputCountsFromSummaryJsonTest, MissingOrWrongPatients) {
  EXPECT_THAT(ReadEdited([](Json& j) { j.erase("patients"); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("(root): missing \"patients\"")));
  EXPECT_THAT(ReadEdited([](Json& j) { j["patients"] = Json::array(); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("patients: expected an object, got array")));
  EXPECT_THAT(ReadEdited([](Json& j) { j["patients"].erase("audited"); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("patients: missing \"audited\"")));
  EXPECT_THAT(ReadEdited([](Json& j) { j["patients"]["audited"] = true; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("patients.audited: expected a non-negative "
                                 "integer, got boolean")));
  EXPECT_THAT(
      ReadEdited([](Json& j) { j["patients"]["audited"] = nullptr; }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got null")));
}

// As nlohmann read it: of a key given twice, the last value counts.
TEST(InputCountsFromSummaryJsonTest, RepeatedKeyTakesTheLastValue) {
  const std::string text = R"({"schema": "x", "schema":
      "needlecheck.audit.summary/1", "patients": {"audited": -1,
      "audited": 4}, "input": {"files": {"a.ndjson": 5, "a.ndjson":
      {"lines": 2, "resources": 2, "malformed": 0, "without_patient": 0}},
      "skipped_files": {"b": 1, "b": "why"}, "resources_by_type": {},
      "lines": 2, "resources": 2, "malformed_lines": 0,
      "resources_without_patient": 0, "rejected_resources": 0,
      "rejected_patients": 0}})";
  absl::StatusOr<InputCounts> input = InputCountsFromSummaryJson(text);
  ASSERT_THAT(input, IsOk());
  EXPECT_EQ(input->patients_audited, 4);
  EXPECT_EQ(input->files.at("a.ndjson").lines, 2);
  EXPECT_EQ(input->skipped_files.at("b"), "why");
}

// nlohmann's parser skipped a UTF-8 byte order mark (an editor's) at the
// start; so does this reader.
TEST(InputCountsFromSummaryJsonTest, ByteOrderMarkIsSkipped) {
  absl::StatusOr<InputCounts> input =
      InputCountsFromSummaryJson("\xEF\xBB\xBF" + SummaryToJson(HandBuilt()));
  ASSERT_THAT(input, IsOk());
  ExpectSameInput(*input, HandBuilt().input);
  EXPECT_THAT(InputCountsFromSummaryJson("\xEF\xBB\xBF"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON")));
}

TEST(InputCountsFromSummaryJsonTest, TrailingTextIsNotJson) {
  EXPECT_THAT(InputCountsFromSummaryJson(SummaryToJson(HandBuilt()) + "{}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON")));
}

TEST(InputCountsFromSummaryJsonTest, TotalsMustMatchTheFiles) {
  EXPECT_THAT(ReadEdited([](Json& j) { j["input"]["lines"] = 26; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input.lines: 26 disagrees with the sum over "
                                 "\"files\", 25")));
  EXPECT_THAT(ReadEdited([](Json& j) { j["input"]["malformed_lines"] = 0; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input.malformed_lines: 0 disagrees")));
}

}  // namespace
}  // namespace needlecheck::batch
