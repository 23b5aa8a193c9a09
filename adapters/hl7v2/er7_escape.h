// ER7 (HL7 v2 "pipe and hat") delimiters and escape sequences.
//
// Er7Delimiters come from MSH-1 (field) and MSH-2 (component, repetition,
// escape, subcomponent and, in 2.7+, truncation). A '\0' delimiter is
// absent (an MSH-2 shorter than 4 characters).
//
// Er7Unescape decodes one already-split value (a component or
// subcomponent: split first, decode after, so an escaped separator never
// splits):
//   \F\ \S\ \T\ \R\ \E\ -> the field, component, subcomponent, repetition,
//                          escape character; \P\ -> truncation character
//                          (when one is declared)
//   \Xhhhh..\            -> the bytes of the hex pairs (upper or lower case)
//   \.br\                -> "\n"
//   \H\ \N\              -> removed (highlighting on/off carries no text)
//   anything else (\Cxxyy\, \Mxxyyzz\, \Zxx\, other formatting commands,
//   malformed hex, an escape without its closing escape character) is
//   kept verbatim.
// Er7Escape is the inverse for text we write: every delimiter, and
// control bytes (CR, LF, < 0x20, 0x7F) as \Xhh\, so the result never
// contains a delimiter, CR, LF, 0x0B or 0x1C.
// Er7EscapeControlBytes is for a raw field copied from one message into
// another with the same delimiters (already escaped, so valid as it is):
// only its control bytes (< 0x20, 0x7F) become \Xhh\ (or a space when no
// escape character is declared), so a copied 0x0B or 0x1C cannot break an
// MLLP frame.
// Pure functions, thread-safe.
#ifndef ADAPTERS_HL7V2_ER7_ESCAPE_H_
#define ADAPTERS_HL7V2_ER7_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::hl7v2 {

struct Er7Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
  char truncation = '\0';  // 2.7+: '#' when MSH-2 has 5 characters

  // MSH-2 as written: the four (or five) encoding characters.
  std::string EncodingCharacters() const;
  // True if `c` is one of the declared delimiters.
  bool IsDelimiter(char c) const;
};

std::string Er7Unescape(absl::string_view value, const Er7Delimiters& d);
std::string Er7Escape(absl::string_view text, const Er7Delimiters& d);
std::string Er7EscapeControlBytes(absl::string_view raw,
                                  const Er7Delimiters& d);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_ER7_ESCAPE_H_
