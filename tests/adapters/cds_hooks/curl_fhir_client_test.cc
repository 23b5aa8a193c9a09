// The libcurl FhirClient against fake FHIR servers on loopback: what it
// refuses before connecting (http without the test flag, names that
// resolve to loopback, link-local addresses, a spent deadline), redirects
// not followed, the byte limit and the deadline while transferring.
#include "adapters/cds_hooks/curl_fhir_client.h"

#include <curl/curl.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/cds_hooks/fake_fhir_server.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::cds_hooks::testing::Behavior;
using ::needlecheck::cds_hooks::testing::FakeFhirServer;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;

std::unique_ptr<FakeFhirServer> Fake(Behavior behavior,
                                     FakeFhirServer::Options options = {}) {
  options.behavior = behavior;
  auto server = FakeFhirServer::Start(options);
  EXPECT_THAT(server, IsOk());
  return server.ok() ? std::move(server).value() : nullptr;
}

FhirGet Get(const std::string& url, absl::Duration time = absl::Seconds(30),
            size_t max_bytes = 1 << 20) {
  FhirGet get;
  get.url = url;
  get.bearer_token = "tok-1";
  get.deadline = absl::Now() + time;
  get.max_bytes = max_bytes;
  return get;
}

class CurlFhirClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  std::unique_ptr<FhirClient> Client(bool insecure_loopback) {
    CurlFhirClientOptions options;
    options.request_timeout = absl::Seconds(60);
    options.allow_insecure_loopback = insecure_loopback;
    return NewCurlFhirClient(options);
  }
};

TEST_F(CurlFhirClientTest, ReadsFromALoopbackTestServerWithTheFlag) {
  auto ehr = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(ehr, nullptr);
  absl::StatusOr<std::string> body =
      Client(true)->Get(Get(ehr->base() + "/Patient?x=1"));
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(*body, R"({"resourceType":"Bundle","type":"searchset"})");
  EXPECT_THAT(ehr->authorizations(), ElementsAre("Bearer tok-1"));
  EXPECT_THAT(ehr->targets(), ElementsAre("/fhir/Patient?x=1"));
}

TEST_F(CurlFhirClientTest, RefusesBeforeConnecting) {
  auto ehr = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(ehr, nullptr);
  const std::string port = std::to_string(ehr->port());
  // Plain http without the test flag.
  EXPECT_THAT(Client(false)->Get(Get(ehr->base())),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Plain http to a name, even one that is loopback.
  EXPECT_THAT(Client(true)->Get(Get("http://localhost:" + port + "/fhir")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // https to a name or an address form that resolves to loopback: the
  // address check refuses it after resolution.
  for (const std::string& url :
       {"https://localhost:" + port + "/fhir",
        "https://[::ffff:127.0.0.1]:" + port + "/fhir"}) {
    EXPECT_THAT(Client(true)->Get(Get(url)),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << url;
  }
  // Link-local (cloud metadata) and unspecified addresses.
  for (const char* url : {"https://169.254.169.254/latest/meta-data",
                          "https://0.0.0.0:1/", "https://[fe80::1]:1/"}) {
    EXPECT_THAT(Client(true)->Get(Get(url)),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << url;
  }
  // Malformed or ambiguous URLs.
  EXPECT_THAT(Client(true)->Get(Get("http://x@127.0.0.1:" + port + "/")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // No time left.
  EXPECT_THAT(Client(true)->Get(Get(ehr->base(), -absl::Seconds(1))),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(ehr->connections(), 0);
}

TEST_F(CurlFhirClientTest, DoesNotFollowRedirects) {
  auto target = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(target, nullptr);
  FakeFhirServer::Options options;
  options.redirect_to = target->base() + "/Patient";
  auto redirecting = Fake(Behavior::kRedirect, options);
  ASSERT_NE(redirecting, nullptr);
  EXPECT_THAT(Client(true)->Get(Get(redirecting->base())),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(target->connections(), 0);
}

TEST_F(CurlFhirClientTest, AbortsAtTheByteLimit) {
  auto endless = Fake(Behavior::kEndless);
  ASSERT_NE(endless, nullptr);
  EXPECT_THAT(
      Client(true)->Get(Get(endless->base(), absl::Seconds(60), 100000)),
      StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_LT(endless->bytes_sent(), size_t{64} << 20);
  // A Content-Length over the limit is refused too.
  auto ehr = Fake(Behavior::kEmptyBundle);
  ASSERT_NE(ehr, nullptr);
  EXPECT_THAT(Client(true)->Get(Get(ehr->base(), absl::Seconds(60), 10)),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(CurlFhirClientTest, EndsAtTheDeadline) {
  auto hanging = Fake(Behavior::kHang);
  ASSERT_NE(hanging, nullptr);
  const absl::Time start = absl::Now();
  EXPECT_THAT(Client(true)->Get(Get(hanging->base(), absl::Seconds(1))),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1) + absl::Seconds(8));
}

TEST_F(CurlFhirClientTest, MapsHttpStatuses) {
  auto failing = Fake(Behavior::kStatus500);
  ASSERT_NE(failing, nullptr);
  EXPECT_THAT(Client(true)->Get(Get(failing->base())),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Client(true)->Get(Get(absl::StrCat(
                  "http://127.0.0.1:", testing::ClosedLoopbackPort(), "/"))),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace needlecheck::cds_hooks
