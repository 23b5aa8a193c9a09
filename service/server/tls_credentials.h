// ReloadableTlsCredentials: needlecheckd's TLS (and mutual TLS) server
// credentials, whose certificate, key and client CA can be replaced while
// the server runs (SIGHUP), without a restart.
//
// How: gRPC 1.51's SSL server credentials with a certificate-config fetcher
// (grpc_ssl_server_credentials_create_options_using_config_fetcher). gRPC
// asks the fetcher on every new connection, before the handshake; it
// answers "unchanged" until Reload() has validated a new set, then hands
// that set over once, and gRPC builds its handshaker factory from it for
// this and every later connection. Connections already open keep theirs.
// (grpc::experimental::TlsServerCredentials in 1.51 offers only a static
// provider and a file watcher that polls on a timer with its own unbounded
// reader, so it can neither follow SIGHUP nor keep a bad pair out.)
//
// Contract
// - Create() reads the files with ReadRegularFile (each at most 1 MiB; a
//   FIFO or /dev/zero is refused unread), and checks them with OpenSSL: the
//   certificate file holds at least one PEM certificate (leaf first, then
//   its chain), the key file a PEM private key matching the leaf, the
//   client CA file (when given) at least one PEM certificate. Errors:
//   NOT_FOUND / PERMISSION_DENIED / FAILED_PRECONDITION /
//   RESOURCE_EXHAUSTED from reading, INVALID_ARGUMENT for content that does
//   not parse or a key that does not match; every message names the file,
//   none carries key material.
// - With a client CA, every client must present a certificate that chains
//   to it (REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY); without,
//   none is asked for. This choice is fixed at Create(): a reload replaces
//   the contents of the same files, not the mode.
// - Reload() re-reads and re-checks all files. On success new connections
//   get the new set; on error the current set stays in use and the error
//   is returned (the caller logs it).
// - NewServerCredentials(): credentials for ONE listening port (each port
//   tracks which set it was handed). They refer to this object, which must
//   outlive every grpc::Server using them.
// - Thread-safe: Reload() may run while gRPC handshakes on its threads.
#ifndef SERVICE_SERVER_TLS_CREDENTIALS_H_
#define SERVICE_SERVER_TLS_CREDENTIALS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpc/grpc_security.h"
#include "grpcpp/security/server_credentials.h"

namespace needlecheck::server {

struct TlsFiles {
  std::string cert_path;       // PEM: leaf certificate, then its chain
  std::string key_path;        // PEM: the leaf's private key
  std::string client_ca_path;  // PEM; empty: no client certificates
};

// Largest certificate, key or CA file accepted.
inline constexpr size_t kMaxTlsFileBytes = 1 << 20;

class ReloadableTlsCredentials {
 public:
  static absl::StatusOr<std::unique_ptr<ReloadableTlsCredentials>> Create(
      const TlsFiles& files);

  ReloadableTlsCredentials(const ReloadableTlsCredentials&) = delete;
  ReloadableTlsCredentials& operator=(const ReloadableTlsCredentials&) = delete;
  ~ReloadableTlsCredentials();

  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);

  std::shared_ptr<grpc::ServerCredentials> NewServerCredentials()
      ABSL_LOCKS_EXCLUDED(mu_);

  bool requires_client_certificate() const {
    return !files_.client_ca_path.empty();
  }

  // What the current set is, for logs: the leaf's subject, its expiry
  // ("notAfter" as OpenSSL prints it) and the first 16 hex digits of its
  // SHA-256 fingerprint.
  struct Description {
    std::string subject;
    std::string not_after;
    std::string sha256;
  };
  Description Current() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Material {
    std::string cert_chain;
    std::string private_key;
    std::string client_ca;  // empty: none
    Description description;
  };
  // One per port: the generation of the set it was last handed.
  struct Fetcher {
    ReloadableTlsCredentials* owner;
    uint64_t delivered = 0;
  };

  explicit ReloadableTlsCredentials(const TlsFiles& files) : files_(files) {}
  absl::StatusOr<Material> LoadMaterial() const;
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* user_data, grpc_ssl_server_certificate_config** config);

  const TlsFiles files_;
  mutable absl::Mutex mu_;
  Material current_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<Fetcher>> fetchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_TLS_CREDENTIALS_H_
