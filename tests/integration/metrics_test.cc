// --metrics_listen on the real needlecheckd and needlecheck-cds-hooks:
// scrape GET /metrics after Screen, feedback and hook calls; check the
// counts, that every histogram is consistent (_count == +Inf bucket,
// buckets non-decreasing), that `promtool check metrics` accepts the output,
// and that no patient id, name, request id or alert id ever appears in it.
#include <curl/curl.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/adapters/cds_hooks/fake_fhir_server.h"
#include "tests/adapters/cds_hooks/jwt_signer.h"
#include "tests/integration/ledger_client.h"
#include "tests/testing/http_request.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::Http;
using ::needlecheck::testing::HttpResult;

using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::ServerProcess;
using Json = nlohmann::json;
using Client = ::needlecheck::testing::LedgerClient;
using TempDir = ::needlecheck::testing::ScopedTempDir;

constexpr char kPatientCanary[] =
    "PATIENT-SECRET-LEDGER-0001";  // AlertingRequest
constexpr char kGatewayPatient[] = "CANARY-PATIENT-7F3A";
constexpr char kPatientName[] = "Canarywood";
constexpr char kRequestCanary[] = "REQUEST-CANARY-91B2";
constexpr char kUserCanary[] = "Practitioner/CANARY-USER-55";
constexpr char kScreen[] = "/needlecheck.v1.ScreeningService/Screen";
constexpr char kFeedback[] = "/needlecheck.v1.ScreeningService/RecordFeedback";

// The metrics URL a process printed ("... metrics at http://H:P/metrics").
std::string MetricsUrl(ServerProcess& process) {
  EXPECT_TRUE(process.WaitForOutput("/metrics\n"));
  const std::string out = process.output();
  const size_t at = out.find("metrics at http://");
  if (at == std::string::npos) return "";
  const size_t start = at + std::string("metrics at ").size();
  return out.substr(start, out.find('\n', start) - start);
}

// Sample lines -> value, keyed by "name{labels}" exactly as printed.
std::map<std::string, double> Parse(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &v)) << line;
    samples[std::string(line.substr(0, space))] = v;
  }
  return samples;
}

double Get(const std::map<std::string, double>& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? -1 : it->second;
}

// Every histogram series: buckets non-decreasing in the order printed,
// the +Inf bucket equal to _count, _sum >= 0. Returns how many it checked.
int CheckHistograms(const std::string& text) {
  const std::map<std::string, double> s = Parse(text);
  int checked = 0;
  std::map<std::string, double> last_bucket;  // by series without le
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const std::string key(line.substr(0, line.rfind(' ')));
    const size_t b = key.find("_bucket{");
    if (b == std::string::npos) continue;
    const size_t le = key.find("le=\"");
    const std::string name = key.substr(0, b);
    std::string labels = key.substr(b + 8, le - (b + 8));  // "a=..,"
    if (!labels.empty() && labels.back() == ',') labels.pop_back();
    const std::string series =
        labels.empty() ? name : absl::StrCat(name, "{", labels, "}");
    const double v = s.at(key);
    if (last_bucket.count(series)) {
      EXPECT_GE(v, last_bucket[series]) << key;
    }
    last_bucket[series] = v;
    if (absl::EndsWith(key, "le=\"+Inf\"}")) {
      const std::string suffix = labels.empty() ? "" : "{" + labels + "}";
      EXPECT_EQ(v, Get(s, name + "_count" + suffix)) << key;
      EXPECT_GE(Get(s, name + "_sum" + suffix), 0) << key;
      ++checked;
    }
  }
  return checked;
}

