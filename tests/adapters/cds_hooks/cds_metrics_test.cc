#include "adapters/cds_hooks/cds_metrics.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "gtest/gtest.h"

namespace needlecheck::cds_hooks {
namespace {

// The JwtVerifier's messages (jwt_verifier.cc) and the gateway's own, each
// with the reason it must be counted under.
TEST(JwtRejectionReasonTest, EveryVerifierMessageHasAFixedReason) {
  const struct {
    const char* message;
    const char* reason;
  } kCases[] = {
      {"no Authorization: Bearer header", "missing"},
      {"no JWT verifier configured", "missing"},
      {"no bearer token", "missing"},
      {"token too long", "malformed"},
      {"token is not a JWS compact serialization", "malformed"},
      {"token segment is not base64url", "malformed"},
      {"token header is not a JSON object", "malformed"},
      {"token header typ is not JWT", "malformed"},
      {"token header has no kid", "malformed"},
      {"token payload is not a JSON object", "malformed"},
      {"token has no iss", "malformed"},
      {"token has no exp", "malformed"},
      {"token has no jti", "malformed"},
      {"token header has no alg", "algorithm"},
      {"token alg refused (only ES384 and RS384 are accepted)", "algorithm"},
      {"key aud-replayed-signature may not be used with ES384", "algorithm"},
      {"unknown key id", "unknown_key"},
      {"ES384 signature is not 96 bytes", "bad_signature"},
      {"bad signature", "bad_signature"},
      {"token iss is not trusted", "untrusted_issuer"},
      {"token has no aud", "wrong_audience"},
      {"token aud is not this endpoint's URL", "wrong_audience"},
      {"token expired", "expired"},
      {"token iat is in the future", "not_yet_valid"},
      {"token is not valid yet (nbf)", "not_yet_valid"},
      {"token exp is too far in the future", "lifetime_too_long"},
      {"token jti replayed", "replayed"},
      {"something new", "other"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(JwtRejectionReason(c.message), c.reason) << c.message;
  }
}

TEST(FhirFetchResultTest, CodesMapToFixedWords) {
  EXPECT_EQ(FhirFetchResult(absl::OkStatus()), "ok");
  EXPECT_EQ(FhirFetchResult(absl::DeadlineExceededError("x")),
            "deadline_exceeded");
  EXPECT_EQ(FhirFetchResult(absl::ResourceExhaustedError("x")), "too_large");
  EXPECT_EQ(FhirFetchResult(absl::PermissionDeniedError("x")), "refused");
  EXPECT_EQ(FhirFetchResult(absl::NotFoundError("x")), "not_found");
  EXPECT_EQ(FhirFetchResult(absl::UnavailableError("x")), "unavailable");
  EXPECT_EQ(FhirFetchResult(absl::FailedPreconditionError("x")), "http_error");
  EXPECT_EQ(FhirFetchResult(absl::InternalError("x")), "other");
}

TEST(CdsMetricsTest, PathsBecomeClosedLabelSets) {
  metrics::Registry registry;
  absl::StatusOr<std::unique_ptr<CdsMetrics>> m = CdsMetrics::Create(&registry);
  ASSERT_TRUE(m.ok()) << m.status();
  const absl::Duration t = absl::Milliseconds(3);
  (*m)->RequestDone("GET", "/cds-services", 200, t);
  (*m)->RequestDone("GET", "/cds-services/", 200, t);
  (*m)->RequestDone("POST", "/cds-services/microneedling-safety", 200, t);
  (*m)->RequestDone("POST", "/cds-services/microneedling-readiness/feedback",
                    200, t);
  (*m)->RequestDone("OPTIONS", "/cds-services/anything", 204, t);
  // Caller-chosen ids and paths never become labels.
  (*m)->RequestDone("POST", "/cds-services/PATIENT-123", 404, t);
  (*m)->RequestDone("POST", "/cds-services/microneedling-safety/PATIENT-9", 404,
                    t);
  (*m)->RequestDone("GET", "/PATIENT-5?name=Jane", 404, t);
  (*m)->JwtRejected("key PATIENT-7 may not be used with RS384");
  (*m)->FhirFetch(absl::NotFoundError("Patient/PATIENT-8"));
  (*m)->Prefetch(kPrefetchFetched);
  const std::string text = registry.Render();
  for (const char* line : {
           "needlecheck_cds_hooks_requests_total{service=\"none\",endpoint="
           "\"discovery\",status=\"200\"} 2\n",
           "needlecheck_cds_hooks_requests_total{service=\"microneedling-"
           "safety\",endpoint=\"hook\",status=\"200\"} 1\n",
           "needlecheck_cds_hooks_requests_total{service=\"microneedling-"
           "readiness\",endpoint=\"feedback\",status=\"200\"} 1\n",
           "needlecheck_cds_hooks_requests_total{service=\"none\",endpoint="
           "\"preflight\",status=\"204\"} 1\n",
           "needlecheck_cds_hooks_requests_total{service=\"none\",endpoint="
           "\"other\",status=\"404\"} 3\n",
           "needlecheck_cds_hooks_request_seconds_count{endpoint=\"other\"} "
           "3\n",
           "needlecheck_cds_hooks_jwt_rejections_total{reason=\"algorithm\"} "
           "1\n",
           "needlecheck_cds_hooks_fhir_fetches_total{result=\"not_found\"} 1\n",
           "needlecheck_cds_hooks_prefetch_total{result=\"fetched\"} 1\n",
       }) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\n" << text;
  }
  EXPECT_FALSE(absl::StrContains(text, "PATIENT")) << text;
  EXPECT_FALSE(absl::StrContains(text, "Jane")) << text;
}

}  // namespace
}  // namespace needlecheck::cds_hooks
