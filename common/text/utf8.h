// UTF-8 well-formedness (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF): the one decoder of sequence lengths that every
// writer of text that must be UTF-8 uses (JSON strings, PostgreSQL text,
// report.html, HL7 v2 values), each with its own policy for what is not.
//
// Contract
// - Utf8SequenceLength(text, i), i < text.size(): the length (1-4) of the
//   well-formed sequence starting at text[i]. For an ill-formed one, minus
//   the number of bytes of its maximal ill-formed start: -1 for a byte that
//   cannot start a sequence, -k when the k-th byte after a valid start (or
//   the end of `text`) breaks it. Replacing those bytes with one U+FFFD is
//   the Unicode "maximal subpart" practice; replacing only the first and
//   reading on from the next byte is the per-byte practice. NUL and other
//   control characters are well-formed (length 1): a caller that refuses
//   them checks them itself.
// - IsValidUtf8(text): every sequence of `text` is well-formed ("" is).
// - Inline (the writers call it per character); pure, thread-safe.
#ifndef COMMON_TEXT_UTF8_H_
#define COMMON_TEXT_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace needlecheck::text {

inline int Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(i);
  if (lead < 0x80) return 1;
  int length;
  uint8_t lo = 0x80, hi = 0xBF;  // the second byte's range
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < length; ++k) {
    if (i + k >= text.size()) return -k;
    const uint8_t next = byte(i + k);
    const bool in_range =
        k == 1 ? (next >= lo && next <= hi) : (next >= 0x80 && next <= 0xBF);
    if (!in_range) return -k;
  }
  return length;
}

inline bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const int length = Utf8SequenceLength(text, i);
    if (length < 0) return false;
    i += static_cast<size_t>(length);
  }
  return true;
}

}  // namespace needlecheck::text

#endif  // COMMON_TEXT_UTF8_H_
