// CdsHooksService with fake needlecheckd and FHIR server: routing, status
// codes, CORS, JWT on/off, Content-Type, prefetch fetching (allow-list,
// links, byte budget, deadline) and its one 412 body, error mapping,
// feedback and its size limit, readiness.
#include "adapters/cds_hooks/cds_service.h"

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/trace/traceparent.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/adapters/cds_hooks/cds_spec_validator.h"
#include "tests/adapters/cds_hooks/jwt_signer.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

class FakeScreening : public ScreeningClient {
 public:
  absl::StatusOr<needlecheck::v1::ScreenResponse> Screen(
      const needlecheck::v1::ScreenRequest& request, absl::Time deadline,
      const OnBehalfOf& on_behalf) override {
    screened.push_back(request);
    screen_on_behalf.push_back(on_behalf);
    deadlines.push_back(deadline);
    if (!screen_status.ok()) return screen_status;
    return response;
  }
  absl::StatusOr<needlecheck::v1::KnowledgeBase> GetKnowledgeBase(
      absl::Time) override {
    needlecheck::v1::KnowledgeBase kb;
    kb.set_version("kb-1");
    auto* rule = kb.add_rules();
    rule->set_id("MN-FREQ-INTERVAL");
    rule->set_citation_url("docs/rules.md#mn-freq-interval");
    return kb;
  }
  absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> RecordFeedback(
      const needlecheck::v1::RecordFeedbackRequest& request,
      const OnBehalfOf& on_behalf) override {
    feedback.push_back(request);
    feedback_on_behalf.push_back(on_behalf);
    if (!feedback_status.ok()) return feedback_status;
    return needlecheck::v1::RecordFeedbackResponse();
  }

  absl::Status RecordAccess(const needlecheck::v1::RecordAccessRequest& request,
                            absl::Time, const OnBehalfOf&) override {
    accesses.push_back(request);
    return access_status;
  }

  std::vector<needlecheck::v1::ScreenRequest> screened;
  std::vector<OnBehalfOf> screen_on_behalf;
  std::vector<OnBehalfOf> feedback_on_behalf;
  std::vector<needlecheck::v1::RecordAccessRequest> accesses;
  absl::Status access_status;
  std::vector<absl::Time> deadlines;
  std::vector<needlecheck::v1::RecordFeedbackRequest> feedback;
  needlecheck::v1::ScreenResponse response;
  absl::Status screen_status;
  absl::Status feedback_status;
};

class FakeFhir : public FhirClient {
 public:
  absl::StatusOr<std::string> Get(const FhirGet& get) override {
    const std::string& url = get.url;
    urls.push_back(url);
    tokens.push_back(get.bearer_token);
    max_bytes.push_back(get.max_bytes);
    deadlines.push_back(get.deadline);
    if (!status.ok()) return status;
    std::string body = R"({"resourceType":"Bundle","type":"searchset"})";
    if (url.find("Procedure?") != std::string::npos &&
        url.find("page=2") == std::string::npos) {
      body = absl::StrCat(
          R"({"resourceType":"Bundle","type":"searchset","link":[{"relation":)"
          R"("next","url":")",
          next_link, R"("}],"entry":[]})");
    }
    if (body.size() > get.max_bytes) {
      return absl::ResourceExhaustedError("over the budget");
    }
    return body;
  }
  std::vector<std::string> urls;
  std::vector<std::string> tokens;
  std::vector<size_t> max_bytes;
  std::vector<absl::Time> deadlines;
  std::string next_link =
      "https://ehr.example.org/fhir/Procedure?patient=pat1&page=2";
  absl::Status status;
};

constexpr int64_t kNow = 1795000000;  // 2026-11-17T...

Json FullPrefetch() {
  Json empty = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  return {{"patient", {{"resourceType", "Patient"}, {"id", "pat1"}}},
          {"conditions", empty},
          {"allergies", empty},
          {"medicationRequests", empty},
          {"medicationStatements", empty},
          {"procedures", empty},
          {"observations", empty}};
}

Json MicroneedlingOrderSign() {
  Json sr = {{"resourceType", "ServiceRequest"},
             {"id", "sr1"},
             {"status", "draft"},
             {"intent", "order"},
             {"code", {{"text", "Microneedling"}}},
             {"subject", {{"reference", "Patient/pat1"}}},
             {"occurrenceDateTime", "2026-12-01"},
             {"bodySite", Json::array({{{"text", "Cheeks"}}})}};
  return {{"hook", "order-sign"},
          {"hookInstance", "0f8b5a8e-8b52-4d3b-9f1a-9d2a1c1e0001"},
          {"context",
           {{"userId", "Practitioner/p1"},
            {"patientId", "pat1"},
            {"draftOrders",
             {{"resourceType", "Bundle"},
              {"type", "collection"},
              {"entry", Json::array({{{"resource", sr}}})}}}}},
          {"prefetch", FullPrefetch()}};
}

