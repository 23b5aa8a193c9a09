#include "adapters/common/grpc_client_channel.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files/bounded_file.h"
#include "grpcpp/create_channel.h"

namespace needlecheck::grpc_client {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A bad flag: "--tls_ca PATH: reason".
absl::Status FlagError(absl::string_view flag, absl::string_view path,
                       absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " ", path, ": ", reason));
}

// The whole of a regular file of at most kMaxPemFileBytes (a FIFO cannot
// block the open; anything but a regular file is refused).
absl::StatusOr<std::string> ReadPemFile(absl::string_view flag,
                                        const std::string& path) {
  absl::StatusOr<std::string> contents =
      ReadRegularFile(path, kMaxPemFileBytes);
  if (!contents.ok()) {
    return FlagError(flag, path, contents.status().message());
  }
  return contents;
}

// Never prompts for a pass phrase (an encrypted key simply fails to load).
int NoPassPhrase(char*, int, int, void*) { return -1; }

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every "CERTIFICATE" block of `pem`, in order. An error when a block does
// not parse; an empty vector when there is none.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(absl::string_view flag,
                                                       const std::string& path,
                                                       const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  std::vector<X509Ptr> certs;
  ERR_clear_error();
  while (X509* cert =
             PEM_read_bio_X509(bio.get(), nullptr, NoPassPhrase, nullptr)) {
    certs.emplace_back(cert);
  }
  const unsigned long error = ERR_peek_last_error();
  ERR_clear_error();
  // Running out of blocks is the normal end.
  if (error != 0 && !(ERR_GET_LIB(error) == ERR_LIB_PEM &&
                      ERR_GET_REASON(error) == PEM_R_NO_START_LINE)) {
    return FlagError(flag, path,
                     "a PEM certificate in it is damaged (does not parse)");
  }
  if (certs.empty()) {
    return FlagError(flag, path,
                     "holds no PEM certificate (expected \"-----BEGIN "
                     "CERTIFICATE-----\")");
  }
  return certs;
}

std::string AsnTime(const ASN1_TIME* time) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), time);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

// The client certificate chain: parses, and its first certificate (the
// client's own) is valid now.
absl::Status CheckCertificateChain(absl::string_view flag,
                                   const std::string& path,
                                   const std::string& pem, X509Ptr* leaf) {
  absl::StatusOr<std::vector<X509Ptr>> chain =
      ParseCertificates(flag, path, pem);
  if (!chain.ok()) return chain.status();
  X509* cert = chain->front().get();
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return FlagError(flag, path,
                     absl::StrCat("the certificate expired on ",
                                  AsnTime(X509_get0_notAfter(cert))));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    return FlagError(flag, path,
                     absl::StrCat("the certificate is not valid before ",
                                  AsnTime(X509_get0_notBefore(cert))));
  }
  *leaf = std::move(chain->front());
  return absl::OkStatus();
}

absl::Status CheckPrivateKey(absl::string_view flag, const std::string& path,
                             const std::string& pem, X509* leaf,
                             absl::string_view cert_flag) {
  BioPtr bio = MemoryBio(pem);
  ERR_clear_error();
  PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassPhrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    if (absl::StrContains(pem, "ENCRYPTED")) {
      return FlagError(flag, path,
                       "the private key is encrypted; give it unencrypted "
                       "(and protect the file with its permissions)");
    }
    return FlagError(flag, path,
                     "holds no PEM private key (expected \"-----BEGIN "
                     "PRIVATE KEY-----\" or an RSA/EC key block)");
  }
  const bool match = X509_check_private_key(leaf, key.get()) == 1;
  ERR_clear_error();
  if (!match) {
    return FlagError(flag, path,
                     absl::StrCat("the key does not belong to the "
                                  "certificate in ",
                                  cert_flag));
  }
  return absl::OkStatus();
}

// The addresses of a target ("HOST:PORT" each): the comma-separated list
// of an ipv4:/ipv6: target, the one name of a dns: target (its authority
// part, "dns://AUTHORITY/", dropped) or of a plain one; `list` is set for
// ipv4:/ipv6:. Empty for unix: and the like.
std::vector<std::string> TargetAddresses(absl::string_view target, bool* list) {
  *list = false;
  if (absl::ConsumePrefix(&target, "ipv4:") ||
      absl::ConsumePrefix(&target, "ipv6:")) {
    *list = true;
    return absl::StrSplit(target, ',', absl::SkipEmpty());
  }
  if (absl::ConsumePrefix(&target, "dns:")) {
    if (absl::ConsumePrefix(&target, "//")) {
      const size_t slash = target.find('/');
      target = slash == absl::string_view::npos ? absl::string_view()
                                                : target.substr(slash + 1);
    }
  } else if (absl::StartsWith(target, "unix:") ||
             absl::StartsWith(target, "unix-abstract:") ||
             absl::StartsWith(target, "vsock:")) {
    return {};
  }
  if (target.empty()) return {};
  return {std::string(target)};
}

}  // namespace

std::vector<std::string> TargetHosts(absl::string_view target) {
  bool list = false;
  std::vector<std::string> hosts;
  for (absl::string_view address : TargetAddresses(target, &list)) {
    if (absl::ConsumePrefix(&address, "[")) {
      hosts.emplace_back(address.substr(0, address.find(']')));
      continue;
    }
    // One colon at most: HOST:PORT or HOST; more: a bare IPv6 address.
    const size_t colon = address.find(':');
    if (colon != absl::string_view::npos &&
        address.find(':', colon + 1) == absl::string_view::npos) {
      address = address.substr(0, colon);
    }
    if (!address.empty()) hosts.emplace_back(address);
  }
  return hosts;
}

