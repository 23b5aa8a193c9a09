#include "service/server/screen_stream_reactor.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/server/handlers.h"
#include "service/server/log.h"
#include "service/server/status_conversion.h"
#include "service/server/unparseable_stream_message.h"
#include "service/server/wire_message.h"

namespace needlecheck::server {

ScreenStreamReactor::ScreenStreamReactor(grpc::CallbackServerContext* context,
                                         ScreeningBackend* backend,
                                         AccessTrail* trail)
    : context_(context),
      backend_(backend),
      trail_(trail),
      identity_(IdentityOf(*context)) {
  StartRead(&read_bytes_);
}

void ScreenStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client finished sending (or the call is over): every response
    // has been written, since reads and writes alternate.
    FinishOnce(grpc::Status::OK);
    return;
  }
  request_.Clear();
  if (absl::Status parsed = ParseWireMessage(read_bytes_, &request_);
      !parsed.ok()) {
    FinishOnce(ReportUnparseableStreamMessage("ScreenStream", index_,
                                              read_bytes_.Length(), parsed,
                                              identity_, trail_));
    return;
  }
  read_bytes_.Clear();
  absl::Status status = CheckCall(GetCallState(*context_), absl::Now());
  if (status.ok()) {
    response_.Clear();
    status = backend_->Screen(request_, &response_);
  }
  if (absl::Status recorded = trail_->Record(
          identity_, "ScreenStream", request_.record().patient_id(), status,
          response_.request_id().empty() ? request_.request_id()
                                         : response_.request_id(),
          index_);
      !recorded.ok() && status.ok()) {
    status = AccessNotRecorded(recorded);
  }
  if (status.ok()) status = SerializeWireMessage(response_, &write_bytes_);
  if (!status.ok()) {
    LogScreenFailure(status, request_, index_);
    FinishOnce(ToGrpcStatus(
        StreamRequestError(status, index_, request_.request_id())));
    return;
  }
  StartWrite(&write_bytes_);
}

void ScreenStreamReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The call is broken (cancelled, client gone): nothing will be read.
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED,
                            "the response could not be sent"));
    return;
  }
  ++index_;
  write_bytes_.Clear();
  StartRead(&read_bytes_);
}

void ScreenStreamReactor::FinishOnce(const grpc::Status& status) {
  if (!finished_.exchange(true)) Finish(status);
}

void ScreenStreamReactor::OnDone() { delete this; }

}  // namespace needlecheck::server
