#include "service/server/screen_stream_reactor.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/server/handlers.h"
#include "service/server/status_conversion.h"

namespace needlecheck::server {

ScreenStreamReactor::ScreenStreamReactor(grpc::CallbackServerContext* context,
                                         ScreeningBackend* backend)
    : context_(context), backend_(backend) {
  StartRead(&request_);
}

void ScreenStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client finished sending (or the call is over): every response
    // has been written, since reads and writes alternate.
    FinishOnce(grpc::Status::OK);
    return;
  }
  absl::Status status = CheckCall(GetCallState(*context_), absl::Now());
  if (status.ok()) {
    response_.Clear();
    status = backend_->Screen(request_, &response_);
  }
  if (!status.ok()) {
    LogScreenFailure(status, request_, index_);
    FinishOnce(ToGrpcStatus(PrefixMessage(
        status,
        absl::StrCat("request at index ", index_, " (request_id \"",
                     absl::CHexEscape(request_.request_id()), "\"): "))));
    return;
  }
  StartWrite(&response_);
}

void ScreenStreamReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The call is broken (cancelled, client gone): nothing will be read.
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED,
                            "the response could not be sent"));
    return;
  }
  ++index_;
  request_.Clear();
  StartRead(&request_);
}

void ScreenStreamReactor::FinishOnce(const grpc::Status& status) {
  if (!finished_.exchange(true)) Finish(status);
}

void ScreenStreamReactor::OnDone() { delete this; }

}  // namespace needlecheck::server
