// Authorizer: needlecheckd's per-caller authorization. Holds the policy of
// --authz_policy (authz_policy.h), reloads it on SIGHUP, and answers, for a
// call, whether its client may call the method.
//
// Contract
// - Create(""): no policy; Authorize() allows every call (the transport
//   alone decides who connects).
// - Create(path): reads the file with ReadRegularFile (at most 1 MiB; a
//   FIFO or /dev/zero is refused unread) and parses it with the method
//   names of needlecheck.v1.ScreeningService taken from its descriptor (so
//   a method added to the proto is authorizable by name at once). Errors:
//   those of ReadRegularFile, or INVALID_ARGUMENT "FILE:LINE: problem".
// - Reload(): reads and parses again; on error the current policy stays
//   and the error is returned (the caller logs it).
// - Authorize(): OK, UNAUTHENTICATED or PERMISSION_DENIED
//   (AuthzPolicy::Check) for the caller of `context`. The caller's names
//   come from the auth context of its connection: x509_common_name,
//   peer_dns and peer_uri (gRPC 1.51 sets these for a verified client
//   certificate); it is verified when the connection is TLS with a client
//   certificate, which needlecheckd accepts only once it has verified it.
//   A refusal is logged (event=call_denied, with the method, the code and
//   the certificate's names: never request content).
// - Thread-safe.
#ifndef SERVICE_SERVER_AUTHORIZER_H_
#define SERVICE_SERVER_AUTHORIZER_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"
#include "service/server/authz_policy.h"

namespace needlecheck::server {

// Largest policy file accepted.
inline constexpr size_t kMaxAuthzPolicyBytes = 1 << 20;

// The method names of needlecheck.v1.ScreeningService ("Screen", ...).
absl::flat_hash_set<std::string> ScreeningMethodNames();

// The caller of a connection, from its auth context.
CallerIdentity CallerFromAuthContext(const grpc::AuthContext& auth);

class Authorizer {
 public:
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(
      const std::string& policy_path);

  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  bool has_policy() const { return !path_.empty(); }
  const std::string& policy_path() const { return path_; }
  size_t rule_count() const ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status Authorize(const grpc::ServerContextBase& context,
                         absl::string_view method) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit Authorizer(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<AuthzPolicy> Load() const;

  const std::string path_;
  const absl::flat_hash_set<std::string> methods_ = ScreeningMethodNames();
  mutable absl::Mutex mu_;
  std::shared_ptr<const AuthzPolicy> policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_AUTHORIZER_H_
