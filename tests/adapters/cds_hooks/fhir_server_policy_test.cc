// ParseHttpUrl, UrlHasPrefix and FhirServerPolicy: the URL forms an
// attacker would use to send the EHR's token elsewhere (look-alike hosts,
// path boundaries, userinfo, dot segments, IPv4 spellings, http).
#include "adapters/cds_hooks/fhir_server_policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;

HttpUrl Url(const std::string& text) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(text);
  EXPECT_THAT(url, IsOk()) << text;
  return url.ok() ? *url : HttpUrl();
}

TEST(ParseHttpUrlTest, NormalizesSchemeHostAndPort) {
  HttpUrl url = Url("HTTPS://EHR.Example.org/fhir/Patient/1?x=1");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "ehr.example.org");
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.path, "/fhir/Patient/1");
  EXPECT_EQ(url.query, "x=1");
  EXPECT_EQ(url.Canonical(), "https://ehr.example.org/fhir/Patient/1?x=1");
  EXPECT_EQ(Url("http://127.0.0.1:8080").Canonical(), "http://127.0.0.1:8080");
  EXPECT_EQ(Url("https://[::1]:9443/a").host, "::1");
  EXPECT_EQ(Url("https://[::1]:9443/a").Canonical(), "https://[::1]:9443/a");
  EXPECT_EQ(Url("https://ehr.example.org:443/x").Canonical(),
            "https://ehr.example.org/x");
  // The prefetch templates' characters pass.
  EXPECT_THAT(ParseHttpUrl("https://e.org/fhir/Observation?patient=p1&code="
                           "http://loinc.org|66555-4,http://loinc.org|2106-3"),
              IsOk());
}

TEST(ParseHttpUrlTest, RefusesAmbiguousForms) {
  for (const char* bad : {
           "ftp://ehr.example.org/fhir",
           "file:///etc/passwd",
           "gopher://127.0.0.1:25/",
           "//ehr.example.org/fhir",
           "https://",
           "https://user:pw@ehr.example.org/fhir",
           "https://ehr.example.org@evil.com/fhir",
           "https://evil.com\\@ehr.example.org/",
           "https://ehr.example.org/fhir#frag",
           "https://ehr.example.org /fhir",
           "https://ehr.example.org/fh\tir",
           "https://ehr.example.org/fh\xc3\xa9ir",
           "https://ehr.example.org:0/",
           "https://ehr.example.org:65536/",
           "https://ehr.example.org:/",
           "https://ehr.example.org:80x/",
           "https://ehr..example.org/",
           "https://.ehr.example.org/",
           "https://ehr.example.org./",
           "https://ehr_example.org/",
           "https://ehr%2eexample.org/",
           "https://127.1/",
           "https://0x7f.0.0.1/",
           "https://2130706433/",
           "https://127.000.000.001/",
           "https://[::1/",
           "https://[fe80::1%25eth0]/",
           "https://ehr.example.org/fhir/../admin",
           "https://ehr.example.org/fhir/./x",
           "https://ehr.example.org/fhir/%2e%2e/admin",
           "https://ehr.example.org/fhir/.%2E/admin",
           "https://ehr.example.org/fhir%2fadmin",
           "https://ehr.example.org/fhir%5cadmin",
           "https://ehr.example.org/fhir%zz",
       }) {
    EXPECT_THAT(ParseHttpUrl(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(ParseHttpUrlTest, LoopbackLiterals) {
  EXPECT_TRUE(IsLoopbackLiteral("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackLiteral("127.255.0.9"));
  EXPECT_TRUE(IsLoopbackLiteral("::1"));
  EXPECT_FALSE(IsLoopbackLiteral("localhost"));
  EXPECT_FALSE(IsLoopbackLiteral("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackLiteral("10.0.0.1"));
}

TEST(UrlHasPrefixTest, MatchesWholeHostPortAndPathSegments) {
  const HttpUrl prefix = Url("https://ehr.example.org/fhir/");
  EXPECT_TRUE(UrlHasPrefix(Url("https://ehr.example.org/fhir"), prefix));
  EXPECT_TRUE(UrlHasPrefix(Url("https://ehr.example.org/fhir/"), prefix));
  EXPECT_TRUE(UrlHasPrefix(Url("https://EHR.example.org:443/fhir/Patient?x=1"),
                           prefix));
  EXPECT_FALSE(UrlHasPrefix(Url("https://ehr.example.org/fhirx"), prefix));
  EXPECT_FALSE(UrlHasPrefix(Url("https://ehr.example.org/"), prefix));
  EXPECT_FALSE(
      UrlHasPrefix(Url("https://ehr.example.org.evil.com/fhir"), prefix));
  EXPECT_FALSE(UrlHasPrefix(Url("https://ehr.example.org:8443/fhir"), prefix));
  EXPECT_FALSE(UrlHasPrefix(Url("http://ehr.example.org/fhir"), prefix));
  EXPECT_FALSE(UrlHasPrefix(Url("https://xehr.example.org/fhir"), prefix));
  const HttpUrl root = Url("https://ehr.example.org");
  EXPECT_TRUE(UrlHasPrefix(Url("https://ehr.example.org/any/thing"), root));
  EXPECT_FALSE(UrlHasPrefix(Url("https://ehr.example.org.evil.com/"), root));
}

TEST(FhirServerPolicyTest, DefaultAllowsNothing) {
  FhirServerPolicy policy;
  EXPECT_TRUE(policy.empty());
  EXPECT_THAT(policy.Check(Url("https://ehr.example.org/fhir")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<FhirServerPolicy> none = FhirServerPolicy::Create({}, false);
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(none->Check(Url("https://ehr.example.org/fhir")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(FhirServerPolicyTest, AllowsOnlyListedHttpsPrefixes) {
  absl::StatusOr<FhirServerPolicy> policy = FhirServerPolicy::Create(
      {"https://ehr.example.org/fhir", "https://other.example.net:8443/r4/"},
      false);
  ASSERT_THAT(policy, IsOk());
  EXPECT_THAT(policy->Check(Url("https://ehr.example.org/fhir/Patient/1")),
              IsOk());
  EXPECT_THAT(policy->Check(Url("https://other.example.net:8443/r4")), IsOk());
  for (const char* refused : {
           "https://ehr.example.org.evil.com/fhir",
           "https://ehr.example.org/fhir-admin",
           "https://other.example.net/r4",
           "http://ehr.example.org/fhir",
           "https://169.254.169.254/latest/meta-data",
           "http://127.0.0.1:9/fhir",
       }) {
    EXPECT_THAT(policy->Check(Url(refused)),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << refused;
  }
}

TEST(FhirServerPolicyTest, HttpOnlyToLoopbackLiteralsWithTheTestFlag) {
  EXPECT_THAT(FhirServerPolicy::Create({"http://127.0.0.1:8080/fhir"}, false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FhirServerPolicy::Create({"http://ehr.example.org/fhir"}, true),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FhirServerPolicy::Create({"http://localhost:8080/fhir"}, true),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FhirServerPolicy::Create({"https://e.org/fhir?x=1"}, false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FhirServerPolicy::Create({"https://user@e.org/fhir"}, false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<FhirServerPolicy> policy =
      FhirServerPolicy::Create({"http://127.0.0.1:8080/fhir"}, true);
  ASSERT_THAT(policy, IsOk());
  EXPECT_THAT(policy->Check(Url("http://127.0.0.1:8080/fhir/Patient/1")),
              IsOk());
  EXPECT_THAT(policy->Check(Url("http://127.0.0.1:8081/fhir")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace needlecheck::cds_hooks
