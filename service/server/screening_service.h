// ScreeningServiceImpl: needlecheck.v1.ScreeningService on gRPC's callback
// API. Each method is a thin shell around its handler (handlers.h,
// screen_stream_reactor.h, audit_stream_reactor.h); the work is the
// ScreeningBackend's.
//
// Contract
// - Every method is registered raw (grpc::ByteBuffer in and out) and parses
//   its requests itself (wire_message.h): bytes that are not a valid request
//   get INVALID_ARGUMENT ("the request could not be parsed as
//   needlecheck.v1.ScreenRequest (N bytes)"; on a stream, "message 3 of the
//   stream could not be parsed ..."), where gRPC's own deserialization
//   would answer UNIMPLEMENTED, or end a stream with OK and drop the rest.
//   Clients see the same wire contract as with typed handlers.
// - Every access to patient data is recorded in the ledger's access trail
//   (access_trail.h): Screen, each ScreenStream item and Audit record,
//   RecordFeedback, GetAlertStats, GetAccessLog, and the fetches sent with
//   RecordAccess; failed calls too, with their status code. An access
//   that cannot be recorded is answered UNAVAILABLE instead of its data.
//   GetKnowledgeBase holds no patient data and is not recorded. A call the
//   authorizer refuses is recorded under its method name with the refusal
//   code and no patient.
// - Authorization: with an `authorizer`, every method first asks it
//   (Authorizer::Authorize with the method's name); a refused call ends
//   with its UNAUTHENTICATED or PERMISSION_DENIED before any request is
//   parsed. A method added to the service must do the same (the
//   integration test tls_test calls every method of the descriptor).
// - Thread-safe; `backend`, `ledger` (null: no ledger) and `authorizer`
//   (null: every call allowed) must outlive the service (and the server it
//   is registered with).
#ifndef SERVICE_SERVER_SCREENING_SERVICE_H_
#define SERVICE_SERVER_SCREENING_SERVICE_H_

#include "grpcpp/support/byte_buffer.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "service/ledger/alert_ledger.h"
#include "service/server/access_trail.h"
#include "service/server/authorizer.h"
#include "service/server/screening_backend.h"

namespace needlecheck::server {

// The generated service with every method marked raw.
using RawScreeningService =
    needlecheck::v1::ScreeningService::WithRawCallbackMethod_Screen<
        needlecheck::v1::ScreeningService::WithRawCallbackMethod_ScreenStream<
            needlecheck::v1::ScreeningService::WithRawCallbackMethod_GetKnowledgeBase<
                needlecheck::v1::ScreeningService::
                    WithRawCallbackMethod_RecordFeedback<
                        needlecheck::v1::ScreeningService::
                            WithRawCallbackMethod_GetAlertStats<
                                needlecheck::v1::ScreeningService::
                                    WithRawCallbackMethod_Audit<
                                        needlecheck::v1::ScreeningService::
                                            WithRawCallbackMethod_GetAccessLog<
                                                needlecheck::v1::ScreeningService::
                                                    WithRawCallbackMethod_RecordAccess<
                                                        needlecheck::v1::
                                                            ScreeningService::
                                                                Service>>>>>>>>;

class ScreeningServiceImpl final : public RawScreeningService {
 public:
  explicit ScreeningServiceImpl(ScreeningBackend* backend,
                                ledger::AlertLedger* ledger = nullptr,
                                const Authorizer* authorizer = nullptr)
      : backend_(backend),
        ledger_(ledger),
        authorizer_(authorizer),
        access_log_(ledger == nullptr ? nullptr : ledger->access_log()),
        trail_(access_log_) {}

  grpc::ServerUnaryReactor* Screen(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ScreenStream(
      grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* GetKnowledgeBase(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* RecordFeedback(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Audit(
      grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* GetAlertStats(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* GetAccessLog(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* RecordAccess(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

 private:
  ScreeningBackend* const backend_;
  ledger::AlertLedger* const ledger_;
  const Authorizer* const authorizer_;
  ledger::AccessLog* const access_log_;  // null: no access trail
  AccessTrail trail_;
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_SCREENING_SERVICE_H_
