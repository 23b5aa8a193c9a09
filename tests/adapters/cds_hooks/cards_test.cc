// RenderCards: summary length, indicator mapping, topic coding,
// overrideReasons only on critical cards, the interval update suggestion,
// readiness mode; every rendered response passes the spec validator.
#include "adapters/cds_hooks/cards.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "simdjson.h"
#include "tests/adapters/cds_hooks/cds_spec_validator.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::cds_hooks::testing::ValidateCdsResponse;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

needlecheck::v1::ScreenResponse Response(const std::string& text) {
  needlecheck::v1::ScreenResponse r;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &r));
  return r;
}

CardOptions Options() {
  CardOptions options;
  options.citation_urls = {
      {"MN-CI-ECZEMA", "docs/rules.md#mn-ci-eczema"},
      {"MN-FREQ-INTERVAL", "docs/rules.md#mn-freq-interval"}};
  options.docs_base_url = "https://docs.example.org/nc/";
  int n = 0;
  options.new_uuid = [n]() mutable -> absl::StatusOr<std::string> {
    return "00000000-0000-4000-8000-00000000000" + std::to_string(n++ % 10);
  };
  return options;
}

// Planned resources for CardOptions, parsed from text as the hook request
// keeps them (objects only); the trees live as long as this.
class PlannedTrees {
 public:
  std::vector<PlannedResource> Parse(
      const std::vector<std::pair<std::string, std::string>>& resources) {
    std::vector<PlannedResource> out;
    for (const auto& [reference, json] : resources) {
      auto parser = std::make_unique<simdjson::dom::parser>();
      simdjson::dom::object resource;
      if (parser->parse(json).get(resource) == simdjson::SUCCESS) {
        out.push_back({reference, resource});
      }
      parsers_.push_back(std::move(parser));
    }
    return out;
  }

 private:
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
};

Json Render(const needlecheck::v1::ScreenResponse& response,
            const CardOptions& options) {
  absl::StatusOr<std::string> body = RenderCards(response, options);
  EXPECT_THAT(body, IsOk());
  Json json = Json::parse(body.value_or("{}"));
  EXPECT_THAT(ValidateCdsResponse(json), IsEmpty()) << json.dump(2);
  return json;
}

constexpr char kThree[] = R"pb(
  knowledge_base_version: "2026.11.1"
  alerts {
    rule_id: "MN-CI-ECZEMA"
    severity: SEVERITY_CRITICAL
    category: "contraindication"
    summary: "Active eczema"
    detail: "Eczema is active."
    alert_id: "4e0a3a1e-3283-4575-ab82-028d55fe2719"
    evidence { entry_id: "cond-1" matched_text: "*Atopic* [dermatitis]" }
    citation: "Clinic leaflet"
    override_reasons: "Dermatologist approved treatment"
    override_reasons: "Condition resolved; record out of date"
  }
  alerts {
    rule_id: "MN-PIH-RISK"
    severity: SEVERITY_WARNING
    category: "precaution"
    summary: "PIH risk"
    override_reasons: "not shown on a warning"
  }
  alerts {
    rule_id: "MN-SKIN-TYPE-MISSING"
    severity: SEVERITY_INFO
    summary: "No skin type"
  }
)pb";

TEST(CardsTest, OneCardPerAlertWithIndicatorTopicAndSource) {
  Json json = Render(Response(kThree), Options());
  ASSERT_EQ(json["cards"].size(), 3u);
  const Json& eczema = json["cards"][0];
  EXPECT_EQ(eczema["uuid"], "4e0a3a1e-3283-4575-ab82-028d55fe2719");
  EXPECT_EQ(eczema["indicator"], "critical");
  EXPECT_EQ(json["cards"][1]["indicator"], "warning");
  EXPECT_EQ(json["cards"][2]["indicator"], "info");
  EXPECT_EQ(eczema["source"]["label"], "needlecheck");
  EXPECT_EQ(eczema["source"]["url"],
            "https://docs.example.org/nc/docs/rules.md#mn-ci-eczema");
  EXPECT_EQ(eczema["source"]["topic"]["system"], "urn:needlecheck:rule");
  EXPECT_EQ(eczema["source"]["topic"]["code"], "MN-CI-ECZEMA");
  EXPECT_EQ(eczema["source"]["topic"]["display"],
            "contraindication (MN-CI-ECZEMA)");
  // No citation url known for this rule: no source.url.
  EXPECT_FALSE(json["cards"][1]["source"].contains("url"));
  // Generated uuids for alerts without an alert_id.
  EXPECT_EQ(json["cards"][1]["uuid"].get<std::string>().size(), 36u);
}

