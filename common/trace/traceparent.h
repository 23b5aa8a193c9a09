// W3C Trace Context (https://www.w3.org/TR/trace-context/) traceparent
// values, shared by needlecheckd and the CDS Hooks gateway.
//
// Contract
// - TraceIdFromTraceparent: the 32 lower-case hex trace-id of a valid
//   traceparent ("00-<32 hex>-<16 hex>-<2 hex>", lower-case hex, neither id
//   all zeros, version not "ff"; a later version may append "-..."
//   fields), or "" for anything else. Never throws; any input is safe.
// - NewTraceparent: a fresh "00-<trace-id>-<parent-id>-01" with a random
//   16-byte trace-id and 8-byte parent-id from the CSPRNG of common/ids
//   (never all zeros); "" only if the random generator fails. Thread-safe.
#ifndef COMMON_TRACE_TRACEPARENT_H_
#define COMMON_TRACE_TRACEPARENT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::trace {

inline constexpr char kTraceparentHeader[] = "traceparent";

std::string TraceIdFromTraceparent(absl::string_view traceparent);

std::string NewTraceparent();

}  // namespace needlecheck::trace

#endif  // COMMON_TRACE_TRACEPARENT_H_
