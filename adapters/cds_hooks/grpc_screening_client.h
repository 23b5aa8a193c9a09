// ScreeningClient over gRPC: the needlecheckd stub with a deadline on every
// call (`rpc_timeout`, or the caller's deadline when sooner) and no
// wait-for-ready, so an unreachable needlecheckd (or one whose TLS
// handshake fails) fails fast with UNAVAILABLE instead of hanging. gRPC
// codes map one to one onto absl codes. ScreenAsync and
// GetKnowledgeBaseAsync use gRPC's callback API: `done` runs on a gRPC
// thread when the answer (or the error) arrives, and no thread waits
// meanwhile. Thread-safe (gRPC stubs are).
#ifndef ADAPTERS_CDS_HOOKS_GRPC_SCREENING_CLIENT_H_
#define ADAPTERS_CDS_HOOKS_GRPC_SCREENING_CLIENT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "adapters/cds_hooks/cds_service.h"
#include "grpcpp/channel.h"

namespace needlecheck::cds_hooks {

// `channel` leads to needlecheckd, plaintext or TLS
// (adapters/common/grpc_client_channel.h, NewClientChannel()).
std::unique_ptr<ScreeningClient> NewGrpcScreeningClient(
    std::shared_ptr<grpc::Channel> channel, absl::Duration rpc_timeout);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_GRPC_SCREENING_CLIENT_H_
