#include "service/server/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/files/bounded_file.h"

namespace needlecheck::server {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The PEM certificates in `text`, in order; INVALID_ARGUMENT when none.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(
    const std::string& text, const std::string& path) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(text);
  while (bio != nullptr) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certs.push_back(std::move(cert));
  }
  ERR_clear_error();  // the end of the input leaves an error queued
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\": no PEM certificate in it"));
  }
  return certs;
}

absl::StatusOr<KeyPtr> ParsePrivateKey(const std::string& text,
                                       const std::string& path) {
  BioPtr bio = MemoryBio(text);
  // No password callback: an encrypted key is refused, never prompted for.
  pem_password_cb* no_password = [](char*, int, int, void*) { return 0; };
  KeyPtr key(bio == nullptr ? nullptr
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr,
                                                      no_password, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\": no unencrypted PEM private key in it"));
  }
  return key;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

ReloadableTlsCredentials::Description Describe(X509* leaf) {
  ReloadableTlsCredentials::Description d;
  BioPtr subject(BIO_new(BIO_s_mem()));
  BioPtr not_after(BIO_new(BIO_s_mem()));
  if (subject != nullptr && not_after != nullptr) {
    X509_NAME_print_ex(subject.get(), X509_get_subject_name(leaf), 0,
                       XN_FLAG_RFC2253);
    ASN1_TIME_print(not_after.get(), X509_get0_notAfter(leaf));
    d.subject = BioText(subject.get());
    d.not_after = BioText(not_after.get());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(leaf, EVP_sha256(), digest, &length) == 1 && length >= 8) {
    d.sha256 = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest), 8));
  }
  return d;
}

// grpc::ServerCredentials around a C-core grpc_server_credentials (the C++
// API has no wrapper for the certificate-config fetcher).
class CoreServerCredentials final : public grpc::ServerCredentials {
 public:
  CoreServerCredentials(grpc_ssl_client_certificate_request_type request_type,
                        grpc_ssl_server_certificate_config_callback fetch,
                        void* user_data) {
    // The base class has initialized gRPC by now.
    credentials_ = grpc_ssl_server_credentials_create_with_options(
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            request_type, fetch, user_data));
  }
  ~CoreServerCredentials() override {
    grpc_server_credentials_release(credentials_);
  }

  // Not offered: needlecheckd authorizes calls in its service
  // (authorizer.h), where the method is known; a processor passed here is
  // ignored.
  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/)
      override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), credentials_);
  }

  grpc_server_credentials* credentials_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReloadableTlsCredentials>>
ReloadableTlsCredentials::Create(const TlsFiles& files) {
  if (files.cert_path.empty() || files.key_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and a key file");
  }
  std::unique_ptr<ReloadableTlsCredentials> credentials(
      new ReloadableTlsCredentials(files));
  absl::StatusOr<Material> material = credentials->LoadMaterial();
  if (!material.ok()) return material.status();
  absl::MutexLock lock(&credentials->mu_);
  credentials->current_ = *std::move(material);
  credentials->generation_ = 1;
  return credentials;
}

ReloadableTlsCredentials::~ReloadableTlsCredentials() = default;

absl::StatusOr<ReloadableTlsCredentials::Material>
ReloadableTlsCredentials::LoadMaterial() const {
  Material m;
  absl::StatusOr<std::string> cert =
      ReadRegularFile(files_.cert_path, kMaxTlsFileBytes);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key =
      ReadRegularFile(files_.key_path, kMaxTlsFileBytes);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<X509Ptr>> chain =
      ParseCertificates(*cert, files_.cert_path);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<KeyPtr> private_key = ParsePrivateKey(*key, files_.key_path);
  if (!private_key.ok()) return private_key.status();
  X509* leaf = chain->front().get();
  if (X509_check_private_key(leaf, private_key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("\"", files_.key_path, "\": the key does not match the ",
                     "certificate in \"", files_.cert_path, "\""));
  }
  if (!files_.client_ca_path.empty()) {
    absl::StatusOr<std::string> ca =
        ReadRegularFile(files_.client_ca_path, kMaxTlsFileBytes);
    if (!ca.ok()) return ca.status();
    absl::StatusOr<std::vector<X509Ptr>> roots =
        ParseCertificates(*ca, files_.client_ca_path);
    if (!roots.ok()) return roots.status();
    m.client_ca = *std::move(ca);
  }
  m.description = Describe(leaf);
  m.cert_chain = *std::move(cert);
  m.private_key = *std::move(key);
  return m;
}

absl::Status ReloadableTlsCredentials::Reload() {
  absl::StatusOr<Material> material = LoadMaterial();
  if (!material.ok()) return material.status();
  absl::MutexLock lock(&mu_);
  current_ = *std::move(material);
  ++generation_;
  return absl::OkStatus();
}

ReloadableTlsCredentials::Description ReloadableTlsCredentials::Current()
    const {
  absl::MutexLock lock(&mu_);
  return current_.description;
}

std::shared_ptr<grpc::ServerCredentials>
ReloadableTlsCredentials::NewServerCredentials() {
  Fetcher* fetcher = nullptr;
  {
    absl::MutexLock lock(&mu_);
    fetchers_.push_back(std::make_unique<Fetcher>(Fetcher{this}));
    fetcher = fetchers_.back().get();
  }
  return std::make_shared<CoreServerCredentials>(
      requires_client_certificate()
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
      &ReloadableTlsCredentials::Fetch, fetcher);
}

grpc_ssl_certificate_config_reload_status ReloadableTlsCredentials::Fetch(
    void* user_data, grpc_ssl_server_certificate_config** config) {
  Fetcher* fetcher = static_cast<Fetcher*>(user_data);
  ReloadableTlsCredentials* self = fetcher->owner;
  absl::MutexLock lock(&self->mu_);
  if (fetcher->delivered == self->generation_) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  }
  // gRPC copies the strings. gRPC 1.51 asserts that a fetched config has
  // client roots even when it asks for no client certificate; then the
  // server's own chain stands in (loaded into a store that nothing reads:
  // no client is asked for a certificate).
  const Material& m = self->current_;
  const grpc_ssl_pem_key_cert_pair pair = {m.private_key.c_str(),
                                           m.cert_chain.c_str()};
  *config = grpc_ssl_server_certificate_config_create(
      m.client_ca.empty() ? m.cert_chain.c_str() : m.client_ca.c_str(), &pair,
      1);
  if (*config == nullptr) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
  fetcher->delivered = self->generation_;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

}  // namespace needlecheck::server
