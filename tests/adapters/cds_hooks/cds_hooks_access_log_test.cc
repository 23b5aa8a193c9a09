// The access-audit trail through the real gateway: needlecheckd, the real
// needlecheck-cds-hooks with JWT verification, and a fake FHIR server the
// gateway must fetch from, all on 127.0.0.1. A hook call leaves in
// needlecheckd's trail (read back with GetAccessLog):
//   - a FhirFetch record per URL the gateway read, query values stripped,
//     with the JWT iss/sub/tenant and the hook's userId;
//   - the Screen record with the same identity and the EHR's trace id;
// and feedback through the gateway leaves a RecordFeedback record with the
// JWT identity and the alert's patient. No timing assertions.
#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
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
using ::testing::StartsWith;
using Json = nlohmann::json;

constexpr char kIssuer[] = "https://ehr.example.org";
constexpr char kAudience[] = "https://cds.example.org";
constexpr char kTraceparent[] =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr char kTraceId[] = "0af7651916cd43dd8448eb211c80319c";

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct HttpResult {
  long status = 0;
  std::string body;
};

HttpResult Post(const std::string& url, const std::string& body,
                const std::vector<std::string>& headers) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const std::string& h : headers)
    list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
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

// An order-sign whose prefetch lacks `allergies` (fetched from
// `fhir_server`) for a patient with active eczema (a critical card).
Json HookRequest(const std::string& fhir_server) {
  Json empty = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  Json conditions = {
      {"resourceType", "Bundle"},
      {"type", "searchset"},
      {"entry",
       Json::array(
           {{{"resource",
              {{"resourceType", "Condition"},
               {"id", "c1"},
               {"subject", {{"reference", "Patient/p1"}}},
               {"clinicalStatus",
                {{"coding",
                  Json::array({{{"system",
                                 "http://terminology.hl7.org/CodeSystem/"
                                 "condition-clinical"},
                                {"code", "active"}}})}}},
               {"code",
                {{"coding",
                  Json::array({{{"system", "http://snomed.info/sct"},
                                {"code", "24079001"},
                                {"display", "Atopic dermatitis"}}})}}}}}}})}};
  Json order = {{"resourceType", "ServiceRequest"},
                {"id", "sr1"},
                {"status", "draft"},
                {"intent", "order"},
                {"code", {{"text", "Microneedling"}}},
                {"subject", {{"reference", "Patient/p1"}}},
                {"occurrenceDateTime", "2026-12-01"},
                {"bodySite", Json::array({{{"text", "Cheeks"}}})}};
  return {{"hook", "order-sign"},
          {"hookInstance", "h-access-1"},
          {"fhirServer", fhir_server},
          {"fhirAuthorization",
           {{"access_token", "ehr-token-1"},
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
           {{"patient",
             {{"resourceType", "Patient"},
              {"id", "p1"},
              {"birthDate", "1990-04-02"}}},
            {"conditions", conditions},
            {"medicationRequests", empty},
            {"medicationStatements", empty},
            {"procedures", empty},
            {"observations", empty}}}};
}

class CdsHooksAccessLogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/cds_hooks_access_", getpid());
    mkdir(dir_.c_str(), 0700);
    auto daemon =
        ServerProcess::Start(BinaryPath("service/needlecheckd"),
                             {"--listen=127.0.0.1:0", "--data_dir=" + dir_});
    ASSERT_THAT(daemon, IsOk());
    daemon_ = std::move(daemon).value();
    auto ehr = FakeFhirServer::Start(FakeFhirServer::Options{
        Behavior::kEmptyBundle, "", size_t{1} << 30, 600 << 10});
    ASSERT_THAT(ehr, IsOk());
    ehr_ = std::move(ehr).value();
    key_ = testing::TestKey::Generate("EC", "ehr-key-1");
    const std::string jwks = dir_ + "/jwks.json";
    {
      std::ofstream out(jwks);
      out << Json{{"keys", Json::array({key_->PublicJwk()})}}.dump();
    }
    auto gateway = ServerProcess::Start(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"),
        {"--listen=127.0.0.1:0", "--screening_service=" + daemon_->address(),
         "--jwks_file=" + jwks, absl::StrCat("--trusted_issuers=", kIssuer),
         absl::StrCat("--audience=", kAudience),
         "--fhir_server_allow_insecure_loopback",
         "--fhir_server_allow=" + ehr_->base()});
    ASSERT_THAT(gateway, IsOk());
    gateway_ = std::move(gateway).value();
    stub_ = v1::ScreeningService::NewStub(grpc::CreateChannel(
        daemon_->address(), grpc::InsecureChannelCredentials()));
  }

  std::string Bearer(const std::string& aud, const std::string& jti) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    Json claims = testing::Claims(kIssuer, aud, now, now + 300, jti);
    claims["sub"] = "ehr-client-7";
    claims["tenant"] = "clinic-3";
    return "Authorization: Bearer " +
           key_->Sign({{"alg", "ES384"}, {"typ", "JWT"}, {"kid", "ehr-key-1"}},
                      claims);
  }

  v1::GetAccessLogResponse AccessLog() {
    v1::GetAccessLogRequest request;
    request.set_from_date(absl::FormatTime(
        "%Y-%m-%d", absl::Now() - absl::Hours(24), absl::UTCTimeZone()));
    request.set_to_date(absl::FormatTime(
        "%Y-%m-%d", absl::Now() + absl::Hours(24), absl::UTCTimeZone()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    v1::GetAccessLogResponse response;
    const grpc::Status status =
        stub_->GetAccessLog(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static void ExpectJwtIdentity(const v1::AccessRecord& r) {
    EXPECT_EQ(r.on_behalf_iss(), kIssuer);
    EXPECT_EQ(r.on_behalf_sub(), "ehr-client-7");
    EXPECT_EQ(r.on_behalf_tenant(), "clinic-3");
    EXPECT_THAT(r.caller(), StartsWith("unauthenticated ipv4:127.0.0.1:"));
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> daemon_;
  std::unique_ptr<FakeFhirServer> ehr_;
  std::unique_ptr<testing::TestKey> key_;
  std::unique_ptr<ServerProcess> gateway_;
  std::unique_ptr<v1::ScreeningService::Stub> stub_;
};

TEST_F(CdsHooksAccessLogTest, HookAndFeedbackCarryTheJwtIdentity) {
  const std::string service =
      absl::StrCat(kAudience, "/cds-services/microneedling-safety");
  const HttpResult hook =
      Post(absl::StrCat("http://", gateway_->address(),
                        "/cds-services/microneedling-safety"),
           HookRequest(ehr_->base()).dump(),
           {"Content-Type: application/json", Bearer(service, "jti-hook-1"),
            absl::StrCat("traceparent: ", kTraceparent)});
  ASSERT_EQ(hook.status, 200) << hook.body;
  ASSERT_EQ(ehr_->requests(), 1);
  const Json cards = Json::parse(hook.body)["cards"];
  ASSERT_FALSE(cards.empty()) << hook.body;
  const std::string uuid = cards[0].value("uuid", "");
  ASSERT_FALSE(uuid.empty()) << hook.body;

  const Json feedback = {
      {"feedback",
       Json::array({{{"card", uuid},
                     {"outcome", "overridden"},
                     {"outcomeTimestamp", "2026-12-01T10:00:00Z"}}})}};
  const HttpResult fed =
      Post(absl::StrCat("http://", gateway_->address(),
                        "/cds-services/microneedling-safety/feedback"),
           feedback.dump(),
           {"Content-Type: application/json",
            Bearer(service + "/feedback", "jti-feedback-1")});
  ASSERT_EQ(fed.status, 200) << fed.body;

  const v1::GetAccessLogResponse log = AccessLog();
  ASSERT_EQ(log.records_size(), 3) << log.DebugString();

  const v1::AccessRecord& fetch = log.records(0);
  EXPECT_EQ(fetch.action(), "FhirFetch");
  EXPECT_EQ(fetch.patient_id(), "p1");
  EXPECT_EQ(fetch.outcome(), "OK");
  EXPECT_EQ(fetch.detail(), ehr_->base() + "/AllergyIntolerance?patient=");
  EXPECT_EQ(fetch.on_behalf_user(), "Practitioner/u1");
  ExpectJwtIdentity(fetch);

  const v1::AccessRecord& screen = log.records(1);
  EXPECT_EQ(screen.action(), "Screen");
  EXPECT_EQ(screen.patient_id(), "p1");
  EXPECT_EQ(screen.outcome(), "OK");
  EXPECT_EQ(screen.on_behalf_user(), "Practitioner/u1");
  EXPECT_EQ(screen.trace_id(), kTraceId);
  ExpectJwtIdentity(screen);

  const v1::AccessRecord& recorded = log.records(2);
  EXPECT_EQ(recorded.action(), "RecordFeedback");
  EXPECT_EQ(recorded.patient_id(), "p1");
  EXPECT_EQ(recorded.outcome(), "OK");
  EXPECT_EQ(recorded.on_behalf_user(), "");  // feedback has no userId
  ExpectJwtIdentity(recorded);
}

// The line of `output` at or after `from` holding every one of `parts`,
// or "".
std::string LineWith(const std::string& output, size_t from,
                     const std::vector<std::string>& parts) {
  for (const absl::string_view line :
       absl::StrSplit(absl::string_view(output).substr(from), '\n')) {
    bool all = true;
    for (const std::string& part : parts) {
      all = all && absl::StrContains(line, part);
    }
    if (all) return std::string(line);
  }
  return "";
}

// LineWith() on `process`'s output once such a line arrives (the reader
// thread may lag the process under load), or "" after 60 s.
std::string WaitForLine(const ServerProcess& process, size_t from,
                        const std::vector<std::string>& parts) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (true) {
    std::string line = LineWith(process.output(), from, parts);
    if (!line.empty() || absl::Now() > deadline) return line;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// The trace_id=<32 hex> value of `line`, or "".
std::string TraceIdOf(const std::string& line) {
  const size_t at = line.find(" trace_id=");
  if (at == std::string::npos) return "";
  return line.substr(at + 10, 32);
}

// W3C trace context: one hook call (traceparent `header`, none when empty)
// through the real gateway; the gateway's log line for it and needlecheckd's
// per-call Screen line carry the same trace id, which is returned ("" on
// failure).
class CdsHooksTraceTest : public CdsHooksAccessLogTest {
 protected:
  std::string HookTraceId(const std::string& header, const std::string& jti) {
    const size_t gateway_from = gateway_->output_size();
    const size_t daemon_from = daemon_->output_size();
    const std::string service =
        absl::StrCat(kAudience, "/cds-services/microneedling-safety");
    std::vector<std::string> headers = {"Content-Type: application/json",
                                        Bearer(service, jti)};
    if (!header.empty()) headers.push_back("traceparent: " + header);
    const HttpResult hook =
        Post(absl::StrCat("http://", gateway_->address(),
                          "/cds-services/microneedling-safety"),
             HookRequest(ehr_->base()).dump(), headers);
    EXPECT_EQ(hook.status, 200) << hook.body;
    const std::string http_line =
        WaitForLine(*gateway_, gateway_from,
                    {"event=http", "method=POST", "status=200", " trace_id="});
    const std::string trace_id = TraceIdOf(http_line);
    EXPECT_THAT(trace_id, ::testing::MatchesRegex("[0-9a-f]{32}"))
        << gateway_->output().substr(gateway_from);
    if (trace_id.empty()) return "";
    const std::string rpc_line =
        WaitForLine(*daemon_, daemon_from,
                    {"event=rpc", "method=Screen", "code=OK",
                     "duration_ms=", "trace_id=" + trace_id});
    EXPECT_FALSE(rpc_line.empty()) << daemon_->output().substr(daemon_from);
    // Method, code, duration and trace id only: no patient data.
    EXPECT_THAT(rpc_line, ::testing::Not(::testing::HasSubstr("p1")));
    EXPECT_THAT(http_line, ::testing::Not(::testing::HasSubstr("p1")));
    return trace_id;
  }
};

TEST_F(CdsHooksTraceTest, EhrTraceIdAppearsInBothLogs) {
  EXPECT_EQ(HookTraceId(kTraceparent, "jti-trace-1"), kTraceId);
}

TEST_F(CdsHooksTraceTest, MissingTraceparentStartsATraceInBothLogs) {
  const std::string first = HookTraceId("", "jti-trace-2");
  const std::string second = HookTraceId("", "jti-trace-3");
  EXPECT_NE(first, "");
  EXPECT_NE(second, "");
  EXPECT_NE(first, second);
}

TEST_F(CdsHooksTraceTest, InvalidTraceparentIsReplacedInBothLogs) {
  int n = 0;
  for (const std::string bad :
       {"00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "garbage trace_id=0af7651916cd43dd8448eb211c80319c"}) {
    SCOPED_TRACE(bad);
    const std::string trace_id =
        HookTraceId(bad, absl::StrCat("jti-trace-bad-", ++n));
    EXPECT_NE(trace_id, "");
    EXPECT_NE(trace_id, kTraceId);
    EXPECT_NE(trace_id, "00000000000000000000000000000000");
    // The rejected value is never logged.
    EXPECT_THAT(gateway_->output(), ::testing::Not(::testing::HasSubstr(bad)));
  }
}

}  // namespace
}  // namespace needlecheck::cds_hooks
