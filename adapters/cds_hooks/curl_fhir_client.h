// FhirClient over libcurl (HttpsGet, https_fetch.h). Each Get():
//   - parses the URL again (fhir_server_policy.h) and hands libcurl only the
//     canonical form; https only, or http to a literal loopback address when
//     allow_insecure_loopback (tests);
//   - checks the address it is about to connect to (after name resolution):
//     loopback for a loopback URL; otherwise never loopback, unspecified,
//     link-local (169.254.0.0/16, where cloud metadata services live, and
//     fe80::/10) or multicast, so a DNS name cannot lead the token to this
//     machine or to the metadata service;
//   - never follows redirects and uses no proxy (environment variables
//     included);
//   - ends by min(request.deadline, now + request_timeout), and aborts the
//     transfer once more than request.max_bytes body bytes arrive (a
//     Content-Length above it is refused before the body is read);
//   - sends `Authorization: Bearer`, `Accept: application/fhir+json`, with
//     TLS peer and host verification on.
// One easy handle per call, so it is thread-safe; curl_global_init must
// have run (the main file calls it before any thread starts). Error codes
// are FhirClient's (cds_service.h).
#ifndef ADAPTERS_CDS_HOOKS_CURL_FHIR_CLIENT_H_
#define ADAPTERS_CDS_HOOKS_CURL_FHIR_CLIENT_H_

#include <memory>

#include "absl/time/time.h"
#include "adapters/cds_hooks/cds_service.h"

namespace needlecheck::cds_hooks {

struct CurlFhirClientOptions {
  // Longest single request. Default 5 s (the per-call deadline usually
  // ends it sooner).
  absl::Duration request_timeout = absl::Seconds(5);
  // Allow http to 127.0.0.0/8 and ::1 (test servers). Default false.
  bool allow_insecure_loopback = false;
};

std::unique_ptr<FhirClient> NewCurlFhirClient(
    const CurlFhirClientOptions& options);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_CURL_FHIR_CLIENT_H_
