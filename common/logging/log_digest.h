// LogDigest(): the one stand-in for a caller-controlled string in a log
// line (a request id, a CDS Hooks hookInstance, a JWT jti or kid, a refused
// fhirServer): the first 16 hex digits of its SHA-256. Operators correlate
// by hashing the value they hold; the log never carries the bytes the caller
// chose (no log injection, no patient data smuggled in an id). Both
// needlecheckd (request_id_hash=) and the CDS Hooks gateway (..._sha=) use
// it, so the same id hashes the same in both logs.
//
// Contract
// - 16 lower-case hex digits for any input, the empty string included
//   ("e3b0c44298fc1c14"); "unhashable" only if OpenSSL's digest fails.
// - Thread-safe, no state.
#ifndef COMMON_LOGGING_LOG_DIGEST_H_
#define COMMON_LOGGING_LOG_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::logging {

std::string LogDigest(absl::string_view value);

}  // namespace needlecheck::logging

#endif  // COMMON_LOGGING_LOG_DIGEST_H_
