#include "tests/testing/tls_test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::testing {
namespace {

absl::Status Run(const std::string& command) {
  const std::string quiet = absl::StrCat(command, " >/dev/null 2>&1");
  if (std::system(quiet.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("failed: ", command));
  }
  return absl::OkStatus();
}

// A self-signed CA certificate and key.
absl::Status MakeCa(const std::string& base, const std::string& name) {
  return Run(absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-days 2 -subj /CN=",
      name, " -keyout ", base, ".key -out ", base,
      ".pem -addext basicConstraints=critical,CA:TRUE "
      "-addext keyUsage=critical,keyCertSign,cRLSign"));
}

// A leaf certificate and key signed by the CA at `ca` (a path without
// .pem/.key).
absl::Status MakeLeaf(const std::string& base, const std::string& ca,
                      const std::string& cn, const std::string& extensions) {
  return Run(absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-days 2 -subj /CN=",
      cn, " -CA ", ca, ".pem -CAkey ", ca, ".key -keyout ", base, ".key -out ",
      base, ".pem -addext basicConstraints=critical,CA:FALSE ", extensions));
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// A client certificate signed by `ca` whose validity ended a day ago
// (the openssl tool cannot make one: -days must be positive).
absl::Status MakeExpired(const std::string& base, const std::string& ca) {
  FilePtr ca_cert_file(std::fopen((ca + ".pem").c_str(), "r"));
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
  FilePtr cert_out(std::fopen((base + ".pem").c_str(), "w"));
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
  const std::string ca = dir + "/ca";
  const std::string other_ca = dir + "/other_ca";
  for (absl::Status s : {
           MakeCa(ca, "needlecheck-test-ca"),
           MakeCa(other_ca, "other-test-ca"),
           MakeLeaf(dir + "/server", ca, "127.0.0.1",
                    "-addext subjectAltName=IP:127.0.0.1,DNS:localhost "
                    "-addext extendedKeyUsage=serverAuth"),
           MakeLeaf(dir + "/client", ca, "test-client",
                    "-addext extendedKeyUsage=clientAuth"),
           MakeLeaf(dir + "/other_client", other_ca, "other-client",
                    "-addext extendedKeyUsage=clientAuth"),
           MakeExpired(dir + "/expired_client", ca),
       }) {
    if (!s.ok()) return s;
  }
  TlsTestCerts pki;
  auto pem = [&](const std::string& name) { return dir + "/" + name + ".pem"; };
  auto key = [&](const std::string& name) { return dir + "/" + name + ".key"; };
  pki.ca_cert = pem("ca");
  pki.ca_key = key("ca");
  pki.server_cert = pem("server");
  pki.server_key = key("server");
  pki.client_cert = pem("client");
  pki.client_key = key("client");
  pki.other_ca_cert = pem("other_ca");
  pki.other_ca_key = key("other_ca");
  pki.other_client_cert = pem("other_client");
  pki.other_client_key = key("other_client");
  pki.expired_client_cert = pem("expired_client");
  pki.expired_client_key = key("expired_client");
  return pki;
}

}  // namespace needlecheck::testing
