// Integration tests: the real needlecheckd and the real needlecheck-cds-hooks
// on 127.0.0.1:0, driven over real HTTP (libcurl):
//   - discovery is spec-valid;
//   - every official CDS Hooks example in ../shared/corpus/cds-hooks/ is
//     accepted or rejected as the spec requires, and the responses are
//     spec-valid (requests POSTed; response, discovery and feedback examples
//     run through the same validator our responses must pass);
//   - a request built from each Synthea bundle in
//     ../shared/corpus/fhir-r4-bundles/ (split into our prefetch keys, plus a
//     draft microneedling ServiceRequest) gets valid cards;
//   - feedback reaches the ledger (when needlecheckd has one);
//   - needlecheckd down -> 503 with a JSON body; JWT required when auth is
//     on; --insecure_no_auth refused off loopback; 413 over the body limit;
//     HTTPS with --tls_cert/--tls_key.
// GTEST_SKIP when the shared corpus is absent. No timing assertions.
#include <curl/curl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/adapters/cds_hooks/cds_spec_validator.h"
#include "tests/adapters/cds_hooks/jwt_signer.h"
#include "tests/testing/http_request.h"
#include "tests/testing/read_file.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::testing::Http;
using ::needlecheck::testing::HttpResult;

using ::needlecheck::cds_hooks::testing::ValidateCdsResponse;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

const std::string kShared = NEEDLECHECK_SHARED_DIR;

using ::needlecheck::testing::ReadFile;

std::vector<std::string> ListJson(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (absl::EndsWith(name, ".json")) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string TempDir(const std::string& name) {
  std::string path =
      absl::StrCat(::testing::TempDir(), "/cds_hooks_it_", getpid(), "_", name);
  mkdir(path.c_str(), 0700);
  return path;
}

// The JSON of an error body, with its diagnostics.
std::string Diagnostics(const HttpResult& r) {
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded() || j.value("resourceType", "") != "OperationOutcome") {
    ADD_FAILURE() << "not an OperationOutcome: " << r.body;
    return "";
  }
  return j["issue"][0].value("diagnostics", "");
}

// Our seven prefetch keys from a Synthea transaction Bundle: the Patient and
// one searchset Bundle per resource type, as an EHR would answer the
// discovery templates.
Json PrefetchFromBundle(const Json& bundle, std::string* patient_id) {
  std::map<std::string, Json> by_type;
  Json patient;
  for (const Json& entry : bundle["entry"]) {
    const Json& r = entry["resource"];
    const std::string type = r.value("resourceType", "");
    if (type == "Patient") patient = r;
    by_type[type].push_back({{"resource", r}});
  }
  *patient_id = patient.value("id", "");
  auto searchset = [&](const std::string& type) {
    Json b = {{"resourceType", "Bundle"}, {"type", "searchset"}};
    if (by_type.count(type)) b["entry"] = by_type[type];
    return b;
  };
  // Observations: only the codes the template asks for.
  Json observations = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  for (const Json& entry : by_type["Observation"]) {
    for (const Json& c :
         entry["resource"]["code"].value("coding", Json::array())) {
      const std::string code = c.value("code", "");
      if (code == "66555-4" || code == "82810-3" || code == "2106-3") {
        observations["entry"].push_back(entry);
        break;
      }
    }
  }
  return {{"patient", patient},
          {"conditions", searchset("Condition")},
          {"allergies", searchset("AllergyIntolerance")},
          {"medicationRequests", searchset("MedicationRequest")},
          {"medicationStatements", searchset("MedicationStatement")},
          {"procedures", searchset("Procedure")},
          {"observations", observations}};
}

Json MicroneedlingOrder(const std::string& patient_id) {
  return {{"resourceType", "ServiceRequest"},
          {"id", "mn-order-1"},
          {"status", "draft"},
          {"intent", "order"},
          {"code", {{"text", "Microneedling (collagen induction therapy)"}}},
          {"subject", {{"reference", "Patient/" + patient_id}}},
          {"occurrenceDateTime", "2026-12-01T10:00:00Z"},
          {"bodySite", Json::array({{{"text", "Full face"}}})}};
}

Json OrderSign(const std::string& patient_id, const Json& prefetch,
               const std::string& hook_instance) {
  return {
      {"hook", "order-sign"},
      {"hookInstance", hook_instance},
      {"context",
       {{"userId", "Practitioner/example"},
        {"patientId", patient_id},
        {"draftOrders",
         {{"resourceType", "Bundle"},
          {"type", "collection"},
          {"entry",
           Json::array({{{"resource", MicroneedlingOrder(patient_id)}}})}}}}},
      {"prefetch", prefetch}};
}

