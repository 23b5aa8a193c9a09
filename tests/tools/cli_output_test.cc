// Unit tests of the CLI's input parsing and output formatting
// (tools/cli/cli_output.h).
#include "tools/cli/cli_output.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cli {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

template <typename T>
T FromText(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

TEST(UseColorTest, TerminalOnlyAndNoColor) {
  EXPECT_TRUE(UseColor(true, nullptr));
  EXPECT_TRUE(UseColor(true, ""));  // empty NO_COLOR does not count
  EXPECT_FALSE(UseColor(true, "1"));
  EXPECT_FALSE(UseColor(false, nullptr));
  EXPECT_FALSE(UseColor(false, "1"));
}

TEST(ParseRecordJsonTest, Valid) {
  auto record = ParseRecordJson(R"({
    "patientId": "p1",
    "fitzpatrickSkinType": 3,
    "conditions": [{"id": "c1", "code": {"text": "eczema"},
                    "clinical_status": "active"}],
    "procedures": [{"id": "x", "areas": ["TREATMENT_AREA_CHEEKS"],
                    "needleDepthMm": 1.5}]
  })",
                                "r.json");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->patient_id(), "p1");
  EXPECT_EQ(record->fitzpatrick_skin_type(), 3);
  ASSERT_EQ(record->conditions_size(), 1);
  EXPECT_EQ(record->conditions(0).clinical_status(), "active");
  ASSERT_EQ(record->procedures_size(), 1);
  EXPECT_EQ(record->procedures(0).areas(0),
            needlecheck::v1::TREATMENT_AREA_CHEEKS);
}

