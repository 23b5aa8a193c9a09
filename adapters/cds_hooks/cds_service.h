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
// fhirServer is the caller's choice, so it is contacted only when
// options.fhir_servers allows it (fhir_server_policy.h: https, allowed
// prefixes), and every URL fetched (absent keys, `next` pages of the
// prefetch and of fetched pages) must lie under both fhirServer and an
// allowed prefix. One hook call has options.hook_deadline for all its FHIR
// requests and the Screen call, and options.fhir_fetch_max_bytes for all
// the bytes it fetches. Whatever goes wrong with fetching (not allowed,
// refused, DNS, timeout, HTTP error, too large, unreadable) answers the
// same 412 body (kFhirUnreadable), so the answers tell the caller nothing
// about the network behind the gateway; the reason goes to the log only.
//
// HTTP statuses (every error body is a FHIR OperationOutcome JSON naming the
// problem in issue[0].diagnostics; 401 bodies say only "authentication
// required", as the CDS Hooks best practices ask):
//   200  cards, discovery, feedback recorded
//   204  CORS preflight
//   400  body not JSON, unknown hook for the service, missing or ill-typed
//        fields, FHIR data the adapter or the engine cannot read, more
//        feedback entries than options.max_feedback_items
//   401  missing or invalid JWT (when auth is on)
//   404  unknown service id or path; feedback for a card the ledger does not
//        know
//   405  wrong method
//   412  prefetch key(s) absent (or only partly paginated) and no FHIR access,
//        or the FHIR server could not (or may not) be read: the spec's
//        "Precondition Failed"
//   413  body larger than max_body_bytes
//   415  POST without Content-Type application/json
//   501  feedback while needlecheckd has no ledger (UNIMPLEMENTED)
//   502  needlecheckd answered with an unexpected error
//   503  needlecheckd unreachable or draining, or the hook call past
//        options.hook_deadline (while fetching from fhirServer: 412)
//
// Access trail: every needlecheckd call carries OnBehalfOf (JWT iss, sub,
// tenant, the hook's userId, the call's traceparent). After fetching from
// fhirServer (whether or not every fetch worked), the service sends the
// URLs it requested, query values stripped, with each outcome, in one
// RecordAccess call before going on. When needlecheckd cannot record them
// the fetched data is not used: the hook answers 503 without cards (the
// usual 412 when a fetch failed, with record_access=<code> in the log
// line); an UNIMPLEMENTED (needlecheckd runs with --ledger=none, so it
// keeps no trail) is not an error.
//
// Trace context: a request's W3C traceparent header, when valid
// (trace::TraceIdFromTraceparent), is the call's; when absent or invalid
// the call starts a new trace (trace::NewTraceparent). Every needlecheckd
// call made for it carries that traceparent in gRPC metadata, and its log
// line ends with trace_id=<32 hex>.
//
// Logs: one line per call (method, path template, status, card count,
// duration, JWT iss, trace id); never patient data, tokens or bodies, and no
// string the caller chose verbatim: hookInstance, JWT jti and a refused
// fhirServer appear as LogDigest() values (common/logging/log_digest.h); a
// trace id is logged only once validated as 32 hex digits.
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
#include "adapters/cds_hooks/cds_metrics.h"
#include "adapters/cds_hooks/fhir_server_policy.h"
#include "adapters/cds_hooks/hook_request.h"
#include "adapters/cds_hooks/jwt_verifier.h"
#include "adapters/fhir/json_document.h"
#include "needlecheck/v1/access_log.pb.h"
#include "needlecheck/v1/screening.pb.h"

namespace needlecheck::cds_hooks {

// Whom a call to needlecheckd is made for: the EHR's verified JWT claims
// (empty when auth is off), the hook's context.userId, and the call's W3C
// traceparent (the EHR's when valid, else a new one). needlecheckd records them
// in its access-audit trail next to the gateway's own (transport) identity.
struct OnBehalfOf {
  std::string iss;
  std::string sub;
  std::string tenant;
  std::string user_id;
  std::string traceparent;
};

// needlecheckd, as the service sees it. Implementations end every call by
// `deadline` (and by their own per-call timeout, whichever comes first),
// send `on_behalf` as gRPC metadata (x-needlecheck-caller-iss, -sub,
// -tenant, -user, percent-encoded; traceparent) and map gRPC codes one to
// one onto absl codes.
//
// The *Async calls give the same outcome to `done`, which runs exactly once:
// on a thread of the client's while no caller thread waits (the gRPC
// client), or on the caller's thread before the call returns (the defaults
// below, which call the blocking version). `done` must not block.
class ScreeningClient {
 public:
  using ScreenDone =
      std::function<void(absl::StatusOr<needlecheck::v1::ScreenResponse>)>;
  using KnowledgeBaseDone =
      std::function<void(absl::StatusOr<needlecheck::v1::KnowledgeBase>)>;

