#include "adapters/cds_hooks/cds_metrics.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/cds_hooks/discovery.h"

namespace needlecheck::cds_hooks {
namespace {

struct Route {
  std::string service = "none";
  const char* endpoint = "other";
};

// The same routing as CdsHooksService::Route, reduced to closed sets.
Route Classify(absl::string_view method, absl::string_view path) {
  Route route;
  if (method == "OPTIONS") {
    route.endpoint = "preflight";
    return route;
  }
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.empty() || parts[0] != "cds-services" || parts.size() > 3) {
    return route;
  }
  if (parts.size() == 1) {
    route.endpoint = "discovery";
    return route;
  }
  if (!IsKnownServiceId(parts[1])) return route;
  if (parts.size() == 3) {
    if (parts[2] != "feedback") return route;
    route.endpoint = "feedback";
  } else {
    route.endpoint = "hook";
  }
  route.service = std::string(parts[1]);
  return route;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CdsMetrics>> CdsMetrics::Create(
    metrics::Registry* registry) {
  std::unique_ptr<CdsMetrics> m(new CdsMetrics());
  if (absl::Status s = metrics::AddBuildInfo(*registry); !s.ok()) return s;
  absl::StatusOr<metrics::CounterFamily*> requests = registry->AddCounter(
      "needlecheck_cds_hooks_requests_total",
      "HTTP requests answered by the CDS Hooks service, by service id, "
      "endpoint and HTTP status.",
      {"service", "endpoint", "status"});
  if (!requests.ok()) return requests.status();
  m->requests_ = *requests;
  absl::StatusOr<metrics::HistogramFamily*> seconds = registry->AddHistogram(
      "needlecheck_cds_hooks_request_seconds",
      "Time to answer a request once it was read, by endpoint.", {"endpoint"},
      metrics::LatencyBuckets());
  if (!seconds.ok()) return seconds.status();
  m->request_seconds_ = *seconds;
  absl::StatusOr<metrics::CounterFamily*> prefetch = registry->AddCounter(
      "needlecheck_cds_hooks_prefetch_total",
      "Hook calls by how their FHIR data was obtained: complete prefetch, "
      "fetched, no FHIR access (412), fetch failed (412).",
      {"result"});
  if (!prefetch.ok()) return prefetch.status();
  m->prefetch_ = *prefetch;
  absl::StatusOr<metrics::CounterFamily*> fetches = registry->AddCounter(
      "needlecheck_cds_hooks_fhir_fetches_total",
      "GET requests to the EHR's FHIR server, by result.", {"result"});
  if (!fetches.ok()) return fetches.status();
  m->fhir_fetches_ = *fetches;
  absl::StatusOr<metrics::CounterFamily*> jwt = registry->AddCounter(
      "needlecheck_cds_hooks_jwt_rejections_total",
      "Requests refused with 401, by why the JWT was refused.", {"reason"});
  if (!jwt.ok()) return jwt.status();
  m->jwt_rejections_ = *jwt;
  return m;
}

void CdsMetrics::RequestDone(absl::string_view method, absl::string_view path,
                             int status, absl::Duration took) {
  const Route route = Classify(method, path);
  requests_->With({route.service, route.endpoint, absl::StrCat(status)})
      .Increment();
  request_seconds_->With({route.endpoint}).Observe(absl::ToDoubleSeconds(took));
}

void CdsMetrics::Prefetch(absl::string_view result) {
  prefetch_->With({result}).Increment();
}

void CdsMetrics::FhirFetch(const absl::Status& result) {
  fhir_fetches_->With({FhirFetchResult(result)}).Increment();
}

void CdsMetrics::JwtRejected(absl::string_view message) {
  jwt_rejections_->With({JwtRejectionReason(message)}).Increment();
}

absl::string_view FhirFetchResult(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case absl::StatusCode::kResourceExhausted:
      return "too_large";
    case absl::StatusCode::kPermissionDenied:
      return "refused";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kFailedPrecondition:
      return "http_error";
    default:
      return "other";
  }
}

absl::string_view JwtRejectionReason(absl::string_view message) {
  // The JwtVerifier's messages are fixed texts (jwt_verifier.cc); the first
  // match decides. Order matters: specific before general.
  struct Rule {
    const char* contains;
    const char* reason;
  };
  static constexpr Rule kRules[] = {
      // Quotes the caller's kid: first, so the kid cannot steer the match.
      {"may not be used with", "algorithm"},
      {"no bearer token", "missing"},
      {"no Authorization", "missing"},
      {"no JWT verifier", "missing"},
      {"replayed", "replayed"},
      {"expired", "expired"},
      {"not valid yet", "not_yet_valid"},
      {"iat is in the future", "not_yet_valid"},
      {"too far in the future", "lifetime_too_long"},
      {"unknown key", "unknown_key"},
      {"signature", "bad_signature"},
      {"iss is not trusted", "untrusted_issuer"},
      {"aud", "wrong_audience"},
      {"alg", "algorithm"},
      {"token", "malformed"},
  };
  for (const Rule& rule : kRules) {
    if (absl::StrContains(message, rule.contains)) return rule.reason;
  }
  return "other";
}

}  // namespace needlecheck::cds_hooks