class CdsServiceTest : public ::testing::Test {
 protected:
  void Make(bool auth,
            const std::function<void(CdsServiceOptions*)>& tweak = nullptr) {
    CdsServiceOptions options;
    options.require_auth = auth;
    options.audience_base = "https://cds.example.org/";
    options.docs_base_url = "https://docs.example.org/";
    options.max_body_bytes = 1 << 20;
    options.fhir_servers =
        FhirServerPolicy::Create({"https://ehr.example.org/fhir"}, false)
            .value();
    options.max_feedback_items = 3;
    if (tweak) tweak(&options);
    std::shared_ptr<JwtVerifier> verifier;
    if (auth) {
      key_ = testing::TestKey::Generate("EC", "k1");
      Json jwks = {{"keys", Json::array({key_->PublicJwk()})}};
      JwtVerifier::Options vo;
      vo.trusted_issuers = {"https://ehr.example.org"};
      verifier = std::make_shared<JwtVerifier>(
          JwkSet::FromJson(jwks.dump()).value(), vo);
    }
    service_ = std::make_unique<CdsHooksService>(
        options, &screening_, &fhir_, verifier,
        [] { return absl::FromUnixSeconds(kNow); });
  }

  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "",
                    const std::string& authorization = "") {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    if (method == "POST") r.headers["content-type"] = "application/json";
    if (!authorization.empty()) r.headers["authorization"] = authorization;
    return service_->Handle(r);
  }

  std::string Token(const std::string& aud, const std::string& jti) {
    return "Bearer " +
           key_->Sign({{"alg", "ES384"}, {"typ", "JWT"}, {"kid", "k1"}},
                      testing::Claims("https://ehr.example.org", aud, kNow,
                                      kNow + 300, jti));
  }

  static std::string Diagnostics(const HttpResponse& r) {
    Json j = Json::parse(r.body);
    EXPECT_EQ(j["resourceType"], "OperationOutcome") << r.body;
    return j["issue"][0]["diagnostics"];
  }

  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  FakeScreening screening_;
  FakeFhir fhir_;
  std::unique_ptr<testing::TestKey> key_;
  std::unique_ptr<CdsHooksService> service_;
};

TEST_F(CdsServiceTest, DiscoveryAndCors) {
  Make(false);
  HttpResponse r = Call("GET", "/cds-services");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(testing::ValidateDiscovery(Json::parse(r.body)), IsEmpty());
  EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), "*");
  HttpResponse preflight =
      Call("OPTIONS", "/cds-services/microneedling-safety");
  EXPECT_EQ(preflight.status, 204);
  EXPECT_THAT(Header(preflight, "Access-Control-Allow-Headers"),
              HasSubstr("Authorization"));
  EXPECT_THAT(Header(preflight, "Access-Control-Allow-Methods"),
              HasSubstr("POST"));
}

TEST_F(CdsServiceTest, RoutingErrors) {
  Make(false);
  EXPECT_EQ(Call("GET", "/nothing").status, 404);
  HttpResponse unknown = Call("POST", "/cds-services/no-such-service", "{}");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(Diagnostics(unknown), HasSubstr("no-such-service"));
  EXPECT_EQ(Call("GET", "/cds-services/microneedling-safety").status, 405);
  EXPECT_EQ(Call("POST", "/cds-services").status, 405);
  HttpResponse big = Call("POST", "/cds-services/microneedling-safety",
                          std::string(2 << 20, ' '));
  EXPECT_EQ(big.status, 413);
  HttpResponse bad = Call("POST", "/cds-services/microneedling-safety", "{");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(Diagnostics(bad), HasSubstr("not valid JSON"));
  Json wrong_hook = MicroneedlingOrderSign();
  wrong_hook["hook"] = "encounter-start";
  HttpResponse hook =
      Call("POST", "/cds-services/microneedling-safety", wrong_hook.dump());
  EXPECT_EQ(hook.status, 400);
  EXPECT_THAT(Diagnostics(hook), HasSubstr("encounter-start"));
  EXPECT_TRUE(screening_.screened.empty());
}

TEST_F(CdsServiceTest, ScreensTheOrderAndRendersCards) {
  Make(false);
  auto* alert = screening_.response.add_alerts();
  alert->set_rule_id("MN-FREQ-INTERVAL");
  alert->set_severity(needlecheck::v1::SEVERITY_CRITICAL);
  alert->set_summary("Too soon");
  alert->add_suggestions()->set_earliest_date("2026-12-09");
  alert->add_override_reasons("Record date is wrong");
  alert->set_alert_id("11111111-1111-4111-8111-111111111111");
  screening_.response.set_knowledge_base_version("kb-1");
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety",
                        MicroneedlingOrderSign().dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(screening_.screened.size(), 1u);
  const auto& screened = screening_.screened[0];
  EXPECT_EQ(screened.session().date(), "2026-12-01");
  ASSERT_EQ(screened.session().areas_size(), 1);
  EXPECT_EQ(screened.session().areas(0).area(),
            needlecheck::v1::TREATMENT_AREA_CHEEKS);
  EXPECT_EQ(screened.record().patient_id(), "pat1");
  EXPECT_EQ(screened.request_id(), "0f8b5a8e-8b52-4d3b-9f1a-9d2a1c1e0001");
  Json cards = Json::parse(r.body);
  EXPECT_THAT(testing::ValidateCdsResponse(cards), IsEmpty());
  const Json& card = cards["cards"][0];
  EXPECT_EQ(card["uuid"], "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(card["source"]["url"],
            "https://docs.example.org/docs/rules.md#mn-freq-interval");
  const Json& action = card["suggestions"][0]["actions"][0];
  EXPECT_EQ(action["type"], "update");
  EXPECT_EQ(action["resource"]["id"], "sr1");
  EXPECT_EQ(action["resource"]["occurrenceDateTime"], "2026-12-09");
  EXPECT_THAT(Header(r, "Server-Timing"), HasSubstr("screen;dur="));
}

