// Discovery document shape, hook-request validation errors, feedback
// parsing, prefetch states and template expansion.
#include "adapters/cds_hooks/hook_request.h"

#include <string>

#include "adapters/cds_hooks/discovery.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "simdjson.h"
#include "tests/adapters/cds_hooks/cds_spec_validator.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

TEST(DiscoveryTest, ListsFourEntriesWithPrefetch) {
  Json d = Json::parse(DiscoveryJson());
  EXPECT_THAT(testing::ValidateDiscovery(d), IsEmpty());
  ASSERT_EQ(d["services"].size(), 4u);
  std::vector<std::string> pairs;
  for (const Json& s : d["services"]) {
    pairs.push_back(s["id"].get<std::string>() + " " +
                    s["hook"].get<std::string>());
    EXPECT_FALSE(s["title"].get<std::string>().empty());
    EXPECT_EQ(s["prefetch"]["patient"], "Patient/{{context.patientId}}");
    EXPECT_EQ(s["prefetch"]["allergies"],
              "AllergyIntolerance?patient={{context.patientId}}");
    EXPECT_THAT(s["prefetch"]["observations"].get<std::string>(),
                HasSubstr("http://loinc.org|66555-4,http://loinc.org|82810-3"));
    EXPECT_EQ(s["prefetch"].size(), 7u);
  }
  EXPECT_THAT(pairs, ElementsAre("microneedling-safety appointment-book",
                                 "microneedling-safety order-select",
                                 "microneedling-safety order-sign",
                                 "microneedling-readiness patient-view"));
}

// The document as nlohmann's ordered_json wrote it before the service had
// its own writer: the same bytes.
TEST(DiscoveryTest, BytesAreWhatNlohmannWrote) {
  nlohmann::ordered_json prefetch = nlohmann::ordered_json::object();
  for (const PrefetchTemplate& t : PrefetchTemplates()) {
    prefetch[t.key] = t.query;
  }
  nlohmann::ordered_json services = nlohmann::ordered_json::array();
  for (const CdsServiceEntry& e : CdsServiceEntries()) {
    services.push_back({{"hook", e.hook},
                        {"title", e.title},
                        {"description", e.description},
                        {"id", e.id},
                        {"prefetch", prefetch}});
  }
  const nlohmann::ordered_json doc = {{"services", services}};
  EXPECT_EQ(DiscoveryJson(), doc.dump());
}

Json MinimalOrderSign() {
  return Json::parse(R"({
    "hook": "order-sign", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "context": {"userId": "Practitioner/p1", "patientId": "pat1",
      "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "ServiceRequest", "id": "sr1",
                      "status": "draft", "intent": "order"}}]}}})");
}

absl::StatusOr<HookRequest> Parse(
    const Json& j, const std::string& service = kSafetyServiceId) {
  return ParseHookRequest(j.dump(), service);
}

TEST(HookRequestTest, AcceptsAMinimalOrderSign) {
  auto r = Parse(MinimalOrderSign());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->hook, "order-sign");
  EXPECT_EQ(r->patient_id, "pat1");
  ASSERT_EQ(r->planned_resources.size(), 1u);
  EXPECT_EQ(r->planned_resources[0].reference, "ServiceRequest/sr1");
  EXPECT_EQ(r->prefetch_missing.size(), 7u);  // no prefetch at all
  // The resource is read in the tree the request holds (the body text is
  // gone by now).
  ASSERT_NE(r->tree, nullptr);
  EXPECT_EQ(simdjson::minify(r->planned_resources[0].resource),
            R"({"id":"sr1","intent":"order","resourceType":"ServiceRequest",)"
            R"("status":"draft"})");
}

