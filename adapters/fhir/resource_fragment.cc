#include "adapters/fhir/resource_fragment.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/internal/collector.h"
#include "common/status/status_macros.h"
#include "google/protobuf/message_lite.h"

namespace needlecheck::fhir {
namespace {

using internal::Collected;

// Encoding: little-endian base-128 varints; a string is its length then
// its bytes; a message is its serialized bytes as a string. Layout:
//   resourceType, id, status code; then the error message (code != 0), or
//   the Collected lists (a count, then each item) and the stats.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  void Signed(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void String(absl::string_view s) {
    Varint(s.size());
    out_->append(s.data(), s.size());
  }
  void Message(const google::protobuf::MessageLite& m) {
    Varint(m.ByteSizeLong());
    m.AppendToString(out_);
  }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return Fail();
      const uint8_t b = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail();
  }
  int64_t Signed() {
    const uint64_t v = Varint();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  absl::string_view String() {
    const uint64_t n = Varint();
    if (!ok_ || n > in_.size()) {
      Fail();
      return {};
    }
    absl::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  void String(std::string* out) {
    absl::string_view s = String();
    out->assign(s.data(), s.size());
  }
  void Message(google::protobuf::MessageLite* m) {
    absl::string_view s = String();
    if (ok_ && !m->ParseFromArray(s.data(), static_cast<int>(s.size()))) {
      Fail();
    }
  }
  // A count of items that each take at least one byte.
  size_t Count() {
    const uint64_t n = Varint();
    if (!ok_ || n > in_.size()) {
      Fail();
      return 0;
    }
    return static_cast<size_t>(n);
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }
  absl::string_view in_;
  bool ok_ = true;
};

absl::Status Corrupt() {
  return absl::DataLossError("a mapped FHIR resource fragment does not decode");
}

void Encode(const Collected& c, Writer& w) {
  w.Varint(c.patients.size());
  for (const auto& p : c.patients) {
    w.String(p.id);
    w.String(p.full_url);
    w.String(p.birth_date);
  }
  w.Varint(c.conditions.size());
  for (const auto& x : c.conditions) {
    w.Message(x.value);
    w.String(x.subject);
  }
  w.Varint(c.allergies.size());
  for (const auto& x : c.allergies) {
    w.Message(x.value);
    w.String(x.subject);
    w.Varint(x.no_known_allergy ? 1 : 0);
  }
  w.Varint(c.medications.size());
  for (const auto& x : c.medications) {
    w.Message(x.value);
    w.String(x.subject);
  }
  w.Varint(c.procedures.size());
  for (const auto& x : c.procedures) {
    w.Message(x.value);
    w.String(x.subject);
  }
  w.Varint(c.observations.size());
  for (const auto& x : c.observations) {
    w.Message(x.value);
    w.String(x.subject);
    w.Signed(x.fitzpatrick);
    w.Varint(x.dated ? 1 : 0);
    w.Signed(x.day);
  }
  w.Varint(c.orders.size());
  for (const auto& x : c.orders) {
    w.String(x.source);
    w.String(x.type);
    w.String(x.status);
    w.String(x.date);
    w.String(x.date_field);
    w.Varint(x.areas.size());
    for (const auto& a : x.areas) w.Message(a);
    w.String(x.subject);
  }
  w.Varint(c.anesthetics.size());
  for (const auto& x : c.anesthetics) {
    w.String(x.source);
    w.String(x.status);
    w.Message(x.concept);
    w.String(x.subject);
  }
  w.Varint(c.appointments.size());
  for (const auto& x : c.appointments) {
    w.String(x.source);
    w.String(x.start);
    w.String(x.status);
    w.Varint(x.microneedling ? 1 : 0);
  }
  w.Signed(c.stats.resources);
  w.Varint(c.stats.by_type.size());
  for (const auto& [k, v] : c.stats.by_type) {
    w.String(k);
    w.Signed(v);
  }
  w.Varint(c.stats.skipped_by_type.size());
  for (const auto& [k, v] : c.stats.skipped_by_type) {
    w.String(k);
    w.Signed(v);
  }
  w.Signed(c.stats.other_patient);
  w.Signed(c.stats.null_prefetch);
}

void Decode(Reader& r, Collected* c) {
  c->patients.resize(r.Count());
  for (auto& p : c->patients) {
    r.String(&p.id);
    r.String(&p.full_url);
    r.String(&p.birth_date);
  }
  c->conditions.resize(r.Count());
  for (auto& x : c->conditions) {
    r.Message(&x.value);
    r.String(&x.subject);
  }
  c->allergies.resize(r.Count());
  for (auto& x : c->allergies) {
    r.Message(&x.value);
    r.String(&x.subject);
    x.no_known_allergy = r.Varint() != 0;
  }
  c->medications.resize(r.Count());
  for (auto& x : c->medications) {
    r.Message(&x.value);
    r.String(&x.subject);
  }
  c->procedures.resize(r.Count());
  for (auto& x : c->procedures) {
    r.Message(&x.value);
    r.String(&x.subject);
  }
  c->observations.resize(r.Count());
  for (auto& x : c->observations) {
    r.Message(&x.value);
    r.String(&x.subject);
    x.fitzpatrick = static_cast<int>(r.Signed());
    x.dated = r.Varint() != 0;
    x.day = static_cast<int32_t>(r.Signed());
  }
  c->orders.resize(r.Count());
  for (auto& x : c->orders) {
    r.String(&x.source);
    r.String(&x.type);
    r.String(&x.status);
    r.String(&x.date);
    r.String(&x.date_field);
    x.areas.resize(r.Count());
    for (auto& a : x.areas) r.Message(&a);
    r.String(&x.subject);
  }
  c->anesthetics.resize(r.Count());
  for (auto& x : c->anesthetics) {
    r.String(&x.source);
    r.String(&x.status);
    r.Message(&x.concept);
    r.String(&x.subject);
  }
  c->appointments.resize(r.Count());
  for (auto& x : c->appointments) {
    r.String(&x.source);
    r.String(&x.start);
    r.String(&x.status);
    x.microneedling = r.Varint() != 0;
  }
  c->stats.resources = r.Signed();
  for (size_t n = r.Count(); n > 0 && r.ok(); --n) {
    std::string k(r.String());
    c->stats.by_type[std::move(k)] += r.Signed();
  }
  for (size_t n = r.Count(); n > 0 && r.ok(); --n) {
    std::string k(r.String());
    c->stats.skipped_by_type[std::move(k)] += r.Signed();
  }
  c->stats.other_patient = r.Signed();
  c->stats.null_prefetch = r.Signed();
}

// The member `key` of `resource` when it is a string, else "".
absl::string_view StringMember(const simdjson::dom::element& resource,
                               const char* key) {
  std::string_view s;
  if (resource[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return absl::string_view(s.data(), s.size());
}

}  // namespace

void MapResourceFragment(const simdjson::dom::element& resource,
                         std::string* fragment) {
  fragment->clear();
  Writer w(fragment);
  w.String(StringMember(resource, "resourceType"));
  w.String(StringMember(resource, "id"));
  internal::Limits limits;
  limits.max_input_bytes = std::numeric_limits<size_t>::max();
  limits.max_depth = std::numeric_limits<size_t>::max();
  limits.max_resources = std::numeric_limits<size_t>::max();
  Collected collected;
  const absl::Status status = internal::CollectParsed(
      resource, internal::DocumentShape::kNdjsonLine, limits, &collected);
  w.Varint(static_cast<uint64_t>(status.code()));
  if (!status.ok()) {
    w.String(status.message());
    return;
  }
  Encode(collected, w);
}

absl::StatusOr<FragmentSource> ReadFragmentSource(absl::string_view fragment) {
  Reader r(fragment);
  FragmentSource source;
  source.resource_type = r.String();
  source.id = r.String();
  if (!r.ok()) return Corrupt();
  return source;
}

namespace internal {

absl::Status DecodeFragment(absl::string_view fragment, Collected* out) {
  Reader r(fragment);
  r.String();  // resourceType
  r.String();  // id
  const uint64_t code = r.Varint();
  if (!r.ok()) return Corrupt();
  if (code != 0) {
    const absl::string_view message = r.String();
    if (!r.ok() || !r.done() || code > 16) return Corrupt();
    return absl::Status(static_cast<absl::StatusCode>(code), message);
  }
  Decode(r, out);
  if (!r.ok() || !r.done()) return Corrupt();
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace needlecheck::fhir
