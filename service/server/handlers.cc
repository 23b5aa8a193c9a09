#include "service/server/handlers.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/calendar/day.h"
#include "service/ledger/validation.h"
#include "service/server/log.h"
#include "service/server/status_conversion.h"

namespace needlecheck::server {

CallState GetCallState(const grpc::CallbackServerContext& context) {
  CallState call;
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    call.deadline = absl::FromChrono(deadline);
  }
  call.cancelled = context.IsCancelled();
  return call;
}

absl::Status CheckCall(const CallState& call, absl::Time now) {
  if (call.cancelled) return absl::CancelledError("the call was cancelled");
  if (call.deadline <= now) {
    return absl::DeadlineExceededError(
        "the deadline expired before the request was processed");
  }
  return absl::OkStatus();
}

void LogScreenFailure(const absl::Status& status,
                      const needlecheck::v1::ScreenRequest& request,
                      int64_t position) {
  const std::string request_id_hash = RequestIdHash(request.request_id());
  const LogLevel level = status.code() == absl::StatusCode::kInternal ||
                                 status.code() == absl::StatusCode::kUnknown
                             ? LogLevel::kError
                             : LogLevel::kWarning;
  if (position >= 0) {
    Log(level, "screen_failed",
        {{"request_id_hash", request_id_hash},
         {"stream_index", position},
         {"code", absl::StatusCodeToString(status.code())},
         {"fields", ViolationFields(status)}});
  } else {
    Log(level, "screen_failed",
        {{"request_id_hash", request_id_hash},
         {"code", absl::StatusCodeToString(status.code())},
         {"fields", ViolationFields(status)}});
  }
}

grpc::Status HandleScreen(ScreeningBackend& backend, const CallState& call,
                          absl::Time now,
                          const needlecheck::v1::ScreenRequest& request,
                          needlecheck::v1::ScreenResponse* response) {
  absl::Status status = CheckCall(call, now);
  if (status.ok()) status = backend.Screen(request, response);
  if (!status.ok()) {
    LogScreenFailure(status, request, -1);
    return ToGrpcStatus(status);
  }
  return grpc::Status::OK;
}

grpc::Status HandleGetKnowledgeBase(
    ScreeningBackend& backend, const CallState& call, absl::Time now,
    const needlecheck::v1::GetKnowledgeBaseRequest& request,
    needlecheck::v1::KnowledgeBase* knowledge_base) {
  absl::Status status = CheckCall(call, now);
  if (status.ok()) status = backend.GetKnowledgeBase(knowledge_base);
  if (status.ok() && !request.include_definition()) {
    knowledge_base->clear_definition();
  }
  if (!status.ok()) {
    LogWarning("get_knowledge_base_failed",
               {{"code", absl::StatusCodeToString(status.code())}});
  }
  return ToGrpcStatus(status);
}

namespace {

absl::Status LedgerDisabled() {
  return absl::UnimplementedError(
      "the alert ledger is disabled on this server (--ledger=none)");
}

std::vector<engine::FieldViolation> ToViolations(
    const std::vector<ledger::FieldError>& errors) {
  std::vector<engine::FieldViolation> violations;
  violations.reserve(errors.size());
  for (const ledger::FieldError& e : errors) {
    violations.push_back({e.field, e.description});
  }
  return violations;
}

// The end of a ledger RPC: OK, or the error logged (caller errors as
// warnings, the rest as errors; field paths only, never request content:
// the ledger's messages carry none) and converted to a grpc::Status.
grpc::Status FinishLedgerCall(const absl::Status& status,
                              absl::string_view event,
                              bool not_found_is_caller_error) {
  if (status.ok()) return grpc::Status::OK;
  const bool caller_error =
      status.code() == absl::StatusCode::kInvalidArgument ||
      (not_found_is_caller_error &&
       status.code() == absl::StatusCode::kNotFound);
  Log(caller_error ? LogLevel::kWarning : LogLevel::kError, event,
      {{"code", absl::StatusCodeToString(status.code())},
       {"fields", ViolationFields(status)},
       {"error", status.code() == absl::StatusCode::kInvalidArgument
                     ? absl::string_view()
                     : status.message()}});
  return ToGrpcStatus(status);
}

}  // namespace

grpc::Status HandleRecordFeedback(
    ledger::AlertLedger* ledger, const CallState& call, absl::Time now,
    const needlecheck::v1::RecordFeedbackRequest& request,
    needlecheck::v1::RecordFeedbackResponse* response) {
  absl::Status status = CheckCall(call, now);
  if (status.ok() && ledger == nullptr) status = LedgerDisabled();
  if (status.ok()) {
    if (std::vector<ledger::FieldError> errors =
            ledger::ValidateFeedbackRequest(request);
        !errors.empty()) {
      status = BadRequestError("invalid feedback", ToViolations(errors));
    }
  }
  if (status.ok()) {
    absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> recorded =
        ledger->RecordFeedback(request);
    if (recorded.ok()) {
      *response = *std::move(recorded);
    } else {
      status = recorded.status();
    }
  }
  return FinishLedgerCall(status, "record_feedback_failed",
                          /*not_found_is_caller_error=*/true);
}