TEST(HookRequestTest, NamesTheProblem) {
  struct Case {
    std::string name;
    std::function<void(Json&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no hook", [](Json& j) { j.erase("hook"); }, "hook: required"},
      {"wrong hook", [](Json& j) { j["hook"] = "patient-view"; },
       "does not serve hook"},
      {"unknown hook", [](Json& j) { j["hook"] = "encounter-start"; },
       "does not serve hook"},
      {"no hookInstance", [](Json& j) { j.erase("hookInstance"); },
       "hookInstance: required"},
      {"hookInstance number", [](Json& j) { j["hookInstance"] = 5; },
       "hookInstance: expected a string"},
      {"no context", [](Json& j) { j.erase("context"); }, "context: required"},
      {"context array", [](Json& j) { j["context"] = Json::array(); },
       "context: expected an object"},
      {"no userId", [](Json& j) { j["context"].erase("userId"); },
       "context.userId"},
      {"patient user on order-sign",
       [](Json& j) { j["context"]["userId"] = "Patient/p"; }, "context.userId"},
      {"no patientId", [](Json& j) { j["context"].erase("patientId"); },
       "context.patientId"},
      {"empty patientId", [](Json& j) { j["context"]["patientId"] = ""; },
       "context.patientId"},
      {"no draftOrders", [](Json& j) { j["context"].erase("draftOrders"); },
       "context.draftOrders"},
      {"draftOrders not a Bundle",
       [](Json& j) {
         j["context"]["draftOrders"] = {{"resourceType", "X"}};
       },
       "context.draftOrders"},
      {"auth without server",
       [](Json& j) {
         j["fhirAuthorization"] = {{"access_token", "t"},
                                   {"token_type", "Bearer"},
                                   {"expires_in", 300},
                                   {"scope", "s"},
                                   {"subject", "c"}};
       },
       "fhirServer: required when fhirAuthorization"},
      {"auth incomplete",
       [](Json& j) {
         j["fhirServer"] = "https://ehr.example.org/fhir";
         j["fhirAuthorization"] = {{"access_token", "t"}};
       },
       "fhirAuthorization.token_type"},
      {"bad fhirServer", [](Json& j) { j["fhirServer"] = "ftp://x"; },
       "fhirServer"},
      {"prefetch array", [](Json& j) { j["prefetch"] = Json::array(); },
       "prefetch: expected an object"},
      {"prefetch key string",
       [](Json& j) {
         j["prefetch"] = {{"patient", "Patient/1"}};
       },
       "prefetch.patient"},
  };
  for (const Case& c : cases) {
    Json j = MinimalOrderSign();
    c.edit(j);
    EXPECT_THAT(Parse(j), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr(c.message)))
        << c.name;
  }
  EXPECT_THAT(ParseHookRequest("not json", kSafetyServiceId),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON")));
  EXPECT_THAT(
      ParseHookRequest("[1]", kSafetyServiceId),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("object")));
}

TEST(HookRequestTest, OrderSelectNeedsSelectionsIntoDraftOrders) {
  Json j = MinimalOrderSign();
  j["hook"] = "order-select";
  EXPECT_THAT(Parse(j), StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("context.selections")));
  j["context"]["selections"] = {"ServiceRequest/other"};
  EXPECT_THAT(Parse(j), StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("names no resource")));
  j["context"]["selections"] = {"ServiceRequest/sr1"};
  EXPECT_THAT(Parse(j), IsOk());
}

TEST(HookRequestTest, AppointmentBookAcceptsBundleOrArray) {
  Json j = MinimalOrderSign();
  j["hook"] = "appointment-book";
  j["context"].erase("draftOrders");
  EXPECT_THAT(Parse(j), StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("context.appointments")));
  Json apt = {
      {"resourceType", "Appointment"}, {"id", "a1"}, {"status", "proposed"}};
  j["context"]["appointments"] = Json::array({apt});
  auto r = Parse(j);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->planned_resources.size(), 1u);
  EXPECT_EQ(r->planned_resources[0].reference, "Appointment/a1");
  j["context"]["userId"] = "Patient/pat1";  // patients may book
  EXPECT_THAT(Parse(j), IsOk());
}

