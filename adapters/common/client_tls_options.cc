#include "adapters/common/client_tls_options.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::grpc_client {

std::string FlagName(absl::string_view flag_prefix, absl::string_view name) {
  return absl::StrCat("--", flag_prefix, name);
}

absl::Status CheckClientTlsOptions(const ClientTlsOptions& options,
                                   absl::string_view flag_prefix) {
  const std::string ca = FlagName(flag_prefix, "tls_ca");
  const std::string cert = FlagName(flag_prefix, "tls_cert");
  const std::string key = FlagName(flag_prefix, "tls_key");
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        options.cert_file.empty()
            ? absl::StrCat(key, " needs ", cert,
                           " (the client certificate the key belongs to)")
            : absl::StrCat(cert, " needs ", key,
                           " (the certificate's private key)"));
  }
  if (!options.ca_file.empty()) return absl::OkStatus();
  if (!options.cert_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert, " and ", key, " need ", ca,
                     " (the CA that signed needlecheckd's certificate)"));
  }
  if (!options.server_name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(FlagName(flag_prefix, "tls_server_name"), " needs ", ca,
                     " (it only applies to TLS)"));
  }
  return absl::OkStatus();
}

bool IsLoopbackHost(const std::string& host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

}  // namespace needlecheck::grpc_client
