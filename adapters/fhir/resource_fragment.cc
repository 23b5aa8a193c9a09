#include "adapters/fhir/resource_fragment.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

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
    w.Message(*x.value);
    w.String(x.subject);
  }
  w.Varint(c.allergies.size());
  for (const auto& x : c.allergies) {
    w.Message(*x.value);
    w.String(x.subject);
    w.Varint(x.no_known_allergy ? 1 : 0);
  }
  w.Varint(c.medications.size());
  for (const auto& x : c.medications) {
    w.Message(*x.value);
    w.String(x.subject);
  }
  w.Varint(c.procedures.size());
  for (const auto& x : c.procedures) {
    w.Message(*x.value);
    w.String(x.subject);
  }
  w.Varint(c.observations.size());
  for (const auto& x : c.observations) {
    w.Message(*x.value);
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

// Sizes of the lists of a Collected, to undo a partial decode.
struct ListSizes {
  size_t patients, conditions, allergies, medications, procedures, observations,
      orders, anesthetics, appointments;
};

ListSizes SizesOf(const Collected& c) {
  return {c.patients.size(),    c.conditions.size(),  c.allergies.size(),
          c.medications.size(), c.procedures.size(),  c.observations.size(),
          c.orders.size(),      c.anesthetics.size(), c.appointments.size()};
}

void Truncate(const ListSizes& n, Collected* c) {
  c->patients.resize(n.patients);
  c->conditions.resize(n.conditions);
  c->allergies.resize(n.allergies);
  c->medications.resize(n.medications);
  c->procedures.resize(n.procedures);
  c->observations.resize(n.observations);
  c->orders.resize(n.orders);
  c->anesthetics.resize(n.anesthetics);
  c->appointments.resize(n.appointments);
}

// Grows `v` by the count `r` reads; returns the first new index.
template <typename T>
size_t Grow(Reader& r, std::vector<T>* v) {
  const size_t from = v->size();
  v->resize(from + r.Count());
  return from;
}

// A fragment's stats, applied to the builder only once it decoded whole.
struct FragmentStats {
  int64_t resources = 0;
  std::vector<std::pair<std::string, int64_t>> by_type;
  std::vector<std::pair<std::string, int64_t>> skipped_by_type;
  int64_t other_patient = 0;
  int64_t null_prefetch = 0;
};

// Appends the fragment's lists to *c (the caller undoes them on error).
void Decode(Reader& r, Collected* c, FragmentStats* stats) {
  for (size_t i = Grow(r, &c->patients); i < c->patients.size(); ++i) {
    auto& p = c->patients[i];
    r.String(&p.id);
    r.String(&p.full_url);
    r.String(&p.birth_date);
  }
  for (size_t i = Grow(r, &c->conditions); i < c->conditions.size(); ++i) {
    auto& x = c->conditions[i];
    r.Message(x.value.get());
    r.String(&x.subject);
  }
  for (size_t i = Grow(r, &c->allergies); i < c->allergies.size(); ++i) {
    auto& x = c->allergies[i];
    r.Message(x.value.get());
    r.String(&x.subject);
    x.no_known_allergy = r.Varint() != 0;
  }
  for (size_t i = Grow(r, &c->medications); i < c->medications.size(); ++i) {
    auto& x = c->medications[i];
    r.Message(x.value.get());
    r.String(&x.subject);
  }
  for (size_t i = Grow(r, &c->procedures); i < c->procedures.size(); ++i) {
    auto& x = c->procedures[i];
    r.Message(x.value.get());
    r.String(&x.subject);
  }
  for (size_t i = Grow(r, &c->observations); i < c->observations.size(); ++i) {
    auto& x = c->observations[i];
    r.Message(x.value.get());
    r.String(&x.subject);
    x.fitzpatrick = static_cast<int>(r.Signed());
    x.dated = r.Varint() != 0;
    x.day = static_cast<int32_t>(r.Signed());
  }
  for (size_t i = Grow(r, &c->orders); i < c->orders.size(); ++i) {
    auto& x = c->orders[i];
    r.String(&x.source);
    r.String(&x.type);
    r.String(&x.status);
    r.String(&x.date);
    r.String(&x.date_field);
    x.areas.resize(r.Count());
    for (auto& a : x.areas) r.Message(&a);
    r.String(&x.subject);
  }
  for (size_t i = Grow(r, &c->anesthetics); i < c->anesthetics.size(); ++i) {
    auto& x = c->anesthetics[i];
    r.String(&x.source);
    r.String(&x.status);
    r.Message(&x.concept);
    r.String(&x.subject);
  }
  for (size_t i = Grow(r, &c->appointments); i < c->appointments.size(); ++i) {
    auto& x = c->appointments[i];
    r.String(&x.source);
    r.String(&x.start);
    r.String(&x.status);
    x.microneedling = r.Varint() != 0;
  }
  stats->resources = r.Signed();
  for (size_t n = r.Count(); n > 0 && r.ok(); --n) {
    std::string k(r.String());
    stats->by_type.emplace_back(std::move(k), r.Signed());
  }
  for (size_t n = r.Count(); n > 0 && r.ok(); --n) {
    std::string k(r.String());
    stats->skipped_by_type.emplace_back(std::move(k), r.Signed());
  }
  stats->other_patient = r.Signed();
  stats->null_prefetch = r.Signed();
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

absl::Status AddFragmentTo(absl::string_view fragment, size_t max_resources,
                           Collected* out) {
  Reader r(fragment);
  r.String();  // resourceType
  r.String();  // id
  const uint64_t code = r.Varint();
  if (!r.ok()) return Corrupt();
  if (code != 0) {
    const absl::string_view message = r.String();
    if (!r.ok() || !r.done() || code > 16) return Corrupt();
    // As CollectResource: a resource counts against the limit before it is
    // mapped, so a full builder refuses it whatever its mapping gave.
    if (max_resources == 0) return TooManyResources(max_resources);
    return absl::Status(static_cast<absl::StatusCode>(code), message);
  }
  const ListSizes before = SizesOf(*out);
  FragmentStats stats;
  Decode(r, out, &stats);
  absl::Status status;
  if (!r.ok() || !r.done()) {
    status = Corrupt();
  } else if (stats.resources < 0 ||
             static_cast<uint64_t>(stats.resources) > max_resources) {
    status = TooManyResources(max_resources);
  }
  if (!status.ok()) {
    Truncate(before, out);
    return status;
  }
  out->stats.resources += stats.resources;
  for (auto& [k, v] : stats.by_type) out->stats.by_type[std::move(k)] += v;
  for (auto& [k, v] : stats.skipped_by_type) {
    out->stats.skipped_by_type[std::move(k)] += v;
  }
  out->stats.other_patient += stats.other_patient;
  out->stats.null_prefetch += stats.null_prefetch;
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace needlecheck::fhir
