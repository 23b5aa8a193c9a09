#include "adapters/cds_hooks/cds_service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "adapters/cds_hooks/cards.h"
#include "adapters/cds_hooks/discovery.h"
#include "adapters/cds_hooks/hook_request.h"
#include "adapters/common/json_writer.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/planned_session.h"
#include "common/ids/uuid.h"
#include "common/logging/log_digest.h"
#include "common/trace/traceparent.h"
#include "google/protobuf/arena.h"

namespace needlecheck::cds_hooks {

namespace {

using Clock = std::chrono::steady_clock;
using ::needlecheck::logging::LogDigest;

int64_t NanosSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                              start)
      .count();
}

// OperationOutcome issue type codes (FHIR issue-type value set).
constexpr char kInvalid[] = "invalid";
constexpr char kNotFound[] = "not-found";
constexpr char kLogin[] = "login";
constexpr char kTransient[] = "transient";
constexpr char kException[] = "exception";
constexpr char kTooLong[] = "too-long";
constexpr char kIncomplete[] = "incomplete";
constexpr char kNotSupported[] = "not-supported";

// Deepest nesting the FHIR reader accepts in a body or a fetched page (its
// default: fhir::ExtractOptions::max_depth, fhir::SessionOptions::max_depth).
constexpr size_t kFhirMaxDepth = 64;

// Parsed bodies up to this size give their document (the parser's buffers:
// about 14 times the body's size) back for the next call; a larger body's
// is freed. A call keeps its document until its cards are written (they
// read the planned resources in it), so as many are in use as calls wait
// for needlecheckd. At most kSpareDocuments wait for reuse, together of at
// most kSpareCapacityBytes (JsonDocument::capacity()), so the spares hold
// at most about 14 x 4 MiB = 56 MiB of parser buffers and 64 x 64 KiB =
// 4 MiB of arena blocks.
constexpr size_t kReusedDocumentBytes = size_t{256} << 10;
constexpr size_t kSpareDocuments = 64;
constexpr size_t kSpareCapacityBytes = size_t{4} << 20;

// A hook call's protobuf arena starts in a reused block of this size (the
// typical record fits in it); further blocks grow to 64 KiB.
constexpr size_t kArenaBlockBytes = size_t{64} << 10;

google::protobuf::ArenaOptions HookArenaOptions(char* initial_block) {
  google::protobuf::ArenaOptions options;
  options.start_block_size = size_t{4} << 10;
  options.max_block_size = size_t{64} << 10;
  if (initial_block != nullptr) {
    options.initial_block = initial_block;
    options.initial_block_size = kArenaBlockBytes;
  }
  return options;
}

std::string Trimmed(absl::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base);
}

// The HTTP status for an error from needlecheckd.
HttpResponse ServiceError(const absl::Status& status, absl::string_view what) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled: {
      HttpResponse r = ErrorResponse(
          503, kTransient,
          absl::StrCat("the screening service is unavailable (", what, ": ",
                       absl::StatusCodeToString(status.code()),
                       "); try again"));
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return ErrorResponse(400, kInvalid,
                           absl::StrCat("the screening service rejected the "
                                        "record built from this request: ",
                                        status.message()));
    case absl::StatusCode::kResourceExhausted:
      return ErrorResponse(413, kTooLong,
                           absl::StrCat("the record is too large for the "
                                        "screening service: ",
                                        status.message()));
    case absl::StatusCode::kNotFound:
      return ErrorResponse(404, kNotFound, status.message());
    case absl::StatusCode::kUnimplemented:
      return ErrorResponse(501, kNotSupported,
                           absl::StrCat("the screening service does not "
                                        "support ",
                                        what));
    default:
      return ErrorResponse(
          502, kException,
          absl::StrCat("the screening service failed (", what, ": ",
                       absl::StatusCodeToString(status.code()), ")"));
  }
}

std::string Today(absl::Time now, absl::TimeZone zone) {
  return absl::FormatCivilTime(absl::ToCivilDay(now, zone));
}

// The method for the log: a known one, or "other" (the caller chose it).
absl::string_view LoggedMethod(absl::string_view method) {
  for (absl::string_view known :
       {"GET", "POST", "OPTIONS", "HEAD", "PUT", "DELETE", "PATCH"}) {
    if (method == known) return known;
  }
  return "other";
}

// application/json, with or without parameters (charset=utf-8), any case.
bool IsJsonContentType(const HttpRequest& request) {
  auto it = request.headers.find("content-type");
  if (it == request.headers.end()) return false;
  absl::string_view type = it->second;
  type = type.substr(0, type.find(';'));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(type),
                                "application/json");
}

