// CdsMetrics: needlecheck-cds-hooks' Prometheus metrics (common/metrics),
// fed by CdsHooksService (CdsServiceOptions::metrics) and served on
// --metrics_listen. The README's "Metrics" section lists them.
//
// Contract
// - Create() registers, in `registry`: needlecheck_build_info{version},
//   needlecheck_cds_hooks_requests_total{service,endpoint,status},
//   needlecheck_cds_hooks_request_seconds{endpoint} (histogram),
//   needlecheck_cds_hooks_prefetch_total{result},
//   needlecheck_cds_hooks_fhir_fetches_total{result} and
//   needlecheck_cds_hooks_jwt_rejections_total{reason}.
// - Every label value comes from a closed set, never from the request:
//   service = a discovery service id (discovery.h) or "none" (discovery,
//   preflight, unknown paths and ids); endpoint = discovery | hook |
//   feedback | preflight | other; status = the HTTP status code; the
//   results and reasons are the fixed words below. No patient, user,
//   hookInstance, token or URL ever becomes a label.
// - Thread-safe. The registry must outlive the CdsMetrics.
#ifndef ADAPTERS_CDS_HOOKS_CDS_METRICS_H_
#define ADAPTERS_CDS_HOOKS_CDS_METRICS_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"

namespace needlecheck::cds_hooks {

// Prefetch results of a hook call that got as far as its data.
inline constexpr char kPrefetchComplete[] = "complete";  // nothing to fetch
inline constexpr char kPrefetchFetched[] = "fetched";    // fetched, all OK
inline constexpr char kPrefetchNoFhirAccess[] = "no_fhir_access";  // 412
inline constexpr char kPrefetchFetchFailed[] = "fetch_failed";     // 412

class CdsMetrics {
 public:
  static absl::StatusOr<std::unique_ptr<CdsMetrics>> Create(
      metrics::Registry* registry);

  // One answered request: `method` and `path` as received (classified into
  // the closed sets above), its HTTP status and how long Handle() took.
  void RequestDone(absl::string_view method, absl::string_view path, int status,
                   absl::Duration took);
  // `result`: one of the kPrefetch* words.
  void Prefetch(absl::string_view result);
  // One GET to the FHIR server, by FhirClient's status (FhirFetchResult).
  void FhirFetch(const absl::Status& result);
  // A refused JWT, by the JwtVerifier's message (JwtRejectionReason).
  void JwtRejected(absl::string_view message);

 private:
  CdsMetrics() = default;
  metrics::CounterFamily* requests_ = nullptr;
  metrics::HistogramFamily* request_seconds_ = nullptr;
  metrics::CounterFamily* prefetch_ = nullptr;
  metrics::CounterFamily* fhir_fetches_ = nullptr;
  metrics::CounterFamily* jwt_rejections_ = nullptr;
};

// FhirClient's outcome as a fixed word: ok, deadline_exceeded, too_large,
// refused (PERMISSION_DENIED: the client's own checks, HTTP 401/403),
// not_found, unavailable (connect, TLS, DNS, HTTP 5xx), http_error (other
// HTTP statuses, redirects), other.
absl::string_view FhirFetchResult(const absl::Status& status);

// A JwtVerifier (or missing-token) message as a fixed word: missing,
// malformed, algorithm, unknown_key, bad_signature, untrusted_issuer,
// wrong_audience, expired, not_yet_valid, lifetime_too_long, replayed,
// other.
absl::string_view JwtRejectionReason(absl::string_view message);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_CDS_METRICS_H_