TEST(CardsTest, AFailingUuidSourceFailsTheRenderingInsteadOfARepeatedId) {
  needlecheck::v1::ScreenResponse response = Response(kThree);
  for (auto& alert : *response.mutable_alerts()) alert.clear_alert_id();
  CardOptions options = Options();
  options.new_uuid = []() -> absl::StatusOr<std::string> {
    return absl::UnavailableError("the CSPRNG (RAND_bytes) failed");
  };
  EXPECT_THAT(RenderCards(response, options),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(CardsTest, OverrideReasonsOnlyOnCriticalCards) {
  Json json = Render(Response(kThree), Options());
  const Json& reasons = json["cards"][0]["overrideReasons"];
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[0]["system"], "urn:needlecheck:override-reason");
  EXPECT_EQ(reasons[0]["code"], "dermatologist-approved-treatment");
  EXPECT_EQ(reasons[0]["display"], "Dermatologist approved treatment");
  EXPECT_FALSE(json["cards"][1].contains("overrideReasons"));
  EXPECT_FALSE(json["cards"][2].contains("overrideReasons"));
}

TEST(CardsTest, DetailIsMarkdownWithEscapedEvidence) {
  Json json = Render(Response(kThree), Options());
  const std::string detail = json["cards"][0]["detail"];
  EXPECT_THAT(detail, HasSubstr("**Evidence**"));
  EXPECT_THAT(detail,
              HasSubstr("entry cond-1: \"\\*Atopic\\* \\[dermatitis\\]\""));
  EXPECT_THAT(detail, HasSubstr("**Source:** Clinic leaflet"));
  EXPECT_THAT(detail, HasSubstr("knowledge base 2026.11.1"));
}

TEST(CardsTest, SummaryIsShorterThan140CodePoints) {
  EXPECT_EQ(ShortenSummary("short"), "short");
  const std::string exact(139, 'a');
  EXPECT_EQ(ShortenSummary(exact), exact);
  const std::string cut = ShortenSummary(std::string(300, 'b'));
  EXPECT_EQ(cut, std::string(138, 'b') + "\xE2\x80\xA6");
  // Multi-byte characters are never split: 200 x "é".
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "\xC3\xA9";
  const std::string shortened = ShortenSummary(accents);
  size_t points = 0;
  for (unsigned char c : shortened) points += (c & 0xC0) != 0x80;
  EXPECT_EQ(points, 139u);

  needlecheck::v1::ScreenResponse r;
  auto* a = r.add_alerts();
  a->set_rule_id("MN-X");
  a->set_summary(std::string(200, 'z'));
  Json json = Render(r, Options());
  EXPECT_LT(json["cards"][0]["summary"].get<std::string>().size(), 145u);
}

constexpr char kInterval[] = R"pb(
  alerts {
    rule_id: "MN-FREQ-INTERVAL"
    severity: SEVERITY_CRITICAL
    category: "frequency"
    summary: "Only 20 days since the last session; wait until 2026-12-09"
    suggestions {
      text: "Move the session to 2026-12-09 or later."
      earliest_date: "2026-12-09"
    }
    override_reasons: "Record date is wrong"
  }
)pb";

TEST(CardsTest, IntervalRuleSuggestsMovingTheAppointment) {
  PlannedTrees trees;
  CardOptions options = Options();
  options.planned_resources = trees.Parse(
      {{"Appointment/apt1",
        R"({"resourceType":"Appointment","id":"apt1","status":"proposed",)"
        R"("start":"2026-11-30T09:00:00-06:00","end":"2026-11-30T10:00:00-06:00"})"}});
  Json json = Render(Response(kInterval), options);
  const Json& card = json["cards"][0];
  ASSERT_TRUE(card.contains("suggestions"));
  EXPECT_EQ(card["selectionBehavior"], "at-most-one");
  const Json& suggestion = card["suggestions"][0];
  EXPECT_EQ(suggestion["uuid"].get<std::string>().size(), 36u);
  const Json& action = suggestion["actions"][0];
  EXPECT_EQ(action["type"], "update");
  EXPECT_EQ(action["resource"]["resourceType"], "Appointment");
  EXPECT_EQ(action["resource"]["id"], "apt1");
  EXPECT_EQ(action["resource"]["status"], "proposed");
  EXPECT_EQ(action["resource"]["start"], "2026-12-09T09:00:00-06:00");
  EXPECT_EQ(action["resource"]["end"], "2026-12-09T10:00:00-06:00");
}