Json EmptyPrefetch(const std::string& patient_id) {
  Json empty = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  return {{"patient", {{"resourceType", "Patient"}, {"id", patient_id}}},
          {"conditions", empty},
          {"allergies", empty},
          {"medicationRequests", empty},
          {"medicationStatements", empty},
          {"procedures", empty},
          {"observations", empty}};
}

class CdsHooksIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override {
    daemon_binary_ = BinaryPath("service/needlecheckd");
    gateway_binary_ = BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks");
    ASSERT_FALSE(daemon_binary_.empty());
  }

  void StartDaemon(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0",
        "--data_dir=" +
            TempDir(absl::StrCat(
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                "_data"))};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = ServerProcess::Start(daemon_binary_, args);
    ASSERT_THAT(process, IsOk());
    daemon_ = std::move(process).value();
  }

  std::unique_ptr<ServerProcess> StartGateway(std::vector<std::string> args) {
    args.insert(args.begin(), "--listen=127.0.0.1:0");
    auto process = ServerProcess::Start(gateway_binary_, args);
    EXPECT_THAT(process, IsOk());
    return process.ok() ? std::move(process).value() : nullptr;
  }

  void StartBoth(std::vector<std::string> extra = {}) {
    StartDaemon();
    std::vector<std::string> args = {
        "--screening_service=" + daemon_->address(), "--insecure_no_auth",
        "--docs_base_url=https://docs.example.org/needlecheck/",
        "--fhir_timeout=2s"};
    args.insert(args.end(), extra.begin(), extra.end());
    gateway_ = StartGateway(args);
    ASSERT_NE(gateway_, nullptr);
    base_ = "http://" + gateway_->address();
  }

  HttpResult Post(const std::string& service, const std::string& body,
                  const std::vector<std::string>& headers = {}) {
    return Http("POST", base_ + "/cds-services/" + service, body, headers);
  }

  std::string daemon_binary_;
  std::string gateway_binary_;
  std::unique_ptr<ServerProcess> daemon_;
  std::unique_ptr<ServerProcess> gateway_;
  std::string base_;
};

TEST_F(CdsHooksIntegrationTest, DiscoveryIsSpecValid) {
  StartBoth();
  HttpResult r = Http("GET", base_ + "/cds-services");
  ASSERT_EQ(r.status, 200) << r.body;
  Json d = Json::parse(r.body);
  EXPECT_THAT(testing::ValidateDiscovery(d), IsEmpty());
  EXPECT_EQ(d["services"].size(), 4u);
  EXPECT_THAT(r.headers, HasSubstr("Access-Control-Allow-Origin: *"));
  HttpResult preflight =
      Http("OPTIONS", base_ + "/cds-services/microneedling-safety");
  EXPECT_EQ(preflight.status, 204);
}

