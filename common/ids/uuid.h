// Random identifiers: the one UUID generator of the project (alert ids,
// feedback ids, request ids, CDS Hooks card and suggestion uuids, HL7 v2 ACK
// control ids).
//
// Contract
// - Lower-case text, 36 characters (8-4-4-4-12 hex digits), RFC 9562
//   variant; the random bits come from OpenSSL's CSPRNG (RAND_bytes).
// - NewUuidV4(): version 4, 122 random bits.
// - NewUuidV7s(n, now): `n` version 7 ids for the time `now`: 48 bits of Unix
//   milliseconds (a clock before 1970 counts as 0), then 74 random bits,
//   from one CSPRNG call. Unguessable, and ordered by the time they were
//   issued: an index keyed by them grows at its end, where version 4 ids
//   changed a random page of the index for every row (the ledger's alert
//   ids; see docs/performance.md). They reveal the issue time.
// - FillRandomBytes(bytes, n): `n` bytes from the same CSPRNG, for random
//   identifiers of other shapes (W3C trace ids, common/trace).
// - When the CSPRNG fails (no entropy source at all) all three return
//   UNAVAILABLE: a caller fails its request rather than hand out a
//   predictable or repeated id.
// - Thread-safe.
#ifndef COMMON_IDS_UUID_H_
#define COMMON_IDS_UUID_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace needlecheck::ids {

absl::StatusOr<std::string> NewUuidV4();

absl::Status FillRandomBytes(uint8_t* bytes, size_t n);

absl::StatusOr<std::vector<std::string>> NewUuidV7s(size_t n, absl::Time now);

}  // namespace needlecheck::ids

#endif  // COMMON_IDS_UUID_H_
