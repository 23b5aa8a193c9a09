#include "service/server/screening_backend.h"

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/calendar/fhir_date.h"
#include "common/ids/uuid.h"
#include "service/engine/audit.h"
#include "service/engine/engine.h"
#include "service/engine/input_validation.h"
#include "service/server/log.h"
#include "service/server/log_limiter.h"
#include "service/server/status_conversion.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::v1::KnowledgeBase;
using ::needlecheck::v1::ScreenRequest;
using ::needlecheck::v1::ScreenResponse;

// A ledger that cannot record is logged at most this often: every Screen
// meets it while the disk is full.
constexpr absl::Duration kRecordFailureLogInterval = absl::Seconds(10);

// One engine cache per gRPC thread (the engine's caches are not
// thread-safe): readings of texts met before and the evaluation's working
// buffers. At most 1 MiB of text readings a thread, in memory only; a
// knowledge-base reload empties them.
engine::EvaluationCache& ThreadEvaluationCache() {
  thread_local engine::EvaluationCache cache;
  return cache;
}

class EngineBackend : public ScreeningBackend {
 public:
  EngineBackend(const KnowledgeBaseStore* store, ledger::AlertLedger* ledger,
                std::function<absl::Time()> clock)
      : store_(store),
        ledger_(ledger),
        clock_(std::move(clock)),
        record_failure_log_(kRecordFailureLogInterval) {}

  absl::Status Screen(const ScreenRequest& request,
                      ScreenResponse* response) override {
    const KnowledgeBaseStore::Snapshot snapshot = store_->Current();
    if (snapshot.kb == nullptr) {
      return absl::UnavailableError("no knowledge base is loaded");
    }
    const kb::KnowledgeBase& kb = *snapshot.kb;

    std::vector<engine::FieldViolation> violations;
    if (!request.has_record()) {
      violations.push_back({"record", "required: the patient record"});
    }
    if (!request.has_session()) {
      violations.push_back({"session", "required: the planned session"});
    }
    std::vector<engine::FieldViolation> input_violations =
        engine::ValidateScreenInput(request.record(), request.session(),
                                    kb.thresholds().max_needle_depth_mm());
    for (engine::FieldViolation& v : input_violations) {
      violations.push_back(std::move(v));
    }
    if (!violations.empty()) {
      return BadRequestError("invalid screening request", violations);
    }
    absl::StatusOr<DayNumber> as_of = ParseFhirDay(request.session().date());
    if (!as_of.ok()) {
      // ValidateScreenInput checks this too; kept so that a gap there can
      // never become a guessed date.
      return BadRequestError(
          "invalid screening request",
          {{"session.date", std::string(as_of.status().message())}});
    }

    if (request.request_id().empty()) {
      absl::StatusOr<std::string> id = ids::NewUuidV4();
      if (!id.ok()) return id.status();
      response->set_request_id(*std::move(id));
    } else {
      response->set_request_id(request.request_id());
    }
    // Built in place in the response (on its arena when it has one).
    response->clear_alerts();
    engine::EvaluateAsOf(kb, request.record(), request.session(), *as_of,
                         &ThreadEvaluationCache(), response->mutable_alerts());
    response->set_knowledge_base_version(kb.version());
    if (ledger_ != nullptr) Record(request, response);
    return absl::OkStatus();
  }

