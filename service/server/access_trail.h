// AccessTrail: what needlecheckd writes to the access-audit trail
// (service/ledger/access_log.h) for each access to patient data, and who
// the caller is.
//
// Contract
// - IdentityOf() reads the call's identity once per call:
//   * caller: the TLS peer's verified certificate names when the client
//     presented one (mutual TLS): "tls <subject CN>,<DNS SANs>,<URI SANs>"
//     ("tls gateway,gateway.internal,spiffe://clinic/gateway"), else
//     "unauthenticated <peer address>" ("ipv4:127.0.0.1:41234").
//   * on behalf of: the caller metadata (common/net/caller_metadata.h: the
//     CDS Hooks gateway sends the EHR's JWT iss/sub/tenant and the hook's
//     userId), percent-decoded (the gateway percent-encodes bytes outside
//     printable ASCII and '%'), each cut to kMaxOnBehalfBytes. Recorded as
//     asserted by `caller`: needlecheckd cannot check them.
//   * trace_id: the trace-id of a valid W3C `traceparent` metadata value
//     (TraceIdFromTraceparent()), else empty.
// - Record() queues one record. OK also when there is no trail (no
//   ledger, --ledger=none). Any other result means the access could not be
//   recorded: the caller must not release the data and answers UNAVAILABLE
//   (AccessNotRecorded()). Failures are logged at most once per 10 s
//   (access_record_failed: action, code; never the patient or the caller).
// - Thread-safe.
#ifndef SERVICE_SERVER_ACCESS_TRAIL_H_
#define SERVICE_SERVER_ACCESS_TRAIL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/trace/traceparent.h"
#include "grpcpp/server_context.h"
#include "needlecheck/v1/access_log.pb.h"
#include "service/ledger/access_log.h"
#include "service/server/log_limiter.h"

namespace needlecheck::server {

// The most of each on-behalf-of value that is recorded.
inline constexpr size_t kMaxOnBehalfBytes = 256;

struct CallIdentity {
  std::string caller;
  std::string iss;
  std::string sub;
  std::string tenant;
  std::string user;
  std::string trace_id;
};

CallIdentity IdentityOf(const grpc::ServerContextBase& context);

// IdentityOf(context).trace_id alone (no certificate or peer lookup).
std::string TraceIdOf(const grpc::ServerContextBase& context);

// The trace-id of a valid W3C traceparent, else "" (common/trace).
using ::needlecheck::trace::TraceIdFromTraceparent;

// `url` with every query value removed ("a?x=1&y" -> "a?x=&y") and no
// fragment, so that no search value (a patient id, a code) is stored.
std::string StripQueryValues(absl::string_view url);

// The status a call gets when its access could not be recorded.
absl::Status AccessNotRecorded(const absl::Status& why);

class AccessTrail {
 public:
  // `log` (null: no trail) must outlive this. `clock` default: absl::Now.
  explicit AccessTrail(ledger::AccessLog* log,
                       std::function<absl::Time()> clock = nullptr);

  bool enabled() const { return log_ != nullptr; }

  // `outcome` is the call's (or item's) status. See the header comment.
  absl::Status Record(const CallIdentity& identity, absl::string_view action,
                      absl::string_view patient_id, const absl::Status& outcome,
                      absl::string_view detail = "", int64_t stream_index = -1,
                      absl::string_view patient_of_alert = "");

  // Records one FhirFetch per entry of `request` (RecordAccess RPC).
  // INVALID_ARGUMENT (before anything is recorded) for a missing patient
  // or fetch list, more than kMaxFetches, or a URL longer than
  // kMaxFetchUrlBytes.
  absl::Status RecordFetches(
      const CallIdentity& identity,
      const needlecheck::v1::RecordAccessRequest& request);

  static constexpr int kMaxFetches = 200;
  static constexpr size_t kMaxFetchUrlBytes = 4096;

 private:
  ledger::AccessLog* const log_;
  const std::function<absl::Time()> clock_;
  LogLimiter failure_log_;
};

// The record's proto form (GetAccessLog).
needlecheck::v1::AccessRecord ToProto(const ledger::AccessEntry& entry);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_ACCESS_TRAIL_H_