// The body is parsed once with the FHIR reader's depth limit; a body
// nested deeper still answers as it did when each reader parsed it: a bad
// field first, then the limit, named for the part that reads it.
TEST_F(CdsServiceTest, BodyNestedTooDeepKeepsItsErrors) {
  Make(false);
  const std::string deep =
      std::string(70, '[') + std::string(70, ']');  // valid JSON, 70 levels
  std::string order = MicroneedlingOrderSign().dump();
  order.insert(1, "\"extension\":" + deep + ",");
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety", order);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Diagnostics(r), "context: JSON nests deeper than 64 levels");

  Json readiness_json = {
      {"hook", "patient-view"},
      {"hookInstance", "h-1"},
      {"context", {{"userId", "Practitioner/p1"}, {"patientId", "pat1"}}},
      {"prefetch", FullPrefetch()}};
  std::string readiness = readiness_json.dump();
  readiness.insert(1, "\"extension\":" + deep + ",");
  r = Call("POST", "/cds-services/microneedling-readiness", readiness);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Diagnostics(r), "prefetch: JSON nests deeper than 64 levels");

  Json wrong = MicroneedlingOrderSign();
  wrong["context"].erase("userId");
  std::string wrong_deep = wrong.dump();
  wrong_deep.insert(1, "\"extension\":" + deep + ",");
  r = Call("POST", "/cds-services/microneedling-safety", wrong_deep);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Diagnostics(r), "context.userId: required string missing");
  EXPECT_TRUE(screening_.screened.empty());
}

TEST_F(CdsServiceTest, NoMicroneedlingSessionGivesNoCards) {
  Make(false);
  Json j = MicroneedlingOrderSign();
  j["context"]["draftOrders"]["entry"][0]["resource"]["code"]["text"] =
      "Chest X-ray";
  j.erase("prefetch");
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety", j.dump());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"cards":[]})");
  EXPECT_TRUE(screening_.screened.empty());
}

TEST_F(CdsServiceTest, MissingPrefetchWithoutFhirAccessIs412) {
  Make(false);
  Json j = MicroneedlingOrderSign();
  j["prefetch"].erase("allergies");
  j["fhirServer"] = "https://ehr.example.org/fhir";  // but no token
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety", j.dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_THAT(Diagnostics(r), HasSubstr("allergies"));
  EXPECT_TRUE(fhir_.urls.empty());
  EXPECT_TRUE(screening_.screened.empty());
}

TEST_F(CdsServiceTest, NullPrefetchIsNoDataAndNotFetched) {
  Make(false);
  Json j = MicroneedlingOrderSign();
  j["prefetch"]["allergies"] = nullptr;
  j["prefetch"]["patient"] = nullptr;
  EXPECT_EQ(Call("POST", "/cds-services/microneedling-safety", j.dump()).status,
            200);
  EXPECT_TRUE(fhir_.urls.empty());
}

TEST_F(CdsServiceTest, FetchesMissingKeysAndPagesFromTheFhirServer) {
  Make(false);
  Json j = MicroneedlingOrderSign();
  j["prefetch"].erase("allergies");
  j["prefetch"].erase("procedures");
  j["fhirServer"] = "https://ehr.example.org/fhir/";
  j["fhirAuthorization"] = {{"access_token", "secret-token"},
                            {"token_type", "Bearer"},
                            {"expires_in", 30},
                            {"scope", "patient/*.read"},
                            {"subject", "needlecheck"},
                            {"patient", "pat1"}};
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety", j.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(
      fhir_.urls,
      ElementsAre(
          "https://ehr.example.org/fhir/AllergyIntolerance?patient=pat1",
          "https://ehr.example.org/fhir/Procedure?patient=pat1",
          "https://ehr.example.org/fhir/Procedure?patient=pat1&page=2"));
  EXPECT_THAT(fhir_.tokens, ::testing::Each(std::string("secret-token")));

  fhir_.status = absl::UnavailableError("connection refused");
  r = Call("POST", "/cds-services/microneedling-safety", j.dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_THAT(Diagnostics(r), Not(HasSubstr("secret-token")));
}

TEST_F(CdsServiceTest, MapsScreeningErrors) {
  Make(false);
  const std::string body = MicroneedlingOrderSign().dump();
  screening_.screen_status = absl::UnavailableError("connect failed");
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety", body);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Retry-After"), "5");
  screening_.screen_status = absl::DeadlineExceededError("slow");
  EXPECT_EQ(Call("POST", "/cds-services/microneedling-safety", body).status,
            503);
  screening_.screen_status = absl::InvalidArgumentError("depth 9 mm");
  r = Call("POST", "/cds-services/microneedling-safety", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(Diagnostics(r), HasSubstr("depth 9 mm"));
  screening_.screen_status = absl::InternalError("boom");
  EXPECT_EQ(Call("POST", "/cds-services/microneedling-safety", body).status,
            502);
}

