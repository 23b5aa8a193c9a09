// The real needlecheck-cds-hooks (and needlecheckd where cards are needed)
// on 127.0.0.1:0 against fake FHIR servers run by this test
// (fake_fhir_server.h), over real HTTP:
//   - a fhirServer outside --fhir_server_allow is never contacted, and the
//     token never reaches it (directly, by redirect or by a page link);
//   - a server that never answers is cut at --hook_deadline (the call
//     returns within the deadline plus a generous margin, also with 20
//     such calls at once);
//   - an endless or many-paged answer is cut at --fhir_fetch_max_bytes, and
//     the gateway's peak memory stays small;
//   - refused port, closed connection, HTTP 500, timeout and "not allowed"
//     give byte-identical 412 bodies;
//   - POSTs need Content-Type application/json (415), feedback batches are
//     capped (--max_feedback_items);
//   - no caller-chosen string (hookInstance, jti, kid, fhirServer) appears
//     in the gateway's log.
// Timing bounds are the ones the task pins (deadline + margin), with
// margins for a slow, busy machine.
#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/adapters/cds_hooks/fake_fhir_server.h"
#include "tests/adapters/cds_hooks/jwt_signer.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::cds_hooks::testing::Behavior;
using ::needlecheck::cds_hooks::testing::FakeFhirServer;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Json = nlohmann::json;

constexpr char kToken[] = "ehr-access-token-3c9d1e";

struct HttpResult {
  long status = 0;
  std::string body;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// POST (or GET when body is empty and method says so) with the given
// headers; without a Content-Type header libcurl sends
// application/x-www-form-urlencoded.
HttpResult Http(const std::string& method, const std::string& url,
                const std::string& body,
                const std::vector<std::string>& headers) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const std::string& h : headers) {
    list = curl_slist_append(list, h.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

// An order-sign for a microneedling session whose prefetch lacks
// `allergies`, so the gateway must fetch it from `fhir_server`.
Json NeedsFetching(const std::string& fhir_server,
                   const std::string& hook_instance = "h-fetch") {
  Json empty = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  Json order = {{"resourceType", "ServiceRequest"},
                {"id", "sr1"},
                {"status", "draft"},
                {"intent", "order"},
                {"code", {{"text", "Microneedling"}}},
                {"subject", {{"reference", "Patient/p1"}}},
                {"occurrenceDateTime", "2026-12-01"},
                {"bodySite", Json::array({{{"text", "Cheeks"}}})}};
  return {{"hook", "order-sign"},
          {"hookInstance", hook_instance},
          {"fhirServer", fhir_server},
          {"fhirAuthorization",
           {{"access_token", kToken},
            {"token_type", "Bearer"},
            {"expires_in", 30},
            {"scope", "patient/*.read"},
            {"subject", "needlecheck"},
            {"patient", "p1"}}},
          {"context",
           {{"userId", "Practitioner/u1"},
            {"patientId", "p1"},
            {"draftOrders",
             {{"resourceType", "Bundle"},
              {"type", "collection"},
              {"entry", Json::array({{{"resource", order}}})}}}}},
          {"prefetch",
           {{"patient", {{"resourceType", "Patient"}, {"id", "p1"}}},
            {"conditions", empty},
            {"medicationRequests", empty},
            {"medicationStatements", empty},
            {"procedures", empty},
            {"observations", empty}}}};
}

std::unique_ptr<FakeFhirServer> Fake(Behavior behavior,
                                     FakeFhirServer::Options options = {}) {
  options.behavior = behavior;
  auto server = FakeFhirServer::Start(options);
  EXPECT_THAT(server, IsOk());
  return server.ok() ? std::move(server).value() : nullptr;
}

// Peak resident memory of a process, in KiB (VmHWM); -1 if unknown.
int64_t PeakRssKib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      int64_t kib = -1;
      std::istringstream fields(line.substr(6));
      fields >> kib;
      return kib;
    }
  }
  return -1;
}

class CdsHooksFhirFetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void StartDaemon() {
    const std::string dir = absl::StrCat(
        ::testing::TempDir(), "/cds_hooks_fetch_", getpid(), "_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir.c_str(), 0700);
    auto process =
        ServerProcess::Start(BinaryPath("service/needlecheckd"),
                             {"--listen=127.0.0.1:0", "--data_dir=" + dir});
    ASSERT_THAT(process, IsOk());
    daemon_ = std::move(process).value();
  }

  // The gateway without JWT, allowing http to loopback for the fakes;
  // needlecheckd only when StartDaemon() ran (else a port nobody serves:
  // the calls here end before Screen).
  void StartGateway(const std::vector<std::string>& allow,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0",
        "--screening_service=" +
            (daemon_
                 ? daemon_->address()
                 : absl::StrCat("127.0.0.1:", testing::ClosedLoopbackPort())),
        "--insecure_no_auth", "--fhir_server_allow_insecure_loopback",
        "--fhir_server_allow=" + absl::StrJoin(allow, ",")};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = ServerProcess::Start(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"), args);
    ASSERT_THAT(process, IsOk());
    gateway_ = std::move(process).value();
    base_ = "http://" + gateway_->address();
  }

