// AuthzPolicy: which verified client may call which RPC. A pure library:
// text in, decisions out; no files, gRPC or clock (authorizer.h wires it to
// needlecheckd's calls).
//
// Policy text, one rule a line:
//
//   # comment (a '#' at the start of a line or after a blank starts one)
//   IDENTITY METHOD[,METHOD...]
//
//   ehr-gateway.hospital.example   Screen,ScreenStream,GetKnowledgeBase
//   spiffe://hospital.example/audit Audit,GetAlertStats
//   *                               GetKnowledgeBase
//   ops-admin                       *
//
// IDENTITY is a name of the client certificate (its subject CN, or one of
// its DNS or URI subject alternative names), or `*` for any verified
// client. METHOD is a method name of the service (`Screen`), or `*` for
// every method. Blank lines are ignored; several lines for one identity
// add up. A policy with no rule denies everything.
//
// Contract
// - Parse(): the policy, or INVALID_ARGUMENT "FILE:LINE: problem" for the
//   first line that does not parse (too few or too many fields, an empty
//   method in the list, a method that is not in `known_methods`). The text
//   itself is configuration, so the message may quote the offending token.
// - Check(): OK when some rule names one of the caller's names (or `*`)
//   together with `method` (or `*`); UNAUTHENTICATED "calling METHOD needs
//   a verified client certificate" when the caller has none;
//   PERMISSION_DENIED "this client certificate is not allowed to call
//   METHOD" otherwise. The message names the method only: never a request,
//   never a patient.
// - Immutable after Parse(); Check() is thread-safe.
#ifndef SERVICE_SERVER_AUTHZ_POLICY_H_
#define SERVICE_SERVER_AUTHZ_POLICY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck::server {

// Who is calling, as the transport established it.
struct CallerIdentity {
  // True when the client presented a certificate the server verified.
  bool verified = false;
  // The certificate's subject CN and its DNS and URI subject alternative
  // names (empty when not verified).
  std::vector<std::string> names;
};

class AuthzPolicy {
 public:
  // `file_name` prefixes error messages; `known_methods` are the method
  // names of the service (e.g. from its descriptor).
  static absl::StatusOr<AuthzPolicy> Parse(
      absl::string_view text, absl::string_view file_name,
      const absl::flat_hash_set<std::string>& known_methods);

  absl::Status Check(const CallerIdentity& caller,
                     absl::string_view method) const;

  // Number of rules (non-comment, non-blank lines) parsed.
  size_t rule_count() const { return rule_count_; }

 private:
  struct Methods {
    bool all = false;
    absl::flat_hash_set<std::string> names;
    bool Allows(absl::string_view method) const {
      return all || names.contains(method);
    }
  };

  AuthzPolicy() = default;

  // Keyed by identity; "*" is the rule for any verified client.
  absl::flat_hash_map<std::string, Methods> rules_;
  size_t rule_count_ = 0;
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_AUTHZ_POLICY_H_