// `promtool check metrics` on `text`: its exit code and output.
void ExpectPromtoolAccepts(const std::string& text) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    if (std::getenv("CI") != nullptr) {
      FAIL() << "promtool (Debian package prometheus) is not installed";
    }
    GTEST_SKIP() << "promtool (Debian package prometheus) is not installed";
  }
  TempDir dir;
  const std::string file = dir.path() + "/metrics.txt";
  std::ofstream(file) << text;
  const std::string command =
      absl::StrCat("promtool check metrics < ", file, " > ", file, ".out 2>&1");
  const int rc = std::system(command.c_str());
  std::ifstream in(file + ".out");
  const std::string out((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << out;
}

void ExpectNoCanary(const std::string& text,
                    const std::vector<std::string>& canaries) {
  for (const std::string& c : canaries) {
    EXPECT_FALSE(absl::StrContains(text, c)) << c << " leaked into /metrics";
  }
}

class MetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  std::unique_ptr<ServerProcess> StartDaemon(const std::string& data_dir) {
    auto process = ServerProcess::Start(
        BinaryPath("service/needlecheckd"),
        {"--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
         "--data_dir=" + data_dir});
    EXPECT_TRUE(process.ok()) << process.status();
    return process.ok() ? *std::move(process) : nullptr;
  }

  std::unique_ptr<ServerProcess> StartGateway(const std::string& daemon,
                                              std::vector<std::string> extra) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--metrics_listen=127.0.0.1:0",
                                     "--screening_service=" + daemon};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = ServerProcess::Start(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"), args);
    EXPECT_TRUE(process.ok()) << process.status();
    return process.ok() ? *std::move(process) : nullptr;
  }
};

