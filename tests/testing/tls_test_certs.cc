#include "tests/testing/tls_test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/test_pki.h"

namespace needlecheck::testing {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// A client certificate signed by `ca` (a path without .crt/.key) whose
// validity ended a day ago (the openssl tool cannot make one: -days must be
// positive).
absl::Status MakeExpired(const std::string& base, const std::string& ca) {
  FilePtr ca_cert_file(std::fopen((ca + ".crt").c_str(), "r"));
  FilePtr ca_key_file(std::fopen((ca + ".key").c_str(), "r"));
  if (!ca_cert_file || !ca_key_file) return absl::UnavailableError("no CA");
  std::unique_ptr<X509, decltype(&X509_free)> ca_cert(
      PEM_read_X509(ca_cert_file.get(), nullptr, nullptr, nullptr), X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ca_key(
      PEM_read_PrivateKey(ca_key_file.get(), nullptr, nullptr, nullptr),
      EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                          EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!ca_cert || !ca_key || !key || !cert) {
    return absl::UnavailableError("OpenSSL could not load or make keys");
  }
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -2 * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), -86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("expired-client"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) {
    return absl::UnavailableError("OpenSSL could not sign");
  }
  FilePtr cert_out(std::fopen((base + ".crt").c_str(), "w"));
  FilePtr key_out(std::fopen((base + ".key").c_str(), "w"));
  if (!cert_out || !key_out || !PEM_write_X509(cert_out.get(), cert.get()) ||
      !PEM_write_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0,
                            nullptr, nullptr)) {
    return absl::UnavailableError("cannot write the expired certificate");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsTestCerts> CreateTlsTestCerts(const std::string& dir) {
  const TestPki pki(dir);
  for (absl::Status s : {
           pki.MakeCa("ca"),
           pki.MakeCa("other_ca"),
           pki.MakeCert("server", "ca", "127.0.0.1",
                        "IP:127.0.0.1,DNS:localhost"),
           pki.MakeCert("client", "ca", "test-client", ""),
           pki.MakeCert("other_client", "other_ca", "other-client", ""),
           MakeExpired(pki.Path("expired_client"), pki.Path("ca")),
       }) {
    if (!s.ok()) return s;
  }
  TlsTestCerts certs;
  auto crt = [&](const std::string& name) { return pki.Path(name + ".crt"); };
  auto key = [&](const std::string& name) { return pki.Path(name + ".key"); };
  certs.ca_cert = crt("ca");
  certs.ca_key = key("ca");
  certs.server_cert = crt("server");
  certs.server_key = key("server");
  certs.client_cert = crt("client");
  certs.client_key = key("client");
  certs.other_ca_cert = crt("other_ca");
  certs.other_ca_key = key("other_ca");
  certs.other_client_cert = crt("other_client");
  certs.other_client_key = key("other_client");
  certs.expired_client_cert = crt("expired_client");
  certs.expired_client_key = key("expired_client");
  return certs;
}

}  // namespace needlecheck::testing