  HttpResult Post(const std::string& path, const std::string& body,
                  std::vector<std::string> headers = {
                      "Content-Type: application/json"}) {
    return Http("POST", base_ + path, body, headers);
  }

  HttpResult Hook(const Json& request) {
    return Post("/cds-services/microneedling-safety", request.dump());
  }

  std::unique_ptr<ServerProcess> daemon_;
  std::unique_ptr<ServerProcess> gateway_;
  std::string base_;
};

TEST_F(CdsHooksFhirFetchTest, AllowedServerGetsTheTokenAndTheCallSucceeds) {
  StartDaemon();
  auto ehr = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(ehr, nullptr);
  StartGateway({ehr->base()});
  HttpResult r = Hook(NeedsFetching(ehr->base() + "/"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ehr->requests(), 1);
  EXPECT_THAT(ehr->targets(),
              ::testing::ElementsAre("/fhir/AllergyIntolerance?patient=p1"));
  EXPECT_THAT(ehr->authorizations(), Each(absl::StrCat("Bearer ", kToken)));
}

TEST_F(CdsHooksFhirFetchTest, ServerOutsideTheAllowListIsNeverContacted) {
  auto allowed = Fake(Behavior::kEmptyBundle);
  auto other = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(allowed, nullptr);
  ASSERT_NE(other, nullptr);
  StartGateway({allowed->base()});
  const std::string other_port = std::to_string(other->port());
  for (const std::string& server : {
           other->base(),
           "http://127.0.0.1:" + other_port + "/",
           "http://localhost:" + other_port + "/fhir",
           "http://127.1:" + other_port + "/fhir",
           "http://[::ffff:127.0.0.1]:" + other_port + "/fhir",
           "http://127.0.0.1:" + other_port + "@" + allowed->base().substr(7),
           allowed->base() + "x",
           allowed->base() + "/../other",
           allowed->base() + "/%2e%2e/other",
       }) {
    SCOPED_TRACE(server);
    HttpResult r = Hook(NeedsFetching(server));
    EXPECT_EQ(r.status, 412) << r.body;
  }
  EXPECT_EQ(other->requests(), 0);
  EXPECT_EQ(allowed->requests(), 0);
}

TEST_F(CdsHooksFhirFetchTest, RedirectsAndPageLinksDoNotCarryTheToken) {
  auto elsewhere = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(elsewhere, nullptr);
  FakeFhirServer::Options redirect;
  redirect.redirect_to = elsewhere->base() + "/AllergyIntolerance";
  auto redirecting = Fake(Behavior::kRedirect, redirect);
  ASSERT_NE(redirecting, nullptr);
  StartGateway({redirecting->base()});
  HttpResult r = Hook(NeedsFetching(redirecting->base()));
  EXPECT_EQ(r.status, 412) << r.body;
  EXPECT_EQ(redirecting->requests(), 1);
  // A next link in the client's prefetch pointing elsewhere.
  Json j = NeedsFetching(redirecting->base());
  j["prefetch"]["procedures"]["link"] = Json::array(
      {{{"relation", "next"},
        {"url", elsewhere->base() + "/Procedure?patient=p1&page=2"}}});
  r = Hook(j);
  EXPECT_EQ(r.status, 412) << r.body;
  EXPECT_EQ(elsewhere->requests(), 0);
  EXPECT_THAT(elsewhere->authorizations(), IsEmpty());
}

TEST_F(CdsHooksFhirFetchTest, HangingServerIsCutAtTheHookDeadline) {
  auto hanging = Fake(Behavior::kHang);
  ASSERT_NE(hanging, nullptr);
  StartGateway({hanging->base()}, {"--hook_deadline=2s", "--fhir_timeout=60s"});
  const absl::Time start = absl::Now();
  HttpResult r = Hook(NeedsFetching(hanging->base()));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status, 412) << r.body;
  EXPECT_EQ(hanging->requests(), 1);
  EXPECT_LT(took, absl::Seconds(2) + absl::Seconds(8)) << took;

  // Twenty at once: each ends by its own deadline; the gateway still
  // answers afterwards.
  std::vector<std::thread> callers;
  std::vector<HttpResult> results(20);
  const absl::Time batch_start = absl::Now();
  for (size_t i = 0; i < results.size(); ++i) {
    callers.emplace_back(
        [&, i] { results[i] = Hook(NeedsFetching(hanging->base())); });
  }
  for (std::thread& t : callers) t.join();
  const absl::Duration batch = absl::Now() - batch_start;
  // 412 (cut at the deadline), or 503 should the HTTP server shed load
  // beyond its connection limit: never a hang.
  for (const HttpResult& result : results) {
    EXPECT_TRUE(result.status == 412 || result.status == 503) << result.status;
  }
  // 16 worker threads: at most two rounds of 2 s, plus margin.
  EXPECT_LT(batch, absl::Seconds(4) + absl::Seconds(12)) << batch;
  EXPECT_EQ(Http("GET", base_ + "/cds-services", "", {}).status, 200);
}

