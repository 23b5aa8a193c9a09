// The gRPC metadata of a call made on behalf of someone: the CDS Hooks
// gateway sends the EHR's JWT iss/sub/tenant and the hook's userId with
// each call, and needlecheckd's access trail records them. Both sides take
// the keys and the value encoding from here, so they cannot drift apart.
//
// Contract
// - Values are written with PercentEncodeUnprintable() and read with
//   PercentDecodeLenient() (percent_encoding.h): metadata values must be
//   printable ASCII, and JWT claims need not be.
// - The W3C trace context travels as trace::kTraceparentHeader
//   (common/trace/traceparent.h), unencoded.
#ifndef COMMON_NET_CALLER_METADATA_H_
#define COMMON_NET_CALLER_METADATA_H_

namespace needlecheck::net {

inline constexpr char kCallerIssKey[] = "x-needlecheck-caller-iss";
inline constexpr char kCallerSubKey[] = "x-needlecheck-caller-sub";
inline constexpr char kCallerTenantKey[] = "x-needlecheck-caller-tenant";
inline constexpr char kCallerUserKey[] = "x-needlecheck-caller-user";

}  // namespace needlecheck::net

#endif  // COMMON_NET_CALLER_METADATA_H_
