// The channel every client of needlecheckd (the `needlecheck` CLI,
// needlecheck-audit, needlecheck-cds-hooks) opens to it: plaintext, TLS or
// mutual TLS from ClientTlsOptions (client_tls_options.h).
//
// Contract
// - LoadClientChannelSecurity() is called once at start-up. It applies
//   CheckClientTlsOptions(), then reads each PEM file (a regular file of at
//   most kMaxPemFileBytes, opened without blocking on a FIFO) and checks it
//   with OpenSSL before gRPC sees it: the CA file must hold at least one
//   certificate and nothing else unparseable, the certificate file a
//   certificate chain that is valid now, the key file an unencrypted
//   private key that belongs to that certificate. Every error is
//   INVALID_ARGUMENT (a bad flag: the callers exit 2 or refuse to start),
//   and its message names the flag (with `flag_prefix`) and the path, e.g.
//   "--tls_ca /etc/ca.pem: holds no PEM certificate". The files' contents
//   never appear in messages.
// - NewClientChannel() creates the channel (lazy: no connection yet) with
//   the credentials and, when set, the TLS server name override. gRPC's
//   own handshake then verifies the server's certificate chain against the
//   CA and its name against the address's host (or the override); a
//   failed handshake shows as UNAVAILABLE on the calls.
// - ConnectionHint() is a one-line, human hint for an UNAVAILABLE call
//   (what to check: the address, and the TLS flags when they are in use).
// - Thread-safe; a ClientChannelSecurity may be shared by many channels.
#ifndef ADAPTERS_COMMON_GRPC_CLIENT_CHANNEL_H_
#define ADAPTERS_COMMON_GRPC_CLIENT_CHANNEL_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/common/client_tls_options.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace needlecheck::grpc_client {

// The largest PEM file read: a whole public CA bundle is ~250 KB.
inline constexpr size_t kMaxPemFileBytes = 1 << 20;

struct ClientChannelSecurity {
  // Never null once loaded: insecure, or SSL credentials.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  bool tls = false;     // --tls_ca given
  bool mutual = false;  // --tls_cert/--tls_key given
  // The TLS target name override; "" for none.
  std::string server_name;
  // The flag prefix the options came with, for messages.
  std::string flag_prefix;
};

absl::StatusOr<ClientChannelSecurity> LoadClientChannelSecurity(
    const ClientTlsOptions& options, absl::string_view flag_prefix);

std::shared_ptr<grpc::Channel> NewClientChannel(
    const std::string& target, const ClientChannelSecurity& security,
    grpc::ChannelArguments args = grpc::ChannelArguments());

// E.g. "is needlecheckd running at 127.0.0.1:50051 (see --server)? if it
// serves TLS, give --tls_ca". `address_flag` names the flag that gave
// `target`.
std::string ConnectionHint(const ClientChannelSecurity& security,
                           absl::string_view target,
                           absl::string_view address_flag);

}  // namespace needlecheck::grpc_client

#endif  // ADAPTERS_COMMON_GRPC_CLIENT_CHANNEL_H_