// Every official example, by kind.
TEST_F(CdsHooksIntegrationTest, OfficialExamplesRoundTrip) {
  const std::string dir = kShared + "/corpus/cds-hooks";
  const std::vector<std::string> files = ListJson(dir);
  if (files.empty()) GTEST_SKIP() << "no corpus at " << dir;
  StartBoth();
  int requests = 0, responses = 0, fragments = 0;
  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    const Json example = Json::parse(ReadFile(dir + "/" + name));
    if (name == "spec-response-cards-2.json") {
      // The spec's own autolaunch example (3.0.0-ballot page) omits the
      // REQUIRED card.indicator: the validator must say exactly that.
      EXPECT_THAT(
          ValidateCdsResponse(example),
          ::testing::ElementsAre("cards[0].indicator: REQUIRED, missing"));
      ++responses;
    } else if (absl::StartsWith(name, "spec-response-")) {
      EXPECT_THAT(ValidateCdsResponse(example), IsEmpty());
      ++responses;
    } else if (absl::StartsWith(name, "spec-discovery-")) {
      EXPECT_THAT(testing::ValidateDiscovery(example), IsEmpty());
      ++responses;
    } else if (absl::StartsWith(name, "spec-feedback-")) {
      EXPECT_THAT(testing::ValidateFeedback(example), IsEmpty());
      // Spec-shaped feedback is never a 400; the cards are not ours, so the
      // ledger answers 404 (or 501 while needlecheckd has no ledger).
      HttpResult r =
          Http("POST", base_ + "/cds-services/microneedling-safety/feedback",
               example.dump());
      EXPECT_TRUE(r.status == 404 || r.status == 501) << r.status << r.body;
      Diagnostics(r);
      ++requests;
    } else if (name.rfind("spec-action-", 0) == 0) {
      EXPECT_THAT(testing::ValidateAction(example, name, true), IsEmpty());
      ++fragments;
    } else if (name == "spec-card-source.json") {
      Json card = {{"summary", "s"},
                   {"indicator", "info"},
                   {"source", example["source"]}};
      EXPECT_THAT(testing::ValidateCard(card, name), IsEmpty());
      ++fragments;
    } else if (name == "spec-override-reasons.json") {
      for (const Json& reason : example["overrideReasons"]) {
        EXPECT_THAT(testing::ValidateCoding(reason, name, true), IsEmpty());
      }
      ++fragments;
    } else if (example.contains("hook")) {
      // Full requests from the spec.
      const std::string hook = example["hook"];
      const std::string service = hook == "patient-view"
                                      ? "microneedling-readiness"
                                      : "microneedling-safety";
      HttpResult r = Post(service, example.dump());
      if (name == "spec-request-with-extension.json") {
        // Its context has no patientId (REQUIRED for patient-view).
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_THAT(Diagnostics(r), HasSubstr("context.patientId"));
      } else if (name == "spec-order-sign-request-paginated-prefetch.json") {
        // An amoxicillin order: no microneedling session, so no data is
        // needed and no cards are given.
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(Json::parse(r.body), Json::parse(R"({"cards":[]})"));
      } else if (name == "spec-patient-view-request.json") {
        // Our prefetch keys are absent and its fhirServer cannot be reached
        // from the test machine: the spec's 412.
        EXPECT_EQ(r.status, 412) << r.body;
        EXPECT_THAT(Diagnostics(r), HasSubstr("fhirServer"));
      } else {
        ADD_FAILURE() << "unexpected request example";
      }
      ++requests;
    } else if (example.contains("context")) {
      // Library examples: the context of one hook (or a request without
      // hook/hookInstance). As sent: 400 naming the missing field.
      Json as_is = example;
      HttpResult bare = Post("microneedling-safety", as_is.dump());
      EXPECT_EQ(bare.status, 400);
      EXPECT_THAT(Diagnostics(bare), HasSubstr("hook"));
      // Completed with hook, hookInstance and our prefetch.
      const std::string hook =
          name.substr(0, name.find("-context") != std::string::npos
                             ? name.find("-context")
                             : name.find("-request"));
      Json request = example;
      request["hook"] = hook;
      request["hookInstance"] =
          "a6b0c4d8-0000-4000-8000-" +
          std::string(12 - std::to_string(requests).size(), '0') +
          std::to_string(requests);
      request["prefetch"] =
          EmptyPrefetch(example["context"].value("patientId", "1288992"));
      const bool ours = hook == "patient-view" || hook == "order-select" ||
                        hook == "order-sign" || hook == "appointment-book";
      const std::string service = hook == "patient-view"
                                      ? "microneedling-readiness"
                                      : "microneedling-safety";
      HttpResult r = Post(service, request.dump());
      if (!ours) {
        // encounter-start, allergyintolerance-create, ...: not served.
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_THAT(Diagnostics(r), HasSubstr("does not serve hook"));
      } else {
        // None of these examples plans microneedling; patient-view gets the
        // readiness cards of an empty record.
        EXPECT_EQ(r.status, 200) << r.body;
        Json cards = Json::parse(r.body, nullptr, false);
        ASSERT_FALSE(cards.is_discarded()) << r.body;
        EXPECT_THAT(ValidateCdsResponse(cards), IsEmpty()) << r.body;
        if (hook != "patient-view") {
          EXPECT_TRUE(cards["cards"].empty());
        }
      }
      ++requests;
    } else {
      // Prefetch templates and data, fhirAuthorization: fragments of a
      // discovery entry or request; their shapes are checked as such.
      if (example.contains("prefetch")) {
        EXPECT_TRUE(example["prefetch"].is_object());
      } else if (example.contains("fhirAuthorization")) {
        EXPECT_TRUE(example["fhirAuthorization"].contains("access_token"));
      }
      ++fragments;
    }
  }
  EXPECT_GE(requests, 15);
  EXPECT_GE(responses, 6);
  EXPECT_GE(fragments, 8);
}