grpc::Status HandleGetAlertStats(
    ledger::AlertLedger* ledger, const CallState& call, absl::Time now,
    const needlecheck::v1::GetAlertStatsRequest& request,
    needlecheck::v1::AlertStats* response) {
  absl::Status status = CheckCall(call, now);
  if (status.ok() && ledger == nullptr) status = LedgerDisabled();
  if (status.ok()) {
    if (std::vector<ledger::FieldError> errors =
            ledger::ValidateStatsRequest(request);
        !errors.empty()) {
      status =
          BadRequestError("invalid statistics request", ToViolations(errors));
    }
  }
  if (status.ok()) {
    absl::StatusOr<needlecheck::v1::AlertStats> stats =
        ledger->GetAlertStats(request);
    if (stats.ok()) {
      *response = *std::move(stats);
    } else {
      status = stats.status();
    }
  }
  return FinishLedgerCall(status, "get_alert_stats_failed",
                          /*not_found_is_caller_error=*/false);
}

namespace {

constexpr int kMaxAccessLogRecords = 10000;

// The start (UTC) of day `day` (YYYY-MM-DD), or the violation's text. Ten
// characters that absl::ParseCivilTime takes: wider than IsCivilDayText
// (a sign, one-digit months and days, blanks around), kept as it was.
absl::StatusOr<absl::Time> DayStart(const std::string& day) {
  absl::CivilDay civil;
  if (day.size() != 10 || !absl::ParseCivilTime(day, &civil)) {
    return absl::InvalidArgumentError("not a date (YYYY-MM-DD)");
  }
  return UtcDayStart(ToDayNumber(civil));
}

}  // namespace

grpc::Status HandleGetAccessLog(
    ledger::AccessLog* access_log, const CallState& call, absl::Time now,
    const needlecheck::v1::GetAccessLogRequest& request,
    needlecheck::v1::GetAccessLogResponse* response) {
  absl::Status status = CheckCall(call, now);
  if (status.ok() && access_log == nullptr) status = LedgerDisabled();
  ledger::AccessLogQuery query;
  if (status.ok()) {
    std::vector<engine::FieldViolation> violations;
    absl::StatusOr<absl::Time> from = DayStart(request.from_date());
    absl::StatusOr<absl::Time> to = DayStart(request.to_date());
    if (!from.ok()) {
      violations.push_back({"from_date", std::string(from.status().message())});
    }
    if (!to.ok()) {
      violations.push_back({"to_date", std::string(to.status().message())});
    }
    if (from.ok() && to.ok() && *to < *from) {
      violations.push_back({"to_date", "before from_date"});
    }
    if (request.limit() < 0 || request.limit() > kMaxAccessLogRecords) {
      violations.push_back(
          {"limit", absl::StrCat("must be 0..", kMaxAccessLogRecords)});
    }
    if (!violations.empty()) {
      status = BadRequestError("invalid access log request", violations);
    } else {
      query.from = *from;
      query.to = *to + absl::Hours(24);
      query.patient_id = request.patient_id();
      query.limit =
          request.limit() == 0 ? kMaxAccessLogRecords : request.limit();
    }
  }
  if (status.ok()) {
    absl::StatusOr<ledger::AccessLogPage> page =
        access_log->ReadAccessLog(query);
    if (page.ok()) {
      for (const ledger::AccessEntry& entry : page->entries) {
        *response->add_records() = ToProto(entry);
      }
      response->set_truncated(page->truncated);
    } else {
      status = page.status();
    }
  }
  return FinishLedgerCall(status, "get_access_log_failed",
                          /*not_found_is_caller_error=*/false);
}

grpc::Status HandleRecordAccess(
    AccessTrail& trail, const CallIdentity& identity, const CallState& call,
    absl::Time now, const needlecheck::v1::RecordAccessRequest& request) {
  absl::Status status = CheckCall(call, now);
  if (status.ok() && !trail.enabled()) status = LedgerDisabled();
  if (status.ok()) status = trail.RecordFetches(identity, request);
  if (!status.ok() && !absl::IsInvalidArgument(status) &&
      !absl::IsUnimplemented(status) && !absl::IsCancelled(status) &&
      !absl::IsDeadlineExceeded(status)) {
    status = AccessNotRecorded(status);
  }
  return FinishLedgerCall(status, "record_access_failed",
                          /*not_found_is_caller_error=*/false);
}

}  // namespace needlecheck::server
