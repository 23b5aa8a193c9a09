// A short, stable stand-in for a caller-controlled string in the log
// (hookInstance, JWT jti and kid, a refused fhirServer): the first 16 hex
// digits of its SHA-256. Operators can correlate by hashing the value they
// hold; the log never carries the bytes the caller chose (no log injection,
// no patient data smuggled in an id). Thread-safe.
#ifndef ADAPTERS_CDS_HOOKS_LOG_DIGEST_H_
#define ADAPTERS_CDS_HOOKS_LOG_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::cds_hooks {

std::string LogDigest(absl::string_view value);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_LOG_DIGEST_H_
