// The unary RPC handlers of needlecheck.v1.ScreeningService, one per RPC,
// free of gRPC's server machinery so that each is tested on its own.
//
// Contract
// - Each handler checks the call first: an expired deadline gives
//   DEADLINE_EXCEEDED and a cancelled call CANCELLED, both without any work.
//   Then it delegates to the ScreeningBackend and converts its
//   absl::Status (with error details) to a grpc::Status.
// - Logs: rejected requests (request_id_hash, status code, the offending field
//   paths) and internal errors; never request content.
// - HandleRecordFeedback / HandleGetAlertStats delegate to the AlertLedger
//   (null: the ledger is disabled, UNIMPLEMENTED). Invalid requests get
//   INVALID_ARGUMENT with a google.rpc.BadRequest naming every bad field,
//   before the ledger is touched. Feedback is strict: OK only once the
//   ledger has committed it; any ledger error is returned as is
//   (NOT_FOUND, UNAVAILABLE, ...). The feedback comment and reason are
//   never logged.
// - Thread-safe as far as the backend and the ledger are.
#ifndef SERVICE_SERVER_HANDLERS_H_
#define SERVICE_SERVER_HANDLERS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "needlecheck/v1/access_log.pb.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/ledger.pb.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/ledger/alert_ledger.h"
#include "service/server/access_trail.h"
#include "service/server/screening_backend.h"

namespace needlecheck::server {

// What a handler needs to know about its call.
struct CallState {
  // The client's deadline; InfiniteFuture() when it set none.
  absl::Time deadline = absl::InfiniteFuture();
  bool cancelled = false;
};

// The state of a live server call.
CallState GetCallState(const grpc::CallbackServerContext& context);

// OK, DEADLINE_EXCEEDED (deadline at or before `now`) or CANCELLED.
absl::Status CheckCall(const CallState& call, absl::Time now);

grpc::Status HandleScreen(ScreeningBackend& backend, const CallState& call,
                          absl::Time now,
                          const needlecheck::v1::ScreenRequest& request,
                          needlecheck::v1::ScreenResponse* response);

// The summary, with the definition only when `request` asks for it.
grpc::Status HandleGetKnowledgeBase(
    ScreeningBackend& backend, const CallState& call, absl::Time now,
    const needlecheck::v1::GetKnowledgeBaseRequest& request,
    needlecheck::v1::KnowledgeBase* knowledge_base);

grpc::Status HandleRecordFeedback(
    ledger::AlertLedger* ledger, const CallState& call, absl::Time now,
    const needlecheck::v1::RecordFeedbackRequest& request,
    needlecheck::v1::RecordFeedbackResponse* response);

grpc::Status HandleGetAlertStats(
    ledger::AlertLedger* ledger, const CallState& call, absl::Time now,
    const needlecheck::v1::GetAlertStatsRequest& request,
    needlecheck::v1::AlertStats* response);

// GetAccessLog: the access trail between two UTC days (both required,
// YYYY-MM-DD, from <= to), optionally one patient's, oldest first, at most
// `limit` records (0: 10000; more than 10000 is INVALID_ARGUMENT).
// UNIMPLEMENTED without a trail (--ledger=none).
grpc::Status HandleGetAccessLog(
    ledger::AccessLog* access_log, const CallState& call, absl::Time now,
    const needlecheck::v1::GetAccessLogRequest& request,
    needlecheck::v1::GetAccessLogResponse* response);

// RecordAccess: the caller's FHIR fetches into the trail
// (AccessTrail::RecordFetches). UNIMPLEMENTED without a trail.
grpc::Status HandleRecordAccess(
    AccessTrail& trail, const CallIdentity& identity, const CallState& call,
    absl::Time now, const needlecheck::v1::RecordAccessRequest& request);

// Logs a failed screening (never its content). `position` is the index in
// a stream, or -1 for a unary call.
void LogScreenFailure(const absl::Status& status,
                      const needlecheck::v1::ScreenRequest& request,
                      int64_t position);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_HANDLERS_H_