  absl::Status Audit(
      const needlecheck::v1::AuditRequest& request,
      std::vector<needlecheck::v1::AuditFinding>* findings) override {
    const KnowledgeBaseStore::Snapshot snapshot = store_->Current();
    if (snapshot.kb == nullptr) {
      return absl::UnavailableError("no knowledge base is loaded");
    }
    const kb::KnowledgeBase& kb = *snapshot.kb;
    std::vector<engine::FieldViolation> violations;
    if (!request.has_record()) {
      violations.push_back({"record", "required: the patient record"});
    }
    std::vector<engine::FieldViolation> record_violations =
        engine::ValidateRecord(request.record(),
                               kb.thresholds().max_needle_depth_mm());
    violations.insert(violations.end(), record_violations.begin(),
                      record_violations.end());
    if (violations.empty()) {
      const int sessions = engine::CountAuditedSessions(kb, request.record());
      if (sessions > engine::kMaxAuditedSessions) {
        violations.push_back(
            {"record.procedures",
             absl::StrCat(sessions,
                          " microneedling sessions; an audited record "
                          "may hold at most ",
                          engine::kMaxAuditedSessions)});
      }
    }
    if (!violations.empty()) {
      return BadRequestError("invalid audit request", violations);
    }
    std::string request_id = request.request_id();
    if (request_id.empty()) {
      absl::StatusOr<std::string> id = ids::NewUuidV4();
      if (!id.ok()) return id.status();
      request_id = *std::move(id);
    }
    *findings = engine::AuditRecord(kb, request.record());
    for (needlecheck::v1::AuditFinding& finding : *findings) {
      finding.set_request_id(request_id);
      finding.set_knowledge_base_version(kb.version());
    }
    // The end-of-record marker (audit.proto): lets a client checkpoint per
    // patient, including patients with no session.
    needlecheck::v1::AuditFinding end;
    end.set_request_id(request_id);
    end.set_patient_id(request.record().patient_id());
    end.set_knowledge_base_version(kb.version());
    end.set_end_of_record(true);
    end.set_sessions_audited(static_cast<int32_t>(findings->size()));
    findings->push_back(std::move(end));
    return absl::OkStatus();
  }

  absl::Status GetKnowledgeBase(KnowledgeBase* knowledge_base) override {
    const KnowledgeBaseStore::Snapshot snapshot = store_->Current();
    if (snapshot.kb == nullptr) {
      return absl::UnavailableError("no knowledge base is loaded");
    }
    *knowledge_base = snapshot.kb->Summary();
    knowledge_base->set_loaded_at(FormatRfc3339Utc(snapshot.loaded_at));
    *knowledge_base->mutable_definition() = snapshot.kb->definition();
    return absl::OkStatus();
  }

 private:
  // Gives each alert an id and queues the screening in the ledger; on
  // failure clears the ids again (see the header).
  void Record(const ScreenRequest& request, ScreenResponse* response) {
    ledger::ScreeningRecord record;
    record.request_id = response->request_id();
    record.screened_at = clock_ ? clock_() : absl::Now();
    record.patient_id = request.record().patient_id();
    record.knowledge_base_version = response->knowledge_base_version();
    record.alerts.reserve(static_cast<size_t>(response->alerts_size()));
    absl::StatusOr<std::vector<std::string>> ids = ids::NewUuidV7s(
        static_cast<size_t>(response->alerts_size()), record.screened_at);
    absl::Status status = ids.status();
    if (status.ok()) {
      for (int i = 0; i < response->alerts_size(); ++i) {
        needlecheck::v1::Alert& alert = *response->mutable_alerts(i);
        alert.set_alert_id((*ids)[static_cast<size_t>(i)]);
        record.alerts.push_back({std::move((*ids)[static_cast<size_t>(i)]),
                                 alert.rule_id(), alert.severity()});
      }
      status = ledger_->RecordScreening(std::move(record));
    }
    if (status.ok()) return;
    for (needlecheck::v1::Alert& alert : *response->mutable_alerts()) {
      alert.clear_alert_id();
    }
    const int64_t total = ++not_recorded_;
    int64_t held_back = 0;
    if (!record_failure_log_.ShouldLog(&held_back)) return;
    LogError("ledger_record_failed",
             {{"request_id_hash", RequestIdHash(response->request_id())},
              {"alerts", response->alerts_size()},
              {"code", absl::StatusCodeToString(status.code())},
              {"error", status.message()},
              {"not_logged_since_last", held_back},
              {"screenings_not_recorded", total},
              {"action", "answered without alert ids"}});
  }

  const KnowledgeBaseStore* const store_;
  ledger::AlertLedger* const ledger_;
  const std::function<absl::Time()> clock_;
  LogLimiter record_failure_log_;
  std::atomic<int64_t> not_recorded_{0};  // screenings answered without ids
};

}  // namespace

absl::Status ScreeningBackend::Audit(
    const needlecheck::v1::AuditRequest& /*request*/,
    std::vector<needlecheck::v1::AuditFinding>* /*findings*/) {
  return absl::UnimplementedError("this backend does not audit");
}

std::unique_ptr<ScreeningBackend> CreateEngineBackend(
    const KnowledgeBaseStore* store, ledger::AlertLedger* ledger,
    std::function<absl::Time()> clock) {
  return std::make_unique<EngineBackend>(store, ledger, std::move(clock));
}

std::string FormatRfc3339Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace needlecheck::server
