#include "service/server/screening_service.h"

#include <cstddef>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/arena.h"
#include "service/server/access_trail.h"
#include "service/server/audit_stream_reactor.h"
#include "service/server/handlers.h"
#include "service/server/log.h"
#include "service/server/screen_stream_reactor.h"
#include "service/server/status_conversion.h"
#include "service/server/wire_message.h"

namespace needlecheck::server {
namespace {

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// The refusal of `method` for the client of `context`, or OK. A refused
// attempt goes into the access trail too (who tried which method; no
// patient: the request is never read).
absl::Status Authorize(const Authorizer* authorizer, AccessTrail* trail,
                       const grpc::CallbackServerContext& context,
                       absl::string_view method) {
  if (authorizer == nullptr) return absl::OkStatus();
  absl::Status status = authorizer->Authorize(context, method);
  if (!status.ok()) {
    trail->Record(IdentityOf(context), method, "", status).IgnoreError();
  }
  return status;
}

// The per-call line of a unary call that carried a valid W3C traceparent
// (method, status code, duration and trace id only: no request content).
// Calls without one are not logged, as before trace context.
void LogTracedCall(const grpc::CallbackServerContext& context,
                   absl::string_view method, const grpc::Status& status,
                   absl::Time start) {
  const std::string trace_id = TraceIdOf(context);
  if (trace_id.empty()) return;
  LogInfo("rpc",
          {{"method", method},
           {"code", absl::StatusCodeToString(
                        static_cast<absl::StatusCode>(status.error_code()))},
           {"duration_ms", absl::StrFormat("%.2f", absl::ToDoubleMilliseconds(
                                                       absl::Now() - start))},
           {"trace_id", trace_id}});
}

// A unary call refused before its handler; null when allowed.
grpc::ServerUnaryReactor* RefuseUnary(const Authorizer* authorizer,
                                      AccessTrail* trail,
                                      grpc::CallbackServerContext* context,
                                      absl::string_view method) {
  const absl::Time start = absl::Now();
  absl::Status status = Authorize(authorizer, trail, *context, method);
  if (status.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  LogTracedCall(*context, method, ToGrpcStatus(status), start);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// A stream refused before any message is read: finishes at once and
// deletes itself when gRPC is done with it.
class RefusedBidiReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RefusedBidiReactor(const absl::Status& status) {
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* RefuseStream(
    const Authorizer* authorizer, AccessTrail* trail,
    grpc::CallbackServerContext* context, absl::string_view method) {
  absl::Status status = Authorize(authorizer, trail, *context, method);
  if (status.ok()) return nullptr;
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<RefusedBidiReactor>(status).release();
}

// The first block of the arena that holds one unary call's request and
// response: one per thread, reused call after call, so parsing a request
// (a record of many entries: hundreds of small strings and messages) and
// building its answer allocate nothing from the heap unless they outgrow
// the block, and freeing them is free.
constexpr size_t kRequestArenaBlockBytes = 32 * 1024;

struct ThreadArenaBlock {
  std::unique_ptr<char[]> bytes;
  bool in_use = false;
};

ThreadArenaBlock& ThisThreadsArenaBlock() {
  thread_local ThreadArenaBlock block;
  return block;
}

// An arena for one call, starting in this thread's block unless that is in
// use (then it allocates its blocks from the heap).
class RequestArena {
 public:
  RequestArena() {
    google::protobuf::ArenaOptions options;
    options.start_block_size = kRequestArenaBlockBytes;
    ThreadArenaBlock& block = ThisThreadsArenaBlock();
    if (!block.in_use) {
      if (block.bytes == nullptr) {
        block.bytes = std::make_unique<char[]>(kRequestArenaBlockBytes);
      }
      block.in_use = true;
      owns_block_ = true;
      options.initial_block = block.bytes.get();
      options.initial_block_size = kRequestArenaBlockBytes;
    }
    arena_.emplace(options);
  }
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;
  ~RequestArena() {
    arena_.reset();  // done with the block before it is handed on
    if (owns_block_) ThisThreadsArenaBlock().in_use = false;
  }

  google::protobuf::Arena* get() { return &*arena_; }

 private:
  bool owns_block_ = false;
  std::optional<google::protobuf::Arena> arena_;
};

// A unary call: parses the request, runs `handle(const Request&,
// Response*) -> grpc::Status`, records the access (`record(const Request&,
// const Response&, const absl::Status&) -> absl::Status`; an unparseable
// request is recorded as an empty one) and serializes its response. An
// access that cannot be recorded is answered UNAVAILABLE, without the
// response (access_trail.h).
template <typename Request, typename Response, typename Handle,
          typename RecordAccess>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context,
                                     absl::string_view method,
                                     const grpc::ByteBuffer& request_bytes,
                                     grpc::ByteBuffer* response_bytes,
                                     Handle handle, RecordAccess record) {
  const absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RequestArena arena;
  Request& request =
      *google::protobuf::Arena::CreateMessage<Request>(arena.get());
  Response& response =
      *google::protobuf::Arena::CreateMessage<Response>(arena.get());
  if (absl::Status parsed = ParseWireMessage(request_bytes, &request);
      !parsed.ok()) {
    LogWarning("request_unparseable",
               {{"method", method}, {"bytes", request_bytes.Length()}});
    const absl::Status status = PrefixMessage(parsed, "the request ");
    record(Request(), response, status).IgnoreError();  // nothing released
    LogTracedCall(*context, method, ToGrpcStatus(status), start);
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  grpc::Status status = handle(request, &response);
  if (absl::Status recorded = record(request, response, ToAbsl(status));
      !recorded.ok() && status.ok()) {
    status = ToGrpcStatus(AccessNotRecorded(recorded));
  }
  if (status.ok()) {
    status = ToGrpcStatus(SerializeWireMessage(response, response_bytes));
  }
  LogTracedCall(*context, method, status, start);
  reactor->Finish(status);
  return reactor;
}

// For calls that touch no patient data.
absl::Status NotRecorded() { return absl::OkStatus(); }

}  // namespace

grpc::ServerUnaryReactor* ScreeningServiceImpl::Screen(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused = RefuseUnary(authorizer_, &trail_, context, "Screen")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::ScreenRequest,
                    needlecheck::v1::ScreenResponse>(
      context, "Screen", *request, response,
      [this, context](const needlecheck::v1::ScreenRequest& r,
                      needlecheck::v1::ScreenResponse* out) {
        return HandleScreen(*backend_, GetCallState(*context), absl::Now(), r,
                            out);
      },
      [this, context](const needlecheck::v1::ScreenRequest& r,
                      const needlecheck::v1::ScreenResponse& out,
                      const absl::Status& status) {
        return trail_.Record(
            IdentityOf(*context), "Screen", r.record().patient_id(), status,
            out.request_id().empty() ? r.request_id() : out.request_id());
      });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
ScreeningServiceImpl::ScreenStream(grpc::CallbackServerContext* context) {
  if (auto* refused =
          RefuseStream(authorizer_, &trail_, context, "ScreenStream")) {
    return refused;
  }
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<ScreenStreamReactor>(context, backend_, &trail_)
      .release();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
ScreeningServiceImpl::Audit(grpc::CallbackServerContext* context) {
  if (auto* refused = RefuseStream(authorizer_, &trail_, context, "Audit")) {
    return refused;
  }
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<AuditStreamReactor>(context, backend_, &trail_)
      .release();
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::GetKnowledgeBase(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused =
          RefuseUnary(authorizer_, &trail_, context, "GetKnowledgeBase")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::GetKnowledgeBaseRequest,
                    needlecheck::v1::KnowledgeBase>(
      context, "GetKnowledgeBase", *request, response,
      [this, context](const needlecheck::v1::GetKnowledgeBaseRequest& r,
                      needlecheck::v1::KnowledgeBase* out) {
        return HandleGetKnowledgeBase(*backend_, GetCallState(*context),
                                      absl::Now(), r, out);
      },
      [](const auto&, const auto&, const absl::Status&) {
        return NotRecorded();
      });
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::RecordFeedback(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused =
          RefuseUnary(authorizer_, &trail_, context, "RecordFeedback")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::RecordFeedbackRequest,
                    needlecheck::v1::RecordFeedbackResponse>(
      context, "RecordFeedback", *request, response,
      [this, context](const needlecheck::v1::RecordFeedbackRequest& r,
                      needlecheck::v1::RecordFeedbackResponse* out) {
        return HandleRecordFeedback(ledger_, GetCallState(*context),
                                    absl::Now(), r, out);
      },
      [this, context](const needlecheck::v1::RecordFeedbackRequest& r,
                      const needlecheck::v1::RecordFeedbackResponse&,
                      const absl::Status& status) {
        // The patient is the alert's, looked up by the ledger.
        return trail_.Record(IdentityOf(*context), "RecordFeedback", "", status,
                             r.alert_id(), -1, r.alert_id());
      });
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::GetAlertStats(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused =
          RefuseUnary(authorizer_, &trail_, context, "GetAlertStats")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::GetAlertStatsRequest,
                    needlecheck::v1::AlertStats>(
      context, "GetAlertStats", *request, response,
      [this, context](const needlecheck::v1::GetAlertStatsRequest& r,
                      needlecheck::v1::AlertStats* out) {
        return HandleGetAlertStats(ledger_, GetCallState(*context), absl::Now(),
                                   r, out);
      },
      [this, context](const needlecheck::v1::GetAlertStatsRequest& r,
                      const needlecheck::v1::AlertStats&,
                      const absl::Status& status) {
        return trail_.Record(IdentityOf(*context), "GetAlertStats", "", status,
                             absl::StrCat(r.from_date(), "..", r.to_date()));
      });
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::GetAccessLog(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused =
          RefuseUnary(authorizer_, &trail_, context, "GetAccessLog")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::GetAccessLogRequest,
                    needlecheck::v1::GetAccessLogResponse>(
      context, "GetAccessLog", *request, response,
      [this, context](const needlecheck::v1::GetAccessLogRequest& r,
                      needlecheck::v1::GetAccessLogResponse* out) {
        return HandleGetAccessLog(access_log_, GetCallState(*context),
                                  absl::Now(), r, out);
      },
      [this, context](const needlecheck::v1::GetAccessLogRequest& r,
                      const needlecheck::v1::GetAccessLogResponse&,
                      const absl::Status& status) {
        // Reading the trail discloses patient ids: it is an access too.
        return trail_.Record(IdentityOf(*context), "GetAccessLog",
                             r.patient_id(), status,
                             absl::StrCat(r.from_date(), "..", r.to_date()));
      });
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::RecordAccess(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused =
          RefuseUnary(authorizer_, &trail_, context, "RecordAccess")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::RecordAccessRequest,
                    needlecheck::v1::RecordAccessResponse>(
      context, "RecordAccess", *request, response,
      [this, context](const needlecheck::v1::RecordAccessRequest& r,
                      needlecheck::v1::RecordAccessResponse* /*out*/) {
        return HandleRecordAccess(trail_, IdentityOf(*context),
                                  GetCallState(*context), absl::Now(), r);
      },
      [](const auto&, const auto&, const absl::Status&) {
        // The fetches are the records; a failed call wrote none.
        return NotRecorded();
      });
}

}  // namespace needlecheck::server
