#include "service/server/audit_stream_reactor.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/server/handlers.h"
#include "service/server/log.h"
#include "service/server/status_conversion.h"
#include "service/server/unparseable_stream_message.h"
#include "service/server/wire_message.h"

namespace needlecheck::server {

AuditStreamReactor::AuditStreamReactor(grpc::CallbackServerContext* context,
                                       ScreeningBackend* backend,
                                       AccessTrail* trail)
    : context_(context),
      backend_(backend),
      trail_(trail),
      identity_(IdentityOf(*context)) {
  StartRead(&read_bytes_);
}

void AuditStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client finished sending: every finding has been written.
    FinishOnce(grpc::Status::OK);
    return;
  }
  request_.Clear();
  if (absl::Status parsed = ParseWireMessage(read_bytes_, &request_);
      !parsed.ok()) {
    FinishOnce(ReportUnparseableStreamMessage(
        "Audit", index_, read_bytes_.Length(), parsed, identity_, trail_));
    return;
  }
  read_bytes_.Clear();
  absl::Status status = CheckCall(GetCallState(*context_), absl::Now());
  if (status.ok()) {
    findings_.clear();
    next_ = 0;
    status = backend_->Audit(request_, &findings_);
  }
  if (absl::Status recorded =
          trail_->Record(identity_, "Audit", request_.record().patient_id(),
                         status, request_.request_id(), index_);
      !recorded.ok() && status.ok()) {
    findings_.clear();
    status = AccessNotRecorded(recorded);
  }
  if (!status.ok()) {
    FinishOnce(ToGrpcStatus(
        StreamRequestError(status, index_, request_.request_id())));
    return;
  }
  WriteNextOrRead();
}

void AuditStreamReactor::WriteNextOrRead() {
  if (next_ < findings_.size()) {
    if (absl::Status s = SerializeWireMessage(findings_[next_], &write_bytes_);
        !s.ok()) {
      FinishOnce(ToGrpcStatus(s));
      return;
    }
    StartWrite(&write_bytes_);
    return;
  }
  ++index_;
  findings_.clear();
  StartRead(&read_bytes_);
}

void AuditStreamReactor::OnWriteDone(bool ok) {
  if (!ok) {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED,
                            "the finding could not be sent"));
    return;
  }
  write_bytes_.Clear();
  ++next_;
  WriteNextOrRead();
}

void AuditStreamReactor::FinishOnce(const grpc::Status& status) {
  if (!finished_.exchange(true)) Finish(status);
}

void AuditStreamReactor::OnDone() { delete this; }

}  // namespace needlecheck::server
