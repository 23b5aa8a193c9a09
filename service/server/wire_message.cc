#include "service/server/wire_message.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace needlecheck::server {

absl::Status ParseWireMessage(const grpc::ByteBuffer& bytes,
                              google::protobuf::MessageLite* message) {
  // A ByteBuffer copy shares its slices: no bytes are copied.
  grpc::ByteBuffer copy(bytes);
  grpc::ProtoBufferReader reader(&copy);
  if (!reader.status().ok() || !message->ParseFromZeroCopyStream(&reader) ||
      !reader.status().ok()) {
    message->Clear();
    return absl::InvalidArgumentError(absl::StrCat("could not be parsed as ",
                                                   message->GetTypeName(), " (",
                                                   bytes.Length(), " bytes)"));
  }
  return absl::OkStatus();
}

absl::Status SerializeWireMessage(const google::protobuf::MessageLite& message,
                                  grpc::ByteBuffer* bytes) {
  bool own_buffer = false;
  const grpc::Status status =
      grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(
          message, bytes, &own_buffer);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat(message.GetTypeName(),
                     " could not be serialized: ", status.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace needlecheck::server