// Adds an MN-FREQ-INTERVAL alert of `severity` (with its ledger id) to
// `response`, of knowledge base "kb-1".
needlecheck::v1::Alert* AddIntervalAlert(
    needlecheck::v1::Severity severity,
    needlecheck::v1::ScreenResponse* response) {
  auto* alert = response->add_alerts();
  alert->set_rule_id("MN-FREQ-INTERVAL");
  alert->set_severity(severity);
  alert->set_summary("Too soon");
  alert->set_alert_id("11111111-1111-4111-8111-111111111111");
  response->set_knowledge_base_version("kb-1");
  return alert;
}

// A ScreeningClient that answers as the gRPC one does: later, on a thread
// of its own, while no caller thread waits.
class DeferredScreening : public FakeScreening {
 public:
  void ScreenAsync(const needlecheck::v1::ScreenRequest& request, absl::Time,
                   const OnBehalfOf&, ScreenDone done) override {
    absl::MutexLock lock(&mu);
    screened.push_back(request);
    screens_waiting.push_back(std::move(done));
  }
  void GetKnowledgeBaseAsync(absl::Time deadline,
                             KnowledgeBaseDone done) override {
    absl::MutexLock lock(&mu);
    kb_waiting.push_back([this, deadline, done = std::move(done)] {
      done(GetKnowledgeBase(deadline));
    });
  }
  absl::Mutex mu;
  std::vector<ScreenDone> screens_waiting;
  std::vector<std::function<void()>> kb_waiting;
};

// Hook calls hand Screen to the client and return: one thread starts
// several calls, and each answer (cards, or the error) is given where
// needlecheckd's answer arrives, with the same bytes Handle() gives.
TEST_F(CdsServiceTest, HookCallsDoNotHoldTheCallerWhileScreening) {
  DeferredScreening screening;
  FakeFhir fhir;
  CdsServiceOptions options;
  options.require_auth = false;
  options.docs_base_url = "https://docs.example.org/";
  CdsHooksService service(options, &screening, &fhir, nullptr,
                          [] { return absl::FromUnixSeconds(kNow); });
  AddIntervalAlert(needlecheck::v1::SEVERITY_CRITICAL, &screening.response);
  HttpRequest request;
  request.method = "POST";
  request.path = "/cds-services/microneedling-safety";
  request.headers["content-type"] = "application/json";
  request.body = MicroneedlingOrderSign().dump();

  absl::Mutex mu;
  std::vector<HttpResponse> replies;
  constexpr int kCalls = 3;
  for (int i = 0; i < kCalls; ++i) {
    service.HandleAsync(request, [&](HttpResponse r) {
      absl::MutexLock lock(&mu);
      replies.push_back(std::move(r));
    });
  }
  {
    absl::MutexLock lock(&screening.mu);
    ASSERT_EQ(screening.screens_waiting.size(), size_t{kCalls});
  }
  EXPECT_TRUE(replies.empty());

  // needlecheckd answers the first two with cards (the first also waits
  // for the knowledge base's citations), the third with an error.
  std::thread needlecheckd([&] {
    std::vector<ScreeningClient::ScreenDone> screens;
    {
      absl::MutexLock lock(&screening.mu);
      screens.swap(screening.screens_waiting);
    }
    screens[0](screening.response);
    std::vector<std::function<void()>> kb;
    {
      absl::MutexLock lock(&screening.mu);
      kb.swap(screening.kb_waiting);
    }
    ASSERT_EQ(kb.size(), 1u);
    kb[0]();
    screens[1](screening.response);
    screens[2](absl::UnavailableError("connect failed"));
  });
  needlecheckd.join();

  absl::MutexLock lock(&mu);
  ASSERT_EQ(replies.size(), size_t{kCalls});
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    Json cards = Json::parse(replies[i].body);
    EXPECT_THAT(testing::ValidateCdsResponse(cards), IsEmpty());
    EXPECT_EQ(cards["cards"][0]["source"]["url"],
              "https://docs.example.org/docs/rules.md#mn-freq-interval");
    EXPECT_THAT(Header(replies[i], "Server-Timing"), HasSubstr("screen;dur="));
    EXPECT_EQ(Header(replies[i], "Cache-Control"), "no-store");
  }
  EXPECT_EQ(replies[2].status, 503);
  EXPECT_EQ(Header(replies[2], "Retry-After"), "5");

  // The blocking entry point gives the same bytes.
  FakeScreening blocking;
  blocking.response = screening.response;
  CdsHooksService blocking_service(options, &blocking, &fhir, nullptr,
                                   [] { return absl::FromUnixSeconds(kNow); });
  EXPECT_EQ(blocking_service.Handle(request).body, replies[0].body);
}

