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
//   CA and its name against the target's authority (or the override); a
//   failed handshake shows as UNAVAILABLE on the calls.
// - Several replicas: the target is any gRPC name (kClientServiceConfig
//   applies to all):
//     HOST:PORT                   one name or address, as before (a name
//                                 resolving to several addresses: all)
//     dns:///HOST:PORT            every address HOST resolves to; resolved
//                                 again when a connection closes, so
//                                 replicas added to the name are found
//     ipv4:ADDR:PORT,ADDR:PORT    a fixed list of addresses
//     ipv6:[ADDR]:PORT,...        (likewise)
//   The channel uses gRPC's round_robin policy: a connection to every
//   address, calls spread in turn over those that are ready. A replica
//   that sends GOAWAY (needlecheckd draining on SIGTERM, or at
//   --max_connection_age) or goes away is skipped until the channel has
//   reconnected to it; the resolver runs again then, so a long-lived
//   client follows DNS changes. Calls the server never saw (refused
//   after its GOAWAY) are retried by gRPC transparently; calls the server
//   did see are never retried here: Screen records its alerts under new
//   ids, so a blind retry could record a screening twice.
// - TLS with several replicas: the name checked against each replica's
//   certificate is the authority: HOST for HOST:PORT and dns:///HOST:PORT
//   targets, but for an ipv4:/ipv6: list the whole list
//   ("127.0.0.1:1,127.0.0.1:2"), which no certificate carries. Give the
//   TLS server name (--tls_server_name) with such a list: CheckClientTarget
//   refuses TLS to a list of more than one address without it.
// - ConnectionHint() is a one-line, human hint for an UNAVAILABLE call
//   (what to check: the address, and the TLS flags when they are in use).
// - Thread-safe; a ClientChannelSecurity may be shared by many channels.
#ifndef ADAPTERS_COMMON_GRPC_CLIENT_CHANNEL_H_
#define ADAPTERS_COMMON_GRPC_CLIENT_CHANNEL_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

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

// The service config of every client channel: round_robin over all of the
// target's addresses (a gRPC channel's default, pick_first, would send
// every call to the first address), and client-side health checking: each
// connection watches grpc.health.v1.Health (service "") and round_robin
// picks only replicas that report SERVING, so a needlecheckd that starts
// draining (NOT_SERVING, then GOAWAY after its --drain_lame_duck) gets no
// new call. A server without the health service counts as serving.
// Cost: the Watch is a call that stays open, so a needlecheckd drained
// (SIGTERM) while such a client is connected waits, within its
// --drain_seconds, until the client drops that Watch after the GOAWAY
// (observed: 0 to 30 s; at --drain_seconds the remaining Watches are
// cancelled), instead of exiting as soon as its last real call is done.
// A caller that asks for health itself (`needlecheck health`) passes
// GRPC_ARG_INHIBIT_HEALTH_CHECKING=1 in `args`, so that a NOT_SERVING
// server still gets its call and answers NOT_SERVING.
inline constexpr char kClientServiceConfig[] =
    R"({"loadBalancingConfig":[{"round_robin":{}}],)"
    R"("healthCheckConfig":{"serviceName":""}})";

// INVALID_ARGUMENT when `target` (given by `address_flag`, e.g.
// "--service") cannot work with `security`: empty, or an ipv4:/ipv6: list
// of more than one address with TLS and no server name override (see
// above). The message names `address_flag` and the TLS server-name flag.
absl::Status CheckClientTarget(absl::string_view target,
                               const ClientChannelSecurity& security,
                               absl::string_view address_flag);

// The hosts of a target in any of the forms above ("127.0.0.1" for
// "ipv4:127.0.0.1:1", "db.internal" for "dns:///db.internal:50051",
// "::1" for "ipv6:[::1]:1"); empty when it names none it can parse (e.g.
// "unix:/path"). For callers that warn about plaintext off the machine.
std::vector<std::string> TargetHosts(absl::string_view target);

std::shared_ptr<grpc::Channel> NewClientChannel(
    const std::string& target, const ClientChannelSecurity& security,
    grpc::ChannelArguments args = grpc::ChannelArguments());

// An adapter's channel to needlecheckd from its flags, as every adapter
// main opens it: LoadClientChannelSecurity(tls, flag_prefix),
// CheckClientTarget(target, ..., address_flag), a WARNING on stderr when
// plaintext leaves the machine (a host of `target` that is not loopback),
// one "event=screening_channel target=... tls=off|server|mutual" line on
// stderr, then NewClientChannel(). INVALID_ARGUMENT (a bad flag or file,
// the callers exit 2) as those functions return it.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenAdapterChannel(
    const std::string& target, const ClientTlsOptions& tls,
    absl::string_view flag_prefix, absl::string_view address_flag);

// E.g. "is needlecheckd running at 127.0.0.1:50051 (see --server)? if it
// serves TLS, give --tls_ca". `address_flag` names the flag that gave
// `target`.
std::string ConnectionHint(const ClientChannelSecurity& security,
                           absl::string_view target,
                           absl::string_view address_flag);

}  // namespace needlecheck::grpc_client

#endif  // ADAPTERS_COMMON_GRPC_CLIENT_CHANNEL_H_
