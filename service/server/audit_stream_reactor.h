// AuditStreamReactor: the Audit RPC. Each request carries one patient's
// record; its findings (one per past microneedling session) and then its
// end-of-record marker are written one by one before the next request is
// read. A request carrying a batch of patients (AuditRequest.batch) is
// answered with ONE message holding every element's findings and marker,
// in order (audit.proto); positions in errors count patients.
//
// Contract
// - Flow control end to end: one request and its findings in memory per
//   stream; a client that stops reading stops the server reading too
//   (in_order_stream_reactor.h).
// - Raw bytes in and out (see screening_service.h): a message that is not a
//   valid AuditRequest ends the stream with INVALID_ARGUMENT "message 3 of
//   the stream could not be parsed as needlecheck.v1.AuditRequest (N
//   bytes)" (counting from 1), after every finding of the requests before.
// - A request the backend rejects ends the stream with its status, the
//   message prefixed with the request's position and id (as ScreenStream).
// - Before each request: a cancelled call or an expired deadline ends the
//   stream (CANCELLED / DEADLINE_EXCEEDED) without auditing it.
// - Owned by gRPC: created by the service, deletes itself in OnDone().
#ifndef SERVICE_SERVER_AUDIT_STREAM_REACTOR_H_
#define SERVICE_SERVER_AUDIT_STREAM_REACTOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "needlecheck/v1/audit.pb.h"
#include "service/server/access_trail.h"
#include "service/server/in_order_stream_reactor.h"
#include "service/server/screening_backend.h"

namespace needlecheck::server {

class AuditStreamReactor final : public InOrderStreamReactor {
 public:
  // `trail` records each request's access (access_trail.h); it must
  // outlive the reactor.
  AuditStreamReactor(grpc::CallbackServerContext* context,
                     ScreeningBackend* backend, AccessTrail* trail);

 private:
  google::protobuf::MessageLite* MutableRequest() override { return &request_; }
  grpc::Status Answer(int64_t message_index,
                      std::vector<grpc::ByteBuffer>* answers) override;
  // Checks the call, audits one patient's request into *findings and
  // records the access; the status of the first that fails.
  absl::Status AuditOne(const needlecheck::v1::AuditRequest& request,
                        std::vector<needlecheck::v1::AuditFinding>* findings);

  ScreeningBackend* const backend_;
  needlecheck::v1::AuditRequest request_;
  std::vector<needlecheck::v1::AuditFinding> findings_;
  int64_t index_ = 0;  // position of the next patient in the stream
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_AUDIT_STREAM_REACTOR_H_