// The interval suggestion moves each call's own planned order, written as
// the body holds it, even when other bodies are parsed while the call
// waits for needlecheckd (parsed documents are reused between calls).
TEST_F(CdsServiceTest, SuggestionMovesTheCallsOwnOrderWhileOthersAreParsed) {
  DeferredScreening screening;
  FakeFhir fhir;
  CdsServiceOptions options;
  options.require_auth = false;
  CdsHooksService service(options, &screening, &fhir, nullptr,
                          [] { return absl::FromUnixSeconds(kNow); });
  AddIntervalAlert(needlecheck::v1::SEVERITY_WARNING, &screening.response)
      ->add_suggestions()
      ->set_earliest_date("2026-12-09");

  // A document given back before the cards would be parsed over by a later
  // call.
  constexpr int kCalls = 20;
  absl::Mutex mu;
  std::vector<HttpResponse> replies(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    Json body = MicroneedlingOrderSign();
    Json& sr = body["context"]["draftOrders"]["entry"][0]["resource"];
    sr["id"] = absl::StrCat("sr", i);
    sr["note"] = Json::array({{{"text", absl::StrCat("call \"", i, "\"")}}});
    HttpRequest request;
    request.method = "POST";
    request.path = "/cds-services/microneedling-safety";
    request.headers["content-type"] = "application/json";
    request.body = body.dump();
    service.HandleAsync(request, [&, i](HttpResponse r) {
      absl::MutexLock lock(&mu);
      replies[i] = std::move(r);
    });
  }
  std::vector<ScreeningClient::ScreenDone> screens;
  {
    absl::MutexLock lock(&screening.mu);
    screens.swap(screening.screens_waiting);
  }
  ASSERT_EQ(screens.size(), size_t{kCalls});
  // Answered in reverse order, the knowledge base after the first answer.
  for (int i = kCalls - 1; i >= 0; --i) {
    screens[i](screening.response);
    std::vector<std::function<void()>> kb;
    {
      absl::MutexLock lock(&screening.mu);
      kb.swap(screening.kb_waiting);
    }
    for (auto& f : kb) f();
  }
  absl::MutexLock lock(&mu);
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    const std::string& body = replies[i].body;
    const size_t actions = body.find("\"actions\":");
    ASSERT_NE(actions, std::string::npos) << body;
    EXPECT_EQ(
        body.substr(actions),
        absl::StrCat(
            R"("actions":[{"type":"update","description":"Move ServiceRequest/sr)",
            i,
            R"( to 2026-12-09.","resource":{"bodySite":[{"text":"Cheeks"}],)"
            R"("code":{"text":"Microneedling"},"id":"sr)",
            i, R"(","intent":"order","note":[{"text":"call \")", i,
            R"(\""}],"occurrenceDateTime":"2026-12-09",)"
            R"("resourceType":"ServiceRequest","status":"draft",)"
            R"("subject":{"reference":"Patient/pat1"}}}]}],)"
            R"("selectionBehavior":"at-most-one"}]})"));
  }
}

TEST_F(CdsServiceTest, ReadinessScreensTodayWithUnknownAreas) {
  Make(false);
  Json j = {{"hook", "patient-view"},
            {"hookInstance", "h-1"},
            {"context", {{"userId", "Practitioner/p1"}, {"patientId", "pat1"}}},
            {"prefetch", FullPrefetch()}};
  HttpResponse r =
      Call("POST", "/cds-services/microneedling-readiness", j.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(screening_.screened.size(), 1u);
  EXPECT_EQ(screening_.screened[0].session().date(), "2026-11-18");
  EXPECT_EQ(screening_.screened[0].session().areas_size(), 0);
}

TEST_F(CdsServiceTest, Feedback) {
  Make(false);
  const std::string body =
      R"({"feedback":[{"card":"c1","outcome":"overridden",)"
      R"("outcomeTimestamp":"2026-11-17T10:00:00Z",)"
      R"("overrideReason":{"reason":{"system":"urn:needlecheck:override-reason",)"
      R"("code":"record-date-is-wrong","display":"Record date is wrong"}}}]})";
  HttpResponse r =
      Call("POST", "/cds-services/microneedling-safety/feedback", body);
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(screening_.feedback.size(), 1u);
  EXPECT_EQ(screening_.feedback[0].alert_id(), "c1");
  EXPECT_EQ(screening_.feedback[0].service_id(), "microneedling-safety");
  EXPECT_EQ(screening_.feedback[0].override_reason().code(),
            "record-date-is-wrong");

  screening_.feedback_status = absl::NotFoundError("unknown alert");
  EXPECT_EQ(
      Call("POST", "/cds-services/microneedling-safety/feedback", body).status,
      404);
  screening_.feedback_status = absl::UnimplementedError("");
  EXPECT_EQ(
      Call("POST", "/cds-services/microneedling-safety/feedback", body).status,
      501);
  screening_.feedback_status = absl::UnavailableError("");
  EXPECT_EQ(
      Call("POST", "/cds-services/microneedling-safety/feedback", body).status,
      503);
  HttpResponse bad =
      Call("POST", "/cds-services/microneedling-safety/feedback", "{}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(Diagnostics(bad), HasSubstr("feedback"));
}

TEST_F(CdsServiceTest, JwtRequiredWhenAuthIsOn) {
  Make(true);
  const std::string body = MicroneedlingOrderSign().dump();
  const std::string path = "/cds-services/microneedling-safety";
  HttpResponse none = Call("POST", path, body);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Header(none, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Diagnostics(none), "authentication required");
  const std::string aud =
      "https://cds.example.org/cds-services/microneedling-safety";
  EXPECT_EQ(Call("POST", path, body, Token(aud, "j1")).status, 200);
  // Replayed.
  EXPECT_EQ(Call("POST", path, body, Token(aud, "j1")).status, 401);
  // Audience of another endpoint.
  EXPECT_EQ(Call("POST", path, body,
                 Token("https://cds.example.org/cds-services", "j2"))
                .status,
            401);
  // Discovery: open without a token, but a bad token is refused.
  EXPECT_EQ(Call("GET", "/cds-services").status, 200);
  EXPECT_EQ(Call("GET", "/cds-services", "", "Bearer nonsense").status, 401);
  EXPECT_EQ(Call("GET", "/cds-services", "",
                 Token("https://cds.example.org/cds-services", "j3"))
                .status,
            200);
  // Feedback: its own URL (or the service's) as aud.
  const std::string fb =
      R"({"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"2026-11-17T10:00:00Z"}]})";
  EXPECT_EQ(Call("POST", path + "/feedback", fb).status, 401);
  EXPECT_EQ(Call("POST", path + "/feedback", fb, Token(aud + "/feedback", "j4"))
                .status,
            200);
  // Preflight needs no token.
  EXPECT_EQ(Call("OPTIONS", path).status, 204);
}

