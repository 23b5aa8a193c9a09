// ScreenStreamReactor: the ScreenStream RPC, one response per request in
// the same order.
//
// Contract
// - Strictly one message in flight at a time: read a request, screen it,
//   write its response, then read the next. A client that stops reading
//   stops the server reading too (flow control end to end), and memory per
//   stream is one request and one response (in_order_stream_reactor.h).
// - Raw bytes in and out (see screening_service.h): a message that is not a
//   valid ScreenRequest ends the stream with INVALID_ARGUMENT "message 3 of
//   the stream could not be parsed as needlecheck.v1.ScreenRequest (N
//   bytes)" (counting from 1); responses to the messages before it have
//   been sent.
// - A request the backend rejects ends the stream with its status (e.g.
//   INVALID_ARGUMENT with BadRequest details), its message prefixed with
//   the request's position and id: "request at index 2 (request_id
//   \"r-3\"): invalid screening request: session.date: ...". Responses to
//   the requests before it have been sent.
// - Before each request: a cancelled call or an expired deadline ends the
//   stream (CANCELLED / DEADLINE_EXCEEDED) without screening it.
// - Owned by gRPC: created by the service, deletes itself in OnDone().
#ifndef SERVICE_SERVER_SCREEN_STREAM_REACTOR_H_
#define SERVICE_SERVER_SCREEN_STREAM_REACTOR_H_

#include <cstdint>
#include <vector>

#include "google/protobuf/message_lite.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/server/access_trail.h"
#include "service/server/in_order_stream_reactor.h"
#include "service/server/screening_backend.h"

namespace needlecheck::server {

class ScreenStreamReactor final : public InOrderStreamReactor {
 public:
  // `trail` records each request's access (access_trail.h); it must
  // outlive the reactor.
  ScreenStreamReactor(grpc::CallbackServerContext* context,
                      ScreeningBackend* backend, AccessTrail* trail);

 private:
  google::protobuf::MessageLite* MutableRequest() override { return &request_; }
  grpc::Status Answer(int64_t index,
                      std::vector<grpc::ByteBuffer>* answers) override;

  ScreeningBackend* const backend_;
  needlecheck::v1::ScreenRequest request_;
  needlecheck::v1::ScreenResponse response_;
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_SCREEN_STREAM_REACTOR_H_
