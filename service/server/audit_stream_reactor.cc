#include "service/server/audit_stream_reactor.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/server/handlers.h"
#include "service/server/status_conversion.h"

namespace needlecheck::server {

AuditStreamReactor::AuditStreamReactor(grpc::CallbackServerContext* context,
                                       ScreeningBackend* backend)
    : context_(context), backend_(backend) {
  StartRead(&request_);
}

void AuditStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client finished sending: every finding has been written.
    FinishOnce(grpc::Status::OK);
    return;
  }
  absl::Status status = CheckCall(GetCallState(*context_), absl::Now());
  if (status.ok()) {
    findings_.clear();
    next_ = 0;
    status = backend_->Audit(request_, &findings_);
  }
  if (!status.ok()) {
    FinishOnce(ToGrpcStatus(PrefixMessage(
        status,
        absl::StrCat("request at index ", index_, " (request_id \"",
                     absl::CHexEscape(request_.request_id()), "\"): "))));
    return;
  }
  WriteNextOrRead();
}

void AuditStreamReactor::WriteNextOrRead() {
  if (next_ < findings_.size()) {
    StartWrite(&findings_[next_]);
    return;
  }
  ++index_;
  findings_.clear();
  request_.Clear();
  StartRead(&request_);
}

void AuditStreamReactor::OnWriteDone(bool ok) {
  if (!ok) {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED,
                            "the finding could not be sent"));
    return;
  }
  ++next_;
  WriteNextOrRead();
}

void AuditStreamReactor::FinishOnce(const grpc::Status& status) {
  if (!finished_.exchange(true)) Finish(status);
}

void AuditStreamReactor::OnDone() { delete this; }

}  // namespace needlecheck::server