  virtual ~ScreeningClient() = default;
  virtual absl::StatusOr<needlecheck::v1::ScreenResponse> Screen(
      const needlecheck::v1::ScreenRequest& request, absl::Time deadline,
      const OnBehalfOf& on_behalf) = 0;
  // `request` must stay valid until `done` has run (the service builds it
  // on the hook call's arena, which outlives the call).
  virtual void ScreenAsync(const needlecheck::v1::ScreenRequest& request,
                           absl::Time deadline, const OnBehalfOf& on_behalf,
                           ScreenDone done) {
    done(Screen(request, deadline, on_behalf));
  }
  virtual absl::StatusOr<needlecheck::v1::KnowledgeBase> GetKnowledgeBase(
      absl::Time deadline) = 0;
  virtual void GetKnowledgeBaseAsync(absl::Time deadline,
                                     KnowledgeBaseDone done) {
    done(GetKnowledgeBase(deadline));
  }
  virtual absl::StatusOr<needlecheck::v1::RecordFeedbackResponse>
  RecordFeedback(const needlecheck::v1::RecordFeedbackRequest& request,
                 const OnBehalfOf& on_behalf) = 0;
  // Records the FHIR reads this gateway made for a hook call in
  // needlecheckd's access-audit trail.
  virtual absl::Status RecordAccess(
      const needlecheck::v1::RecordAccessRequest& request, absl::Time deadline,
      const OnBehalfOf& on_behalf) = 0;
};

// One GET to the EHR's FHIR server.
struct FhirGet {
  // Canonical form of a URL the service's FhirServerPolicy allowed
  // (fhir_server_policy.h).
  std::string url;
  // Sent as `Authorization: Bearer <token>`; never logged.
  std::string bearer_token;
  // The whole transfer (name resolution, connect, TLS, body) ends by then.
  absl::Time deadline = absl::InfinitePast();
  // Most body bytes (after decompression) accepted; the transfer is
  // aborted as soon as more arrive.
  size_t max_bytes = 0;
};

// The EHR's FHIR server. Get() returns the body of a 200 response; any
// other outcome is an error: DEADLINE_EXCEEDED (deadline reached),
// RESOURCE_EXHAUSTED (more than max_bytes), PERMISSION_DENIED (URL or
// connected address refused by the client's own checks; HTTP 401/403),
// NOT_FOUND (HTTP 404), UNAVAILABLE (connect, TLS or DNS failure; HTTP 5xx),
// FAILED_PRECONDITION (other HTTP statuses, redirects included: they are
// never followed). Messages never hold the token or the URL.
class FhirClient {
 public:
  virtual ~FhirClient() = default;
  virtual absl::StatusOr<std::string> Get(const FhirGet& request) = 0;
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
  // The FHIR servers the service may contact. Default: none (absent
  // prefetch keys then answer 412).
  FhirServerPolicy fhir_servers;
  // All FHIR requests and the Screen call of one hook call end within this
  // time after Handle() starts on the request. Default 5 s (Da Vinci CRD asks
  // for an answer within 5 s for 90% of calls).
  absl::Duration hook_deadline = absl::Seconds(5);
  // Most bytes fetched from the FHIR server per hook call, all requests
  // together (after decompression). Default 16 MiB.
  size_t fhir_fetch_max_bytes = size_t{16} << 20;
  // Most entries in one feedback POST. Default 100.
  size_t max_feedback_items = 100;
  // CORS: the Access-Control-Allow-Origin value. Default "*" (the service
  // uses bearer tokens, not cookies); set the EHR's origin in production.
  std::string cors_allow_origin = "*";
  // "Today" for patient-view and for orders without a date, in this zone.
  // Default UTC.
  absl::TimeZone time_zone = absl::UTCTimeZone();
  // Where requests, prefetch results, FHIR fetches and JWT rejections are
  // counted (cds_metrics.h); must outlive the service. Default: null (none).
  CdsMetrics* metrics = nullptr;
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

  using Reply = std::function<void(HttpResponse)>;

  // Answers `request`: `reply` runs exactly once with the response. A hook
  // call does not hold the calling thread while needlecheckd screens: its
  // cards are rendered, and `reply` runs, on the ScreeningClient's thread
  // that receives the answer (ScreenAsync). Every other answer is given on
  // the calling thread before HandleAsync returns. Never throws.
  void HandleAsync(const HttpRequest& request, Reply reply);
  // HandleAsync(), waiting for the reply.
  HttpResponse Handle(const HttpRequest& request);