TEST_F(CdsHooksIntegrationTest, EverySyntheaBundleGetsValidCards) {
  const std::string dir = kShared + "/corpus/fhir-r4-bundles";
  const std::vector<std::string> files = ListJson(dir);
  if (files.empty()) GTEST_SKIP() << "no corpus at " << dir;
  StartBoth();
  int n = 0;
  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    std::string patient_id;
    const Json prefetch = PrefetchFromBundle(
        Json::parse(ReadFile(dir + "/" + name)), &patient_id);
    ASSERT_FALSE(patient_id.empty());
    HttpResult r =
        Post("microneedling-safety",
             OrderSign(patient_id, prefetch,
                       absl::StrCat("5b1c2f0e-0000-4000-8000-0000000000",
                                    n < 10 ? "0" : "", n))
                 .dump());
    ++n;
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 400);
    Json cards = Json::parse(r.body);
    EXPECT_THAT(ValidateCdsResponse(cards), IsEmpty());
    for (const Json& card : cards["cards"]) {
      EXPECT_EQ(card["source"]["topic"]["system"], "urn:needlecheck:rule");
      EXPECT_TRUE(absl::StartsWith(
          card["source"]["url"].get<std::string>(),
          "https://docs.example.org/needlecheck/docs/rules.md#"));
      EXPECT_EQ(card.contains("overrideReasons"),
                card["indicator"] == "critical")
          << card.dump();
    }
    if (absl::StartsWith(name, "Asa_Hermiston")) {
      bool eczema = false;
      for (const Json& card : cards["cards"]) {
        if (card["source"]["topic"]["code"] == "MN-CI-ECZEMA") {
          eczema = true;
          EXPECT_EQ(card["indicator"], "critical");
        }
      }
      EXPECT_TRUE(eczema) << r.body;
    }
    // The readiness service on the same data (patient-view).
    Json view = {
        {"hook", "patient-view"},
        {"hookInstance", "pv-" + patient_id},
        {"context",
         {{"userId", "Practitioner/example"}, {"patientId", patient_id}}},
        {"prefetch", prefetch}};
    HttpResult pv = Post("microneedling-readiness", view.dump());
    ASSERT_EQ(pv.status, 200) << pv.body.substr(0, 400);
    EXPECT_THAT(ValidateCdsResponse(Json::parse(pv.body)), IsEmpty());
  }
  EXPECT_EQ(n, static_cast<int>(files.size()));
  // The gateway's log holds no patient data (ids, names, codes).
  EXPECT_THAT(gateway_->output(), ::testing::Not(HasSubstr("4384bf23")));
  EXPECT_THAT(gateway_->output(), ::testing::Not(HasSubstr("Hermiston")));
  EXPECT_THAT(gateway_->output(), ::testing::Not(HasSubstr("24079001")));
}

