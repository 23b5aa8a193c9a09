// FhirClient over libcurl: GET with `Authorization: Bearer`, `Accept:
// application/fhir+json`, a total timeout, no redirects (the token must not
// follow a redirect to another host), http/https only, TLS peer and host
// verification on, and a cap on the response size. One easy handle per
// call, so it is thread-safe; curl_global_init must have run (the main file
// calls it before any thread starts).
//
// Errors: DEADLINE_EXCEEDED (timeout), UNAVAILABLE (connect/TLS/DNS
// failure), RESOURCE_EXHAUSTED (response too large), and for HTTP statuses
// other than 200: NOT_FOUND (404), PERMISSION_DENIED (401/403),
// UNAVAILABLE (5xx), FAILED_PRECONDITION (others). Messages never include
// the token.
#ifndef ADAPTERS_CDS_HOOKS_CURL_FHIR_CLIENT_H_
#define ADAPTERS_CDS_HOOKS_CURL_FHIR_CLIENT_H_

#include <cstddef>
#include <memory>

#include "absl/time/time.h"
#include "adapters/cds_hooks/cds_service.h"

namespace needlecheck::cds_hooks {

std::unique_ptr<FhirClient> NewCurlFhirClient(absl::Duration timeout,
                                              size_t max_response_bytes);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_CURL_FHIR_CLIENT_H_