// The request of FetchesMissingKeysAndPagesFromTheFhirServer with another
// fhirServer.
Json NeedsFetching(const std::string& fhir_server) {
  Json j = MicroneedlingOrderSign();
  j["prefetch"].erase("allergies");
  j["prefetch"].erase("procedures");
  j["fhirServer"] = fhir_server;
  j["fhirAuthorization"] = {{"access_token", "secret-token"},
                            {"token_type", "Bearer"},
                            {"expires_in", 30},
                            {"scope", "patient/*.read"},
                            {"subject", "needlecheck"},
                            {"patient", "pat1"}};
  return j;
}

TEST_F(CdsServiceTest, FhirServerOutsideTheAllowListIsNeverContacted) {
  Make(false);
  for (const char* server : {
           "https://ehr.example.org.evil.com/fhir",
           "https://ehr.example.org/fhir-admin",
           "https://ehr.example.org:8443/fhir",
           "http://ehr.example.org/fhir",
           "https://user@ehr.example.org/fhir",
           "https://ehr.example.org/fhir/../admin",
           "https://evil.example.org/fhir",
           "http://127.0.0.1:2375/fhir",
           "https://169.254.169.254/latest",
       }) {
    SCOPED_TRACE(server);
    HttpResponse r = Call("POST", "/cds-services/microneedling-safety",
                          NeedsFetching(server).dump());
    EXPECT_EQ(r.status, 412);
    EXPECT_EQ(Diagnostics(r), kFhirUnreadable);
  }
  EXPECT_THAT(fhir_.urls, IsEmpty());
  EXPECT_TRUE(screening_.screened.empty());
}

TEST_F(CdsServiceTest, NoAllowListMeansNoFetching) {
  Make(false, [](CdsServiceOptions* o) { o->fhir_servers = {}; });
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety",
                        NeedsFetching("https://ehr.example.org/fhir").dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(Diagnostics(r), kFhirUnreadable);
  EXPECT_THAT(fhir_.urls, IsEmpty());
}

TEST_F(CdsServiceTest, PageLinksOutsideTheFhirServerAreNotFollowed) {
  for (const char* link : {
           "https://evil.example.org/fhir/Procedure?page=2",
           "https://ehr.example.org.evil.com/fhir/Procedure?page=2",
           "https://ehr.example.org/other/Procedure?page=2",
           "https://ehr.example.org/fhir/../other?page=2",
           "http://ehr.example.org/fhir/Procedure?page=2",
       }) {
    SCOPED_TRACE(link);
    Make(false);
    fhir_.urls.clear();
    fhir_.next_link = link;
    HttpResponse r = Call("POST", "/cds-services/microneedling-safety",
                          NeedsFetching("https://ehr.example.org/fhir").dump());
    EXPECT_EQ(r.status, 412);
    EXPECT_EQ(Diagnostics(r), kFhirUnreadable);
    EXPECT_THAT(
        fhir_.urls,
        ElementsAre(
            "https://ehr.example.org/fhir/AllergyIntolerance?patient=pat1",
            "https://ehr.example.org/fhir/Procedure?patient=pat1"));
  }
  // The same holds for next links in the client's own prefetch.
  Make(false);
  fhir_.urls.clear();
  Json j = NeedsFetching("https://ehr.example.org/fhir");
  j["prefetch"]["procedures"] = {
      {"resourceType", "Bundle"},
      {"type", "searchset"},
      {"link",
       Json::array({{{"relation", "next"},
                     {"url", "https://evil.example.org/fhir/Procedure"}}})}};
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety", j.dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_THAT(
      fhir_.urls,
      ::testing::Not(::testing::Contains(::testing::HasSubstr("evil"))));
}