// The 412 for anything that went wrong with fhirServer; `reason` goes to
// the log only.
HttpResponse FhirUnreadable(absl::string_view reason, std::string* log_fields) {
  absl::StrAppend(log_fields, " precondition=fhir-failed reason=", reason);
  return ErrorResponse(412, kIncomplete, kFhirUnreadable);
}

// `url` with every query value removed ("a?x=1&y" -> "a?x=&y") and no
// fragment, so that the access trail names what was read without the
// search values (patient ids, codes). needlecheckd strips them again.
std::string StripQueryValues(absl::string_view url) {
  url = url.substr(0, url.find('#'));
  const size_t q = url.find('?');
  if (q == absl::string_view::npos) return std::string(url);
  std::vector<std::string> names;
  for (absl::string_view pair : absl::StrSplit(url.substr(q + 1), '&')) {
    const size_t eq = pair.find('=');
    names.push_back(eq == absl::string_view::npos
                        ? std::string(pair)
                        : absl::StrCat(pair.substr(0, eq), "="));
  }
  return absl::StrCat(url.substr(0, q + 1), absl::StrJoin(names, "&"));
}

OnBehalfOf OnBehalfOfCaller(const std::string& traceparent,
                            const JwtClaims& claims,
                            absl::string_view user_id) {
  OnBehalfOf on_behalf;
  on_behalf.iss = claims.iss;
  on_behalf.sub = claims.sub;
  on_behalf.tenant = claims.tenant;
  on_behalf.user_id = std::string(user_id);
  on_behalf.traceparent = traceparent;  // valid: the EHR's or a new one
  return on_behalf;
}

}  // namespace

HttpResponse ErrorResponse(int status, absl::string_view code,
                           absl::string_view problem) {
  adapters::JsonWriter w;
  w.BeginObject();
  w.Key("resourceType");
  w.String("OperationOutcome");
  w.Key("issue");
  w.BeginArray();
  w.BeginObject();
  w.Key("severity");
  w.String("error");
  w.Key("code");
  w.String(code);
  w.Key("diagnostics");
  w.String(problem);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  HttpResponse response;
  response.status = status;
  response.body = std::move(w).Text();
  return response;
}

CdsHooksService::CdsHooksService(CdsServiceOptions options,
                                 ScreeningClient* screening, FhirClient* fhir,
                                 std::shared_ptr<JwtVerifier> verifier,
                                 std::function<absl::Time()> now)
    : options_(std::move(options)),
      screening_(screening),
      fhir_(fhir),
      verifier_(std::move(verifier)),
      now_(std::move(now)) {}

struct CdsHooksService::Call {
  Clock::time_point start;
  std::string method;
  std::string path;
  std::string trace_id;  // validated: 32 hex digits, or empty
  std::string log_fields;
  Reply reply;
};

struct CdsHooksService::ScreenedHook {
  explicit ScreenedHook(std::unique_ptr<PooledDocument> body_document)
      : body(std::move(body_document)),
        arena(HookArenaOptions(body->spare.arena_block.get())),
        screen(google::protobuf::Arena::CreateMessage<
               needlecheck::v1::ScreenRequest>(&*arena)) {}
  ~ScreenedHook() { Release(); }

  // Frees the ScreenRequest and gives the body back (arena first: it may
  // start in the body's block). Called once the cards are written, so the
  // spares are back before the answer goes out (and before this service
  // may be gone).
  void Release() {
    screen = nullptr;
    planned_resources.clear();
    arena.reset();
    body.reset();
    request_tree.reset();
  }

  // The parsed body (and the request's own tree, if it parsed the text),
  // kept until the cards are rendered: planned_resources point into it.
  std::unique_ptr<PooledDocument> body;
  // The call's ScreenRequest and every message of its record, freed at once.
  std::optional<google::protobuf::Arena> arena;
  needlecheck::v1::ScreenRequest* screen;
  std::shared_ptr<const simdjson::dom::parser> request_tree;
  std::shared_ptr<Call> call;
  absl::Time deadline;
  bool readiness = false;
  std::vector<PlannedResource> planned_resources;
  int64_t parse_ns = 0;
  Clock::time_point screen_start;
  int64_t screen_ns = 0;
  needlecheck::v1::ScreenResponse screened;
};

