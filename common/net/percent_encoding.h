// Percent-encoding ("%XX"), the hex digit value it and other escapes (HL7
// v2 \X..\, HTTP chunk sizes) read, in one place.
//
// Contract
// - HexDigitValue(c): 0-15 for 0-9, a-f, A-F; -1 for anything else.
// - PercentEncodeUnprintable(): every byte outside printable ASCII (<= 0x20
//   or >= 0x7F) and '%' itself as "%XX" (upper-case hex); the rest as is.
//   What gRPC metadata values must be (printable ASCII); caller_metadata.h.
// - PercentEncodeReserved(): every byte but RFC 3986's unreserved ones
//   (A-Z a-z 0-9 - . _ ~) as "%XX" (upper-case hex): a value placed in a
//   URL's path or query (a patient id in a FHIR search).
// - PercentDecodeLenient(): every well-formed "%XX" decoded; a malformed
//   escape ("100%", "%zz") kept as it is. For values only recorded.
// - PercentDecodeStrict(): false for a malformed escape or one that decodes
//   to NUL (an HTTP request path); *out then holds a part.
// - Pure functions; thread-safe.
#ifndef COMMON_NET_PERCENT_ENCODING_H_
#define COMMON_NET_PERCENT_ENCODING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::net {

int HexDigitValue(char c);

std::string PercentEncodeUnprintable(absl::string_view value);

std::string PercentEncodeReserved(absl::string_view value);

std::string PercentDecodeLenient(absl::string_view value);

bool PercentDecodeStrict(absl::string_view in, std::string* out);

}  // namespace needlecheck::net

#endif  // COMMON_NET_PERCENT_ENCODING_H_
