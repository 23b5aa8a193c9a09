// HttpsGet: one bounded GET over libcurl, shared by the FHIR client
// (curl_fhir_client.h) and the JWK Set fetcher (HttpsJwksFetch below). The
// caller decides which URLs are allowed; this function enforces how they are
// fetched:
//   - the URL is parsed again (fhir_server_policy.h) and libcurl is handed
//     only the canonical form; https only, or http to a literal loopback
//     address when allow_insecure_loopback (tests);
//   - the address about to be connected to (after name resolution) is
//     checked: loopback for a loopback URL; otherwise never loopback,
//     unspecified, link-local (169.254.0.0/16, where cloud metadata services
//     live, and fe80::/10) or multicast;
//   - redirects are never followed; no proxy is used (environment variables
//     included);
//   - the transfer ends by min(deadline, now + timeout) and is aborted once
//     more than max_bytes body bytes arrive (a Content-Length above it is
//     refused before the body is read);
//   - TLS peer and host verification on.
// Errors (messages name `what`, never the URL or a header):
//   PERMISSION_DENIED  the URL does not parse, plain http is not allowed, or
//                      every address was refused;
//   DEADLINE_EXCEEDED  no time left, or the transfer timed out;
//   RESOURCE_EXHAUSTED the body is over max_bytes;
//   UNAVAILABLE        any other transport failure.
// Any HTTP status is a successful HttpsGet (the caller maps it).
// One easy handle per call: thread-safe once curl_global_init has run.
#ifndef ADAPTERS_CDS_HOOKS_HTTPS_FETCH_H_
#define ADAPTERS_CDS_HOOKS_HTTPS_FETCH_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace needlecheck::cds_hooks {

struct HttpsGetRequest {
  std::string url;
  // Extra request headers, "Name: value" each.
  std::vector<std::string> headers;
  // The transfer ends by min(deadline, now + timeout).
  absl::Time deadline = absl::InfiniteFuture();
  absl::Duration timeout = absl::Seconds(5);
  // Largest body accepted.
  size_t max_bytes = 1 << 20;
  // Allow http to 127.0.0.0/8 and ::1 (test servers). Default false.
  bool allow_insecure_loopback = false;
  // Names the request in error messages ("FHIR", "JWKS").
  std::string what = "HTTP";
};

struct HttpsGetResponse {
  long status = 0;  // HTTP status code
  std::string body;
};

absl::StatusOr<HttpsGetResponse> HttpsGet(const HttpsGetRequest& request);

// The fetch function of a JwksCache (jwks_cache.h) for one JWK Set URL:
// an HttpsGet without credentials, `Accept: application/jwk-set+json,
// application/json`, bounded by `timeout` and `max_bytes`. Only HTTP 200 is
// a document; any other status is UNAVAILABLE ("JWKS server answered HTTP
// n"). The URL must already be allowed by the caller.
std::function<absl::StatusOr<std::string>()> HttpsJwksFetch(
    std::string url, absl::Duration timeout, size_t max_bytes,
    bool allow_insecure_loopback);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_HTTPS_FETCH_H_