TEST(HookRequestTest, PatientViewOnTheReadinessService) {
  Json j = {
      {"hook", "patient-view"},
      {"hookInstance", "x"},
      {"context", {{"userId", "PractitionerRole/r"}, {"patientId", "p"}}}};
  EXPECT_THAT(Parse(j, kReadinessServiceId), IsOk());
  EXPECT_THAT(Parse(j, kSafetyServiceId),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HookRequestTest, PrefetchStates) {
  Json j = MinimalOrderSign();
  j["prefetch"] = {{"patient", {{"resourceType", "Patient"}, {"id", "pat1"}}},
                   {"conditions", nullptr},
                   {"allergies", {{"resourceType", "OperationOutcome"}}},
                   {"procedures",
                    {{"resourceType", "Bundle"},
                     {"type", "searchset"},
                     {"link",
                      {{{"relation", "next"},
                        {"url", "https://ehr/fhir/Procedure?page=2"}}}}}},
                   {"someoneElses", {{"resourceType", "Patient"}}}};
  auto r = Parse(j);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->prefetch_present, ElementsAre("patient", "procedures"));
  EXPECT_THAT(r->prefetch_null, ElementsAre("conditions"));
  EXPECT_THAT(r->prefetch_missing,
              ElementsAre("allergies", "medicationRequests",
                          "medicationStatements", "observations"));
  EXPECT_THAT(r->prefetch_next_pages,
              ElementsAre("https://ehr/fhir/Procedure?page=2"));
}

TEST(HookRequestTest, ExpandsTemplatesWithEscapedIds) {
  HookRequest r;
  r.patient_id = "a b/c";
  EXPECT_EQ(
      ExpandPrefetchTemplate("Condition?patient={{context.patientId}}", r),
      "Condition?patient=a%20b%2Fc");
}

TEST(FeedbackTest, ParsesTheSpecShapes) {
  auto items = ParseFeedback(R"({"feedback":[
    {"card":"c1","outcome":"accepted","acceptedSuggestions":[{"id":"s1"}],
     "outcomeTimestamp":"2021-12-11T10:05:31Z"},
    {"card":"c2","outcome":"overridden","outcomeTimestamp":"2020-12-11T00:00:00Z",
     "overrideReason":{"reason":{"code":"d7","system":"https://x/reasons",
       "display":"Patient refused"},"userComment":"ok"}}]})",
                             kSafetyServiceId);
  ASSERT_THAT(items, IsOk());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].alert_id(), "c1");
  EXPECT_EQ((*items)[0].outcome(), needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED);
  EXPECT_THAT((*items)[0].accepted_suggestion_ids(), ElementsAre("s1"));
  EXPECT_EQ((*items)[0].service_id(), kSafetyServiceId);
  EXPECT_EQ((*items)[1].override_reason().code(), "d7");
  EXPECT_EQ((*items)[1].override_reason().display(), "Patient refused");
  EXPECT_EQ((*items)[1].user_comment(), "ok");
}

TEST(FeedbackTest, NamesTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{}", "feedback: required"},
      {R"({"feedback":[]})", "empty"},
      {R"({"feedback":[{"outcome":"overridden","outcomeTimestamp":"2020-12-11T00:00:00Z"}]})",
       "feedback[0].card"},
      {R"({"feedback":[{"card":"c","outcome":"ignored","outcomeTimestamp":"2020-12-11T00:00:00Z"}]})",
       "feedback[0].outcome"},
      {R"({"feedback":[{"card":"c","outcome":"accepted","outcomeTimestamp":"2020-12-11T00:00:00Z"}]})",
       "acceptedSuggestions"},
      {R"({"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"yesterday"}]})",
       "outcomeTimestamp"},
      {R"({"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"2020-12-11T00:00:00Z","overrideReason":{}}]})",
       "overrideReason"},
      {R"({"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"2020-12-11T00:00:00Z","overrideReason":{"reason":{"code":"x"}}}]})",
       "reason.system"},
  };
  for (const auto& [body, message] : cases) {
    EXPECT_THAT(
        ParseFeedback(body, kSafetyServiceId),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << body;
  }
}

TEST(ParseFeedbackTest, RefusesMoreEntriesThanTheLimit) {
  const std::string item =
      R"({"card":"c","outcome":"overridden","outcomeTimestamp":"2020-12-11T00:00:00Z"})";
  const std::string two = "{\"feedback\":[" + item + "," + item + "]}";
  EXPECT_THAT(ParseFeedback(two, kSafetyServiceId, 2), IsOk());
  const std::string three =
      "{\"feedback\":[" + item + "," + item + "," + item + "]}";
  EXPECT_THAT(ParseFeedback(three, kSafetyServiceId, 2),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("3 entries, more than the limit of 2")));
}

}  // namespace
}  // namespace needlecheck::cds_hooks