HttpResponse CdsHooksService::Handle(const HttpRequest& request) {
  absl::Notification done;
  HttpResponse response;
  HandleAsync(request, [&](HttpResponse r) {
    response = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return response;
}

void CdsHooksService::HandleAsync(const HttpRequest& request, Reply reply) {
  auto call = std::make_shared<Call>();
  call->start = Clock::now();
  call->method = request.method;
  call->path = request.path;
  call->reply = std::move(reply);
  // W3C trace context: the EHR's traceparent when valid, else a new trace
  // (a malformed one is replaced, never forwarded or logged).
  auto incoming = request.headers.find(trace::kTraceparentHeader);
  std::string traceparent;
  if (incoming != request.headers.end()) {
    call->trace_id = trace::TraceIdFromTraceparent(incoming->second);
    if (!call->trace_id.empty()) traceparent = incoming->second;
  }
  if (call->trace_id.empty()) {
    traceparent = trace::NewTraceparent();  // "" only if RAND_bytes fails
    call->trace_id = trace::TraceIdFromTraceparent(traceparent);
  }
  HttpResponse response;
  bool pending = false;
  try {
    response = Route(request, traceparent, call, &pending);
  } catch (const std::exception& e) {
    // Nothing below should throw; contain it if something does. (Once the
    // answer is pending, what gives it catches its own.)
    if (pending) return;
    response = ErrorResponse(500, kException, "internal error");
    // The type only: what() may quote the input.
    absl::StrAppend(&call->log_fields,
                    " exception=", absl::CHexEscape(typeid(e).name()));
  }
  if (!pending) FinishCall(call, std::move(response));
}

void CdsHooksService::FinishCall(const std::shared_ptr<Call>& call,
                                 HttpResponse response) {
  // CORS (CDS Hooks "Cross-Origin Resource Sharing"; OWASP HTML5 cheat
  // sheet: explicit origin, methods and headers; no credentials).
  response.headers.emplace_back("Access-Control-Allow-Origin",
                                options_.cors_allow_origin);
  response.headers.emplace_back("Access-Control-Allow-Methods",
                                "GET, POST, OPTIONS");
  response.headers.emplace_back("Access-Control-Allow-Headers",
                                "Authorization, Content-Type");
  response.headers.emplace_back("Access-Control-Max-Age", "600");
  if (options_.cors_allow_origin != "*") {
    response.headers.emplace_back("Vary", "Origin");
  }
  response.headers.emplace_back("Cache-Control", "no-store");
  const int64_t took_ns = NanosSince(call->start);
  if (options_.metrics != nullptr) {
    options_.metrics->RequestDone(call->method, call->path, response.status,
                                  absl::Nanoseconds(took_ns));
  }
  const double ms = static_cast<double>(took_ns) / 1e6;
  if (!call->trace_id.empty()) {
    absl::StrAppend(&call->log_fields, " trace_id=", call->trace_id);
  }
  std::fprintf(stderr, "event=http method=%s status=%d ms=%.2f%s\n",
               std::string(LoggedMethod(call->method)).c_str(), response.status,
               ms, call->log_fields.c_str());
  call->reply(std::move(response));
}

HttpResponse CdsHooksService::Route(const HttpRequest& request,
                                    const std::string& traceparent,
                                    const std::shared_ptr<Call>& call,
                                    bool* pending) {
  std::string* const log_fields = &call->log_fields;
  absl::string_view path = request.path;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (request.method == "OPTIONS") {
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    absl::StrAppend(log_fields, " route=preflight");
    return r;
  }
  const std::vector<absl::string_view> parts =
      absl::StrSplit(path.substr(path.empty() ? 0 : 1), '/');
  if (parts.empty() || parts[0] != "cds-services" || parts.size() > 3 ||
      (parts.size() == 3 && parts[2] != "feedback")) {
    absl::StrAppend(log_fields, " route=unknown");
    return ErrorResponse(404, kNotFound,
                         "no such endpoint (try GET /cds-services)");
  }
  if (parts.size() == 1) {
    absl::StrAppend(log_fields, " route=discovery");
    if (request.method != "GET") {
      HttpResponse r =
          ErrorResponse(405, kNotSupported, "use GET for /cds-services");
      r.headers.emplace_back("Allow", "GET, OPTIONS");
      return r;
    }
    return Discovery(request, log_fields);
  }
  const std::string service_id(parts[1]);
  if (!IsKnownServiceId(service_id)) {
    absl::StrAppend(log_fields, " route=unknown-service");
    return ErrorResponse(
        404, kNotFound,
        absl::StrCat("unknown CDS service id \"",
                     absl::CHexEscape(service_id.substr(0, 64)),
                     "\" (see GET /cds-services)"));
  }
  if (request.method != "POST") {
    HttpResponse r =
        ErrorResponse(405, kNotSupported, "use POST to call a CDS service");
    r.headers.emplace_back("Allow", "POST, OPTIONS");
    return r;
  }
  if (request.body.size() > options_.max_body_bytes) {
    return ErrorResponse(413, kTooLong,
                         absl::StrCat("request body of ", request.body.size(),
                                      " bytes is larger than the limit of ",
                                      options_.max_body_bytes));
  }
  if (!IsJsonContentType(request)) {
    absl::StrAppend(log_fields, " route=unsupported-media-type");
    HttpResponse r = ErrorResponse(
        415, kNotSupported,
        "Content-Type must be application/json (charset parameters allowed)");
    r.headers.emplace_back("Accept-Post", "application/json");
    return r;
  }
  if (parts.size() == 3) {
    absl::StrAppend(log_fields, " route=feedback service=", service_id);
    return Feedback(request, service_id, traceparent, log_fields);
  }
  absl::StrAppend(log_fields, " route=hook service=", service_id);
  return Hook(request, service_id, traceparent, call, pending);
}

bool CdsHooksService::Authenticate(const HttpRequest& request,
                                   const std::vector<std::string>& audiences,
                                   bool required, HttpResponse* error,
                                   std::string* log_fields,
                                   JwtClaims* claims_out) {
  auto it = request.headers.find("authorization");
  const bool has_header = it != request.headers.end();
  if (!options_.require_auth || (!required && !has_header)) return true;
  absl::string_view token;
  if (has_header) {
    absl::string_view value = absl::StripAsciiWhitespace(it->second);
    if (value.size() > 7 &&
        absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
      token = absl::StripAsciiWhitespace(value.substr(7));
    }
  }
  absl::StatusOr<JwtClaims> claims =
      verifier_ == nullptr
          ? absl::UnauthenticatedError("no JWT verifier configured")
      : token.empty()
          ? absl::UnauthenticatedError("no Authorization: Bearer header")
          : verifier_->Verify(token, audiences, now_());
  if (!claims.ok()) {
    if (options_.metrics != nullptr) {
      options_.metrics->JwtRejected(claims.status().message());
    }
    absl::StrAppend(log_fields, " auth=refused reason=\"",
                    absl::CHexEscape(claims.status().message()), "\"");
    *error = ErrorResponse(401, kLogin, "authentication required");
    error->headers.emplace_back("WWW-Authenticate", "Bearer");
    return false;
  }
  // iss is one of --trusted_issuers; jti is the caller's, so hashed.
  absl::StrAppend(log_fields, " auth=ok iss=\"", absl::CHexEscape(claims->iss),
                  "\" jti_sha=", LogDigest(claims->jti));
  if (claims_out != nullptr) *claims_out = *std::move(claims);
  return true;
}

HttpResponse CdsHooksService::Discovery(const HttpRequest& request,
                                        std::string* log_fields) {
  HttpResponse error;
  const std::string base = Trimmed(options_.audience_base);
  if (!Authenticate(request, {absl::StrCat(base, "/cds-services")},
                    options_.discovery_requires_auth, &error, log_fields)) {
    return error;
  }
  HttpResponse r;
  r.body = DiscoveryJson();
  return r;
}

void CdsHooksService::WithCitationUrls(
    const std::string& kb_version, absl::Time deadline,
    std::function<void(std::map<std::string, std::string>)> then) {
  std::map<std::string, std::string> known;
  bool current = false;
  {
    absl::MutexLock lock(&kb_mu_);
    known = citation_urls_;
    current = (!kb_version_.empty() && kb_version_ == kb_version) ||
              absl::Now() >= deadline;
  }
  if (current) {
    then(std::move(known));
    return;
  }
  screening_->GetKnowledgeBaseAsync(
      deadline, [this, then = std::move(then), known = std::move(known)](
                    absl::StatusOr<needlecheck::v1::KnowledgeBase> kb) mutable {
        if (!kb.ok()) {
          then(std::move(known));  // the last known, possibly empty
          return;
        }
        std::map<std::string, std::string> urls;
        for (const auto& rule : kb->rules()) {
          if (!rule.citation_url().empty()) {
            urls[rule.id()] = rule.citation_url();
          }
        }
        {
          absl::MutexLock lock(&kb_mu_);
          kb_version_ = kb->version();
          citation_urls_ = urls;
        }
        then(std::move(urls));
      });
}

CdsHooksService::PooledDocument::PooledDocument(CdsHooksService* service,
                                                size_t body_bytes)
    : service(service), body_bytes(body_bytes) {
  {
    absl::MutexLock lock(&service->documents_mu_);
    if (!service->spare_documents_.empty()) {
      spare = std::move(service->spare_documents_.back());
      service->spare_documents_.pop_back();
      service->spare_capacity_ -= spare.document->capacity();
      return;
    }
  }
  spare.document = std::make_unique<fhir::JsonDocument>();
  if (body_bytes <= kReusedDocumentBytes) {
    spare.arena_block = std::make_unique<char[]>(kArenaBlockBytes);
  }
}

CdsHooksService::PooledDocument::~PooledDocument() {
  if (body_bytes > kReusedDocumentBytes || spare.arena_block == nullptr) {
    return;
  }
  const size_t capacity = spare.document->capacity();
  absl::MutexLock lock(&service->documents_mu_);
  if (service->spare_documents_.size() < kSpareDocuments &&
      service->spare_capacity_ + capacity <= kSpareCapacityBytes) {
    service->spare_capacity_ += capacity;
    service->spare_documents_.push_back(std::move(spare));
  }
}

HttpResponse CdsHooksService::Hook(const HttpRequest& request,
                                   const std::string& service_id,
                                   const std::string& traceparent,
                                   const std::shared_ptr<Call>& call,
                                   bool* pending) {
  std::string* const log_fields = &call->log_fields;
  // Everything below ends by then (FHIR requests and Screen).
  const absl::Time deadline = absl::Now() + options_.hook_deadline;
  HttpResponse error;
  const std::string base = Trimmed(options_.audience_base);
  JwtClaims claims;
  if (!Authenticate(request, {absl::StrCat(base, "/cds-services/", service_id)},
                    /*required=*/true, &error, log_fields, &claims)) {
    return error;
  }
  timings_.calls.fetch_add(1, std::memory_order_relaxed);
  Clock::time_point phase = Clock::now();
  int64_t parse_ns = 0;

  // The body is parsed once, with the FHIR reader's limits; the request,
  // the planned session and the record all read this tree. When it does not
  // parse within them, the request is still validated on its own (a
  // malformed body or a bad field answers as such) before the limit's error.
  // What goes to needlecheckd is built on the hook's arena, which starts in
  // the body document's block.
  auto screened_hook = std::make_shared<ScreenedHook>(
      std::make_unique<PooledDocument>(this, request.body.size()));
  fhir::JsonDocument& document = *screened_hook->body->spare.document;
  const absl::Status parsed =
      document.Parse(request.body, options_.max_body_bytes, kFhirMaxDepth);
  absl::StatusOr<HookRequest> hook =
      parsed.ok() ? ParseHookRequest(document.root(), service_id)
                  : ParseHookRequest(request.body, service_id);
  if (!hook.ok()) {
    return ErrorResponse(400, kInvalid, hook.status().message());
  }
  absl::StrAppend(log_fields, " hook=", hook->hook,
                  " hook_instance_sha=", LogDigest(hook->hook_instance));
  const OnBehalfOf on_behalf =
      OnBehalfOfCaller(traceparent, claims, hook->user_id);
  const std::string today = Today(now_(), options_.time_zone);
  const bool readiness = service_id == kReadinessServiceId;

  needlecheck::v1::ScreenRequest& screen = *screened_hook->screen;
  screen.set_request_id(hook->hook_instance);
  std::vector<PlannedResource> planned_resources;
  if (readiness) {
    // A session today with unknown areas: what stands in the way of a next
    // session, and the interval rule's earliest date.
    screen.mutable_session()->set_date(today);
  } else {
    fhir::SessionOptions session_options;
    session_options.max_input_bytes = options_.max_body_bytes;
    session_options.max_depth = kFhirMaxDepth;
    session_options.default_date = today;
    absl::StatusOr<fhir::PlannedSessionExtract> planned =
        fhir::PlannedSessionFromHookRequest(document, session_options);
    if (absl::IsNotFound(planned.status())) {
      absl::StrAppend(log_fields, " session=none cards=0");
      HttpResponse r;
      r.body = R"({"cards":[]})";
      return r;
    }
    if (!planned.ok()) {
      return ErrorResponse(
          absl::IsResourceExhausted(planned.status()) ? 413 : 400, kInvalid,
          absl::StrCat("context: ", planned.status().message()));
    }
    screen.mutable_session()->Swap(&planned->session);
    for (const PlannedResource& r : hook->planned_resources) {
      for (const std::string& source : planned->sources) {
        if (source == r.reference) planned_resources.push_back(r);
      }
    }
  }
  parse_ns += NanosSince(phase);

  // Data the prefetch does not hold.
  std::vector<std::unique_ptr<fhir::JsonDocument>> fetched;
  if (!hook->prefetch_missing.empty() || !hook->prefetch_next_pages.empty()) {
    const Clock::time_point fetch_start = Clock::now();
    if (!hook->fhir_authorization.has_value() || hook->fhir_server.empty()) {
      std::vector<std::string> problems;
      if (!hook->prefetch_missing.empty()) {
        problems.push_back(absl::StrCat(
            "prefetch key(s) ", absl::StrJoin(hook->prefetch_missing, ", "),
            " absent"));
      }
      if (!hook->prefetch_next_pages.empty()) {
        problems.push_back("prefetch Bundle(s) have further pages");
      }
      absl::StrAppend(log_fields, " precondition=no-fhir-access");
      if (options_.metrics != nullptr) {
        options_.metrics->Prefetch(kPrefetchNoFhirAccess);
      }
      return ErrorResponse(
          412, kIncomplete,
          absl::StrCat(absl::StrJoin(problems, "; "),
                       ", and no fhirServer with fhirAuthorization to fetch "
                       "them from"));
    }
    needlecheck::v1::RecordAccessRequest fetch_log;
    fetch_log.set_patient_id(hook->patient_id);
    const absl::Status status =
        FetchMissing(*hook, deadline, &fetched, &fetch_log, log_fields);
    timings_.fetch_ns.fetch_add(NanosSince(fetch_start),
                                std::memory_order_relaxed);
    if (options_.metrics != nullptr) {
      options_.metrics->Prefetch(status.ok() ? kPrefetchFetched
                                             : kPrefetchFetchFailed);
    }
    if (fetch_log.fetches_size() > 0) {
      // The reads go into needlecheckd's access trail before any use. When
      // they cannot, fetched data is not used (503); after a failed fetch
      // nothing is used anyway, and the answer stays the generic 412.
      const absl::Status recorded =
          screening_->RecordAccess(fetch_log, deadline, on_behalf);
      if (!recorded.ok() && !absl::IsUnimplemented(recorded)) {
        absl::StrAppend(log_fields, " record_access=",
                        absl::StatusCodeToString(recorded.code()));
        if (status.ok()) return ServiceError(recorded, "RecordAccess");
      }
    }
    if (!status.ok()) return FhirUnreadable(status.message(), log_fields);
  } else if (options_.metrics != nullptr) {
    options_.metrics->Prefetch(kPrefetchComplete);
  }

  // The record.
  phase = Clock::now();
  fhir::ExtractOptions extract_options;
  extract_options.patient_id = hook->patient_id;
  extract_options.as_of_date = screen.session().date();
  extract_options.max_input_bytes = options_.max_body_bytes;
  extract_options.max_depth = kFhirMaxDepth;
  extract_options.arena = &*screened_hook->arena;
  fhir::FhirRecordBuilder builder(extract_options);
  absl::Status added = builder.AddDocument(document);
  for (size_t i = 0; added.ok() && i < fetched.size(); ++i) {
    added = builder.AddDocument(*fetched[i]);
    if (!added.ok()) {
      return FhirUnreadable(
          absl::StrCat("unreadable code=",
                       absl::StatusCodeToString(added.code())),
          log_fields);
    }
  }
  fetched.clear();
  if (!added.ok()) {
    return ErrorResponse(absl::IsResourceExhausted(added) ? 413 : 400, kInvalid,
                         absl::StrCat("prefetch: ", added.message()));
  }
  absl::StatusOr<fhir::FhirExtract> extract =
      builder.Finish(screen.mutable_record());
  if (!extract.ok()) {
    return ErrorResponse(
        absl::IsResourceExhausted(extract.status()) ? 413 : 400, kInvalid,
        absl::StrCat("prefetch: ", extract.status().message()));
  }
  if (screen.record().patient_id().empty()) {
    screen.mutable_record()->set_patient_id(hook->patient_id);
  }
  parse_ns += NanosSince(phase);
  timings_.parse_ns.fetch_add(parse_ns, std::memory_order_relaxed);

  // Screen, without holding this thread while needlecheckd works: the
  // cards are rendered where its answer arrives.
  if (absl::Now() >= deadline) {
    absl::StrAppend(log_fields, " screen=DEADLINE_EXCEEDED");
    return ServiceError(
        absl::DeadlineExceededError("the hook call's deadline passed"),
        "Screen");
  }
  screened_hook->call = call;
  screened_hook->deadline = deadline;
  screened_hook->readiness = readiness;
  screened_hook->request_tree = std::move(hook->tree);
  screened_hook->planned_resources = std::move(planned_resources);
  screened_hook->parse_ns = parse_ns;
  screened_hook->screen_start = Clock::now();
  *pending = true;
  screening_->ScreenAsync(
      screen, deadline, on_behalf,
      [this, screened_hook](
          absl::StatusOr<needlecheck::v1::ScreenResponse> screened) {
        AfterScreen(screened_hook, std::move(screened));
      });
  return HttpResponse();
}

void CdsHooksService::AfterScreen(
    const std::shared_ptr<ScreenedHook>& hook,
    absl::StatusOr<needlecheck::v1::ScreenResponse> screened) {
  hook->screen_ns = NanosSince(hook->screen_start);
  timings_.screen_ns.fetch_add(hook->screen_ns, std::memory_order_relaxed);
  if (!screened.ok()) {
    absl::StrAppend(&hook->call->log_fields, " screen=",
                    absl::StatusCodeToString(screened.status().code()));
    hook->Release();
    FinishCall(hook->call, ServiceError(screened.status(), "Screen"));
    return;
  }
  hook->screened = *std::move(screened);
  WithCitationUrls(
      hook->screened.knowledge_base_version(), hook->deadline,
      [this, hook](std::map<std::string, std::string> citation_urls) {
        RenderHookCards(hook, std::move(citation_urls));
      });
}

void CdsHooksService::RenderHookCards(
    const std::shared_ptr<ScreenedHook>& hook,
    std::map<std::string, std::string> citation_urls) {
  const Clock::time_point phase = Clock::now();
  HttpResponse r;
  try {
    CardOptions card_options;
    card_options.citation_urls = std::move(citation_urls);
    card_options.docs_base_url = options_.docs_base_url;
    card_options.planned_resources = std::move(hook->planned_resources);
    card_options.readiness = hook->readiness;
    card_options.new_uuid = ids::NewUuidV4;
    absl::StatusOr<std::string> body =
        RenderCards(hook->screened, card_options);
    // The parsed body goes back to the spares now, not when the last
    // reference to the hook goes (which may be after this service is gone).
    card_options.planned_resources.clear();
    hook->Release();
    const int64_t render_ns = NanosSince(phase);
    timings_.render_ns.fetch_add(render_ns, std::memory_order_relaxed);
    if (!body.ok()) {
      FinishCall(hook->call,
                 ErrorResponse(500, kException, "could not render the cards"));
      return;
    }
    absl::StrAppend(&hook->call->log_fields,
                    " cards=", hook->screened.alerts_size(),
                    " kb=", hook->screened.knowledge_base_version());
    r.body = std::move(body).value();
    r.headers.emplace_back(
        "Server-Timing",
        absl::StrFormat("parse;dur=%.3f, screen;dur=%.3f, render;dur=%.3f",
                        hook->parse_ns / 1e6, hook->screen_ns / 1e6,
                        render_ns / 1e6));
  } catch (const std::exception& e) {
    r = ErrorResponse(500, kException, "internal error");
    absl::StrAppend(&hook->call->log_fields,
                    " exception=", absl::CHexEscape(typeid(e).name()));
    hook->Release();
  }
  FinishCall(hook->call, std::move(r));
}

absl::Status CdsHooksService::FetchMissing(
    const HookRequest& hook, absl::Time deadline,
    std::vector<std::unique_ptr<fhir::JsonDocument>>* fetched,
    needlecheck::v1::RecordAccessRequest* fetch_log, std::string* log_fields) {
  // Reasons are short fixed words (the log field); never the URL.
  absl::StatusOr<HttpUrl> server = ParseHttpUrl(hook.fhir_server);
  if (!server.ok() || server->has_query) {
    absl::StrAppend(log_fields,
                    " fhir_server_sha=", LogDigest(hook.fhir_server));
    return absl::PermissionDeniedError("fhir-server-malformed");
  }
  if (!options_.fhir_servers.Check(*server).ok()) {
    absl::StrAppend(log_fields,
                    " fhir_server_sha=", LogDigest(hook.fhir_server));
    return absl::PermissionDeniedError("fhir-server-not-allowed");
  }
  std::string base = server->Canonical();
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::vector<std::string> queue;
  for (const std::string& key : hook.prefetch_missing) {
    for (const PrefetchTemplate& t : PrefetchTemplates()) {
      if (t.key == key) {
        queue.push_back(
            absl::StrCat(base, "/", ExpandPrefetchTemplate(t.query, hook)));
      }
    }
  }
  queue.insert(queue.end(), hook.prefetch_next_pages.begin(),
               hook.prefetch_next_pages.end());
  const std::string& token = hook.fhir_authorization->access_token;
  size_t bytes = 0;
  int requests = 0;
  absl::Status failure;
  for (size_t i = 0; failure.ok() && i < queue.size(); ++i) {
    // The token goes to the EHR's FHIR server only: every URL, page links
    // included, lies under fhirServer and under an allowed prefix.
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(queue[i]);
    if (!url.ok() || !UrlHasPrefix(*url, *server) ||
        !options_.fhir_servers.Check(*url).ok()) {
      failure = absl::PermissionDeniedError("link-outside-fhir-server");
    } else if (++requests > options_.max_fhir_requests) {
      failure = absl::ResourceExhaustedError("too-many-requests");
    } else if (bytes >= options_.fhir_fetch_max_bytes) {
      failure = absl::ResourceExhaustedError("byte-budget");
    } else if (absl::Now() >= deadline) {
      failure = absl::DeadlineExceededError("deadline");
    } else {
      FhirGet get;
      get.url = url->Canonical();
      get.bearer_token = token;
      get.deadline = deadline;
      get.max_bytes = options_.fhir_fetch_max_bytes - bytes;
      absl::StatusOr<std::string> page = fhir_->Get(get);
      needlecheck::v1::FhirFetch* logged = fetch_log->add_fetches();
      logged->set_url(StripQueryValues(get.url));
      logged->set_outcome(absl::StatusCodeToString(page.status().code()));
      if (options_.metrics != nullptr) {
        options_.metrics->FhirFetch(page.status());
      }
      if (!page.ok()) {
        failure = absl::UnavailableError(absl::StrCat(
            "fetch code=", absl::StatusCodeToString(page.status().code())));
      } else {
        bytes += page->size();
        auto document = std::make_unique<fhir::JsonDocument>();
        if (document->Parse(*page, options_.max_body_bytes, kFhirMaxDepth)
                .ok()) {
          for (std::string& next : BundleNextLinks(document->root())) {
            queue.push_back(std::move(next));
          }
        }
        fetched->push_back(std::move(document));
      }
    }
  }
  absl::StrAppend(log_fields, " fhir_requests=", requests,
                  " fhir_bytes=", bytes);
  return failure;
}

HttpResponse CdsHooksService::Feedback(const HttpRequest& request,
                                       const std::string& service_id,
                                       const std::string& traceparent,
                                       std::string* log_fields) {
  HttpResponse error;
  const std::string endpoint = absl::StrCat(Trimmed(options_.audience_base),
                                            "/cds-services/", service_id);
  // aud: the feedback endpoint's URL; the service's URL is accepted too
  // (clients differ on which endpoint the token names).
  JwtClaims claims;
  if (!Authenticate(request, {absl::StrCat(endpoint, "/feedback"), endpoint},
                    /*required=*/true, &error, log_fields, &claims)) {
    return error;
  }
  // Feedback carries no userId (CDS Hooks feedback has no context).
  const OnBehalfOf on_behalf = OnBehalfOfCaller(traceparent, claims, "");
  absl::StatusOr<std::vector<needlecheck::v1::RecordFeedbackRequest>> items =
      ParseFeedback(request.body, service_id, options_.max_feedback_items);
  if (!items.ok()) {
    return ErrorResponse(400, kInvalid, items.status().message());
  }
  // Every item is tried (recording is idempotent, so a client may resend
  // the batch); the first failure decides the status.
  int recorded = 0;
  absl::Status first_error;
  size_t first_error_index = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> ack =
        screening_->RecordFeedback((*items)[i], on_behalf);
    if (ack.ok()) {
      ++recorded;
    } else if (first_error.ok()) {
      first_error = ack.status();
      first_error_index = i;
    }
  }
  absl::StrAppend(log_fields, " feedback=", items->size(),
                  " recorded=", recorded);
  if (!first_error.ok()) {
    if (absl::IsNotFound(first_error)) {
      return ErrorResponse(
          404, kNotFound,
          absl::StrCat("feedback[", first_error_index,
                       "].card: no card with this uuid was issued (", recorded,
                       " of ", items->size(), " items recorded)"));
    }
    if (absl::IsInvalidArgument(first_error)) {
      return ErrorResponse(400, kInvalid,
                           absl::StrCat("feedback[", first_error_index,
                                        "]: ", first_error.message()));
    }
    return ServiceError(first_error, "RecordFeedback");
  }
  HttpResponse r;
  r.body = "{}";
  return r;
}

}  // namespace needlecheck::cds_hooks
