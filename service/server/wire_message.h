// Protobuf messages to and from the raw bytes of a gRPC call.
//
// needlecheckd registers its methods as raw (ByteBuffer) handlers and
// parses requests itself, so that bytes that are not a valid message get
// INVALID_ARGUMENT naming what could not be parsed, instead of gRPC's
// default for a failed deserialization (UNIMPLEMENTED for a unary call, a
// silent end of the stream with OK for a streaming one).
//
// Contract
// - ParseWireMessage(): OK, or INVALID_ARGUMENT "could not be parsed as
//   <full message name>" (the bytes themselves never appear in it). The
//   whole buffer must be one message. `bytes` is not changed.
// - SerializeWireMessage(): OK, or INTERNAL when the message cannot be
//   serialized (larger than 2 GiB).
// - Thread-safe, no state.
#ifndef SERVICE_SERVER_WIRE_MESSAGE_H_
#define SERVICE_SERVER_WIRE_MESSAGE_H_

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"
#include "grpcpp/support/byte_buffer.h"

namespace needlecheck::server {

absl::Status ParseWireMessage(const grpc::ByteBuffer& bytes,
                              google::protobuf::MessageLite* message);

absl::Status SerializeWireMessage(const google::protobuf::MessageLite& message,
                                  grpc::ByteBuffer* bytes);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_WIRE_MESSAGE_H_
