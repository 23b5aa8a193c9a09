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
        "Audit", messages_, read_bytes_.Length(), parsed, identity_, trail_));
    return;
  }
  ++messages_;
  read_bytes_.Clear();
  findings_.clear();
  next_ = 0;
  if (request_.batch_size() == 0) {
    if (absl::Status status = AuditOne(request_, &findings_); !status.ok()) {
      FinishOnce(ToGrpcStatus(
          StreamRequestError(status, index_, request_.request_id())));
      return;
    }
    ++index_;
    WriteNextOrRead();
    return;
  }
  // A batch: one answer message for all its elements; a rejected element
  // ends the stream once the answers before it are written.
  needlecheck::v1::AuditFinding answer;
  std::vector<needlecheck::v1::AuditFinding> one;
  for (const needlecheck::v1::AuditRequest& element : request_.batch()) {
    absl::Status status = element.batch_size() > 0
                              ? absl::InvalidArgumentError(
                                    "a batch element holds a batch of its own")
                              : AuditOne(element, &one);
    if (!status.ok()) {
      pending_error_ = ToGrpcStatus(
          StreamRequestError(status, index_, element.request_id()));
      break;
    }
    ++index_;
    for (needlecheck::v1::AuditFinding& finding : one) {
      answer.add_batch()->Swap(&finding);
    }
  }
  if (answer.batch_size() > 0) findings_.push_back(std::move(answer));
  WriteNextOrRead();
}

absl::Status AuditStreamReactor::AuditOne(
    const needlecheck::v1::AuditRequest& request,
    std::vector<needlecheck::v1::AuditFinding>* findings) {
  findings->clear();
  absl::Status status = CheckCall(GetCallState(*context_), absl::Now());
  if (status.ok()) status = backend_->Audit(request, findings);
  if (absl::Status recorded =
          trail_->Record(identity_, "Audit", request.record().patient_id(),
                         status, request.request_id(), index_);
      !recorded.ok() && status.ok()) {
    findings->clear();
    status = AccessNotRecorded(recorded);
  }
  return status;
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
  findings_.clear();
  if (!pending_error_.ok()) {
    FinishOnce(pending_error_);
    return;
  }
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
