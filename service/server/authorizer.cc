#include "service/server/authorizer.h"

#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/files/bounded_file.h"
#include "google/protobuf/descriptor.h"
#include "grpc/grpc_security_constants.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/server/log.h"

namespace needlecheck::server {

absl::flat_hash_set<std::string> ScreeningMethodNames() {
  absl::flat_hash_set<std::string> names;
  const google::protobuf::ServiceDescriptor* service =
      needlecheck::v1::ScreenRequest::descriptor()->file()->FindServiceByName(
          "ScreeningService");
  if (service == nullptr) return names;
  for (int i = 0; i < service->method_count(); ++i) {
    names.insert(service->method(i)->name());
  }
  return names;
}

CallerIdentity CallerFromAuthContext(const grpc::AuthContext& auth) {
  CallerIdentity caller;
  const std::vector<grpc::string_ref> security =
      auth.FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  const bool tls = !security.empty() && security.front() == "ssl";
  if (!tls || !auth.IsPeerAuthenticated()) return caller;
  for (const char* property :
       {GRPC_X509_CN_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME,
        GRPC_PEER_URI_PROPERTY_NAME}) {
    for (const grpc::string_ref& value : auth.FindPropertyValues(property)) {
      caller.names.emplace_back(value.data(), value.size());
    }
  }
  // Verified even without a name the policy can use (a certificate with
  // only IP or email alternative names): such a caller is refused with
  // PERMISSION_DENIED, as one whose names no rule lists.
  caller.verified = true;
  return caller;
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(
    const std::string& policy_path) {
  std::unique_ptr<Authorizer> authorizer(new Authorizer(policy_path));
  if (policy_path.empty()) return authorizer;
  absl::StatusOr<AuthzPolicy> policy = authorizer->Load();
  if (!policy.ok()) return policy.status();
  absl::MutexLock lock(&authorizer->mu_);
  authorizer->policy_ = std::make_shared<const AuthzPolicy>(*std::move(policy));
  return authorizer;
}

absl::StatusOr<AuthzPolicy> Authorizer::Load() const {
  absl::StatusOr<std::string> text =
      ReadRegularFile(path_, kMaxAuthzPolicyBytes);
  if (!text.ok()) return text.status();
  return AuthzPolicy::Parse(*text, path_, methods_);
}

absl::Status Authorizer::Reload() {
  if (path_.empty()) return absl::OkStatus();
  absl::StatusOr<AuthzPolicy> policy = Load();
  if (!policy.ok()) return policy.status();
  absl::MutexLock lock(&mu_);
  policy_ = std::make_shared<const AuthzPolicy>(*std::move(policy));
  return absl::OkStatus();
}

size_t Authorizer::rule_count() const {
  absl::MutexLock lock(&mu_);
  return policy_ == nullptr ? 0 : policy_->rule_count();
}

absl::Status Authorizer::Authorize(const grpc::ServerContextBase& context,
                                   absl::string_view method) const {
  std::shared_ptr<const AuthzPolicy> policy;
  {
    absl::MutexLock lock(&mu_);
    policy = policy_;
  }
  if (policy == nullptr) return absl::OkStatus();
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  const CallerIdentity caller =
      auth == nullptr ? CallerIdentity() : CallerFromAuthContext(*auth);
  absl::Status status = policy->Check(caller, method);
  if (!status.ok()) {
    // The certificate's names are configuration, not patient data.
    LogWarning("call_denied",
               {{"method", method},
                {"code", absl::StatusCodeToString(status.code())},
                {"client",
                 caller.verified ? absl::StrJoin(caller.names, ",") : "none"}});
  }
  return status;
}

}  // namespace needlecheck::server