  const CdsTimings& timings() const { return timings_; }

 private:
  // One request in progress (cds_service.cc).
  struct Call;
  // A hook call waiting for Screen (cds_service.cc).
  struct ScreenedHook;

  // `traceparent`: the request's valid W3C traceparent (HandleAsync()).
  // `*pending`: the answer will be given later, by FinishCall().
  HttpResponse Route(const HttpRequest& request, const std::string& traceparent,
                     const std::shared_ptr<Call>& call, bool* pending);
  // Adds the headers every answer has, counts and logs the call, and
  // replies.
  void FinishCall(const std::shared_ptr<Call>& call, HttpResponse response);
  HttpResponse Discovery(const HttpRequest& request, std::string* log_fields);
  HttpResponse Hook(const HttpRequest& request, const std::string& service_id,
                    const std::string& traceparent,
                    const std::shared_ptr<Call>& call, bool* pending);
  // The hook call's answer once Screen answered: the cards, or the error.
  void AfterScreen(const std::shared_ptr<ScreenedHook>& hook,
                   absl::StatusOr<needlecheck::v1::ScreenResponse> screened);
  void RenderHookCards(const std::shared_ptr<ScreenedHook>& hook,
                       std::map<std::string, std::string> citation_urls);
  HttpResponse Feedback(const HttpRequest& request,
                        const std::string& service_id,
                        const std::string& traceparent,
                        std::string* log_fields);
  // OK, or the 401 response to send.
  // `claims` (may be null) gets the verified token's claims.
  bool Authenticate(const HttpRequest& request,
                    const std::vector<std::string>& audiences, bool required,
                    HttpResponse* error, std::string* log_fields,
                    JwtClaims* claims = nullptr);
  // Fetches what the prefetch lacks into `fetched`, each page parsed once
  // (for its next links and, later, its resources; a page that does not
  // parse keeps its error for the record step). Non-OK: the generic 412 is
  // the answer (the reason is in the log fields).
  // `fetch_log` gets each URL requested and its outcome.
  absl::Status FetchMissing(
      const HookRequest& hook, absl::Time deadline,
      std::vector<std::unique_ptr<fhir::JsonDocument>>* fetched,
      needlecheck::v1::RecordAccessRequest* fetch_log, std::string* log_fields);
  // Calls `then` with the knowledge base's citation URLs by rule id: the
  // cached ones when they are of `kb_version` (or the deadline has passed),
  // else fetched (GetKnowledgeBaseAsync; on failure the last known ones).
  void WithCitationUrls(
      const std::string& kb_version, absl::Time deadline,
      std::function<void(std::map<std::string, std::string>)> then);

  // A parsed-body document and the first block of the call's protobuf
  // arena, kept for the next call.
  struct SpareDocument {
    std::unique_ptr<fhir::JsonDocument> document;
    std::unique_ptr<char[]> arena_block;  // kArenaBlockBytes
  };
  // A document for a hook body of `body_bytes` (and an arena block), taken
  // from the spares (or new) and given back when done if the body was small
  // enough and the spares have room, so calls reuse the parser's buffers
  // and the arena's first block instead of allocating them each time.
  struct PooledDocument {
    PooledDocument(CdsHooksService* service, size_t body_bytes);
    ~PooledDocument();
    PooledDocument(const PooledDocument&) = delete;
    PooledDocument& operator=(const PooledDocument&) = delete;
    CdsHooksService* const service;
    const size_t body_bytes;
    SpareDocument spare;
  };

  const CdsServiceOptions options_;
  ScreeningClient* const screening_;
  FhirClient* const fhir_;
  const std::shared_ptr<JwtVerifier> verifier_;
  const std::function<absl::Time()> now_;
  CdsTimings timings_;

  absl::Mutex documents_mu_;
  std::vector<SpareDocument> spare_documents_ ABSL_GUARDED_BY(documents_mu_);
  // The sum of the spares' JsonDocument::capacity().
  size_t spare_capacity_ ABSL_GUARDED_BY(documents_mu_) = 0;

  absl::Mutex kb_mu_;
  std::string kb_version_ ABSL_GUARDED_BY(kb_mu_);
  std::map<std::string, std::string> citation_urls_ ABSL_GUARDED_BY(kb_mu_);
};

// The diagnostics of every 412 that involved fetching from fhirServer.
inline constexpr char kFhirUnreadable[] =
    "required data is absent from the prefetch and could not be read from "
    "fhirServer";

// An OperationOutcome error body naming `problem`.
HttpResponse ErrorResponse(int status, absl::string_view code,
                           absl::string_view problem);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_CDS_SERVICE_H_
