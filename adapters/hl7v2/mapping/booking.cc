#include "adapters/hl7v2/mapping/booking.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/fhir/vocabulary.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/hl7_types.h"

namespace needlecheck::hl7v2 {
namespace {

namespace v1 = ::needlecheck::v1;

constexpr absl::string_view kNotMicroneedling = "not a microneedling booking";

// What the service segments of one booking or order say.
struct SessionParts {
  std::vector<v1::TreatmentArea> areas;
  std::optional<double> depth;
  Hl7ErrorLocation depth_location;  // the field the depth was read from
  v1::Concept anesthetic;
};

void AddArea(v1::TreatmentArea area, SessionParts* parts) {
  for (v1::TreatmentArea a : parts->areas) {
    if (a == area) return;
  }
  parts->areas.push_back(area);
}

void AreasFromServiceText(const std::string& text, SessionParts* parts) {
  for (v1::TreatmentArea a : AreasNamedInText(text)) AddArea(a, parts);
}

void AreasFromBodySite(const v1::Concept& site, SessionParts* parts) {
  if (IsEmptyConcept(site)) return;
  for (v1::TreatmentArea a : fhir::AreasFromBodySite(site)) AddArea(a, parts);
}

// The first depth stated, in `text` read from segment-field.
void DepthFromText(const std::string& text, const Er7Segment& segment,
                   int field, SessionParts* parts) {
  if (parts->depth.has_value() || text.empty()) return;
  parts->depth = fhir::NeedleDepthFromText(text);
  if (parts->depth.has_value()) {
    parts->depth_location = FieldLocation(segment, field);
  }
}

void AddAnesthetic(const v1::Concept& c, SessionParts* parts) {
  if (IsEmptyConcept(c) || !fhir::IsTopicalAnesthetic(c)) return;
  v1::Concept& a = parts->anesthetic;
  for (const v1::Coding& coding : c.codings()) *a.add_codings() = coding;
  const std::string name = ConceptName(c);
  if (name.empty()) return;
  a.set_text(a.text().empty() ? name : absl::StrCat(a.text(), " + ", name));
}

// A free-text note after a service: the depth, and each clause (between
// ';' or line ends) that names a topical anesthetic ("needle depth 0.5 mm;
// apply EMLA 45 minutes before" plans "apply EMLA 45 minutes before").
void ReadServiceNote(const Er7Segment& nte, SessionParts* parts) {
  const std::string note = ReadText(nte, 3);
  if (note.empty()) return;
  DepthFromText(note, nte, 3, parts);
  for (absl::string_view clause :
       absl::StrSplit(note, absl::ByAnyChar(";\n"), absl::SkipWhitespace())) {
    v1::Concept c;
    c.set_text(std::string(absl::StripAsciiWhitespace(clause)));
    AddAnesthetic(c, parts);
  }
}

// The NTE segments right after segments[index].
std::vector<const Er7Segment*> NotesAfter(const Er7Message& m, size_t index) {
  std::vector<const Er7Segment*> out;
  for (size_t i = index + 1;
       i < m.segments().size() && m.segments()[i].id() == "NTE"; ++i) {
    out.push_back(&m.segments()[i]);
  }
  return out;
}

// RXO-1 / RXE-2 naming a topical anesthetic.
void AnestheticOrder(const Er7Segment& s, SessionParts* parts) {
  if (s.id() == "RXO") AddAnesthetic(ReadConcept(s, 1), parts);
  if (s.id() == "RXE") AddAnesthetic(ReadConcept(s, 2), parts);
}

// The session from `parts`; 102 at the depth's field when the depth is
// beyond what the service accepts.
absl::Status BuildSession(const SessionParts& parts,
                          const SessionMatcher& matcher,
                          v1::PlannedSession* session) {
  if (parts.depth.has_value() && matcher.max_needle_depth_mm() > 0 &&
      *parts.depth > matcher.max_needle_depth_mm()) {
    return MakeHl7Error(absl::StatusCode::kInvalidArgument,
                        Hl7ErrorCode::kDataTypeError, parts.depth_location,
                        "the needle depth is beyond the deepest the "
                        "knowledge base accepts");
  }
  std::vector<v1::TreatmentArea> areas = parts.areas;
  if (areas.empty()) areas.push_back(v1::TREATMENT_AREA_UNSPECIFIED);
  for (v1::TreatmentArea area : areas) {
    v1::AreaPlan* plan = session->add_areas();
    plan->set_area(area);
    if (parts.depth.has_value()) plan->set_needle_depth_mm(*parts.depth);
  }
  *session->mutable_anesthetic() = parts.anesthetic;
  return absl::OkStatus();
}

// The first non-empty start among `candidates` (segment, field,
// component); 102 when one is not a date naming at least a day.
struct StartField {
  const Er7Segment* segment;
  int field;
  int component;
};

absl::Status ReadStart(const std::vector<StartField>& candidates,
                       Booking* booking) {
  for (const StartField& c : candidates) {
    if (c.segment == nullptr) continue;
    absl::StatusOr<std::string> date =
        ReadDate(*c.segment, c.field, 1, c.component);
    if (!date.ok()) return date.status();
    if (date->empty()) continue;
    if (date->size() < 10) {
      return MakeHl7Error(absl::StatusCode::kInvalidArgument,
                          Hl7ErrorCode::kDataTypeError,
                          FieldLocation(*c.segment, c.field, 0,
                                        c.component > 1 ? c.component : 0),
                          "the session start names less than a day");
    }
    booking->session.set_date(*date);
    booking->date_source =
        absl::StrCat(c.segment->id(), "(", c.segment->sequence(), ")-", c.field,
                     c.component > 1 ? absl::StrCat(".", c.component) : "");
    return absl::OkStatus();
  }
  return absl::NotFoundError("no start");
}

absl::Status NoStart(const Er7Segment& segment, int field) {
  return MakeHl7Error(absl::StatusCode::kInvalidArgument,
                      Hl7ErrorCode::kRequiredFieldMissing,
                      FieldLocation(segment, field),
                      "the microneedling booking has no start date");
}

// Table 0278 filler statuses that end a booking, as a reason; "" otherwise.
std::string EndedStatus(const Er7Segment& s, int field) {
  const std::string code = absl::AsciiStrToLower(s.Get(field));
  if (code == "noshow" || code == "no-show") return "the patient did not show";
  if (code == "cancelled" || code == "canceled" || code == "deleted" ||
      code == "dc" || code == "discontinued") {
    return "the booking is cancelled";
  }
  return "";
}

absl::Status ReadSiu(const Er7Message& m, const SessionMatcher& matcher,
                     Booking* booking) {
  const Er7Segment* sch = m.Find("SCH");
  std::vector<size_t> services;  // microneedling AIS, by segment index
  for (size_t i = 0; i < m.segments().size(); ++i) {
    const Er7Segment& s = m.segments()[i];
    if (s.id() == "AIS" && matcher.Matches(ReadConcept(s, 3))) {
      services.push_back(i);
    }
  }
  const bool by_sch = services.empty() && sch != nullptr &&
                      (matcher.Matches(ReadConcept(*sch, 7)) ||
                       matcher.Matches(ReadConcept(*sch, 8)));
  if (services.empty() && !by_sch) {
    booking->not_screened_reason = std::string(kNotMicroneedling);
    return absl::OkStatus();
  }
  booking->service_location =
      by_sch
          ? FieldLocation(*sch, matcher.Matches(ReadConcept(*sch, 7)) ? 7 : 8)
          : FieldLocation(m.segments()[services.front()], 3);
  if (sch != nullptr && !EndedStatus(*sch, 25).empty()) {
    booking->not_screened_reason = EndedStatus(*sch, 25);
    return absl::OkStatus();
  }
  std::vector<size_t> active;
  std::string ended;
  for (size_t i : services) {
    const Er7Segment& ais = m.segments()[i];
    ended = absl::AsciiStrToUpper(ais.Get(2)) == "D"
                ? "the microneedling service was removed from the booking"
                : EndedStatus(ais, 10);
    if (ended.empty()) active.push_back(i);
  }
  if (!active.empty()) {
    booking->service_location = FieldLocation(m.segments()[active.front()], 3);
  }
  if (!by_sch && active.empty()) {
    booking->not_screened_reason = ended;
    return absl::OkStatus();
  }
  booking->screen = true;
  SessionParts parts;
  std::vector<StartField> starts;
  for (size_t i : active) {
    const Er7Segment& ais = m.segments()[i];
    const v1::Concept service = ReadConcept(ais, 3);
    AreasFromServiceText(ConceptName(service), &parts);
    DepthFromText(ConceptName(service), ais, 3, &parts);
    for (const Er7Segment* nte : NotesAfter(m, i))
      ReadServiceNote(*nte, &parts);
    starts.push_back({&ais, 4, 1});
  }
  if (by_sch) {
    const std::string reason = ConceptName(ReadConcept(*sch, 7));
    AreasFromServiceText(reason, &parts);
    DepthFromText(reason, *sch, 7, &parts);
  }
  starts.push_back({sch, 11, 4});
  starts.push_back({m.Find("TQ1"), 7, 1});
  for (const Er7Segment& s : m.segments()) AnestheticOrder(s, &parts);
  absl::Status start = ReadStart(starts, booking);
  if (absl::IsNotFound(start)) {
    return by_sch ? NoStart(*sch, 11) : NoStart(m.segments()[active[0]], 4);
  }
  if (!start.ok()) return start;
  return BuildSession(parts, matcher, &booking->session);
}

// One ORC with its OBR, TQ1 and notes (indices into the message).
struct OrderGroup {
  const Er7Segment* orc = nullptr;
  const Er7Segment* obr = nullptr;
  const Er7Segment* tq1 = nullptr;
  std::vector<const Er7Segment*> notes;
  std::vector<const Er7Segment*> rx;  // RXO, RXE
};

std::vector<OrderGroup> OrderGroups(const Er7Message& m) {
  std::vector<OrderGroup> groups;
  for (const Er7Segment& s : m.segments()) {
    const std::string& id = s.id();
    if (id == "ORC" ||
        (id == "OBR" && (groups.empty() || groups.back().obr != nullptr))) {
      groups.emplace_back();
    }
    if (groups.empty()) continue;
    OrderGroup& g = groups.back();
    if (id == "ORC") g.orc = &s;
    if (id == "OBR") g.obr = &s;
    if (id == "TQ1" && g.tq1 == nullptr) g.tq1 = &s;
    if (id == "NTE") g.notes.push_back(&s);
    if (id == "RXO" || id == "RXE") g.rx.push_back(&s);
  }
  return groups;
}

bool OrderCancelled(const OrderGroup& g) {
  if (g.orc == nullptr) return false;
  const std::string control = absl::AsciiStrToUpper(g.orc->Get(1));
  const std::string status = absl::AsciiStrToUpper(g.orc->Get(5));
  for (const char* c : {"CA", "DC", "OC", "OD", "CR", "DR"}) {
    if (control == c) return true;
  }
  return status == "CA" || status == "DC";
}

absl::Status ReadOrder(const Er7Message& m, const SessionMatcher& matcher,
                       Booking* booking) {
  std::vector<const OrderGroup*> sessions;
  bool cancelled = false;
  const std::vector<OrderGroup> groups = OrderGroups(m);
  for (const OrderGroup& g : groups) {
    if (g.obr == nullptr) continue;
    const int field = matcher.Matches(ReadConcept(*g.obr, 4))    ? 4
                      : matcher.Matches(ReadConcept(*g.obr, 44)) ? 44
                                                                 : 0;
    if (field == 0) continue;
    const bool first = booking->service_location.segment_id.empty();
    if (OrderCancelled(g)) {
      cancelled = true;
      if (first) booking->service_location = FieldLocation(*g.obr, field);
    } else {
      if (first || sessions.empty()) {
        booking->service_location = FieldLocation(*g.obr, field);
      }
      sessions.push_back(&g);
    }
  }
  if (sessions.empty()) {
    booking->not_screened_reason =
        cancelled ? "the order is cancelled" : std::string(kNotMicroneedling);
    return absl::OkStatus();
  }
  booking->screen = true;
  SessionParts parts;
  std::vector<StartField> starts;
  for (const OrderGroup* g : sessions) {
    const Er7Segment& obr = *g->obr;
    const std::string service = ConceptName(ReadConcept(obr, 4));
    AreasFromBodySite(ReadConceptInComponent(obr, 15, 1, 4), &parts);
    for (int r = 1; r <= obr.RepetitionCount(46); ++r) {
      AreasFromBodySite(ReadConcept(obr, 46, r), &parts);
    }
    AreasFromServiceText(service, &parts);
    DepthFromText(service, obr, 4, &parts);
    DepthFromText(ReadText(obr, 13), obr, 13, &parts);
    for (const Er7Segment* nte : g->notes) ReadServiceNote(*nte, &parts);
    starts.push_back({g->tq1, 7, 1});
    starts.push_back({g->orc, 7, 4});
    starts.push_back({g->obr, 27, 4});
    starts.push_back({g->obr, 7, 1});
  }
  // An anesthetic may be its own order (RXO) beside the microneedling one.
  for (const OrderGroup& g : groups) {
    if (OrderCancelled(g)) continue;
    for (const Er7Segment* rx : g.rx) AnestheticOrder(*rx, &parts);
  }
  absl::Status start = ReadStart(starts, booking);
  if (absl::IsNotFound(start)) {
    const OrderGroup& g = *sessions.front();
    return g.orc != nullptr ? NoStart(*g.orc, 7) : NoStart(*g.obr, 7);
  }
  if (!start.ok()) return start;
  return BuildSession(parts, matcher, &booking->session);
}

}  // namespace

absl::StatusOr<Booking> ReadBooking(const Er7Message& message,
                                    const SessionMatcher& matcher) {
  Booking booking;
  const std::string& type = message.header().message_type;
  absl::Status status = type == "SIU" ? ReadSiu(message, matcher, &booking)
                                      : ReadOrder(message, matcher, &booking);
  if (!status.ok()) return status;
  MakeStringsUtf8(MessageEncoding(message), &booking.session);
  absl::StatusOr<PatientUpdate> patient = ReadPatientUpdate(message);
  if (patient.ok()) {
    booking.patient = *std::move(patient);
    // A booking's AL1/DG1 are those relevant to this appointment or order
    // (an order's DG1 is its reason), not the patient's whole lists: they
    // add to the stored record and never replace it.
    booking.patient.replaces_allergies = false;
    booking.patient.replaces_conditions = false;
  } else if (booking.screen) {
    return patient.status();
  }
  return booking;
}

}  // namespace needlecheck::hl7v2