TEST_F(MetricsTest, NeedlecheckdCountsCallsAlertsFeedbackAndLedger) {
  TempDir data;
  std::unique_ptr<ServerProcess> daemon = StartDaemon(data.path());
  ASSERT_NE(daemon, nullptr);
  const std::string url = MetricsUrl(*daemon);
  ASSERT_FALSE(url.empty()) << daemon->output();
  Client client(daemon->address());

  std::vector<std::string> alert_ids;
  for (int i = 0; i < 3; ++i) {
    needlecheck::v1::ScreenResponse response;
    ASSERT_TRUE(client
                    .Screen(testing::AlertingRequest(
                                absl::StrCat(kRequestCanary, "-", i)),
                            &response)
                    .ok());
    ASSERT_GT(response.alerts_size(), 0);
    for (const auto& a : response.alerts()) alert_ids.push_back(a.alert_id());
  }
  needlecheck::v1::ScreenResponse unused;
  EXPECT_EQ(
      client.Screen(needlecheck::v1::ScreenRequest(), &unused).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  // A fourth screening, then feedback on its first alert twice (the repeat
  // is a duplicate), and on an alert the ledger never issued.
  needlecheck::v1::RecordFeedbackResponse ack;
  needlecheck::v1::ScreenResponse last;
  ASSERT_TRUE(client.Screen(testing::AlertingRequest("x"), &last).ok());
  ASSERT_TRUE(
      client
          .RecordFeedback(testing::Feedback(last.alerts(0).alert_id(), false,
                                            "2026-12-01T10:00:00Z"),
                          &ack)
          .ok());
  ASSERT_TRUE(
      client
          .RecordFeedback(testing::Feedback(last.alerts(0).alert_id(), false,
                                            "2026-12-01T10:00:00Z"),
                          &ack)
          .ok());
  EXPECT_TRUE(ack.duplicate());
  EXPECT_EQ(client
                .RecordFeedback(
                    testing::Feedback("00000000-0000-4000-8000-000000000000",
                                      true, "2026-12-01T10:00:00Z"),
                    &ack)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  needlecheck::v1::KnowledgeBase kb;
  ASSERT_TRUE(client.GetKnowledgeBase(&kb).ok());

  // The ledger commits within its 200 ms window; wait (bounded) for it.
  std::string text;
  std::map<std::string, double> s;
  for (int i = 0; i < 600; ++i) {
    HttpResult r = Http("GET", url);
    ASSERT_EQ(r.status, 200);
    EXPECT_THAT(r.headers, ::testing::HasSubstr(
                               "text/plain; version=0.0.4; charset=utf-8"));
    text = r.body;
    s = Parse(text);
    if (Get(s, "needlecheck_ledger_screenings_committed_total") == 4 &&
        Get(s, "needlecheck_ledger_flush_seconds_count") >= 1) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  const auto rpc = [&](const std::string& method, const std::string& code) {
    return Get(s, absl::StrCat("needlecheck_rpc_server_handled_total{method=\"",
                               method, "\",code=\"", code, "\"}"));
  };
  EXPECT_EQ(rpc(kScreen, "OK"), 4) << text;
  EXPECT_EQ(rpc(kScreen, "INVALID_ARGUMENT"), 1);
  EXPECT_EQ(rpc(kFeedback, "OK"), 2);
  EXPECT_EQ(rpc(kFeedback, "NOT_FOUND"), 1);
  EXPECT_EQ(rpc("/needlecheck.v1.ScreeningService/GetKnowledgeBase", "OK"), 1);
  EXPECT_EQ(Get(s, absl::StrCat("needlecheck_rpc_server_handling_seconds_count"
                                "{method=\"",
                                kScreen, "\"}")),
            5);
  int per_screen = 0;
  for (const auto& a : last.alerts()) {
    if (a.rule_id() == last.alerts(0).rule_id()) ++per_screen;
  }
  const std::string severity = absl::AsciiStrToLower(absl::StripPrefix(
      needlecheck::v1::Severity_Name(last.alerts(0).severity()), "SEVERITY_"));
  EXPECT_EQ(Get(s, absl::StrCat("needlecheck_alerts_issued_total{rule_id=\"",
                                last.alerts(0).rule_id(), "\",severity=\"",
                                severity, "\"}")),
            4 * per_screen);
  EXPECT_EQ(Get(s, absl::StrCat("needlecheck_feedback_total{rule_id=\"",
                                last.alerts(0).rule_id(),
                                "\",outcome=\"accepted\"}")),
            1);
  EXPECT_EQ(Get(s, "needlecheck_ledger_screenings_queued_total"), 4);
  EXPECT_EQ(Get(s, "needlecheck_ledger_screenings_committed_total"), 4);
  EXPECT_EQ(Get(s, "needlecheck_ledger_screenings_refused_total"), 0);
  EXPECT_EQ(Get(s, "needlecheck_ledger_batch_write_failures_total"), 0);
  EXPECT_EQ(Get(s, "needlecheck_ledger_feedback_recorded_total"), 1);
  EXPECT_EQ(Get(s, "needlecheck_ledger_feedback_duplicates_total"), 1);
  EXPECT_EQ(Get(s, "needlecheck_ledger_queue_depth"), 0);
  EXPECT_EQ(Get(s, "needlecheck_ledger_writes_failing"), 0);
  EXPECT_GE(Get(s, "needlecheck_ledger_flush_seconds_count"), 1);
  EXPECT_EQ(Get(s, absl::StrCat("needlecheck_knowledge_base_info{version=\"",
                                kb.version(), "\"}")),
            1);
  EXPECT_TRUE(absl::StrContains(text, "needlecheck_build_info{version=\""));
  EXPECT_GE(CheckHistograms(text), 4);  // 3 methods + the ledger's flush
  std::vector<std::string> canaries = {kPatientCanary, kRequestCanary,
                                       testing::kLedgerCommentSecret};
  for (const std::string& id : alert_ids) canaries.push_back(id);
  ExpectNoCanary(text, canaries);
  ExpectPromtoolAccepts(text);

  // Only GET /metrics is served.
  EXPECT_EQ(
      Http("GET", absl::StrReplaceAll(url, {{"/metrics", "/other"}})).status,
      404);
  EXPECT_EQ(Http("DELETE", url).status, 501);  // evhttp: not allowed
}

// A CDS Hooks request for `patient_id` whose prefetch holds active atopic
// dermatitis (an alert, so a card to give feedback on). `missing_key`: a
// prefetch key left out; `fhir_server`: the fhirServer to fetch it from.
Json OrderSign(const std::string& missing_key,
               const std::string& fhir_server = "") {
  const std::string patient = kGatewayPatient;
  Json empty = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  Json conditions = empty;
  conditions["entry"] = Json::array(
      {{{"resource",
         {{"resourceType", "Condition"},
          {"id", "c1"},
          {"clinicalStatus",
           {{"coding", Json::array({{{"system",
                                      "http://terminology.hl7.org/CodeSystem/"
                                      "condition-clinical"},
                                     {"code", "active"}}})}}},
          {"code",
           {{"coding", Json::array({{{"system", "http://snomed.info/sct"},
                                     {"code", "24079001"},
                                     {"display", "Atopic dermatitis"}}})}}},
          {"subject", {{"reference", "Patient/" + patient}}},
          {"onsetDateTime", "2026-01-10"}}}}});
  Json prefetch = {
      {"patient",
       {{"resourceType", "Patient"},
        {"id", patient},
        {"name", Json::array({{{"family", kPatientName},
                               {"given", Json::array({"Zed"})}}})}}},
      {"conditions", conditions},
      {"allergies", empty},
      {"medicationRequests", empty},
      {"medicationStatements", empty},
      {"procedures", empty},
      {"observations", empty}};
  if (!missing_key.empty()) prefetch.erase(missing_key);
  Json order = {
      {"resourceType", "ServiceRequest"},
      {"id", "mn-order-1"},
      {"status", "draft"},
      {"intent", "order"},
      {"code", {{"text", "Microneedling (collagen induction therapy)"}}},
      {"subject", {{"reference", "Patient/" + patient}}},
      {"occurrenceDateTime", "2026-12-01T10:00:00Z"},
      {"bodySite", Json::array({{{"text", "Full face"}}})}};
  Json request = {{"hook", "order-sign"},
                  {"hookInstance", kRequestCanary},
                  {"context",
                   {{"userId", kUserCanary},
                    {"patientId", patient},
                    {"draftOrders",
                     {{"resourceType", "Bundle"},
                      {"type", "collection"},
                      {"entry", Json::array({{{"resource", order}}})}}}}},
                  {"prefetch", prefetch}};
  if (!fhir_server.empty()) {
    request["fhirServer"] = fhir_server;
    request["fhirAuthorization"] = {{"access_token", "TOKEN-CANARY-1"},
                                    {"token_type", "Bearer"},
                                    {"expires_in", 300},
                                    {"scope", "patient/*.read"},
                                    {"subject", "cds"}};
  }
  return request;
}

TEST_F(MetricsTest, GatewayCountsRequestsPrefetchAndFeedback) {
  TempDir data;
  std::unique_ptr<ServerProcess> daemon = StartDaemon(data.path());
  ASSERT_NE(daemon, nullptr);
  std::unique_ptr<ServerProcess> gateway =
      StartGateway(daemon->address(), {"--insecure_no_auth"});
  ASSERT_NE(gateway, nullptr);
  const std::string daemon_url = MetricsUrl(*daemon);
  const std::string url = MetricsUrl(*gateway);
  ASSERT_FALSE(url.empty()) << gateway->output();
  const std::string base = "http://" + gateway->address();
  const std::string service = base + "/cds-services/microneedling-safety";

  EXPECT_EQ(Http("GET", base + "/cds-services").status, 200);
  HttpResult hook = Http("POST", service, OrderSign("").dump());
  ASSERT_EQ(hook.status, 200) << hook.body;
  EXPECT_EQ(Http("POST", service, OrderSign("conditions").dump()).status, 412);
  EXPECT_EQ(Http("POST", service,
                 OrderSign("conditions", "https://ehr.example.org/fhir").dump())
                .status,
            412);
  EXPECT_EQ(
      Http("POST", base + "/cds-services/" + kGatewayPatient, "{}").status,
      404);
  const Json cards = Json::parse(hook.body)["cards"];
  ASSERT_FALSE(cards.empty()) << hook.body;
  const std::string uuid = cards[0]["uuid"];
  const std::string rule = cards[0]["source"]["topic"]["code"];
  ASSERT_TRUE(cards[0].contains("overrideReasons")) << hook.body;
  Json feedback = {
      {"feedback",
       Json::array({{{"card", uuid},
                     {"outcome", "overridden"},
                     {"overrideReason",
                      {{"reason", cards[0]["overrideReasons"][0]},
                       {"userComment", "COMMENT-CANARY about Zed"}}},
                     {"outcomeTimestamp", "2026-12-01T10:05:31Z"}}})}};
  HttpResult fb = Http("POST", service + "/feedback", feedback.dump());
  EXPECT_EQ(fb.status, 200) << fb.body;

  const std::string text = Http("GET", url).body;
  const std::map<std::string, double> s = Parse(text);
  const auto requests = [&](const std::string& svc, const std::string& endpoint,
                            int status) {
    return Get(
        s, absl::StrCat("needlecheck_cds_hooks_requests_total{service=\"", svc,
                        "\",endpoint=\"", endpoint, "\",status=\"", status,
                        "\"}"));
  };
  EXPECT_EQ(requests("none", "discovery", 200), 1) << text;
  EXPECT_EQ(requests("microneedling-safety", "hook", 200), 1);
  EXPECT_EQ(requests("microneedling-safety", "hook", 412), 2);
  EXPECT_EQ(requests("none", "other", 404), 1);
  EXPECT_EQ(requests("microneedling-safety", "feedback", 200), 1);
  EXPECT_EQ(
      Get(s, "needlecheck_cds_hooks_request_seconds_count{endpoint=\"hook\"}"),
      3);
  EXPECT_EQ(Get(s, "needlecheck_cds_hooks_prefetch_total{result=\"complete\"}"),
            1);
  EXPECT_EQ(
      Get(s, "needlecheck_cds_hooks_prefetch_total{result=\"no_fhir_access\"}"),
      1);
  EXPECT_EQ(
      Get(s, "needlecheck_cds_hooks_prefetch_total{result=\"fetch_failed\"}"),
      1);
  EXPECT_TRUE(absl::StrContains(text, "needlecheck_build_info{version=\""));
  EXPECT_GE(CheckHistograms(text), 3);
  const std::vector<std::string> canaries = {
      kGatewayPatient,  kPatientName,      kRequestCanary, kUserCanary,
      "TOKEN-CANARY-1", "ehr.example.org", uuid,           "COMMENT-CANARY"};
  ExpectNoCanary(text, canaries);
  ExpectPromtoolAccepts(text);

  // needlecheckd saw the gateway's Screen and feedback, by rule.
  const std::string daemon_text = Http("GET", daemon_url).body;
  const std::map<std::string, double> d = Parse(daemon_text);
  EXPECT_EQ(Get(d, absl::StrCat("needlecheck_feedback_total{rule_id=\"", rule,
                                "\",outcome=\"overridden\"}")),
            1)
      << daemon_text;
  EXPECT_EQ(
      Get(d, absl::StrCat("needlecheck_rpc_server_handled_total{method=\"",
                          kScreen, "\",code=\"OK\"}")),
      1);
  EXPECT_GE(CheckHistograms(daemon_text), 2);
  ExpectNoCanary(daemon_text, canaries);
  ExpectPromtoolAccepts(daemon_text);
}

TEST_F(MetricsTest, GatewayCountsJwtRejectionsByReason) {
  TempDir data;
  std::unique_ptr<ServerProcess> daemon = StartDaemon(data.path());
  ASSERT_NE(daemon, nullptr);
  auto key = cds_hooks::testing::TestKey::Generate("EC", "ehr-key-1");
  TempDir keys;
  const std::string jwks = keys.path() + "/jwks.json";
  std::ofstream(jwks) << Json{{"keys", Json::array({key->PublicJwk()})}}.dump();
  std::unique_ptr<ServerProcess> gateway = StartGateway(
      daemon->address(),
      {"--jwks_file=" + jwks, "--trusted_issuers=https://ehr.example.org",
       "--audience=https://cds.example.org"});
  ASSERT_NE(gateway, nullptr);
  const std::string url = MetricsUrl(*gateway);
  const std::string service =
      "http://" + gateway->address() + "/cds-services/microneedling-safety";
  const std::string aud =
      "https://cds.example.org/cds-services/microneedling-safety";
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const auto bearer = [&](const std::string& audience, int64_t exp_offset,
                          const std::string& jti) {
    return "Authorization: Bearer " +
           key->Sign(
               {{"alg", key->alg()}, {"typ", "JWT"}, {"kid", "ehr-key-1"}},
               cds_hooks::testing::Claims("https://ehr.example.org", audience,
                                          now, now + exp_offset, jti));
  };
  const std::string body = OrderSign("").dump();
  EXPECT_EQ(Http("POST", service, body).status, 401);
  EXPECT_EQ(Http("POST", service, body, {"Authorization: Bearer x.y.z"}).status,
            401);
  EXPECT_EQ(Http("POST", service, body,
                 {bearer("https://elsewhere.example", 300, "j1")})
                .status,
            401);
  EXPECT_EQ(Http("POST", service, body, {bearer(aud, -120, "j2")}).status, 401);
  EXPECT_EQ(Http("POST", service, body, {bearer(aud, 300, "j3")}).status, 200);
  EXPECT_EQ(Http("POST", service, body, {bearer(aud, 300, "j3")}).status, 401);

  const std::string text = Http("GET", url).body;
  const std::map<std::string, double> s = Parse(text);
  const auto reason = [&](const std::string& r) {
    return Get(
        s, "needlecheck_cds_hooks_jwt_rejections_total{reason=\"" + r + "\"}");
  };
  EXPECT_EQ(reason("missing"), 1) << text;
  EXPECT_EQ(reason("malformed"), 1);
  EXPECT_EQ(reason("wrong_audience"), 1);
  EXPECT_EQ(reason("expired"), 1);
  EXPECT_EQ(reason("replayed"), 1);
  ExpectNoCanary(text, {kGatewayPatient, kPatientName, kRequestCanary, "j3"});
  ExpectPromtoolAccepts(text);
}

// One unary call with raw bytes as the request (grpc::GenericStub).
grpc::Status RawUnary(const std::shared_ptr<grpc::Channel>& channel,
                      const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  grpc::CompletionQueue cq;
  grpc::Slice slice(bytes);
  const grpc::ByteBuffer request(&slice, 1);
  auto call = stub.PrepareUnaryCall(&context, method, request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_EQ(cq.AsyncNext(&tag, &ok,
                         absl::ToChronoTime(absl::Now() + absl::Seconds(60))),
            grpc::CompletionQueue::GOT_EVENT);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(MetricsTest, EveryCallIsCountedOnceFailuresAndStreamsIncluded) {
  TempDir data;
  std::unique_ptr<ServerProcess> daemon = StartDaemon(data.path());
  ASSERT_NE(daemon, nullptr);
  const std::string url = MetricsUrl(*daemon);
  auto channel = grpc::CreateChannel(daemon->address(),
                                     grpc::InsecureChannelCredentials());
  // Bytes that are no ScreenRequest, and a method nobody registered.
  EXPECT_EQ(RawUnary(channel, kScreen, "\xff\xff\xff").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      RawUnary(
          channel,
          "/needlecheck.v1.ScreeningService/" + std::string(kPatientCanary), "")
          .error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  // A stream of two screenings: one call.
  auto stub = needlecheck::v1::ScreeningService::NewStub(channel);
  {
    grpc::ClientContext context;
    auto stream = stub->ScreenStream(&context);
    needlecheck::v1::ScreenResponse response;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(stream->Write(testing::AlertingRequest(kRequestCanary)));
      ASSERT_TRUE(stream->Read(&response));
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }
  // A stream the client cancels.
  {
    grpc::ClientContext context;
    auto stream = stub->ScreenStream(&context);
    needlecheck::v1::ScreenResponse response;
    ASSERT_TRUE(stream->Write(testing::AlertingRequest(kRequestCanary)));
    ASSERT_TRUE(stream->Read(&response));
    context.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  grpc::health::v1::HealthCheckResponse health;
  EXPECT_TRUE(Client(daemon->address()).Health("", &health).ok());

  const std::string stream_method =
      "/needlecheck.v1.ScreeningService/ScreenStream";
  const auto rpc = [](const std::map<std::string, double>& s,
                      const std::string& method, const std::string& code) {
    return Get(s, absl::StrCat("needlecheck_rpc_server_handled_total{method=\"",
                               method, "\",code=\"", code, "\"}"));
  };
  // The cancelled stream is counted when the server finishes it: wait
  // (bounded) for that.
  std::string text;
  std::map<std::string, double> s;
  for (int i = 0; i < 600; ++i) {
    text = Http("GET", url).body;
    s = Parse(text);
    if (rpc(s, stream_method, "CANCELLED") >= 1) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(rpc(s, kScreen, "INVALID_ARGUMENT"), 1) << text;
  EXPECT_EQ(rpc(s, stream_method, "OK"), 1);
  EXPECT_EQ(rpc(s, stream_method, "CANCELLED"), 1);
  EXPECT_EQ(rpc(s, "/grpc.health.v1.Health/Check", "OK"), 1);
  // 3 alerts-bearing screenings went through the backend.
  double alerts = 0;
  for (const auto& [key, value] : s) {
    if (absl::StartsWith(key, "needlecheck_alerts_issued_total{")) {
      alerts += value;
    }
  }
  EXPECT_GE(alerts, 3);
  // The unknown method is counted as "other", never under its own
  // (caller-chosen) name.
  EXPECT_EQ(rpc(s, "other", "UNIMPLEMENTED"), 1) << text;
  CheckHistograms(text);
  ExpectNoCanary(text, {kPatientCanary, kRequestCanary, "NoSuch"});
  ExpectPromtoolAccepts(text);
}

TEST_F(MetricsTest, GatewayCountsFhirFetchesByResult) {
  using ::needlecheck::cds_hooks::testing::Behavior;
  using ::needlecheck::cds_hooks::testing::FakeFhirServer;
  TempDir data;
  std::unique_ptr<ServerProcess> daemon = StartDaemon(data.path());
  ASSERT_NE(daemon, nullptr);
  FakeFhirServer::Options ok_options;
  auto ok = FakeFhirServer::Start(ok_options);
  ASSERT_TRUE(ok.ok()) << ok.status();
  FakeFhirServer::Options failing_options;
  failing_options.behavior = Behavior::kStatus500;
  auto failing = FakeFhirServer::Start(failing_options);
  ASSERT_TRUE(failing.ok()) << failing.status();
  std::unique_ptr<ServerProcess> gateway = StartGateway(
      daemon->address(),
      {"--insecure_no_auth", "--fhir_server_allow_insecure_loopback",
       "--fhir_server_allow=" + (*ok)->base() + "," + (*failing)->base()});
  ASSERT_NE(gateway, nullptr);
  const std::string url = MetricsUrl(*gateway);
  const std::string service =
      "http://" + gateway->address() + "/cds-services/microneedling-safety";
  EXPECT_EQ(Http("POST", service, OrderSign("conditions", (*ok)->base()).dump())
                .status,
            200);
  EXPECT_EQ(
      Http("POST", service, OrderSign("conditions", (*failing)->base()).dump())
          .status,
      412);
  const std::string text = Http("GET", url).body;
  const std::map<std::string, double> s = Parse(text);
  EXPECT_EQ(Get(s, "needlecheck_cds_hooks_fhir_fetches_total{result=\"ok\"}"),
            (*ok)->requests())
      << text;
  EXPECT_EQ(
      Get(s,
          "needlecheck_cds_hooks_fhir_fetches_total{result=\"unavailable\"}"),
      1);
  EXPECT_EQ(Get(s, "needlecheck_cds_hooks_prefetch_total{result=\"fetched\"}"),
            1);
  EXPECT_EQ(
      Get(s, "needlecheck_cds_hooks_prefetch_total{result=\"fetch_failed\"}"),
      1);
  ExpectNoCanary(text, {kGatewayPatient, kPatientName, "TOKEN-CANARY-1",
                        "127.0.0.1", "/fhir"});
  ExpectPromtoolAccepts(text);
}

TEST_F(MetricsTest, AMetricsAddressThatIsNotHostPortStopsTheStart) {
  TempDir data;
  auto daemon =
      ServerProcess::Spawn(BinaryPath("service/needlecheckd"),
                           {"--listen=127.0.0.1:0", "--metrics_listen=no-port",
                            "--data_dir=" + data.path()},
                           ServerProcess::Options());
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  EXPECT_EQ((*daemon)->WaitForExit().value_or(-1), 1);
  EXPECT_THAT((*daemon)->output(), ::testing::HasSubstr("is not HOST:PORT"));
  EXPECT_THAT((*daemon)->output(),
              ::testing::Not(::testing::HasSubstr("listening on")));
  auto gateway = ServerProcess::Spawn(
      BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"),
      {"--listen=127.0.0.1:0", "--insecure_no_auth",
       "--metrics_listen=no-port"},
      ServerProcess::Options());
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ((*gateway)->WaitForExit().value_or(-1), 2);
  EXPECT_THAT((*gateway)->output(), ::testing::HasSubstr("--metrics_listen"));
}

}  // namespace
}  // namespace needlecheck