TEST_F(CdsHooksFhirFetchTest, EndlessAnswerIsCutAtTheByteBudget) {
  FakeFhirServer::Options endless;
  endless.endless_limit = size_t{1} << 30;
  auto huge = Fake(Behavior::kEndless, endless);
  ASSERT_NE(huge, nullptr);
  StartGateway({huge->base()}, {"--fhir_fetch_max_bytes=1048576",
                                "--hook_deadline=30s", "--fhir_timeout=30s"});
  const int64_t rss_before = PeakRssKib(gateway_->pid());
  HttpResult r = Hook(NeedsFetching(huge->base()));
  EXPECT_EQ(r.status, 412) << r.body;
  // The transfer was aborted near the budget, far from the 1 GiB offered
  // (socket buffers hold a few MiB at most).
  EXPECT_LT(huge->bytes_sent(), size_t{64} << 20);
  const int64_t rss_after = PeakRssKib(gateway_->pid());
  ASSERT_GT(rss_after, 0);
  EXPECT_LT(rss_after - rss_before, 64 * 1024)
      << "peak RSS grew from " << rss_before << " KiB to " << rss_after;
}

TEST_F(CdsHooksFhirFetchTest, ManyPagesStopAtTheByteBudget) {
  FakeFhirServer::Options paged;
  paged.page_bytes = 600 << 10;
  auto pages = Fake(Behavior::kPaged, paged);
  ASSERT_NE(pages, nullptr);
  StartGateway({pages->base()}, {"--fhir_fetch_max_bytes=1048576"});
  HttpResult r = Hook(NeedsFetching(pages->base()));
  EXPECT_EQ(r.status, 412) << r.body;
  // Page 1 fits, page 2 overflows the budget: nothing after it is asked.
  EXPECT_EQ(pages->requests(), 2);
}

TEST_F(CdsHooksFhirFetchTest, OneBodyForEveryFailure) {
  auto closing = Fake(Behavior::kCloseAtOnce);
  auto failing = Fake(Behavior::kStatus500);
  auto hanging = Fake(Behavior::kHang);
  auto not_allowed = Fake(Behavior::kEmptyBundle);
  ASSERT_TRUE(closing && failing && hanging && not_allowed);
  const std::string refused =
      absl::StrCat("http://127.0.0.1:", testing::ClosedLoopbackPort(), "/fhir");
  StartGateway({refused, closing->base(), failing->base(), hanging->base()},
               {"--hook_deadline=2s"});
  std::vector<std::string> bodies;
  for (const std::string& server :
       {refused, closing->base(), failing->base(), hanging->base(),
        not_allowed->base(), std::string("https://ehr.invalid/fhir")}) {
    SCOPED_TRACE(server);
    HttpResult r = Hook(NeedsFetching(server));
    EXPECT_EQ(r.status, 412);
    bodies.push_back(r.body);
  }
  EXPECT_THAT(bodies, Each(bodies[0]));
  EXPECT_THAT(bodies[0], HasSubstr("OperationOutcome"));
  EXPECT_EQ(not_allowed->requests(), 0);
  EXPECT_EQ(closing->requests(), 1);
  EXPECT_EQ(failing->requests(), 1);
  // The log says why, per call.
  const std::string log = gateway_->output();
  EXPECT_THAT(log, HasSubstr("reason=fhir-server-not-allowed"));
  EXPECT_THAT(log, HasSubstr("reason=fetch code=UNAVAILABLE"));
  EXPECT_THAT(log, HasSubstr("reason=fetch code=DEADLINE_EXCEEDED"));
  EXPECT_THAT(log, Not(HasSubstr(kToken)));
}