TEST_F(CdsServiceTest, EveryFhirFailureGivesTheSameBody) {
  Make(false);
  const std::string body = NeedsFetching("https://ehr.example.org/fhir").dump();
  std::vector<std::string> bodies;
  for (const absl::Status& status : {
           absl::UnavailableError("Couldn't connect to server"),
           absl::UnavailableError("Could not resolve host"),
           absl::UnavailableError("FHIR server answered HTTP 500"),
           absl::DeadlineExceededError("FHIR request timed out"),
           absl::NotFoundError("FHIR server answered HTTP 404"),
           absl::PermissionDeniedError("connected address refused"),
           absl::ResourceExhaustedError("over the budget"),
           absl::FailedPreconditionError("FHIR server answered HTTP 302"),
       }) {
    fhir_.status = status;
    HttpResponse r = Call("POST", "/cds-services/microneedling-safety", body);
    EXPECT_EQ(r.status, 412) << status;
    bodies.push_back(r.body);
  }
  fhir_.status = absl::OkStatus();
  bodies.push_back(Call("POST", "/cds-services/microneedling-safety",
                        NeedsFetching("https://evil.example.org/fhir").dump())
                       .body);
  for (const std::string& b : bodies) EXPECT_EQ(b, bodies[0]);
  EXPECT_EQ(Diagnostics(Call("POST", "/cds-services/microneedling-safety",
                             NeedsFetching("https://x.example/fhir").dump())),
            kFhirUnreadable);
}

TEST_F(CdsServiceTest, ByteBudgetCoversAllRequestsOfACall) {
  Make(false, [](CdsServiceOptions* o) { o->fhir_fetch_max_bytes = 150; });
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety",
                        NeedsFetching("https://ehr.example.org/fhir").dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(Diagnostics(r), kFhirUnreadable);
  // 44 bytes came with the first answer: the second may have the rest.
  ASSERT_EQ(fhir_.max_bytes.size(), 2u);
  EXPECT_EQ(fhir_.max_bytes[0], 150u);
  EXPECT_EQ(fhir_.max_bytes[1], 150u - 44u);
  EXPECT_TRUE(screening_.screened.empty());
}

TEST_F(CdsServiceTest, OneDeadlineForFetchesAndScreen) {
  Make(false, [](CdsServiceOptions* o) { o->hook_deadline = absl::Hours(1); });
  const absl::Time before = absl::Now();
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety",
                        NeedsFetching("https://ehr.example.org/fhir").dump());
  const absl::Time after = absl::Now();
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(fhir_.deadlines.size(), 3u);
  ASSERT_EQ(screening_.deadlines.size(), 1u);
  const absl::Time deadline = screening_.deadlines[0];
  EXPECT_GE(deadline, before + absl::Hours(1));
  EXPECT_LE(deadline, after + absl::Hours(1));
  EXPECT_THAT(fhir_.deadlines, ::testing::Each(deadline));

  // No time at all: nothing is fetched (412) and needlecheckd is not
  // called (503).
  Make(false,
       [](CdsServiceOptions* o) { o->hook_deadline = absl::ZeroDuration(); });
  fhir_.urls.clear();
  screening_.screened.clear();
  r = Call("POST", "/cds-services/microneedling-safety",
           NeedsFetching("https://ehr.example.org/fhir").dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(Diagnostics(r), kFhirUnreadable);
  EXPECT_THAT(fhir_.urls, IsEmpty());
  r = Call("POST", "/cds-services/microneedling-safety",
           MicroneedlingOrderSign().dump());
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(screening_.screened.empty());
}

TEST_F(CdsServiceTest, PostsMustBeJson) {
  Make(false);
  const std::string body = MicroneedlingOrderSign().dump();
  for (const char* path : {"/cds-services/microneedling-safety",
                           "/cds-services/microneedling-safety/feedback"}) {
    SCOPED_TRACE(path);
    for (const char* type :
         {"", "text/plain", "application/x-www-form-urlencoded",
          "application/jsonx", "application/fhir+json", "multipart/form-data",
          "application/json-patch+json"}) {
      HttpRequest r;
      r.method = "POST";
      r.path = path;
      r.body = body;
      if (*type != '\0') r.headers["content-type"] = type;
      HttpResponse response = service_->Handle(r);
      EXPECT_EQ(response.status, 415) << type;
      EXPECT_THAT(Diagnostics(response), HasSubstr("application/json"));
    }
  }
  EXPECT_TRUE(screening_.screened.empty());
  EXPECT_TRUE(screening_.feedback.empty());
  for (const char* type : {"application/json", "Application/JSON",
                           "application/json; charset=utf-8",
                           " application/json ;charset=UTF-8"}) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/cds-services/microneedling-safety";
    r.body = body;
    r.headers["content-type"] = type;
    EXPECT_EQ(service_->Handle(r).status, 200) << type;
  }
}

