// ScreeningServiceImpl: needlecheck.v1.ScreeningService on gRPC's callback
// API. Each method is a thin shell around its handler (handlers.h,
// screen_stream_reactor.h); the work is the ScreeningBackend's.
//
// Thread-safe; `backend` and `ledger` (null: no ledger) must outlive the
// service (and the server it is registered with).
#ifndef SERVICE_SERVER_SCREENING_SERVICE_H_
#define SERVICE_SERVER_SCREENING_SERVICE_H_

#include "needlecheck/v1/screening.grpc.pb.h"
#include "service/ledger/alert_ledger.h"
#include "service/server/screening_backend.h"

namespace needlecheck::server {

class ScreeningServiceImpl final
    : public needlecheck::v1::ScreeningService::CallbackService {
 public:
  explicit ScreeningServiceImpl(ScreeningBackend* backend,
                                ledger::AlertLedger* ledger = nullptr)
      : backend_(backend), ledger_(ledger) {}

  grpc::ServerUnaryReactor* Screen(
      grpc::CallbackServerContext* context,
      const needlecheck::v1::ScreenRequest* request,
      needlecheck::v1::ScreenResponse* response) override;

  grpc::ServerBidiReactor<needlecheck::v1::ScreenRequest,
                          needlecheck::v1::ScreenResponse>*
  ScreenStream(grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* GetKnowledgeBase(
      grpc::CallbackServerContext* context,
      const needlecheck::v1::GetKnowledgeBaseRequest* request,
      needlecheck::v1::KnowledgeBase* response) override;

  grpc::ServerUnaryReactor* RecordFeedback(
      grpc::CallbackServerContext* context,
      const needlecheck::v1::RecordFeedbackRequest* request,
      needlecheck::v1::RecordFeedbackResponse* response) override;

  grpc::ServerBidiReactor<needlecheck::v1::AuditRequest,
                          needlecheck::v1::AuditFinding>*
  Audit(grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* GetAlertStats(
      grpc::CallbackServerContext* context,
      const needlecheck::v1::GetAlertStatsRequest* request,
      needlecheck::v1::AlertStats* response) override;

 private:
  ScreeningBackend* const backend_;
  ledger::AlertLedger* const ledger_;
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_SCREENING_SERVICE_H_
