#include "adapters/hl7v2/er7_message.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/hl7v2/hl7_error.h"

namespace needlecheck::hl7v2 {
namespace {

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

Hl7ErrorLocation At(absl::string_view segment, int sequence, int field = 0) {
  Hl7ErrorLocation loc;
  loc.segment_id = std::string(segment);
  loc.segment_sequence = sequence;
  loc.field = field;
  return loc;
}

absl::Status Invalid(Hl7ErrorCode code, const Hl7ErrorLocation& loc,
                     absl::string_view text) {
  return MakeHl7Error(absl::StatusCode::kInvalidArgument, code, loc, text);
}

absl::Status TooBig(const Hl7ErrorLocation& loc, absl::string_view text) {
  return MakeHl7Error(absl::StatusCode::kResourceExhausted,
                      Hl7ErrorCode::kValueTooLong, loc, text);
}

bool IsSegmentId(absl::string_view id) {
  if (id.size() != 3) return false;
  for (char c : id) {
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// Printable ASCII other than letters, digits and space: a control byte
// (0x0B, 0x1C) would break the MLLP frame of an ACK that echoes MSH-2.
bool UsableDelimiter(char c) {
  return absl::ascii_isgraph(c) && !absl::ascii_isalnum(c);
}

// The n-th (1-based) piece of `s` split on `sep`; "" when absent. A '\0'
// separator means "not declared": the whole value is piece 1.
absl::string_view Piece(absl::string_view s, char sep, int n) {
  if (n < 1) return absl::string_view();
  if (sep == '\0') return n == 1 ? s : absl::string_view();
  size_t start = 0;
  for (int i = 1; i < n; ++i) {
    const size_t next = s.find(sep, start);
    if (next == absl::string_view::npos) return absl::string_view();
    start = next + 1;
  }
  const size_t end = s.find(sep, start);
  return s.substr(
      start, end == absl::string_view::npos ? s.size() - start : end - start);
}

int PieceCount(absl::string_view s, char sep) {
  if (s.empty()) return 0;
  if (sep == '\0') return 1;
  int n = 1;
  for (char c : s) n += (c == sep);
  return n;
}

// Reads "(n)" at the front of `path`; false on malformed input. Leaves `n`
// untouched without a parenthesis.
bool ReadIndex(absl::string_view* path, int* n) {
  if (path->empty() || path->front() != '(') return true;
  const size_t close = path->find(')');
  if (close == absl::string_view::npos) return false;
  if (!absl::SimpleAtoi(path->substr(1, close - 1), n) || *n < 1) return false;
  path->remove_prefix(close + 1);
  return true;
}

bool ReadNumber(absl::string_view* path, int* n) {
  size_t len = 0;
  while (len < path->size() && absl::ascii_isdigit((*path)[len])) ++len;
  if (len == 0 || len > 6 || !absl::SimpleAtoi(path->substr(0, len), n) ||
      *n < 1) {
    return false;
  }
  path->remove_prefix(len);
  return true;
}

}  // namespace

absl::string_view Er7Segment::RawField(int field) const {
  if (field < 1 || static_cast<size_t>(field) >= fields_.size()) {
    return absl::string_view();
  }
  return fields_[field];
}

int Er7Segment::RepetitionCount(int field) const {
  if (id_ == "MSH" && (field == 1 || field == 2)) {
    return RawField(field).empty() ? 0 : 1;
  }
  return PieceCount(RawField(field), delimiters_.repetition);
}

std::string Er7Segment::Get(int field, int repetition, int component,
                            int subcomponent) const {
  const absl::string_view raw = RawField(field);
  if (id_ == "MSH" && (field == 1 || field == 2)) {
    return repetition == 1 && component == 1 && subcomponent == 1
               ? std::string(raw)
               : std::string();
  }
  const absl::string_view rep = Piece(raw, delimiters_.repetition, repetition);
  const absl::string_view comp = Piece(rep, delimiters_.component, component);
  const absl::string_view sub =
      Piece(comp, delimiters_.subcomponent, subcomponent);
  return Er7Unescape(sub, delimiters_);
}

std::string Er7Segment::GetRepetitionText(int field, int repetition) const {
  const absl::string_view raw = RawField(field);
  if (id_ == "MSH" && (field == 1 || field == 2)) {
    return repetition == 1 ? std::string(raw) : std::string();
  }
  const absl::string_view rep = Piece(raw, delimiters_.repetition, repetition);
  std::string out;
  size_t start = 0;
  for (size_t i = 0; i <= rep.size(); ++i) {
    if (i == rep.size() || rep[i] == delimiters_.component ||
        rep[i] == delimiters_.subcomponent) {
      out += Er7Unescape(rep.substr(start, i - start), delimiters_);
      if (i < rep.size()) out.push_back(rep[i]);
      start = i + 1;
    }
  }
  return out;
}

absl::StatusOr<Er7Message> Er7Message::Parse(absl::string_view bytes,
                                             const Er7Limits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return TooBig(Hl7ErrorLocation(), "message exceeds the size limit");
  }
  if (absl::StartsWith(bytes, kUtf8Bom)) bytes.remove_prefix(kUtf8Bom.size());
  while (!bytes.empty() && (bytes.front() == '\r' || bytes.front() == '\n')) {
    bytes.remove_prefix(1);
  }
  if (bytes.size() < 4 || bytes.substr(0, 3) != "MSH") {
    return Invalid(Hl7ErrorCode::kSegmentSequenceError, At("MSH", 1),
                   "the message does not start with an MSH segment");
  }
  Er7Message message;
  Er7Delimiters& d = message.delimiters_;
  d.field = bytes[3];
  if (!UsableDelimiter(d.field)) {
    return Invalid(Hl7ErrorCode::kDataTypeError, At("MSH", 1, 1),
                   "unusable field separator");
  }
  {
    const size_t end = bytes.find_first_of(absl::string_view("\r\n"), 4);
    absl::string_view line = bytes.substr(
        4, end == absl::string_view::npos ? absl::string_view::npos : end - 4);
    const absl::string_view enc = line.substr(0, line.find(d.field));
    if (enc.empty() || enc.size() > 5) {
      return Invalid(Hl7ErrorCode::kDataTypeError, At("MSH", 1, 2),
                     "MSH-2 must hold 1 to 5 encoding characters");
    }
    char* slots[] = {&d.component, &d.repetition, &d.escape, &d.subcomponent,
                     &d.truncation};
    for (char* slot : slots) *slot = '\0';
    for (size_t i = 0; i < enc.size(); ++i) {
      if (!UsableDelimiter(enc[i]) || enc[i] == d.field ||
          enc.find(enc[i]) != i) {
        return Invalid(Hl7ErrorCode::kDataTypeError, At("MSH", 1, 2),
                       "MSH-2 encoding characters must be distinct "
                       "non-alphanumeric characters");
      }
      *slots[i] = enc[i];
    }
  }

  int counts_msh = 0;
  absl::flat_hash_map<std::string, int> sequences;
  size_t pos = 0;
  int index = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find_first_of(absl::string_view("\r\n"), pos);
    if (end == absl::string_view::npos) end = bytes.size();
    const absl::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    ++index;
    if (message.segments_.size() >= limits.max_segments) {
      return TooBig(Hl7ErrorLocation(), "too many segments");
    }
    const absl::string_view id = line.substr(0, 3);
    if (!IsSegmentId(id) || (line.size() > 3 && line[3] != d.field)) {
      return Invalid(Hl7ErrorCode::kSegmentSequenceError, Hl7ErrorLocation(),
                     absl::StrCat("segment ", index, ": invalid segment ID"));
    }
    Er7Segment segment;
    segment.id_ = std::string(id);
    segment.delimiters_ = d;
    const int sequence = ++sequences[segment.id_];
    segment.sequence_ = sequence;
    if (id == "MSH" && ++counts_msh > 1) {
      return Invalid(Hl7ErrorCode::kSegmentSequenceError, At("MSH", sequence),
                     "more than one MSH segment (batches are not accepted)");
    }
    if (index == 1 && id != "MSH") {
      return Invalid(Hl7ErrorCode::kSegmentSequenceError, At("MSH", 1),
                     "the message does not start with an MSH segment");
    }
    if (static_cast<size_t>(std::count(line.begin(), line.end(), d.field)) >
        limits.max_fields) {
      return TooBig(At(id, sequence), "too many fields in a segment");
    }
    std::vector<absl::string_view> parts = absl::StrSplit(line, d.field);
    // MSH: parts[1] is MSH-2; MSH-1 (the separator) is not in the text.
    segment.fields_.reserve(parts.size() + 1);
    segment.fields_.emplace_back(id);
    if (id == "MSH") segment.fields_.emplace_back(1, d.field);
    for (size_t i = 1; i < parts.size(); ++i) {
      const int field = static_cast<int>(segment.fields_.size());
      if (parts[i].size() > limits.max_field_bytes) {
        return TooBig(At(id, sequence, field), "field exceeds the size limit");
      }
      segment.fields_.emplace_back(parts[i]);
    }
    // Trailing empty fields carry nothing.
    while (segment.fields_.size() > 1 && segment.fields_.back().empty()) {
      segment.fields_.pop_back();
    }
    message.segments_.push_back(std::move(segment));
  }

