#include "service/server/handlers.h"

#include <chrono>

#include "service/server/log.h"
#include "service/server/status_conversion.h"

namespace needlecheck::server {
namespace {

// Request ids are the caller's; keep log lines bounded.
constexpr size_t kMaxLoggedRequestIdLength = 64;

}  // namespace

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
  const std::string request_id =
      request.request_id().substr(0, kMaxLoggedRequestIdLength);
  const LogLevel level = status.code() == absl::StatusCode::kInternal ||
                                 status.code() == absl::StatusCode::kUnknown
                             ? LogLevel::kError
                             : LogLevel::kWarning;
  if (position >= 0) {
    Log(level, "screen_failed",
        {{"request_id", request_id},
         {"stream_index", position},
         {"code", absl::StatusCodeToString(status.code())},
         {"fields", ViolationFields(status)}});
  } else {
    Log(level, "screen_failed",
        {{"request_id", request_id},
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
    needlecheck::v1::KnowledgeBase* knowledge_base) {
  absl::Status status = CheckCall(call, now);
  if (status.ok()) status = backend.GetKnowledgeBase(knowledge_base);
  if (!status.ok()) {
    LogWarning("get_knowledge_base_failed",
               {{"code", absl::StatusCodeToString(status.code())}});
  }
  return ToGrpcStatus(status);
}

}  // namespace needlecheck::server
