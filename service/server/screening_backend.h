// ScreeningBackend: what the gRPC handlers delegate to. The handlers deal
// with gRPC (deadlines, cancellation, status conversion, streaming); the
// backend with the knowledge base and the engine.
//
// Contract
// - Screen(): validates the request and screens it with the knowledge base
//   served at call time. Errors: INVALID_ARGUMENT with a
//   google.rpc.BadRequest payload (kBadRequestTypeUrl) naming every bad
//   field, including a missing record or session; UNAVAILABLE when no
//   knowledge base is loaded. An empty request_id is replaced by a random
//   one (never derived from the request's content).
// - With an alert ledger, Screen() also gives every alert a fresh alert_id
//   (UUID v7, CSPRNG) and queues the screening (request id, time, patient
//   id, knowledge-base version, alert ids, rule ids, severities) in the
//   ledger. Availability first: when the ledger refuses (writes failing,
//   queue full, closed, CSPRNG failure), the clinician still gets the alerts,
//   but with alert_id cleared (the documented "not recorded" form, so no
//   client holds an id that feedback would get NOT_FOUND for) and the
//   ledger's screenings_refused counter grows. The ledger never makes
//   Screen wait for the disk (alert_ledger.h), so a full disk costs alert
//   ids, not speed. The error is logged (ledger_record_failed: request id,
//   status, how many screenings went unrecorded in all and how many were
//   not logged since the last line) at most once per 10 seconds, not once
//   per call. Without a ledger, alerts carry no alert_id.
// - Audit(): validates the record (INVALID_ARGUMENT with BadRequest, paths
//   rooted at "record.") and audits every past microneedling session of it
//   with the served knowledge base (engine/audit.h); the findings carry the
//   request id (generated when empty) and the knowledge-base version, and
//   are followed by the request's end-of-record marker (audit.proto).
//   Audits are not recorded in the alert ledger (no alert ids).
// - GetKnowledgeBase(): the served knowledge base's summary with its load
//   time (RFC 3339, UTC) and its whole definition (the handler drops the
//   definition unless the caller asked for it). UNAVAILABLE when none is
//   loaded.
// - Thread-safe: called concurrently from gRPC's threads.
#ifndef SERVICE_SERVER_SCREENING_BACKEND_H_
#define SERVICE_SERVER_SCREENING_BACKEND_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "needlecheck/v1/audit.pb.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/ledger/alert_ledger.h"
#include "service/server/knowledge_base_store.h"

namespace needlecheck::server {

class ScreeningBackend {
 public:
  virtual ~ScreeningBackend() = default;

  virtual absl::Status Screen(const needlecheck::v1::ScreenRequest& request,
                              needlecheck::v1::ScreenResponse* response) = 0;
  virtual absl::Status GetKnowledgeBase(
      needlecheck::v1::KnowledgeBase* knowledge_base) = 0;
  // Default: UNIMPLEMENTED (for backends without audits).
  virtual absl::Status Audit(
      const needlecheck::v1::AuditRequest& request,
      std::vector<needlecheck::v1::AuditFinding>* findings);
};

// The engine-backed backend. `store` and `ledger` (may be null: no ledger)
// must outlive it. `clock` (default: absl::Now) stamps ledger records.
std::unique_ptr<ScreeningBackend> CreateEngineBackend(
    const KnowledgeBaseStore* store, ledger::AlertLedger* ledger = nullptr,
    std::function<absl::Time()> clock = nullptr);

// "2026-11-23T10:00:00Z" (seconds precision, UTC).
std::string FormatRfc3339Utc(absl::Time t);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_SCREENING_BACKEND_H_
