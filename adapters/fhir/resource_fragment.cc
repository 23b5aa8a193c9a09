#include "adapters/fhir/resource_fragment.h"

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapters/common/json_members.h"
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
  void Skip(size_t n) {
    if (n > in_.size()) {
      Fail();
      return;
    }
    in_.remove_prefix(n);
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

// A fragment's lists as views of its bytes (the mapped messages still
// serialized), appended to by DecodeViews; one layout reader for both
// AddFragmentTo (which decodes the messages) and FragmentRecordWriter
// (which copies their bytes).
struct FragmentViews {
  struct Patient {
    absl::string_view id, full_url, birth_date;
  };
  struct Entry {
    absl::string_view message, subject;
  };
  struct Allergy {
    absl::string_view message, subject;
    bool no_known_allergy = false;
  };
  struct Observation {
    absl::string_view message, subject;
    int fitzpatrick = 0;
    bool dated = false;
    int32_t day = 0;
  };
  struct Order {
    absl::string_view source, type, status, date, date_field;
    std::vector<absl::string_view> areas;
    absl::string_view subject;
  };
  struct Anesthetic {
    absl::string_view source, status, concept, subject;
  };
  struct Appointment {
    absl::string_view source, start, status;
    bool microneedling = false;
  };
  std::vector<Patient> patients;
  std::vector<Entry> conditions;
  std::vector<Allergy> allergies;
  std::vector<Entry> medications;
  std::vector<Entry> procedures;
  std::vector<Observation> observations;
  std::vector<Order> orders;
  std::vector<Anesthetic> anesthetics;
  std::vector<Appointment> appointments;
  // The last fragment's stats.
  int64_t resources = 0;
  std::vector<std::pair<absl::string_view, int64_t>> by_type;
  std::vector<std::pair<absl::string_view, int64_t>> skipped_by_type;
  int64_t other_patient = 0;
  int64_t null_prefetch = 0;

  struct Sizes {
    size_t patients, conditions, allergies, medications, procedures,
        observations, orders, anesthetics, appointments;
  };
  Sizes sizes() const {
    return {patients.size(),    conditions.size(),  allergies.size(),
            medications.size(), procedures.size(),  observations.size(),
            orders.size(),      anesthetics.size(), appointments.size()};
  }
  // Undoes what a decode appended after `n` was taken.
  void Truncate(const Sizes& n) {
    patients.resize(n.patients);
    conditions.resize(n.conditions);
    allergies.resize(n.allergies);
    medications.resize(n.medications);
    procedures.resize(n.procedures);
    observations.resize(n.observations);
    orders.resize(n.orders);
    anesthetics.resize(n.anesthetics);
    appointments.resize(n.appointments);
  }
  void Clear() { Truncate({}); }
};

// Grows `v` by the count `r` reads; returns the first new index.
template <typename T>
size_t Grow(Reader& r, std::vector<T>* v) {
  const size_t from = v->size();
  v->resize(from + r.Count());
  return from;
}

// Appends the lists of the fragment after its status code to *v and sets
// its stats; r.ok() tells whether it decoded (the caller undoes on error).
void DecodeViews(Reader& r, FragmentViews* v) {
  for (size_t i = Grow(r, &v->patients); i < v->patients.size(); ++i) {
    auto& p = v->patients[i];
    p.id = r.String();
    p.full_url = r.String();
    p.birth_date = r.String();
  }
  for (size_t i = Grow(r, &v->conditions); i < v->conditions.size(); ++i) {
    v->conditions[i] = {r.String(), r.String()};
  }
  for (size_t i = Grow(r, &v->allergies); i < v->allergies.size(); ++i) {
    auto& x = v->allergies[i];
    x.message = r.String();
    x.subject = r.String();
    x.no_known_allergy = r.Varint() != 0;
  }
  for (size_t i = Grow(r, &v->medications); i < v->medications.size(); ++i) {
    v->medications[i] = {r.String(), r.String()};
  }
  for (size_t i = Grow(r, &v->procedures); i < v->procedures.size(); ++i) {
    v->procedures[i] = {r.String(), r.String()};
  }
  for (size_t i = Grow(r, &v->observations); i < v->observations.size(); ++i) {
    auto& x = v->observations[i];
    x.message = r.String();
    x.subject = r.String();
    x.fitzpatrick = static_cast<int>(r.Signed());
    x.dated = r.Varint() != 0;
    x.day = static_cast<int32_t>(r.Signed());
  }
  for (size_t i = Grow(r, &v->orders); i < v->orders.size(); ++i) {
    auto& x = v->orders[i];
    x.source = r.String();
    x.type = r.String();
    x.status = r.String();
    x.date = r.String();
    x.date_field = r.String();
    x.areas.resize(r.Count());
    for (auto& a : x.areas) a = r.String();
    x.subject = r.String();
  }
  for (size_t i = Grow(r, &v->anesthetics); i < v->anesthetics.size(); ++i) {
    auto& x = v->anesthetics[i];
    x.source = r.String();
    x.status = r.String();
    x.concept = r.String();
    x.subject = r.String();
  }
  for (size_t i = Grow(r, &v->appointments); i < v->appointments.size(); ++i) {
    auto& x = v->appointments[i];
    x.source = r.String();
    x.start = r.String();
    x.status = r.String();
    x.microneedling = r.Varint() != 0;
  }
  v->resources = r.Signed();
  v->by_type.clear();
  for (size_t n = r.Count(); n > 0 && r.ok(); --n) {
    const absl::string_view k = r.String();
    v->by_type.emplace_back(k, r.Signed());
  }
  v->skipped_by_type.clear();
  for (size_t n = r.Count(); n > 0 && r.ok(); --n) {
    const absl::string_view k = r.String();
    v->skipped_by_type.emplace_back(k, r.Signed());
  }
  v->other_patient = r.Signed();
  v->null_prefetch = r.Signed();
}

// Reads one fragment into *views (appending): the mapping's error when it
// holds one, RESOURCE_EXHAUSTED when its resources exceed `max_resources`
// (as CollectResource: a resource counts before it is mapped, so a full
// builder refuses even a fragment holding an error), DATA_LOSS when it
// does not decode. *views is unchanged on error.
absl::Status ReadFragment(absl::string_view fragment, size_t max_resources,
                          FragmentViews* views) {
  Reader r(fragment);
  r.String();  // resourceType
  r.String();  // id
  const uint64_t code = r.Varint();
  if (!r.ok()) return Corrupt();
  if (code != 0) {
    const absl::string_view message = r.String();
    if (!r.ok() || !r.done() || code > 16) return Corrupt();
    if (max_resources == 0) return internal::TooManyResources(max_resources);
    return absl::Status(static_cast<absl::StatusCode>(code), message);
  }
  const FragmentViews::Sizes before = views->sizes();
  DecodeViews(r, views);
  absl::Status status;
  if (!r.ok() || !r.done()) {
    status = Corrupt();
  } else if (views->resources < 0 ||
             static_cast<uint64_t>(views->resources) > max_resources) {
    status = internal::TooManyResources(max_resources);
  }
  if (!status.ok()) views->Truncate(before);
  return status;
}

// Walks the top-level fields of a serialized message; false when its wire
// format is broken. `on_string(field, bytes)` sees each length-delimited
// field (a string or a message).
template <typename OnString>
bool WalkMessage(absl::string_view bytes, OnString on_string) {
  Reader r(bytes);
  while (!r.done()) {
    const uint64_t tag = r.Varint();
    if (!r.ok() || (tag >> 3) == 0) return false;
    switch (tag & 7) {
      case 0:
        r.Varint();
        break;
      case 1:
      case 5: {
        r.Skip((tag & 7) == 1 ? 8 : 4);
        break;
      }
      case 2:
        on_string(tag >> 3, r.String());
        break;
      default:
        return false;
    }
    if (!r.ok()) return false;
  }
  return true;
}

// The member `key` of `resource` when it is a string, else "".
absl::string_view StringMember(const simdjson::dom::element& resource,
                               const char* key) {
  std::string_view s;
  if (resource[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return adapters::ToAbsl(s);
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
  FragmentViews v;
  RETURN_IF_ERROR(ReadFragment(fragment, max_resources, &v));
  // Decoded into fresh items, added to *out only once all decoded.
  bool ok = true;
  auto parse = [&ok](absl::string_view bytes,
                     google::protobuf::MessageLite* m) {
    ok = ok && m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  };
  Collected c;
  for (const auto& p : v.patients) {
    c.patients.push_back({std::string(p.id), std::string(p.full_url),
                          std::string(p.birth_date)});
  }
  auto entries = [&](const std::vector<FragmentViews::Entry>& from, auto* to) {
    to->resize(from.size());
    for (size_t i = 0; i < from.size(); ++i) {
      parse(from[i].message, (*to)[i].value.get());
      (*to)[i].subject = std::string(from[i].subject);
    }
  };
  entries(v.conditions, &c.conditions);
  entries(v.medications, &c.medications);
  entries(v.procedures, &c.procedures);
  c.allergies.resize(v.allergies.size());
  for (size_t i = 0; i < v.allergies.size(); ++i) {
    parse(v.allergies[i].message, c.allergies[i].value.get());
    c.allergies[i].subject = std::string(v.allergies[i].subject);
    c.allergies[i].no_known_allergy = v.allergies[i].no_known_allergy;
  }
  c.observations.resize(v.observations.size());
  for (size_t i = 0; i < v.observations.size(); ++i) {
    const auto& x = v.observations[i];
    auto& y = c.observations[i];
    parse(x.message, y.value.get());
    y.subject = std::string(x.subject);
    y.fitzpatrick = x.fitzpatrick;
    y.dated = x.dated;
    y.day = x.day;
  }
  for (const auto& x : v.orders) {
    Collected::OrderItem& y = c.orders.emplace_back();
    y.source = std::string(x.source);
    y.type = std::string(x.type);
    y.status = std::string(x.status);
    y.date = std::string(x.date);
    y.date_field = std::string(x.date_field);
    y.areas.resize(x.areas.size());
    for (size_t i = 0; i < x.areas.size(); ++i) parse(x.areas[i], &y.areas[i]);
    y.subject = std::string(x.subject);
  }
  for (const auto& x : v.anesthetics) {
    Collected::AnestheticItem& y = c.anesthetics.emplace_back();
    y.source = std::string(x.source);
    y.status = std::string(x.status);
    parse(x.concept, &y.concept);
    y.subject = std::string(x.subject);
  }
  for (const auto& x : v.appointments) {
    c.appointments.push_back({std::string(x.source), std::string(x.start),
                              std::string(x.status), x.microneedling});
  }
  if (!ok) return Corrupt();
  c.stats.resources = v.resources;
  for (const auto& [k, n] : v.by_type) c.stats.by_type[std::string(k)] += n;
  for (const auto& [k, n] : v.skipped_by_type) {
    c.stats.skipped_by_type[std::string(k)] += n;
  }
  c.stats.other_patient = v.other_patient;
  c.stats.null_prefetch = v.null_prefetch;
  out->MergeFrom(std::move(c));
  return absl::OkStatus();
}

}  // namespace internal

struct FragmentRecordWriter::State {
  ExtractOptions options;
  FragmentViews views;
  int64_t resources = 0;  // of the fragments added
  std::vector<internal::Collected::PatientEntry> patients;
};

FragmentRecordWriter::FragmentRecordWriter()
    : state_(std::make_unique<State>()) {}
FragmentRecordWriter::~FragmentRecordWriter() = default;

void FragmentRecordWriter::Restart(ExtractOptions options) {
  state_->options = std::move(options);
  state_->views.Clear();
  state_->resources = 0;
}

absl::Status FragmentRecordWriter::Add(absl::string_view fragment) {
  State& s = *state_;
  const size_t used = static_cast<size_t>(s.resources);
  const FragmentViews::Sizes before = s.views.sizes();
  RETURN_IF_ERROR(ReadFragment(
      fragment,
      s.options.max_resources > used ? s.options.max_resources - used : 0,
      &s.views));
  // The entries go into the record as they are: check their wire format
  // here, as decoding them would (a damaged fragment is DATA_LOSS now, not
  // a record needlecheckd cannot read).
  bool ok = true;
  auto check = [&ok](const auto& list, size_t from) {
    for (size_t i = from; ok && i < list.size(); ++i) {
      ok = WalkMessage(list[i].message, [](uint64_t, absl::string_view) {});
    }
  };
  check(s.views.conditions, before.conditions);
  check(s.views.allergies, before.allergies);
  check(s.views.medications, before.medications);
  check(s.views.procedures, before.procedures);
  check(s.views.observations, before.observations);
  if (!ok) {
    s.views.Truncate(before);
    return Corrupt();
  }
  s.resources += s.views.resources;
  return absl::OkStatus();
}

absl::Status FragmentRecordWriter::FinishRecord(std::string* out) {
  State& s = *state_;
  const FragmentViews& v = s.views;
  struct ClearAtEnd {
    State& s;
    ~ClearAtEnd() {
      s.views.Clear();
      s.resources = 0;
    }
  } clear_at_end{s};
  absl::StatusOr<std::optional<int32_t>> as_of_day =
      internal::AsOfDay(s.options);
  if (!as_of_day.ok()) return as_of_day.status();
  s.patients.resize(v.patients.size());
  for (size_t i = 0; i < v.patients.size(); ++i) {
    s.patients[i].id.assign(v.patients[i].id.data(), v.patients[i].id.size());
    s.patients[i].full_url.assign(v.patients[i].full_url.data(),
                                  v.patients[i].full_url.size());
  }
  std::map<std::string, std::string> by_url;
  absl::StatusOr<std::string> chosen = internal::ChoosePatient(
      s.patients,
      [&v](absl::FunctionRef<void(absl::string_view)> note) {
        internal::ForEachSubject(v, note);
      },
      s.options, &by_url);
  if (!chosen.ok()) return chosen.status();
  auto mine = [&](absl::string_view subject) {
    return internal::BelongsToChosen(subject, *chosen, by_url);
  };

  // Room for the whole record at once (growing by doubling would hold a
  // large record's bytes about twice over): at most every entry, each
  // with a tag and a length of at most 11 bytes.
  size_t bound = 64 + chosen->size();
  for (const auto& p : v.patients) bound += p.birth_date.size();
  auto add = [&bound](const auto& list) {
    for (const auto& x : list) bound += 11 + x.message.size();
  };
  add(v.conditions);
  add(v.allergies);
  add(v.medications);
  add(v.procedures);
  add(v.observations);
  out->reserve(out->size() + bound);

  // PatientRecord's fields in field-number order, each as the generated
  // code serializes it (proto3: empty and zero values left out).
  Writer w(out);
  auto field = [&w](uint32_t number, absl::string_view bytes) {
    w.Varint((number << 3) | 2);
    w.String(bytes);
  };
  if (!chosen->empty()) field(1, *chosen);
  for (const auto& p : v.patients) {
    if (p.id == *chosen && !p.birth_date.empty()) {
      field(2, p.birth_date);
      break;
    }
  }
  internal::FitzpatrickChoice fitzpatrick(*as_of_day);
  for (const auto& x : v.observations) {
    if (mine(x.subject)) fitzpatrick.Offer(x.fitzpatrick, x.dated, x.day);
  }
  if (fitzpatrick.value() > 0) {
    w.Varint(3 << 3);
    w.Varint(static_cast<uint64_t>(fitzpatrick.value()));
  }
  bool no_known_allergies = false;
  for (const auto& x : v.allergies) {
    if (!x.no_known_allergy || !mine(x.subject)) continue;
    absl::string_view verification_status;  // Allergy field 4, last wins
    WalkMessage(x.message, [&](uint64_t number, absl::string_view bytes) {
      if (number == 4) verification_status = bytes;
    });
    if (internal::CountsAsNoKnownAllergy(verification_status)) {
      no_known_allergies = true;
    }
  }
  if (no_known_allergies) {
    w.Varint(4 << 3);
    w.Varint(1);
  }
  for (const auto& x : v.conditions) {
    if (mine(x.subject)) field(5, x.message);
  }
  for (const auto& x : v.allergies) {
    if (mine(x.subject)) field(6, x.message);
  }
  for (const auto& x : v.medications) {
    if (mine(x.subject)) field(7, x.message);
  }
  for (const auto& x : v.procedures) {
    if (mine(x.subject)) field(8, x.message);
  }
  for (const auto& x : v.observations) {
    if (mine(x.subject)) field(9, x.message);
  }
  return absl::OkStatus();
}

}  // namespace needlecheck::fhir
