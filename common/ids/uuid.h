// Random identifiers: the one UUID generator of the project (alert ids,
// feedback ids, CDS Hooks card and suggestion uuids, HL7 v2 ACK control ids).
//
// Contract: NewUuidV4() returns a version 4 (random, RFC 4122 variant) UUID,
// lower case, 36 characters, from OpenSSL's CSPRNG (RAND_bytes). When the
// CSPRNG fails (no entropy source at all) it returns UNAVAILABLE: a caller
// fails its request rather than hand out a predictable or repeated id.
// Thread-safe.
#ifndef COMMON_IDS_UUID_H_
#define COMMON_IDS_UUID_H_

#include <string>

#include "absl/status/statusor.h"

namespace needlecheck::ids {

absl::StatusOr<std::string> NewUuidV4();

}  // namespace needlecheck::ids

#endif  // COMMON_IDS_UUID_H_
