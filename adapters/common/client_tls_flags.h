// The client TLS flags of needlecheckd's clients, defined once for every
// adapter main (ClientTlsOptions in client_tls_options.h says what each
// means and which combinations are refused).
//
//   NEEDLECHECK_CLIENT_TLS_FLAGS(screening_, screening_service);
//   ...
//   ClientTlsOptions tls = NEEDLECHECK_CLIENT_TLS_FROM_FLAGS(screening_);
//
// defines --screening_tls_ca, --screening_tls_cert, --screening_tls_key and
// --screening_tls_server_name (help texts naming --screening_service) and
// reads them. needlecheck-cds-hooks and needlecheck-hl7 use the prefix
// "screening_" (their --tls_* flags secure their own listener);
// needlecheck-audit uses none (--tls_ca, ... with --service).
//
// Contract
// - NEEDLECHECK_CLIENT_TLS_FLAGS(prefix, service_flag): use once, at global
//   namespace scope of a *_main.cc (flags live in mains); `prefix` may be
//   empty. Every flag defaults to "" (plaintext).
// - NEEDLECHECK_CLIENT_TLS_FROM_FLAGS(prefix): an expression, the
//   ClientTlsOptions of the flags' current values; no checks (use
//   CheckClientTlsOptions or grpc_client_channel.h with the same prefix).
#ifndef ADAPTERS_COMMON_CLIENT_TLS_FLAGS_H_
#define ADAPTERS_COMMON_CLIENT_TLS_FLAGS_H_

#include <string>

#include "absl/flags/flag.h"
#include "adapters/common/client_tls_options.h"

#define NEEDLECHECK_CLIENT_TLS_FLAGS(prefix, service_flag)                   \
  ABSL_FLAG(std::string, prefix##tls_ca, "",                                 \
            "PEM CA certificate(s) that signed needlecheckd's certificate: " \
            "TLS to --" #service_flag ", verifying the server.");            \
  ABSL_FLAG(std::string, prefix##tls_cert, "",                               \
            "PEM client certificate chain for a needlecheckd that requires " \
            "client certificates (mutual TLS); needs --" #prefix             \
            "tls_key and --" #prefix "tls_ca.");                             \
  ABSL_FLAG(std::string, prefix##tls_key, "",                                \
            "PEM private key (unencrypted) of --" #prefix "tls_cert.");      \
  ABSL_FLAG(std::string, prefix##tls_server_name, "",                        \
            "Optional: the name needlecheckd's certificate carries when it " \
            "is not the host of --" #service_flag                            \
            "; required for an ipv4:/ipv6: list of several replicas (each "  \
            "certificate must carry it).")

#define NEEDLECHECK_CLIENT_TLS_FROM_FLAGS(prefix) \
  (::needlecheck::grpc_client::ClientTlsOptions{  \
      absl::GetFlag(FLAGS_##prefix##tls_ca),      \
      absl::GetFlag(FLAGS_##prefix##tls_cert),    \
      absl::GetFlag(FLAGS_##prefix##tls_key),     \
      absl::GetFlag(FLAGS_##prefix##tls_server_name)})

#endif  // ADAPTERS_COMMON_CLIENT_TLS_FLAGS_H_
