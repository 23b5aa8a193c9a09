// Er7Message: a parsed HL7 v2 message in ER7 encoding (versions 2.3 to
// 2.8), from untrusted bytes.
//
// Parse() accepts: an optional leading UTF-8 BOM and blank lines; segments
// ending in CR, LF or CRLF (blank lines skipped); MSH first, with the field
// separator at MSH-1 and 1 to 5 encoding characters at MSH-2 (component,
// repetition, escape, subcomponent, truncation), all distinct printable
// ASCII other than letters, digits and space. Segment IDs are 3 upper-case
// letters or digits. A second MSH (batches) is rejected. Errors (absl::Status
// from MakeHl7Error, hl7_error.h: code and ERL location as payload, never
// message content in the text):
//   InvalidArgument   100 no MSH first / bad segment ID / second MSH;
//                     102 bad delimiters (location MSH^1^1 or MSH^1^2)
//   ResourceExhausted 104 a limit of Er7Limits passed
// Parse() checks syntax only; ValidateHeader() adds the header's required
// content (MSH-9 type and trigger, MSH-10, MSH-12 in 2.3..2.8).
//
// Numbering is HL7's, 1-based: MSH-1 is the field separator itself and
// MSH-2 the encoding characters (both returned raw, never split or
// unescaped), so MSH-3 is the first field after them; in other segments
// field 1 follows the segment ID. Values are split (repetition, component,
// subcomponent) first and unescaped after (er7_escape.h).
// Immutable after Parse() (copyable, movable); const methods are
// thread-safe.
#ifndef ADAPTERS_HL7V2_ER7_MESSAGE_H_
#define ADAPTERS_HL7V2_ER7_MESSAGE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/hl7v2/er7_escape.h"

namespace needlecheck::hl7v2 {

struct Er7Limits {
  size_t max_message_bytes = 1 << 20;  // whole message. Default 1 MiB
  size_t max_segments = 2000;          // default 2000
  size_t max_fields = 300;             // per segment; default 300
  size_t max_field_bytes = 65536;      // one field, raw; default 64 KiB
};

// One segment: its ID and raw (still escaped) fields.
class Er7Segment {
 public:
  const std::string& id() const { return id_; }
  // 1 = first segment with this ID in the message.
  int sequence() const { return sequence_; }
  // Highest field number present (0 if none).
  int field_count() const { return static_cast<int>(fields_.size()) - 1; }
  // The raw field (escaped, unsplit); "" when absent.
  absl::string_view RawField(int field) const;
  // Repetitions in `field` (0 when empty or absent).
  int RepetitionCount(int field) const;
  // The unescaped value at field[repetition].component.subcomponent (all
  // 1-based); "" when absent. For MSH-1 and MSH-2 the raw text.
  std::string Get(int field, int repetition = 1, int component = 1,
                  int subcomponent = 1) const;
  // The whole repetition with its component/subcomponent separators kept
  // and each piece unescaped (for free text that uses '^').
  std::string GetRepetitionText(int field, int repetition = 1) const;

 private:
  friend class Er7Message;
  std::string id_;
  int sequence_ = 0;
  std::vector<std::string> fields_;  // [0] = id; MSH: [1] = MSH-1
  Er7Delimiters delimiters_;
};

struct Er7Header {
  std::string message_type;       // MSH-9.1, e.g. "ADT"
  std::string trigger_event;      // MSH-9.2, e.g. "A01"
  std::string message_structure;  // MSH-9.3, e.g. "ADT_A01" ("" in 2.3)
  std::string control_id;         // MSH-10
  std::string processing_id;      // MSH-11.1
  std::string version;            // MSH-12.1, e.g. "2.5.1"
};

class Er7Message {
 public:
  static absl::StatusOr<Er7Message> Parse(absl::string_view bytes,
                                          const Er7Limits& limits = {});

  const Er7Delimiters& delimiters() const { return delimiters_; }
  const Er7Header& header() const { return header_; }
  const std::vector<Er7Segment>& segments() const { return segments_; }
  const Er7Segment& msh() const { return segments_.front(); }

  // The `occurrence`-th segment with `id` (1-based); nullptr if none.
  const Er7Segment* Find(absl::string_view id, int occurrence = 1) const;
  // Every segment with `id`, in message order (e.g. all AL1).
  std::vector<const Er7Segment*> FindAll(absl::string_view id) const;

  // A terser-style path: SEG[(occurrence)]-FIELD[(repetition)][.COMP[.SUB]],
  // e.g. "PID-3.1", "AL1(2)-3.2", "PID-3(2).1", "MSH-9.2". The unescaped
  // value; "" when absent or when the path is malformed.
  std::string Get(absl::string_view path) const;

 private:
  Er7Message() = default;

  Er7Delimiters delimiters_;
  Er7Header header_;
  std::vector<Er7Segment> segments_;
};

// The versions accepted: 2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1,
// 2.8, 2.8.1, 2.8.2.
bool IsSupportedHl7Version(absl::string_view version);

// Required header content: MSH-9.1 and MSH-9.2 (101 at MSH^1^9), MSH-10
// (101 at MSH^1^10), MSH-12 (101 when empty, 203 when not supported, at
// MSH^1^12). InvalidArgument with those codes.
absl::Status ValidateHeader(const Er7Message& message);

// Best effort on bytes Parse() rejected, from a first line that starts
// with "MSH" (after a BOM or blank lines), split on the byte after "MSH",
// components on '^', unescaped with default escape rules: MSH-9.1,
// MSH-9.2 and MSH-10 (each "" when absent or longer than 199 bytes); the
// other members stay empty.
Er7Header RecoverHeader(absl::string_view bytes);
// RecoverHeader(bytes).control_id.
std::string RecoverControlId(absl::string_view bytes);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_ER7_MESSAGE_H_
