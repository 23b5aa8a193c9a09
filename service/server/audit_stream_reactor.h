// AuditStreamReactor: the Audit RPC. Each request carries one patient's
// record; its findings (one per past microneedling session) and then its
// end-of-record marker are written one by one before the next request is
// read. A request carrying a batch of patients (AuditRequest.batch) is
// answered with ONE message holding every element's findings and marker,
// in order (audit.proto); positions in errors count patients.
//
// Contract
// - Flow control end to end: one request and its findings in memory per
//   stream; a client that stops reading stops the server reading too.
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

#include <atomic>
#include <cstdint>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "needlecheck/v1/audit.pb.h"
#include "service/server/access_trail.h"
#include "service/server/screening_backend.h"

namespace needlecheck::server {

class AuditStreamReactor
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // `trail` records each request's access (access_trail.h); it must
  // outlive the reactor.
  AuditStreamReactor(grpc::CallbackServerContext* context,
                     ScreeningBackend* backend, AccessTrail* trail);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  // Writes findings_[next_] or, when all are written, ends the stream with
  // pending_error_ if set, else reads the next request.
  void WriteNextOrRead();
  // Checks the call, audits one patient's request into *findings and
  // records the access; the status of the first that fails.
  absl::Status AuditOne(const needlecheck::v1::AuditRequest& request,
                        std::vector<needlecheck::v1::AuditFinding>* findings);
  void FinishOnce(const grpc::Status& status);

  grpc::CallbackServerContext* const context_;
  ScreeningBackend* const backend_;
  AccessTrail* const trail_;
  const CallIdentity identity_;
  grpc::ByteBuffer read_bytes_;
  grpc::ByteBuffer write_bytes_;
  needlecheck::v1::AuditRequest request_;
  std::vector<needlecheck::v1::AuditFinding> findings_;
  size_t next_ = 0;       // next finding to write
  int64_t index_ = 0;     // position of the next patient in the stream
  int64_t messages_ = 0;  // messages read so far
  // A batch element's rejection, sent once the answers before it are.
  grpc::Status pending_error_;
  std::atomic<bool> finished_{false};
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_AUDIT_STREAM_REACTOR_H_
