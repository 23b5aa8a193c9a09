// ScreeningClient: what the HL7 v2 listener asks needlecheckd, as a small
// interface (the processing logic knows no gRPC), and its gRPC
// implementation.
//
// Contract
// - Screen() runs ScreeningService.Screen with `deadline` and no
//   wait-for-ready, so an unreachable needlecheckd fails fast with
//   UNAVAILABLE. gRPC codes map one to one onto absl codes. For
//   INVALID_ARGUMENT the message is "needlecheckd rejected the request:
//   <field path>, <field path>..." with the field paths of the
//   google.rpc.BadRequest detail (each cut to 200 characters, anything
//   other than letters, digits, '_', '.', '[' and ']' replaced by '?'), so
//   it can go into an ERR segment: it names fields, never their values.
//   Other errors keep needlecheckd's message, bounded and printable.
// - GetKnowledgeBase() asks for the loaded knowledge base with its
//   definition (include_definition), under the same rules.
// - Thread-safe (gRPC stubs are).
#ifndef ADAPTERS_HL7V2_PROCESSING_SCREENING_CLIENT_H_
#define ADAPTERS_HL7V2_PROCESSING_SCREENING_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/screening.pb.h"

namespace needlecheck::hl7v2 {

class ScreeningClient {
 public:
  virtual ~ScreeningClient() = default;
  virtual absl::StatusOr<needlecheck::v1::ScreenResponse> Screen(
      const needlecheck::v1::ScreenRequest& request, absl::Time deadline) = 0;
  virtual absl::StatusOr<needlecheck::v1::KnowledgeBase> GetKnowledgeBase(
      absl::Time deadline) = 0;
};

// `channel` leads to needlecheckd, plaintext or TLS
// (adapters/common/grpc_client_channel.h, NewClientChannel()).
std::unique_ptr<ScreeningClient> NewGrpcScreeningClient(
    std::shared_ptr<grpc::Channel> channel);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_PROCESSING_SCREENING_CLIENT_H_
