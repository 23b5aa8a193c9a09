// The CDS Hooks 2.0 service, independent of the HTTP library: one
// Handle(request) -> response function that the HTTP server (http_server.h)
// calls from its worker threads, and that tests call directly.
//
// Endpoints (base = the server root):
//   GET     /cds-services                 discovery (discovery.h)
//   POST    /cds-services/{id}            a hook call -> {"cards": [...]}
//   POST    /cds-services/{id}/feedback   feedback -> RecordFeedback per item
//   OPTIONS any path                      CORS preflight (204)
//
// A hook call: authenticate (JWT, jwt_verifier.h) -> validate
// (hook_request.h) -> the planned session from the context (needlecheck_fhir
// planned_session.h; none -> {"cards": []}) -> the record from the prefetch,
// fetching absent keys and further pages from fhirServer with the
// fhirAuthorization token (FhirClient) -> Screen (ScreeningClient) -> cards
// (cards.h).
//
// HTTP statuses (every error body is a FHIR OperationOutcome JSON naming the
// problem in issue[0].diagnostics; 401 bodies say only "authentication
// required", as the CDS Hooks best practices ask):
//   200  cards, discovery, feedback recorded
//   204  CORS preflight
//   400  body not JSON, unknown hook for the service, missing or ill-typed
//        fields, FHIR data the adapter or the engine cannot read
//   401  missing or invalid JWT (when auth is on)
//   404  unknown service id or path; feedback for a card the ledger does not
//        know
//   405  wrong method
//   412  prefetch key(s) absent (or only partly paginated) and no FHIR access,
//        or the FHIR server could not be read: the spec's "Precondition
//        Failed"
//   413  body larger than max_body_bytes
//   501  feedback while needlecheckd has no ledger (UNIMPLEMENTED)
//   502  needlecheckd answered with an unexpected error
//   503  needlecheckd unreachable, draining or past the deadline
//
// Logs: one line per call (method, path template, status, card count,
// duration, JWT iss/jti); never patient data, tokens or bodies.
//
// Thread safety: Handle() may be called from many threads at once; the
// ScreeningClient, FhirClient and JwtVerifier must be thread-safe.
#ifndef ADAPTERS_CDS_HOOKS_CDS_SERVICE_H_
#define ADAPTERS_CDS_HOOKS_CDS_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/cds_hooks/jwt_verifier.h"
#include "needlecheck/v1/screening.pb.h"

namespace needlecheck::cds_hooks {

// needlecheckd, as the service sees it. Implementations set a deadline on
// every call and map gRPC codes one to one onto absl codes.
class ScreeningClient {
 public:
  virtual ~ScreeningClient() = default;
  virtual absl::StatusOr<needlecheck::v1::ScreenResponse> Screen(
      const needlecheck::v1::ScreenRequest& request) = 0;
  virtual absl::StatusOr<needlecheck::v1::KnowledgeBase> GetKnowledgeBase() = 0;
  virtual absl::StatusOr<needlecheck::v1::RecordFeedbackResponse>
  RecordFeedback(const needlecheck::v1::RecordFeedbackRequest& request) = 0;
};

// The EHR's FHIR server. Get() returns the body of a 200 response to
// GET `url` with `Authorization: Bearer <token>`; any other outcome is an
// error (UNAVAILABLE, DEADLINE_EXCEEDED, NOT_FOUND for 404, ...).
class FhirClient {
 public:
  virtual ~FhirClient() = default;
  virtual absl::StatusOr<std::string> Get(const std::string& url,
                                          const std::string& bearer_token) = 0;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", "OPTIONS", ...
  std::string path;    // without the query string
  // Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct CdsServiceOptions {
  // Verify a JWT on every service and feedback call. Default true.
  bool require_auth = true;
  // Discovery needs a JWT too (when require_auth). Default false: the
  // discovery document holds no patient data, and EHR sandboxes probe it
  // without a token; a token that IS sent is still verified.
  bool discovery_requires_auth = false;
  // The public base URL of this service as the EHR calls it, e.g.
  // "https://cds.example.org" (the JWT aud is this + "/cds-services[/id]").
  // Required when require_auth.
  std::string audience_base;
  // Absolute URL the knowledge base's citation_url values are relative to.
  // Empty: cards carry no source.url.
  std::string docs_base_url;
  // Largest request body accepted. Default 16 MiB.
  size_t max_body_bytes = size_t{16} << 20;
  // Most FHIR requests per hook call (absent keys plus `next` pages).
  // Default 50.
  int max_fhir_requests = 50;
  // CORS: the Access-Control-Allow-Origin value. Default "*" (the service
  // uses bearer tokens, not cookies); set the EHR's origin in production.
  std::string cors_allow_origin = "*";
  // "Today" for patient-view and for orders without a date, in this zone.
  // Default UTC.
  absl::TimeZone time_zone = absl::UTCTimeZone();
};

// Per-call timings, accumulated (for the benchmark and Server-Timing).
struct CdsTimings {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> parse_ns{0};   // validation + FHIR -> record + plan
  std::atomic<int64_t> fetch_ns{0};   // FHIR server requests
  std::atomic<int64_t> screen_ns{0};  // the Screen RPC (gRPC hop + rules)
  std::atomic<int64_t> render_ns{0};  // cards JSON
};

class CdsHooksService {
 public:
  // `screening` and `fhir` must outlive the service; `verifier` may be null
  // only when !options.require_auth. `now` is the clock.
  CdsHooksService(CdsServiceOptions options, ScreeningClient* screening,
                  FhirClient* fhir, std::shared_ptr<JwtVerifier> verifier,
                  std::function<absl::Time()> now);

  HttpResponse Handle(const HttpRequest& request);

  const CdsTimings& timings() const { return timings_; }

 private:
  HttpResponse Route(const HttpRequest& request, std::string* log_fields);
  HttpResponse Discovery(const HttpRequest& request, std::string* log_fields);
  HttpResponse Hook(const HttpRequest& request, const std::string& service_id,
                    std::string* log_fields);
  HttpResponse Feedback(const HttpRequest& request,
                        const std::string& service_id, std::string* log_fields);
  // OK, or the 401 response to send.
  bool Authenticate(const HttpRequest& request,
                    const std::vector<std::string>& audiences, bool required,
                    HttpResponse* error, std::string* log_fields);
  std::map<std::string, std::string> CitationUrls(
      const std::string& kb_version);

  const CdsServiceOptions options_;
  ScreeningClient* const screening_;
  FhirClient* const fhir_;
  const std::shared_ptr<JwtVerifier> verifier_;
  const std::function<absl::Time()> now_;
  CdsTimings timings_;

  absl::Mutex kb_mu_;
  std::string kb_version_ ABSL_GUARDED_BY(kb_mu_);
  std::map<std::string, std::string> citation_urls_ ABSL_GUARDED_BY(kb_mu_);
};

// An OperationOutcome error body naming `problem`.
HttpResponse ErrorResponse(int status, absl::string_view code,
                           absl::string_view problem);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_CDS_SERVICE_H_