TEST(CardsTest, IntervalRuleMovesServiceRequests) {
  PlannedTrees trees;
  CardOptions options = Options();
  options.planned_resources = trees.Parse(
      {{"ServiceRequest/sr1",
        R"({"resourceType":"ServiceRequest","id":"sr1","status":"draft",)"
        R"("intent":"order","occurrenceDateTime":"2026-11-30"})"},
       {"ServiceRequest/sr2",
        R"({"resourceType":"ServiceRequest","id":"sr2","status":"draft",)"
        R"("intent":"order"})"}});
  Json json = Render(Response(kInterval), options);
  const Json& actions = json["cards"][0]["suggestions"][0]["actions"];
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0]["resource"]["occurrenceDateTime"], "2026-12-09");
  EXPECT_EQ(actions[1]["resource"]["occurrenceDateTime"], "2026-12-09");
}

// The body is written without a DOM; it is byte for byte what an ordered
// nlohmann dump of the same cards gives (the way it was written before):
// key order, escapes, numbers of the moved resources.
TEST(CardsTest, BodyIsWhatAnOrderedDumpOfTheSameCardsWrites) {
  PlannedTrees trees;
  CardOptions options = Options();
  options.planned_resources = trees.Parse(
      {{"Procedure/p1",
        R"({"resourceType":"Procedure","id":"p1","status":"preparation",)"
        R"("performedPeriod":{"start":"2026-11-30T09:00:00Z","end":"2026-11-30T10:00:00Z","x":1},)"
        R"("extension":[{"url":"urn:needlecheck:fhir:needle-depth",)"
        R"("valueQuantity":{"value":0.5,"unit":"mm"}}],"note":[{"text":"a\"b\u0001é"}],"n":-3})"},
       {"Appointment/a1",
        R"({"resourceType":"Appointment","id":"a1","start":12})"},
       {"ServiceRequest/bad", R"([1,2])"}});
  needlecheck::v1::ScreenResponse response = Response(kThree);
  response.MergeFrom(Response(kInterval));
  response.mutable_alerts(0)->set_detail(
      "tab\there \"quoted\" \x01 caf\xC3\xA9");
  absl::StatusOr<std::string> body = RenderCards(response, options);
  ASSERT_THAT(body, IsOk());
  const std::string dumped = nlohmann::ordered_json::parse(*body).dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  EXPECT_EQ(*body, dumped);
  Json json = Render(response, options);
  const Json& actions = json["cards"][3]["suggestions"][0]["actions"];
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0]["resource"]["performedPeriod"]["start"],
            "2026-12-09T09:00:00Z");
  EXPECT_EQ(actions[0]["resource"]["performedPeriod"]["end"],
            "2026-12-09T10:00:00Z");
  EXPECT_EQ(actions[1]["resource"]["start"], "2026-12-09");
}

