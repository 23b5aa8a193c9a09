#include "service/server/screening_service.h"

#include <memory>

#include "absl/time/clock.h"
#include "service/server/audit_stream_reactor.h"
#include "service/server/handlers.h"
#include "service/server/screen_stream_reactor.h"

namespace needlecheck::server {

grpc::ServerUnaryReactor* ScreeningServiceImpl::Screen(
    grpc::CallbackServerContext* context,
    const needlecheck::v1::ScreenRequest* request,
    needlecheck::v1::ScreenResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(HandleScreen(*backend_, GetCallState(*context), absl::Now(),
                               *request, response));
  return reactor;
}

grpc::ServerBidiReactor<needlecheck::v1::ScreenRequest,
                        needlecheck::v1::ScreenResponse>*
ScreeningServiceImpl::ScreenStream(grpc::CallbackServerContext* context) {
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<ScreenStreamReactor>(context, backend_).release();
}

grpc::ServerBidiReactor<needlecheck::v1::AuditRequest,
                        needlecheck::v1::AuditFinding>*
ScreeningServiceImpl::Audit(grpc::CallbackServerContext* context) {
  // gRPC owns the reactor from here; it deletes itself in OnDone().
  return std::make_unique<AuditStreamReactor>(context, backend_).release();
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::GetKnowledgeBase(
    grpc::CallbackServerContext* context,
    const needlecheck::v1::GetKnowledgeBaseRequest* /*request*/,
    needlecheck::v1::KnowledgeBase* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(HandleGetKnowledgeBase(*backend_, GetCallState(*context),
                                         absl::Now(), response));
  return reactor;
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::RecordFeedback(
    grpc::CallbackServerContext* context,
    const needlecheck::v1::RecordFeedbackRequest* request,
    needlecheck::v1::RecordFeedbackResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(HandleRecordFeedback(ledger_, GetCallState(*context),
                                       absl::Now(), *request, response));
  return reactor;
}

grpc::ServerUnaryReactor* ScreeningServiceImpl::GetAlertStats(
    grpc::CallbackServerContext* context,
    const needlecheck::v1::GetAlertStatsRequest* request,
    needlecheck::v1::AlertStats* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(HandleGetAlertStats(ledger_, GetCallState(*context),
                                      absl::Now(), *request, response));
  return reactor;
}

}  // namespace needlecheck::server
