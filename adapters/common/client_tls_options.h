// ClientTlsOptions: how a client of needlecheckd secures its channel, as the
// command-line flags give it (the CLI, needlecheck-audit and, with a
// "screening_" prefix, needlecheck-cds-hooks share these names):
//
//   --tls_ca=PEM            the CA that signed needlecheckd's certificate:
//                           TLS, verifying the server against it
//   --tls_cert=PEM          with --tls_key: this client's certificate chain,
//   --tls_key=PEM           for a needlecheckd that requires one (mutual TLS)
//   --tls_server_name=NAME  optional: the name the server certificate must
//                           carry when it differs from the host in the
//                           address (an IP address, a Kubernetes service)
//
// None given: plaintext (needlecheckd on loopback). Reading and checking
// the files is grpc_client_channel.h's job; this header holds only the
// struct and the usage rules, so parsers need neither gRPC nor files.
//
// Contract
// - CheckClientTlsOptions() returns OK or INVALID_ARGUMENT naming the flag
//   (with `flag_prefix` in front, e.g. "--screening_tls_cert"): a
//   certificate without a key or a key without a certificate, a
//   certificate or server name without a CA. It does no I/O.
// - Pure functions; thread-safe.
#ifndef ADAPTERS_COMMON_CLIENT_TLS_OPTIONS_H_
#define ADAPTERS_COMMON_CLIENT_TLS_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace needlecheck::grpc_client {

struct ClientTlsOptions {
  // PEM file paths; "" when the flag is not given. Default: all empty
  // (plaintext).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // The name to verify the server certificate against instead of the host
  // of the address. Default: "" (the host).
  std::string server_name;

  bool tls() const { return !ca_file.empty(); }
  bool mutual() const { return !cert_file.empty(); }
};

// "--" + flag_prefix + name, e.g. FlagName("screening_", "tls_ca").
std::string FlagName(absl::string_view flag_prefix, absl::string_view name);

absl::Status CheckClientTlsOptions(const ClientTlsOptions& options,
                                   absl::string_view flag_prefix);

// True for 127.0.0.0/8, ::1 and "localhost": where plaintext may go (and
// what a loopback-only trial mode may listen on).
bool IsLoopbackHost(const std::string& host);

}  // namespace needlecheck::grpc_client

#endif  // ADAPTERS_COMMON_CLIENT_TLS_OPTIONS_H_