// The moved resources byte for byte: members in their order and as they
// came (numbers as the JSON reader holds them, escapes, nested objects), the
// date fields changed in place (time and offset kept, an end moved by as
// many days as its start), an unreadable date replaced by the earliest day,
// a missing one added at the end, a resource that is not an object left out.
TEST(CardsTest, MovedResourcesByteForByte) {
  PlannedTrees trees;
  CardOptions options = Options();
  options.planned_resources = trees.Parse(
      {{"Appointment/a1",
        R"({"resourceType":"Appointment","id":"a1","n":[1,-0,1.5e300,0.1,)"
        R"(18446744073709551615,-9223372036854775808,true,null],)"
        R"("start":"2026-11-30T09:00:00.5-06:00","end":"2026-12-01T10:00:00+14:00",)"
        R"("note":[{"text":"caf\u00e9 \"x\"\n\u0007\/"}]})"},
       {"ServiceRequest/sr1",
        R"({"resourceType":"ServiceRequest","id":"sr1",)"
        R"("occurrencePeriod":{"end":"2026-12-31","start":"2026-11-30Z"},"x":{}})"},
       {"Procedure/p1",
        R"({"resourceType":"Procedure","id":"p1","performedDateTime":"2026-11",)"
        R"("performedPeriod":{"start":"2026-02-30"}})"},
       {"Appointment/a2",
        R"({"resourceType":"Appointment","id":"a2","start":"bad","end":"2026-11-30"})"},
       {"ServiceRequest/sr2",
        R"({"resourceType":"ServiceRequest","id":"sr2"})"},
       {"ServiceRequest/bad", R"("text")"}});
  absl::StatusOr<std::string> body = RenderCards(Response(kInterval), options);
  ASSERT_THAT(body, IsOk());
  const std::string actions = body->substr(body->find("\"actions\":"));
  EXPECT_EQ(
      actions,
      R"("actions":[)"
      R"({"type":"update","description":"Move Appointment/a1 to 2026-12-09.",)"
      R"("resource":{"resourceType":"Appointment","id":"a1","n":[1,0,1.5e+300,0.1,)"
      R"(18446744073709551615,-9223372036854775808,true,null],)"
      R"("start":"2026-12-09T09:00:00.5-06:00","end":"2026-12-10T10:00:00+14:00",)"
      R"("note":[{"text":"café \"x\"\n\u0007/"}]}},)"
      R"({"type":"update","description":"Move ServiceRequest/sr1 to 2026-12-09.",)"
      R"("resource":{"resourceType":"ServiceRequest","id":"sr1",)"
      R"("occurrencePeriod":{"end":"2027-01-09","start":"2026-12-09Z"},"x":{}}},)"
      R"({"type":"update","description":"Move Procedure/p1 to 2026-12-09.",)"
      R"("resource":{"resourceType":"Procedure","id":"p1",)"
      R"("performedDateTime":"2026-12-09","performedPeriod":{"start":"2026-02-30"}}},)"
      R"({"type":"update","description":"Move Appointment/a2 to 2026-12-09.",)"
      R"("resource":{"resourceType":"Appointment","id":"a2","start":"2026-12-09",)"
      R"("end":"2026-11-30"}},)"
      R"({"type":"update","description":"Move ServiceRequest/sr2 to 2026-12-09.",)"
      R"("resource":{"resourceType":"ServiceRequest","id":"sr2",)"
      R"("occurrenceDateTime":"2026-12-09"}}]}],"selectionBehavior":"at-most-one",)"
      R"("overrideReasons":[{"system":"urn:needlecheck:override-reason",)"
      R"("code":"record-date-is-wrong","display":"Record date is wrong"}]}]})");
}

TEST(CardsTest, NoSuggestionWithoutPlannedResources) {
  Json json = Render(Response(kInterval), Options());
  EXPECT_FALSE(json["cards"][0].contains("suggestions"));
  EXPECT_FALSE(json["cards"][0].contains("selectionBehavior"));
}

TEST(CardsTest, ReadinessReportsTheEarliestDateAsInfo) {
  CardOptions options = Options();
  options.readiness = true;
  Json json = Render(Response(kInterval), options);
  const Json& card = json["cards"][0];
  EXPECT_EQ(card["indicator"], "info");
  EXPECT_THAT(card["summary"].get<std::string>(),
              HasSubstr("allowed from 2026-12-09"));
  EXPECT_FALSE(card.contains("overrideReasons"));
  EXPECT_FALSE(card.contains("suggestions"));
  EXPECT_EQ(card["source"]["topic"]["code"], "MN-FREQ-INTERVAL");
}

TEST(CardsTest, NoAlertsIsAnEmptyCardList) {
  absl::StatusOr<std::string> body =
      RenderCards(needlecheck::v1::ScreenResponse(), Options());
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(*body, R"({"cards":[]})");
}

TEST(CardsTest, ResolveUrl) {
  EXPECT_EQ(ResolveUrl("https://h/p", "docs/rules.md#a"),
            "https://h/p/docs/rules.md#a");
  EXPECT_EQ(ResolveUrl("https://h/p/", "/docs/rules.md"),
            "https://h/p/docs/rules.md");
  EXPECT_EQ(ResolveUrl("", "docs/rules.md"), "");
  EXPECT_EQ(ResolveUrl("ftp://h", "docs/rules.md"), "");
  EXPECT_EQ(ResolveUrl("", "https://x/y"), "https://x/y");
}

}  // namespace
}  // namespace needlecheck::cds_hooks
