// NewRandomUuid: a random (version 4) UUID, the one generator of unique ids
// the adapters share (CDS Hooks card and suggestion uuids, the HL7 v2
// adapter's ACK and ORU control ids).
//
// Contract
// - Returns 36 characters, lower-case hex in the 8-4-4-4-12 form, with the
//   version (4) and variant (10xx) bits set; the other 122 bits come from
//   OpenSSL's RAND_bytes (a CSPRNG).
// - RAND_bytes fails only on a system without any entropy source; the id
//   is then all zeros apart from the version and variant bits.
// - Thread-safe.
#ifndef COMMON_ID_UUID_H_
#define COMMON_ID_UUID_H_

#include <string>

namespace needlecheck::id {

std::string NewRandomUuid();

}  // namespace needlecheck::id

#endif  // COMMON_ID_UUID_H_
