#include "service/server/audit_stream_reactor.h"

#include <utility>

#include "absl/time/clock.h"
#include "service/server/handlers.h"
#include "service/server/status_conversion.h"
#include "service/server/wire_message.h"

namespace needlecheck::server {

AuditStreamReactor::AuditStreamReactor(grpc::CallbackServerContext* context,
                                       ScreeningBackend* backend,
                                       AccessTrail* trail)
    : InOrderStreamReactor(context, trail, "Audit", "finding"),
      backend_(backend) {
  StartReading();
}

grpc::Status AuditStreamReactor::Answer(
    int64_t /*message_index*/, std::vector<grpc::ByteBuffer>* answers) {
  if (request_.batch_size() == 0) {
    if (absl::Status status = AuditOne(request_, &findings_); !status.ok()) {
      return ToGrpcStatus(
          StreamRequestError(status, index_, request_.request_id()));
    }
    ++index_;
    for (const needlecheck::v1::AuditFinding& finding : findings_) {
      if (absl::Status s =
              SerializeWireMessage(finding, &answers->emplace_back());
          !s.ok()) {
        answers->pop_back();
        return ToGrpcStatus(s);
      }
    }
    return grpc::Status::OK;
  }
  // A batch: one answer message for all its elements; a rejected element
  // ends the stream once the answers before it are written.
  grpc::Status after;
  needlecheck::v1::AuditFinding answer;
  for (const needlecheck::v1::AuditRequest& element : request_.batch()) {
    absl::Status status = element.batch_size() > 0
                              ? absl::InvalidArgumentError(
                                    "a batch element holds a batch of its own")
                              : AuditOne(element, &findings_);
    if (!status.ok()) {
      after = ToGrpcStatus(
          StreamRequestError(status, index_, element.request_id()));
      break;
    }
    ++index_;
    for (needlecheck::v1::AuditFinding& finding : findings_) {
      answer.add_batch()->Swap(&finding);
    }
  }
  if (answer.batch_size() > 0) {
    if (absl::Status s = SerializeWireMessage(answer, &answers->emplace_back());
        !s.ok()) {
      answers->pop_back();
      return ToGrpcStatus(s);
    }
  }
  return after;
}

absl::Status AuditStreamReactor::AuditOne(
    const needlecheck::v1::AuditRequest& request,
    std::vector<needlecheck::v1::AuditFinding>* findings) {
  findings->clear();
  absl::Status status = CheckCall(GetCallState(*context()), absl::Now());
  if (status.ok()) status = backend_->Audit(request, findings);
  if (absl::Status recorded =
          trail()->Record(identity(), "Audit", request.record().patient_id(),
                          status, request.request_id(), index_);
      !recorded.ok() && status.ok()) {
    findings->clear();
    status = AccessNotRecorded(recorded);
  }
  return status;
}

}  // namespace needlecheck::server