TEST_F(CdsHooksIntegrationTest, FeedbackReachesTheLedger) {
  const std::string file =
      kShared +
      "/corpus/fhir-r4-bundles/"
      "Asa_Hermiston_4384bf23-1dc3-48ca-8c84-89fbaff201ae.json";
  if (ReadFile(file).empty()) GTEST_SKIP() << "no corpus";
  StartBoth();
  std::string patient_id;
  const Json prefetch =
      PrefetchFromBundle(Json::parse(ReadFile(file)), &patient_id);
  HttpResult r = Post(
      "microneedling-safety",
      OrderSign(patient_id, prefetch, "7d3e4f50-0000-4000-8000-000000000001")
          .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  std::string uuid;
  Json reason;
  const Json response = Json::parse(r.body);
  for (const Json& card : response["cards"]) {
    if (card["source"]["topic"]["code"] == "MN-CI-ECZEMA") {
      uuid = card["uuid"];
      reason = card["overrideReasons"][0];
    }
  }
  ASSERT_FALSE(uuid.empty()) << r.body;
  Json feedback = {
      {"feedback",
       Json::array({{{"card", uuid},
                     {"outcome", "overridden"},
                     {"overrideReason",
                      {{"reason", reason}, {"userComment", "seen by derm"}}},
                     {"outcomeTimestamp", "2026-11-20T10:05:31Z"}}})}};
  HttpResult fb =
      Http("POST", base_ + "/cds-services/microneedling-safety/feedback",
           feedback.dump());
  if (fb.status == 501) GTEST_SKIP() << "needlecheckd has no ledger yet";
  ASSERT_EQ(fb.status, 200) << fb.body;
  // Idempotent: the same feedback again is fine.
  EXPECT_EQ(Http("POST", base_ + "/cds-services/microneedling-safety/feedback",
                 feedback.dump())
                .status,
            200);
  // Visible in the statistics.
  auto stub = needlecheck::v1::ScreeningService::NewStub(grpc::CreateChannel(
      daemon_->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  needlecheck::v1::GetAlertStatsRequest request;
  request.add_rule_ids("MN-CI-ECZEMA");
  needlecheck::v1::AlertStats stats;
  const grpc::Status status = stub->GetAlertStats(&context, request, &stats);
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    GTEST_SKIP() << "no GetAlertStats yet";
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(stats.rules_size(), 1);
  EXPECT_GE(stats.rules(0).overridden(), 1);
}

TEST_F(CdsHooksIntegrationTest, NeedlecheckdDownIs503) {
  StartDaemon();
  const std::string address = daemon_->address();
  ASSERT_THAT(daemon_->Signal(SIGKILL), IsOk());
  ASSERT_THAT(daemon_->WaitForExit(), IsOk());
  gateway_ = StartGateway({"--screening_service=" + address,
                           "--insecure_no_auth", "--rpc_timeout=3s"});
  ASSERT_NE(gateway_, nullptr);
  base_ = "http://" + gateway_->address();
  HttpResult r = Post("microneedling-safety",
                      OrderSign("p1", EmptyPrefetch("p1"), "h-down").dump());
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_THAT(Diagnostics(r), HasSubstr("unavailable"));
  // Still serving afterwards.
  EXPECT_EQ(Http("GET", base_ + "/cds-services").status, 200);
}

TEST_F(CdsHooksIntegrationTest, JwtRequiredWhenAuthIsOn) {
  StartDaemon();
  auto key = testing::TestKey::Generate("RSA", "ehr-key-1");
  const std::string jwks = TempDir("jwks") + "/jwks.json";
  {
    std::ofstream out(jwks);
    out << Json{{"keys", Json::array({key->PublicJwk()})}}.dump();
  }
  gateway_ = StartGateway({"--screening_service=" + daemon_->address(),
                           "--jwks_file=" + jwks,
                           "--trusted_issuers=https://ehr.example.org",
                           "--audience=https://cds.example.org"});
  ASSERT_NE(gateway_, nullptr);
  base_ = "http://" + gateway_->address();
  const std::string body = OrderSign("p1", EmptyPrefetch("p1"), "h-jwt").dump();
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto token = [&](const std::string& aud, const std::string& jti,
                   int64_t exp_offset = 300) {
    return "Authorization: Bearer " +
           key->Sign({{"alg", "RS384"}, {"typ", "JWT"}, {"kid", "ehr-key-1"}},
                     testing::Claims("https://ehr.example.org", aud, now,
                                     now + exp_offset, jti));
  };
  const std::string aud =
      "https://cds.example.org/cds-services/microneedling-safety";
  HttpResult none = Post("microneedling-safety", body);
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(none.headers, HasSubstr("WWW-Authenticate: Bearer"));
  EXPECT_EQ(Post("microneedling-safety", body, {token(aud, "it-1")}).status,
            200);
  EXPECT_EQ(Post("microneedling-safety", body, {token(aud, "it-1")}).status,
            401);
  EXPECT_EQ(Post("microneedling-safety", body,
                 {token("https://cds.example.org/cds-services", "it-2")})
                .status,
            401);
  EXPECT_EQ(
      Post("microneedling-safety", body, {token(aud, "it-3", -120)}).status,
      401);
  // The log names the reason, never the token.
  EXPECT_TRUE(gateway_->WaitForOutput("reason=\"token jti replayed\""));
  EXPECT_THAT(gateway_->output(), ::testing::Not(HasSubstr("eyJ")));
}

TEST_F(CdsHooksIntegrationTest, InsecureNoAuthIsRefusedOffLoopback) {
  auto process = ServerProcess::Spawn(
      gateway_binary_, {"--listen=0.0.0.0:0", "--insecure_no_auth"}, {});
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<int> code = (*process)->WaitForExit();
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT((*process)->output(), HasSubstr("not a loopback address"));
}

TEST_F(CdsHooksIntegrationTest, BodyOverTheLimitIs413WithJson) {
  StartBoth({"--max_body_bytes=2000"});
  HttpResult r = Post("microneedling-safety", std::string(5000, ' '));
  EXPECT_EQ(r.status, 413);
  Diagnostics(r);
}

TEST_F(CdsHooksIntegrationTest, ServesHttpsWithTlsFlags) {
  const std::string dir = TempDir("tls");
  const std::string command = absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-subj /CN=127.0.0.1 -days 1 -keyout ",
      dir, "/key.pem -out ", dir, "/cert.pem >/dev/null 2>&1");
  if (std::system(command.c_str()) != 0) GTEST_SKIP() << "no openssl tool";
  StartBoth(
      {"--tls_cert=" + dir + "/cert.pem", "--tls_key=" + dir + "/key.pem"});
  HttpResult r =
      Http("GET", "https://" + gateway_->address() + "/cds-services");
  EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  // Plain HTTP to the TLS port does not get an answer.
  EXPECT_NE(Http("GET", base_ + "/cds-services").status, 200);
}

// needlecheckd requires client certificates; the gateway reaches it over
// mutual TLS (--screening_tls_*) and a hook call is answered with cards.
// Without a client certificate the same call is 503; a bad TLS file keeps
// the gateway from starting (exit 2, the flag named).
TEST_F(CdsHooksIntegrationTest, HookCallOverMutualTlsGetsCards) {
  absl::StatusOr<needlecheck::testing::TlsTestCerts> certs =
      needlecheck::testing::CreateTlsTestCerts(TempDir("screening_tls"));
  if (!certs.ok()) GTEST_SKIP() << certs.status();
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--tls_cert=" + certs->server_cert,
                                       "--tls_key=" + certs->server_key,
                                       "--tls_client_ca=" + certs->ca_cert}));
  const std::string ca = "--screening_tls_ca=" + certs->ca_cert;
  gateway_ = StartGateway({"--screening_service=" + daemon_->address(),
                           "--insecure_no_auth", ca,
                           "--screening_tls_cert=" + certs->client_cert,
                           "--screening_tls_key=" + certs->client_key});
  ASSERT_NE(gateway_, nullptr);
  EXPECT_THAT(gateway_->output(), HasSubstr("event=screening_channel"));
  EXPECT_THAT(gateway_->output(), HasSubstr("tls=mutual"));
  base_ = "http://" + gateway_->address();
  const std::string hook = ReadFile(needlecheck::testing::SourcePath(
      "deploy/examples/cds-hooks-order-sign.json"));
  ASSERT_FALSE(hook.empty());
  HttpResult r = Post("microneedling-safety", hook);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json cards = Json::parse(r.body);
  EXPECT_THAT(ValidateCdsResponse(cards), IsEmpty());
  EXPECT_FALSE(cards["cards"].empty()) << r.body;

  // The CA alone: needlecheckd refuses the handshake, the hook call is 503.
  gateway_ = StartGateway({"--screening_service=" + daemon_->address(),
                           "--insecure_no_auth", ca, "--rpc_timeout=5s"});
  ASSERT_NE(gateway_, nullptr);
  base_ = "http://" + gateway_->address();
  r = Post("microneedling-safety", hook);
  EXPECT_EQ(r.status, 503) << r.body;

  // A bad TLS file: no start.
  auto refused =
      ServerProcess::Spawn(gateway_binary_,
                           {"--listen=127.0.0.1:0", "--insecure_no_auth",
                            "--screening_tls_ca=" + certs->client_key},
                           ServerProcess::Options());
  ASSERT_THAT(refused, IsOk());
  absl::StatusOr<int> code = (*refused)->WaitForExit();
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT((*refused)->output(),
              HasSubstr("--screening_tls_ca " + certs->client_key +
                        ": holds no PEM certificate"));
  EXPECT_THAT((*refused)->output(), ::testing::Not(HasSubstr("listening on")));
}

// Plaintext gRPC to a needlecheckd that is not on loopback is allowed but
// said at start-up (the channel connects lazily: nothing is dialled here).
TEST_F(CdsHooksIntegrationTest, PlaintextScreeningOffLoopbackWarns) {
  gateway_ = StartGateway(
      {"--screening_service=192.0.2.1:50051", "--insecure_no_auth"});
  ASSERT_NE(gateway_, nullptr);
  EXPECT_THAT(gateway_->output(),
              HasSubstr("WARNING: plaintext gRPC to "
                        "--screening_service=192.0.2.1:50051"));
  EXPECT_THAT(gateway_->output(), HasSubstr("tls=off"));
}

}  // namespace
}  // namespace needlecheck::cds_hooks