TEST_F(CdsServiceTest, FeedbackBatchOverTheLimitIs400) {
  Make(false);  // max_feedback_items = 3
  Json item = {{"card", "c1"},
               {"outcome", "overridden"},
               {"outcomeTimestamp", "2026-11-17T10:00:00Z"}};
  Json three = {{"feedback", Json::array({item, item, item})}};
  EXPECT_EQ(
      Call("POST", "/cds-services/microneedling-safety/feedback", three.dump())
          .status,
      200);
  Json four = {{"feedback", Json::array({item, item, item, item})}};
  screening_.feedback.clear();
  HttpResponse r =
      Call("POST", "/cds-services/microneedling-safety/feedback", four.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(Diagnostics(r), HasSubstr("limit of 3"));
  EXPECT_TRUE(screening_.feedback.empty());
}

}  // namespace
}  // namespace needlecheck::cds_hooks

namespace needlecheck::cds_hooks {
namespace {

// The gateway's access-trail part: the fetches it made (query values
// stripped, each outcome) go to RecordAccess before the data is used; a
// trail that cannot record them stops the hook with 503; a needlecheckd
// without a trail (UNIMPLEMENTED) does not.
class CdsServiceAccessTest : public CdsServiceTest {};

TEST_F(CdsServiceAccessTest, FetchesAreRecordedWithoutQueryValues) {
  Make(false);
  Json j = NeedsFetching("https://ehr.example.org/fhir/");
  j["context"]["userId"] = "Practitioner/u9";
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety", j.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(screening_.accesses.size(), 1u);
  const needlecheck::v1::RecordAccessRequest& access = screening_.accesses[0];
  EXPECT_EQ(access.patient_id(), "pat1");
  ASSERT_EQ(access.fetches_size(), 3);
  EXPECT_EQ(access.fetches(0).url(),
            "https://ehr.example.org/fhir/AllergyIntolerance?patient=");
  EXPECT_EQ(access.fetches(2).url(),
            "https://ehr.example.org/fhir/Procedure?patient=&page=");
  EXPECT_EQ(access.fetches(0).outcome(), "OK");
  ASSERT_EQ(screening_.screen_on_behalf.size(), 1u);
  EXPECT_EQ(screening_.screen_on_behalf[0].user_id, "Practitioner/u9");

  // A failed fetch is recorded too, with its code; the answer stays 412.
  fhir_.status = absl::NotFoundError("404");
  r = Call("POST", "/cds-services/microneedling-safety", j.dump());
  EXPECT_EQ(r.status, 412);
  ASSERT_EQ(screening_.accesses.size(), 2u);
  ASSERT_EQ(screening_.accesses[1].fetches_size(), 1);
  EXPECT_EQ(screening_.accesses[1].fetches(0).outcome(), "NOT_FOUND");
}

TEST_F(CdsServiceAccessTest, UnrecordableFetchesStopTheHook) {
  Make(false);
  screening_.access_status = absl::UnavailableError("queue full");
  HttpResponse r = Call("POST", "/cds-services/microneedling-safety",
                        NeedsFetching("https://ehr.example.org/fhir/").dump());
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(screening_.screened.empty());

  // A failed fetch used nothing: still the generic 412.
  fhir_.status = absl::UnavailableError("refused");
  r = Call("POST", "/cds-services/microneedling-safety",
           NeedsFetching("https://ehr.example.org/fhir/").dump());
  EXPECT_EQ(r.status, 412) << r.body;
  fhir_.status = absl::OkStatus();

  screening_.access_status = absl::UnimplementedError("--ledger=none");
  r = Call("POST", "/cds-services/microneedling-safety",
           NeedsFetching("https://ehr.example.org/fhir/").dump());
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(CdsServiceAccessTest, TraceparentIsPassedOnWhenValidElseReplaced) {
  Make(false);
  const std::string body = MicroneedlingOrderSign().dump();
  HttpRequest request;
  request.method = "POST";
  request.path = "/cds-services/microneedling-safety";
  request.headers["content-type"] = "application/json";
  request.headers["traceparent"] =
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  request.body = body;
  ASSERT_EQ(service_->Handle(request).status, 200);
  request.headers["traceparent"] =
      "00-\x01"
      "bad";
  ASSERT_EQ(service_->Handle(request).status, 200);
  // Upper-case hex is not a valid traceparent either.
  request.headers["traceparent"] =
      "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01";
  ASSERT_EQ(service_->Handle(request).status, 200);
  request.headers.erase("traceparent");
  ASSERT_EQ(service_->Handle(request).status, 200);
  ASSERT_EQ(screening_.screen_on_behalf.size(), 4u);
  EXPECT_EQ(screening_.screen_on_behalf[0].traceparent,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  // Invalid or absent: a new trace (version 00, sampled), each its own.
  std::set<std::string> fresh;
  for (int i = 1; i < 4; ++i) {
    const std::string& tp = screening_.screen_on_behalf[i].traceparent;
    EXPECT_THAT(tp, ::testing::MatchesRegex("00-[0-9a-f]{32}-[0-9a-f]{16}-01"));
    EXPECT_NE(trace::TraceIdFromTraceparent(tp), "") << tp;
    fresh.insert(tp.substr(3, 32));
  }
  EXPECT_EQ(fresh.size(), 3u);
}

}  // namespace
}  // namespace needlecheck::cds_hooks
