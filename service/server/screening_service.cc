#include "service/server/screening_service.h"

#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "service/server/audit_stream_reactor.h"
#include "service/server/handlers.h"
#include "service/server/log.h"
#include "service/server/screen_stream_reactor.h"
#include "service/server/status_conversion.h"
#include "service/server/wire_message.h"

namespace needlecheck::server {
namespace {

// The refusal of `method` for the client of `context`, or OK.
absl::Status Authorize(const Authorizer* authorizer,
                       const grpc::CallbackServerContext& context,
                       absl::string_view method) {
  if (authorizer == nullptr) return absl::OkStatus();
  return authorizer->Authorize(context, method);
}

// A unary call refused before its handler; null when allowed.
grpc::ServerUnaryReactor* RefuseUnary(const Authorizer* authorizer,
                                      grpc::CallbackServerContext* context,
                                      absl::string_view method) {
  absl::Status status = Authorize(authorizer, *context, method);
  if (status.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
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
    const Authorizer* authorizer, grpc::CallbackServerContext* context,
    absl::string_view method) {
  absl::Status status = Authorize(authorizer, *context, method);
  if (status.ok()) return nullptr;
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<RefusedBidiReactor>(status).release();
}

// A unary call: parses the request, runs `handle(const Request&,
// Response*) -> grpc::Status` and serializes its response.
template <typename Request, typename Response, typename Handle>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context,
                                     absl::string_view method,
                                     const grpc::ByteBuffer& request_bytes,
                                     grpc::ByteBuffer* response_bytes,
                                     Handle handle) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Request request;
  if (absl::Status parsed = ParseWireMessage(request_bytes, &request);
      !parsed.ok()) {
    LogWarning("request_unparseable",
               {{"method", method}, {"bytes", request_bytes.Length()}});
    reactor->Finish(ToGrpcStatus(PrefixMessage(parsed, "the request ")));
    return reactor;
  }
  Response response;
  grpc::Status status = handle(request, &response);
  if (status.ok()) {
    status = ToGrpcStatus(SerializeWireMessage(response, response_bytes));
  }
  reactor->Finish(status);
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ScreeningServiceImpl::Screen(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused = RefuseUnary(authorizer_, context, "Screen")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::ScreenRequest,
                    needlecheck::v1::ScreenResponse>(
      context, "Screen", *request, response,
      [this, context](const needlecheck::v1::ScreenRequest& r,
                      needlecheck::v1::ScreenResponse* out) {
        return HandleScreen(*backend_, GetCallState(*context), absl::Now(), r,
                            out);
      });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
ScreeningServiceImpl::ScreenStream(grpc::CallbackServerContext* context) {
  if (auto* refused = RefuseStream(authorizer_, context, "ScreenStream")) {
    return refused;
  }
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<ScreenStreamReactor>(context, backend_).release();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
ScreeningServiceImpl::Audit(grpc::CallbackServerContext* context) {
  if (auto* refused = RefuseStream(authorizer_, context, "Audit")) {
    return refused;
  }
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<AuditStreamReactor>(context, backend_).release();
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::GetKnowledgeBase(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused = RefuseUnary(authorizer_, context, "GetKnowledgeBase")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::GetKnowledgeBaseRequest,
                    needlecheck::v1::KnowledgeBase>(
      context, "GetKnowledgeBase", *request, response,
      [this, context](const needlecheck::v1::GetKnowledgeBaseRequest& /*r*/,
                      needlecheck::v1::KnowledgeBase* out) {
        return HandleGetKnowledgeBase(*backend_, GetCallState(*context),
                                      absl::Now(), out);
      });
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::RecordFeedback(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused = RefuseUnary(authorizer_, context, "RecordFeedback")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::RecordFeedbackRequest,
                    needlecheck::v1::RecordFeedbackResponse>(
      context, "RecordFeedback", *request, response,
      [this, context](const needlecheck::v1::RecordFeedbackRequest& r,
                      needlecheck::v1::RecordFeedbackResponse* out) {
        return HandleRecordFeedback(ledger_, GetCallState(*context),
                                    absl::Now(), r, out);
      });
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::GetAlertStats(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (auto* refused = RefuseUnary(authorizer_, context, "GetAlertStats")) {
    return refused;
  }
  return ServeUnary<needlecheck::v1::GetAlertStatsRequest,
                    needlecheck::v1::AlertStats>(
      context, "GetAlertStats", *request, response,
      [this, context](const needlecheck::v1::GetAlertStatsRequest& r,
                      needlecheck::v1::AlertStats* out) {
        return HandleGetAlertStats(ledger_, GetCallState(*context), absl::Now(),
                                   r, out);
      });
}

}  // namespace needlecheck::server
