#include "service/server/screen_stream_reactor.h"

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "service/server/handlers.h"
#include "service/server/status_conversion.h"
#include "service/server/wire_message.h"

namespace needlecheck::server {

ScreenStreamReactor::ScreenStreamReactor(grpc::CallbackServerContext* context,
                                         ScreeningBackend* backend,
                                         AccessTrail* trail)
    : InOrderStreamReactor(context, trail, "ScreenStream", "response"),
      backend_(backend) {
  StartReading();
}

grpc::Status ScreenStreamReactor::Answer(
    int64_t index, std::vector<grpc::ByteBuffer>* answers) {
  // Cleared first: a request refused before screening (cancelled, past its
  // deadline) is recorded under its own id, not the previous response's.
  response_.Clear();
  absl::Status status = CheckCall(GetCallState(*context()), absl::Now());
  if (status.ok()) status = backend_->Screen(request_, &response_);
  if (absl::Status recorded = trail()->Record(
          identity(), "ScreenStream", request_.record().patient_id(), status,
          response_.request_id().empty() ? request_.request_id()
                                         : response_.request_id(),
          index);
      !recorded.ok() && status.ok()) {
    status = AccessNotRecorded(recorded);
  }
  if (status.ok()) {
    status = SerializeWireMessage(response_, &answers->emplace_back());
  }
  if (!status.ok()) {
    answers->clear();
    LogScreenFailure(status, request_, index);
    return ToGrpcStatus(
        StreamRequestError(status, index, request_.request_id()));
  }
  return grpc::Status::OK;
}

}  // namespace needlecheck::server