TEST(ParseRecordJsonTest, UnknownFieldNamesFileAndField) {
  EXPECT_THAT(
      ParseRecordJson(R"({"patientId": "p1", "allergy": []})", "dir/r.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(StartsWith("dir/r.json: "), HasSubstr("allergy"))));
}

TEST(ParseRecordJsonTest, BadJsonAndBadEnum) {
  EXPECT_THAT(
      ParseRecordJson("{\"patientId\": ", "r.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("r.json: ")));
  EXPECT_THAT(ParseRecordJson("", "r.json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ParseRecordJson(R"({"procedures": [{"areas": ["TREATMENT_AREA_EAR"]}]})",
                      "r.json"),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ToJsonTest, RoundTripsAndPrintsDefaults) {
  needlecheck::v1::ScreenResponse response;
  response.set_request_id("r1");
  response.set_knowledge_base_version("2026.11.1");
  const std::string json = ToJson(response);
  EXPECT_THAT(json, HasSubstr("\"alerts\": []"));
  EXPECT_EQ(json.back(), '\n');
  needlecheck::v1::ScreenResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_EQ(parsed.request_id(), "r1");
}

TEST(FormatScreenResponseTest, NoAlerts) {
  needlecheck::v1::ScreenResponse response;
  response.set_knowledge_base_version("2026.11.1");
  EXPECT_EQ(FormatScreenResponse(response, OutputStyle()),
            "No alerts (knowledge base 2026.11.1)\n");
}

constexpr char kTwoAlerts[] = R"pb(
  request_id: "r1"
  knowledge_base_version: "2026.11.1"
  alerts {
    rule_id: "MN-FREQ-INTERVAL"
    severity: SEVERITY_CRITICAL
    category: "frequency"
    summary: "Last session 20 days ago"
    detail: "Line one.\nLine two."
    evidence { entry_id: "proc-2" matched_text: "Microneedling" }
    suggestions { text: "Wait." earliest_date: "2026-12-09" }
    citation: "Patient information text"
    override_reasons: "Clinician judgement"
    alert_id: "0b6f5d1e-2f7a-4c55-9a51-3f1c2d9e8a10"
  }
  alerts {
    rule_id: "MN-EYE-DEPTH"
    severity: SEVERITY_WARNING
    category: "technique"
    summary: "Too deep"
    evidence { matched_text: "periorbital 1.0 mm" }
    suggestions {
      text: "Use a shorter needle."
      min_needle_depth_mm: 0.25
      max_needle_depth_mm: 0.5
    }
  }
)pb";

TEST(FormatScreenResponseTest, AlertsReadably) {
  const auto response = FromText<needlecheck::v1::ScreenResponse>(kTwoAlerts);
  const std::string text = FormatScreenResponse(response, OutputStyle());
  EXPECT_THAT(text, StartsWith("2 alerts (1 critical, 1 warning), knowledge "
                               "base 2026.11.1\n"));
  EXPECT_THAT(text,
              HasSubstr("[CRITICAL] MN-FREQ-INTERVAL  frequency\n"
                        "  Last session 20 days ago\n"
                        "  Line one.\n"
                        "  Line two.\n"
                        "  Evidence:\n"
                        "    - proc-2: \"Microneedling\"\n"
                        "  Suggestions:\n"
                        "    - Wait. (earliest date 2026-12-09)\n"
                        "  Citation: Patient information text\n"
                        "  Override reasons:\n"
                        "    - Clinician judgement\n"
                        "  Alert id: 0b6f5d1e-2f7a-4c55-9a51-3f1c2d9e8a10\n"));
  EXPECT_THAT(text, HasSubstr("[WARNING] MN-EYE-DEPTH  technique\n"));
  EXPECT_THAT(text, HasSubstr("    - (record): \"periorbital 1.0 mm\"\n"));
  EXPECT_THAT(text,
              HasSubstr("Use a shorter needle. (needle depth 0.25-0.50 mm)"));
  EXPECT_THAT(text, Not(HasSubstr("\033[")));
}

TEST(FormatScreenResponseTest, ColourOnlyWhenAsked) {
  const auto response = FromText<needlecheck::v1::ScreenResponse>(kTwoAlerts);
  const std::string text =
      FormatScreenResponse(response, OutputStyle{/*color=*/true});
  EXPECT_THAT(text, HasSubstr("\033[1;31m[CRITICAL]\033[0m"));
  EXPECT_THAT(text, HasSubstr("\033[1;33m[WARNING]\033[0m"));
}

TEST(FormatKnowledgeBaseTest, RulesAndValueSets) {
  const auto kb = FromText<needlecheck::v1::KnowledgeBase>(R"pb(
    version: "2026.11.1"
    source: "bundled"
    sha256: "abc"
    rules {
      id: "MN-CI-ACNE"
      category: "contraindication"
      severity: SEVERITY_CRITICAL
      enabled: true
    }
    rules { id: "MN-FREQ-MAINTENANCE" category: "frequency" enabled: false }
    value_sets { id: "acne" code_count: 3 term_count: 4 }
    anesthetic_count: 8
    case_sensitive_terms { anesthetic_id: "lidocaine_tetracaine" term: "LET" }
    case_sensitive_terms {
      anesthetic_id: "lidocaine_tetracaine"
      term: "LET gel"
    }
    thresholds {
      min_interval_days: 28
      maintenance_window_end_days: 41
      eye_min_depth_mm: 0.25
      eye_max_depth_mm: 0.5
      max_needle_depth_mm: 3.5
    }
  )pb");
  const std::string text = FormatKnowledgeBase(kb, OutputStyle());
  EXPECT_THAT(text, StartsWith("Knowledge base 2026.11.1\n"));
  EXPECT_THAT(text, HasSubstr("source:    bundled"));
  EXPECT_THAT(text, HasSubstr("Rules (2)"));
  EXPECT_THAT(text, HasSubstr("MN-CI-ACNE           CRITICAL  yes      "
                              "contraindication\n"));
  EXPECT_THAT(text, HasSubstr("MN-FREQ-MAINTENANCE  -         no       "
                              "frequency\n"));
  EXPECT_THAT(text, HasSubstr("Value sets (1)"));
  EXPECT_THAT(text, HasSubstr("  acne      3      4\n"));
  EXPECT_THAT(text, HasSubstr("Anesthetic agents and products: 8"));
  EXPECT_THAT(text, HasSubstr("Matched only as written (case-sensitive): "
                              "\"LET\" (lidocaine_tetracaine), \"LET gel\" "
                              "(lidocaine_tetracaine)\n"));
  EXPECT_THAT(text, HasSubstr("min interval 28 days"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Context lists")));
}

TEST(FormatKnowledgeBaseTest, ContextLists) {
  const auto kb = FromText<needlecheck::v1::KnowledgeBase>(R"pb(
    version: "1"
    context_lists {
      id: "negex-negation-forward"
      kind: "trigger"
      category: CONTEXT_CATEGORY_NEGATED
      direction: CONTEXT_DIRECTION_FORWARD
      source: "NegEx (Chapman et al. 2001)"
      phrase_count: 2
      phrases: [ "no", "denies" ]
    }
    context_lists {
      id: "cues"
      kind: "reaction cue"
      source: "needlecheck"
      phrase_count: 1
      phrases: "->"
    }
  )pb");
  const std::string text = FormatKnowledgeBase(kb, OutputStyle());
  EXPECT_THAT(text, HasSubstr("Context lists (2)\n"));
  EXPECT_THAT(text, HasSubstr("  negex-negation-forward  trigger  negated  "
                              "forward  2 phrases\n"
                              "      source: NegEx (Chapman et al. 2001)\n"
                              "      no | denies\n"));
  EXPECT_THAT(text, HasSubstr("  cues  reaction cue  -  -  1 phrases\n"));
}

TEST(FormatRpcErrorTest, CodeAndMessage) {
  EXPECT_EQ(FormatRpcError("Screen", absl::StatusCode::kUnavailable,
                           "failed to connect", ""),
            "Screen failed: UNAVAILABLE: failed to connect\n");
}

TEST(FormatRpcErrorTest, BadRequestFieldViolations) {
  google::rpc::BadRequest bad_request;
  auto* v = bad_request.add_field_violations();
  v->set_field("session.date");
  v->set_description("required");
  v = bad_request.add_field_violations();
  v->set_field("record.conditions[0].onset");
  v->set_description("month 13 is out of range");
  google::rpc::Status status;
  status.set_code(3);
  status.set_message("invalid request");
  status.add_details()->PackFrom(bad_request);
  google::rpc::ErrorInfo other;  // other detail types are skipped
  other.set_reason("X");
  status.add_details()->PackFrom(other);

  EXPECT_EQ(FormatRpcError("Screen", absl::StatusCode::kInvalidArgument,
                           "invalid request", status.SerializeAsString()),
            "Screen failed: INVALID_ARGUMENT: invalid request\n"
            "  field session.date: required\n"
            "  field record.conditions[0].onset: month 13 is out of range\n");
}

TEST(FormatRpcErrorTest, GarbageDetailsAreIgnored) {
  EXPECT_EQ(FormatRpcError("Screen", absl::StatusCode::kInternal, "boom",
                           "\xff\xff\xff"),
            "Screen failed: INTERNAL: boom\n");
}

}  // namespace
}  // namespace needlecheck::cli