  const Er7Segment& msh = message.segments_.front();
  Er7Header& h = message.header_;
  h.message_type = msh.Get(9, 1, 1);
  h.trigger_event = msh.Get(9, 1, 2);
  h.message_structure = msh.Get(9, 1, 3);
  h.control_id = msh.Get(10);
  h.processing_id = msh.Get(11);
  h.version = msh.Get(12);
  return message;
}

const Er7Segment* Er7Message::Find(absl::string_view id, int occurrence) const {
  for (const Er7Segment& s : segments_) {
    if (s.id() == id && s.sequence() == occurrence) return &s;
  }
  return nullptr;
}

std::vector<const Er7Segment*> Er7Message::FindAll(absl::string_view id) const {
  std::vector<const Er7Segment*> out;
  for (const Er7Segment& s : segments_) {
    if (s.id() == id) out.push_back(&s);
  }
  return out;
}

std::string Er7Message::Get(absl::string_view path) const {
  if (path.size() < 3) return "";
  const absl::string_view id = path.substr(0, 3);
  path.remove_prefix(3);
  int occurrence = 1, field = 0, repetition = 1, component = 1, sub = 1;
  if (!ReadIndex(&path, &occurrence)) return "";
  if (path.empty() || path.front() != '-') return "";
  path.remove_prefix(1);
  if (!ReadNumber(&path, &field) || !ReadIndex(&path, &repetition)) return "";
  if (!path.empty()) {
    if (path.front() != '.') return "";
    path.remove_prefix(1);
    if (!ReadNumber(&path, &component)) return "";
    if (!path.empty()) {
      if (path.front() != '.') return "";
      path.remove_prefix(1);
      if (!ReadNumber(&path, &sub) || !path.empty()) return "";
    }
  }
  const Er7Segment* segment = Find(id, occurrence);
  if (segment == nullptr) return "";
  return segment->Get(field, repetition, component, sub);
}

bool IsSupportedHl7Version(absl::string_view version) {
  static constexpr absl::string_view kVersions[] = {
      "2.3", "2.3.1", "2.4", "2.5",   "2.5.1", "2.6",
      "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"};
  for (absl::string_view v : kVersions) {
    if (v == version) return true;
  }
  return false;
}

absl::Status ValidateHeader(const Er7Message& message) {
  const Er7Header& h = message.header();
  if (h.message_type.empty() || h.trigger_event.empty()) {
    return Invalid(Hl7ErrorCode::kRequiredFieldMissing, At("MSH", 1, 9),
                   "MSH-9 message type and trigger event are required");
  }
  if (h.control_id.empty()) {
    return Invalid(Hl7ErrorCode::kRequiredFieldMissing, At("MSH", 1, 10),
                   "MSH-10 message control ID is required");
  }
  if (h.version.empty()) {
    return Invalid(Hl7ErrorCode::kRequiredFieldMissing, At("MSH", 1, 12),
                   "MSH-12 version ID is required");
  }
  if (!IsSupportedHl7Version(h.version)) {
    return Invalid(Hl7ErrorCode::kUnsupportedVersionId, At("MSH", 1, 12),
                   "MSH-12 version is not one of 2.3 to 2.8");
  }
  return absl::OkStatus();
}

Er7Header RecoverHeader(absl::string_view bytes) {
  Er7Header h;
  if (absl::StartsWith(bytes, kUtf8Bom)) bytes.remove_prefix(kUtf8Bom.size());
  while (!bytes.empty() && (bytes.front() == '\r' || bytes.front() == '\n')) {
    bytes.remove_prefix(1);
  }
  if (bytes.size() < 4 || bytes.substr(0, 3) != "MSH") return h;
  const char sep = bytes[3];
  if (!UsableDelimiter(sep)) return h;
  const size_t end = bytes.find_first_of(absl::string_view("\r\n"));
  const absl::string_view line = bytes.substr(0, end);
  // parts[0] = "MSH", parts[1] = MSH-2, so MSH-n is parts[n - 1].
  const std::vector<absl::string_view> parts = absl::StrSplit(line, sep);
  Er7Delimiters d;
  d.field = sep;
  auto value = [&parts, &d](int field, int component) {
    if (parts.size() < static_cast<size_t>(field)) return std::string();
    std::string out = Er7Unescape(Piece(parts[field - 1], '^', component), d);
    return out.size() > 199 ? std::string() : out;
  };
  h.message_type = value(9, 1);
  h.trigger_event = value(9, 2);
  h.control_id = value(10, 1);
  return h;
}

std::string RecoverControlId(absl::string_view bytes) {
  return RecoverHeader(bytes).control_id;
}

}  // namespace needlecheck::hl7v2