absl::Status CheckClientTarget(absl::string_view target,
                               const ClientChannelSecurity& security,
                               absl::string_view address_flag) {
  if (target.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(address_flag,
                     " is empty: give HOST:PORT, "
                     "dns:///HOST:PORT or ipv4:ADDR:PORT,..."));
  }
  bool list = false;
  if (security.tls && security.server_name.empty() &&
      TargetAddresses(target, &list).size() > 1 && list) {
    return absl::InvalidArgumentError(absl::StrCat(
        address_flag, "=", target, " lists several addresses: with TLS give ",
        FlagName(security.flag_prefix, "tls_server_name"),
        " (the name every replica's certificate carries), since the "
        "certificates cannot be checked against the list itself"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ClientChannelSecurity> LoadClientChannelSecurity(
    const ClientTlsOptions& options, absl::string_view flag_prefix) {
  if (absl::Status s = CheckClientTlsOptions(options, flag_prefix); !s.ok()) {
    return s;
  }
  ClientChannelSecurity security;
  security.flag_prefix = std::string(flag_prefix);
  if (!options.tls()) {
    security.credentials = grpc::InsecureChannelCredentials();
    return security;
  }
  const std::string ca_flag = FlagName(flag_prefix, "tls_ca");
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadPemFile(ca_flag, options.ca_file);
  if (!ca.ok()) return ca.status();
  if (absl::StatusOr<std::vector<X509Ptr>> roots =
          ParseCertificates(ca_flag, options.ca_file, *ca);
      !roots.ok()) {
    return roots.status();
  }
  ssl.pem_root_certs = *std::move(ca);
  if (options.mutual()) {
    const std::string cert_flag = FlagName(flag_prefix, "tls_cert");
    const std::string key_flag = FlagName(flag_prefix, "tls_key");
    absl::StatusOr<std::string> cert =
        ReadPemFile(cert_flag, options.cert_file);
    if (!cert.ok()) return cert.status();
    X509Ptr leaf;
    if (absl::Status s =
            CheckCertificateChain(cert_flag, options.cert_file, *cert, &leaf);
        !s.ok()) {
      return s;
    }
    absl::StatusOr<std::string> key = ReadPemFile(key_flag, options.key_file);
    if (!key.ok()) return key.status();
    if (absl::Status s = CheckPrivateKey(key_flag, options.key_file, *key,
                                         leaf.get(), cert_flag);
        !s.ok()) {
      return s;
    }
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
    security.mutual = true;
  }
  security.credentials = grpc::SslCredentials(ssl);
  security.tls = true;
  security.server_name = options.server_name;
  return security;
}

std::shared_ptr<grpc::Channel> NewClientChannel(
    const std::string& target, const ClientChannelSecurity& security,
    grpc::ChannelArguments args) {
  if (!security.server_name.empty()) {
    args.SetSslTargetNameOverride(security.server_name);
  }
  args.SetServiceConfigJSON(kClientServiceConfig);
  return grpc::CreateCustomChannel(target,
                                   security.credentials != nullptr
                                       ? security.credentials
                                       : grpc::InsecureChannelCredentials(),
                                   args);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenAdapterChannel(
    const std::string& target, const ClientTlsOptions& tls,
    absl::string_view flag_prefix, absl::string_view address_flag) {
  absl::StatusOr<ClientChannelSecurity> security =
      LoadClientChannelSecurity(tls, flag_prefix);
  if (!security.ok()) return security.status();
  if (absl::Status s = CheckClientTarget(target, *security, address_flag);
      !s.ok()) {
    return s;
  }
  const std::vector<std::string> hosts = TargetHosts(target);
  if (!security->tls &&
      (hosts.empty() ||
       !std::all_of(hosts.begin(), hosts.end(), [](const std::string& host) {
         return IsLoopbackHost(host);
       }))) {
    std::fprintf(stderr,
                 "WARNING: plaintext gRPC to %s=%s, which is not a loopback "
                 "address: give %s\n",
                 std::string(address_flag).c_str(), target.c_str(),
                 FlagName(flag_prefix, "tls_ca").c_str());
  }
  std::fprintf(stderr, "event=screening_channel target=%s tls=%s\n",
               target.c_str(),
               security->mutual ? "mutual"
               : security->tls  ? "server"
                                : "off");
  return NewClientChannel(target, *security);
}

std::string ConnectionHint(const ClientChannelSecurity& security,
                           absl::string_view target,
                           absl::string_view address_flag) {
  const absl::string_view prefix = security.flag_prefix;
  std::string hint = absl::StrCat("is needlecheckd running at ", target,
                                  " (see ", address_flag, ")?");
  if (!security.tls) {
    absl::StrAppend(&hint, " if it serves TLS, give ",
                    FlagName(prefix, "tls_ca"));
    return hint;
  }
  absl::StrAppend(&hint, " TLS: ", FlagName(prefix, "tls_ca"),
                  " must hold the CA that signed its certificate, which must "
                  "name the host (or give ",
                  FlagName(prefix, "tls_server_name"), ")");
  if (!security.mutual) {
    absl::StrAppend(&hint, "; if it requires client certificates, give ",
                    FlagName(prefix, "tls_cert"), " and ",
                    FlagName(prefix, "tls_key"));
  } else {
    absl::StrAppend(&hint, "; it must trust the CA of ",
                    FlagName(prefix, "tls_cert"));
  }
  return hint;
}

}  // namespace needlecheck::grpc_client