TEST_F(CdsHooksFhirFetchTest, PostsNeedJsonAndFeedbackBatchesAreCapped) {
  StartGateway({}, {"--max_feedback_items=2"});
  const std::string body = NeedsFetching("https://ehr.example.org/fhir").dump();
  for (const std::vector<std::string>& headers :
       std::vector<std::vector<std::string>>{
           {}, {"Content-Type: text/plain"}, {"Content-Type: text/json"}}) {
    HttpResult r = Post("/cds-services/microneedling-safety", body, headers);
    EXPECT_EQ(r.status, 415) << r.body;
    EXPECT_THAT(r.body, HasSubstr("OperationOutcome"));
    EXPECT_EQ(Post("/cds-services/microneedling-safety/feedback", "{}", headers)
                  .status,
              415);
  }
  Json item = {{"card", "c1"},
               {"outcome", "overridden"},
               {"outcomeTimestamp", "2026-11-17T10:00:00Z"}};
  HttpResult r =
      Post("/cds-services/microneedling-safety/feedback",
           Json{{"feedback", Json::array({item, item, item})}}.dump(),
           {"Content-Type: application/json; charset=UTF-8"});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("limit of 2"));
}

TEST_F(CdsHooksFhirFetchTest, CallerStringsStayOutOfTheLog) {
  StartDaemon();
  auto ehr = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(ehr, nullptr);
  auto key = testing::TestKey::Generate("EC", "ehr-key-1");
  const std::string jwks =
      absl::StrCat(::testing::TempDir(), "/fetch_jwks_", getpid(), ".json");
  {
    std::ofstream out(jwks);
    out << Json{{"keys", Json::array({key->PublicJwk()})}}.dump();
  }
  auto process = ServerProcess::Start(
      BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"),
      {"--listen=127.0.0.1:0", "--screening_service=" + daemon_->address(),
       "--jwks_file=" + jwks, "--trusted_issuers=https://ehr.example.org",
       "--audience=https://cds.example.org",
       "--fhir_server_allow_insecure_loopback",
       "--fhir_server_allow=" + ehr->base()});
  ASSERT_THAT(process, IsOk());
  gateway_ = std::move(process).value();
  base_ = "http://" + gateway_->address();
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string aud =
      "https://cds.example.org/cds-services/microneedling-safety";
  auto bearer = [&](const std::string& kid, const std::string& jti) {
    return "Authorization: Bearer " +
           key->Sign({{"alg", "ES384"}, {"typ", "JWT"}, {"kid", kid}},
                     testing::Claims("https://ehr.example.org", aud, now,
                                     now + 300, jti));
  };
  const std::string canary_instance = "canary-hook-instance-7f3a9e";
  HttpResult ok = Post("/cds-services/microneedling-safety",
                       NeedsFetching(ehr->base(), canary_instance).dump(),
                       {"Content-Type: application/json",
                        bearer("ehr-key-1", "canary-jti-5d2e")});
  EXPECT_EQ(ok.status, 200) << ok.body;
  HttpResult refused_server =
      Post("/cds-services/microneedling-safety",
           NeedsFetching("https://canary-host-a41.example/fhir?canary-query=1",
                         canary_instance)
               .dump(),
           {"Content-Type: application/json",
            bearer("ehr-key-1", "canary-jti-6e3f")});
  EXPECT_EQ(refused_server.status, 412);
  HttpResult bad_kid = Post("/cds-services/microneedling-safety",
                            NeedsFetching(ehr->base(), canary_instance).dump(),
                            {"Content-Type: application/json",
                             bearer("canary-kid-88b1", "canary-jti-7a4b")});
  EXPECT_EQ(bad_kid.status, 401);
  HttpResult bad_method = Http("CANARYMETHOD", base_ + "/cds-services", "", {});
  EXPECT_NE(bad_method.status, 200);
  ASSERT_TRUE(gateway_->WaitForOutput("reason=\"unknown key id\""));
  const std::string log = gateway_->output();
  EXPECT_THAT(log, HasSubstr("hook_instance_sha="));
  EXPECT_THAT(log, HasSubstr("jti_sha="));
  for (const char* canary :
       {"canary-hook-instance", "canary-jti", "canary-kid", "canary-host",
        "canary-query", "CANARYMETHOD", kToken}) {
    EXPECT_THAT(log, Not(HasSubstr(canary)));
  }
}

TEST_F(CdsHooksFhirFetchTest, BadAllowListRefusesToStart) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {"--fhir_server_allow=http://ehr.example.org/fhir"},
           {"--fhir_server_allow=http://127.0.0.1:8080/fhir"},
           {"--fhir_server_allow=https://user@ehr.example.org/fhir"},
           {"--fhir_server_allow=https://ehr.example.org/fhir?x=1"},
           {"--fhir_server_allow_insecure_loopback",
            "--fhir_server_allow=http://localhost:8080/fhir"},
           {"--hook_deadline=0s"},
           {"--fhir_fetch_max_bytes=0"},
           {"--max_feedback_items=0"}}) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--insecure_no_auth"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto process = ServerProcess::Spawn(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"), args, {});
    ASSERT_THAT(process, IsOk());
    absl::StatusOr<int> code = (*process)->WaitForExit();
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 2) << absl::StrJoin(flags, " ");
  }
}

}  // namespace
}  // namespace needlecheck::cds_hooks
