#include "adapters/hl7v2/mapping/patient_update.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapters/fhir/vocabulary.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/hl7_types.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace needlecheck::hl7v2 {
namespace {

namespace v1 = ::needlecheck::v1;
using ::google::protobuf::RepeatedPtrField;

absl::Status Missing(const Hl7ErrorLocation& location, absl::string_view text) {
  return MakeHl7Error(absl::StatusCode::kInvalidArgument,
                      Hl7ErrorCode::kRequiredFieldMissing, location, text);
}

Hl7ErrorLocation SegmentLocation(absl::string_view id, int sequence) {
  Hl7ErrorLocation l;
  l.segment_id = std::string(id);
  l.segment_sequence = sequence;
  return l;
}

// 101 at segment-field when `concept` (a required coded field) is empty.
absl::Status RequireConcept(const v1::Concept& concept, const Er7Segment& s,
                            int field) {
  if (!IsEmptyConcept(concept)) return absl::OkStatus();
  return Missing(FieldLocation(s, field),
                 absl::StrCat("the required coded field ", s.id(), "-", field,
                              " is empty"));
}

// The set id (field 1), else the segment's sequence in the message.
std::string SetId(const Er7Segment& s) {
  std::string id = s.Get(1);
  return id.empty() ? std::to_string(s.sequence()) : id;
}

// Whether a free-text note is about allergies (a patient-level NTE).
bool MentionsAllergy(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (absl::string_view word :
       absl::StrSplit(lower, absl::ByAnyChar(" \t\r\n.,;:!?()[]/-'\"*"),
                      absl::SkipEmpty())) {
    if (word == "nka" || word == "nkda" || absl::StartsWith(word, "allerg") ||
        absl::StartsWith(word, "intoleran") ||
        absl::StartsWith(word, "anaphyla") ||
        absl::StartsWith(word, "hypersensitiv")) {
      return true;
    }
  }
  return false;
}

// What an entry says, without its id: two entries with the same key are
// the same entry (the record's messages have no map fields, so the
// serialization is deterministic).
template <typename T>
std::string ContentKey(const T& entry) {
  T copy = entry;
  copy.clear_id();
  return copy.SerializeAsString();
}

// Adds each of `entries` unless an equal one (ignoring ids) is stored; with
// `replace_same_id`, an entry with the id (non-empty) of a stored one
// replaces it instead. Linear: one key per entry, hash lookups.
template <typename T>
void AddAllUnique(const RepeatedPtrField<T>& entries, bool replace_same_id,
                  RepeatedPtrField<T>* stored) {
  absl::flat_hash_map<std::string, int> contents;  // key -> how many stored
  absl::flat_hash_map<std::string, int> by_id;     // id -> index
  for (int i = 0; i < stored->size(); ++i) {
    ++contents[ContentKey(stored->Get(i))];
    if (!stored->Get(i).id().empty()) by_id.emplace(stored->Get(i).id(), i);
  }
  for (const T& entry : entries) {
    std::string key = ContentKey(entry);
    auto same_id = replace_same_id && !entry.id().empty()
                       ? by_id.find(entry.id())
                       : by_id.end();
    if (same_id != by_id.end()) {
      T* old = stored->Mutable(same_id->second);
      if (--contents[ContentKey(*old)] == 0) contents.erase(ContentKey(*old));
      *old = entry;
      ++contents[key];
      continue;
    }
    if (contents.count(key) > 0) continue;
    ++contents[key];
    *stored->Add() = entry;
    if (!entry.id().empty()) by_id.emplace(entry.id(), stored->size() - 1);
  }
}

absl::StatusOr<v1::Allergy> ReadAl1(const Er7Segment& s) {
  v1::Allergy a;
  a.set_id(absl::StrCat("AL1-", SetId(s)));
  *a.mutable_substance() = ReadConcept(s, 3);
  absl::Status required = RequireConcept(a.substance(), s, 3);
  if (!required.ok()) return required;
  a.set_clinical_status("active");
  for (std::string& reaction : ReadRepetitions(s, 5)) {
    a.add_reactions(std::move(reaction));
  }
  absl::StatusOr<std::string> date = ReadDate(s, 6);
  if (!date.ok()) return date.status();
  a.set_recorded_date(*date);
  return a;
}

// IAM-6 (table 0323), IAM-7, IAM-17 (table 0438).
absl::StatusOr<AllergyAction> ReadIam(const Er7Segment& s) {
  AllergyAction action;
  const std::string code = absl::AsciiStrToUpper(s.Get(6));
  if (code.empty()) {
    return Missing(FieldLocation(s, 6), "the allergy action code is missing");
  }
  if (code == "A") {
    action.kind = AllergyAction::Kind::kAdd;
  } else if (code == "D") {
    action.kind = AllergyAction::Kind::kDelete;
  } else if (code == "U") {
    action.kind = AllergyAction::Kind::kUpdate;
  } else if (code == "X") {
    action.kind = AllergyAction::Kind::kNoChange;
  } else {
    return MakeHl7Error(absl::StatusCode::kInvalidArgument,
                        Hl7ErrorCode::kTableValueNotFound, FieldLocation(s, 6),
                        "the allergy action code is not in table 0323");
  }
  action.unique_id = s.Get(7);
  v1::Allergy& a = action.allergy;
  a.set_id(action.unique_id.empty() ? absl::StrCat("IAM-", SetId(s))
                                    : action.unique_id);
  *a.mutable_substance() = ReadConcept(s, 3);
  absl::Status required = RequireConcept(a.substance(), s, 3);
  if (!required.ok()) return required;
  for (std::string& reaction : ReadRepetitions(s, 5)) {
    a.add_reactions(std::move(reaction));
  }
  std::string reason = s.GetRepetitionText(8);
  if (!reason.empty()) a.add_notes(std::move(reason));
  absl::StatusOr<std::string> reported = ReadDate(s, 13);
  if (!reported.ok()) return reported.status();
  absl::StatusOr<std::string> onset = ReadDate(s, 11);
  if (!onset.ok()) return onset.status();
  a.set_recorded_date(!reported->empty() ? *reported : *onset);
  const std::string status = absl::AsciiStrToUpper(s.Get(17));
  a.set_clinical_status(status == "I" ? "inactive" : "active");
  if (status == "C") a.set_verification_status("confirmed");
  if (status == "U" || status == "P" || status == "S") {
    a.set_verification_status("unconfirmed");
  }
  if (status == "E") a.set_verification_status("entered-in-error");
  return action;
}

// DG1; nullopt-like: `keep` false for DG1-21 "D" (deleted).
absl::StatusOr<v1::Condition> ReadDg1(const Er7Segment& s, bool* keep) {
  v1::Condition c;
  const std::string identifier = s.Get(20);
  c.set_id(identifier.empty() ? absl::StrCat("DG1-", SetId(s)) : identifier);
  *c.mutable_code() = ReadConcept(s, 3);
  // DG1-4 (description) is the text when DG1-3 has none.
  const std::string description = s.GetRepetitionText(4);
  if (c.code().text().empty()) c.mutable_code()->set_text(description);
  absl::Status required = RequireConcept(c.code(), s, 3);
  if (!required.ok()) return required;
  absl::StatusOr<std::string> onset = ReadDate(s, 5);
  if (!onset.ok()) return onset.status();
  c.set_onset(*onset);
  c.set_clinical_status("active");
  if (absl::AsciiStrToUpper(s.Get(6)) == "W") {
    c.set_verification_status("provisional");
  }
  *keep = absl::AsciiStrToUpper(s.Get(21)) != "D";
  return c;
}

absl::StatusOr<v1::Procedure> ReadPr1(const Er7Segment& s,
                                      absl::string_view prefix) {
  v1::Procedure p;
  const std::string identifier = s.Get(19);
  p.set_id(identifier.empty() ? absl::StrCat(prefix, "PR1-", SetId(s))
                              : identifier);
  *p.mutable_code() = ReadConcept(s, 3);
  const std::string description = s.GetRepetitionText(4);
  if (p.code().text().empty()) p.mutable_code()->set_text(description);
  absl::Status required = RequireConcept(p.code(), s, 3);
  if (!required.ok()) return required;
  absl::StatusOr<std::string> performed = ReadDate(s, 5);
  if (!performed.ok()) return performed.status();
  p.set_performed(*performed);
  // The areas its name states (no PR1 field holds a body site); none:
  // unknown, which overlaps every planned area.
  std::vector<v1::TreatmentArea> areas =
      AreasNamedInText(ConceptName(p.code()));
  if (areas.empty()) areas = AreasNamedInText(description);
  for (v1::TreatmentArea a : areas) p.add_areas(a);
  p.set_status("completed");
  return p;
}

// OBX; `keep` false for a result status of deleted, wrong or not obtained.
absl::StatusOr<v1::Observation> ReadObx(const Er7Segment& s,
                                        absl::string_view prefix, bool* keep) {
  v1::Observation o;
  o.set_id(absl::StrCat(prefix, "OBX-", s.sequence()));
  *o.mutable_code() = ReadConcept(s, 3);
  absl::Status required = RequireConcept(o.code(), s, 3);
  if (!required.ok()) return required;
  const std::string type = absl::AsciiStrToUpper(s.Get(2));
  if (type == "CE" || type == "CWE" || type == "CNE") {
    *o.mutable_value() = ReadConcept(s, 5);
  } else {
    std::string text = absl::StrJoin(ReadRepetitions(s, 5), ", ");
    const std::string unit = s.Get(6);
    if (!text.empty() && !unit.empty()) absl::StrAppend(&text, " ", unit);
    o.mutable_value()->set_text(std::move(text));
  }
  absl::StatusOr<std::string> effective = ReadDate(s, 14);
  if (!effective.ok()) return effective.status();
  o.set_effective(*effective);
  const std::string status = absl::AsciiStrToUpper(s.Get(11));
  *keep = status != "D" && status != "W" && status != "X";
  return o;
}

// RXE: give code; start from the TQ1 after it, else RXE-1.4.
absl::StatusOr<v1::Medication> ReadRxe(const Er7Message& m, size_t index,
                                       absl::string_view prefix) {
  const Er7Segment& s = m.segments()[index];
  v1::Medication med;
  med.set_id(absl::StrCat(prefix, "RXE-", s.sequence()));
  *med.mutable_code() = ReadConcept(s, 2);
  absl::Status required = RequireConcept(med.code(), s, 2);
  if (!required.ok()) return required;
  med.set_status("active");
  absl::StatusOr<std::string> start = ReadDate(s, 1, 1, 4);
  if (!start.ok()) return start.status();
  for (size_t i = index + 1; i < m.segments().size(); ++i) {
    const Er7Segment& next = m.segments()[i];
    if (next.id() == "RXE" || next.id() == "ORC") break;
    if (next.id() == "TQ1") {
      absl::StatusOr<std::string> tq1 = ReadDate(next, 7);
      if (!tq1.ok()) return tq1.status();
      if (!tq1->empty()) start = *tq1;
      break;
    }
  }
  med.set_start(*start);
  return med;
}

absl::StatusOr<v1::Medication> ReadRxa(const Er7Segment& s,
                                       absl::string_view prefix, bool* keep) {
  v1::Medication med;
  med.set_id(absl::StrCat(prefix, "RXA-", s.sequence()));
  *med.mutable_code() = ReadConcept(s, 5);
  absl::Status required = RequireConcept(med.code(), s, 5);
  if (!required.ok()) return required;
  absl::StatusOr<std::string> start = ReadDate(s, 3);
  if (!start.ok()) return start.status();
  absl::StatusOr<std::string> end = ReadDate(s, 4);
  if (!end.ok()) return end.status();
  med.set_start(*start);
  med.set_end(end->empty() ? *start : *end);
  const std::string completion = absl::AsciiStrToUpper(s.Get(20));
  med.set_status(completion == "RE" || completion == "NA" ? "not-taken"
                                                          : "completed");
  *keep = absl::AsciiStrToUpper(s.Get(21)) != "D";
  return med;
}

// Where an NTE belongs: the segment group it follows.
enum class NoteContext { kNone, kPatient, kAllergy };

// Reads one clinical segment into `u`; `context` tells where an NTE goes.
absl::Status ReadSegment(const Er7Message& m, size_t index,
                         const std::string& prefix, NoteContext* context,
                         PatientUpdate* u) {
  const Er7Segment& s = m.segments()[index];
  const std::string& id = s.id();
  v1::PatientRecord& facts = u->facts;
  bool keep = true;
  if (id == "PD1" || id == "PV1" || id == "PV2") {
    *context = NoteContext::kPatient;
  } else if (id == "NTE") {
    const std::string note = ReadText(s, 3);
    if (note.empty()) return absl::OkStatus();
    if (*context == NoteContext::kAllergy && facts.allergies_size() > 0) {
      facts.mutable_allergies()->rbegin()->add_notes(note);
    } else if (*context == NoteContext::kPatient && MentionsAllergy(note)) {
      v1::Allergy* a = facts.add_allergies();
      a->set_id(absl::StrCat("NTE-", s.sequence()));
      a->mutable_substance()->set_text(note);
      if (fhir::IsNoKnownAllergy(a->substance())) {
        facts.set_no_known_allergies(true);
      }
    } else if (*context == NoteContext::kPatient) {
      ++u->unmapped_notes;
    }
    return absl::OkStatus();
  } else {
    *context = id == "AL1" ? NoteContext::kAllergy : NoteContext::kNone;
  }
  if (id == "AL1") {
    absl::StatusOr<v1::Allergy> a = ReadAl1(s);
    if (!a.ok()) return a.status();
    if (fhir::IsNoKnownAllergy(a->substance())) {
      facts.set_no_known_allergies(true);
    }
    *facts.add_allergies() = *std::move(a);
    u->replaces_allergies = true;
  } else if (id == "IAM") {
    absl::StatusOr<AllergyAction> action = ReadIam(s);
    if (!action.ok()) return action.status();
    u->allergy_actions.push_back(*std::move(action));
  } else if (id == "DG1") {
    absl::StatusOr<v1::Condition> c = ReadDg1(s, &keep);
    if (!c.ok()) return c.status();
    if (keep) *facts.add_conditions() = *std::move(c);
    u->replaces_conditions = true;
  } else if (id == "PR1") {
    absl::StatusOr<v1::Procedure> p = ReadPr1(s, prefix);
    if (!p.ok()) return p.status();
    *facts.add_procedures() = *std::move(p);
  } else if (id == "OBX") {
    absl::StatusOr<v1::Observation> o = ReadObx(s, prefix, &keep);
    if (!o.ok()) return o.status();
    if (!keep) return absl::OkStatus();
    if (fhir::IsFitzpatrickObservation(o->code())) {
      const int type = fhir::FitzpatrickFromValue(o->value());
      if (type != 0) facts.set_fitzpatrick_skin_type(type);
    }
    *facts.add_observations() = *std::move(o);
  } else if (id == "RXE") {
    absl::StatusOr<v1::Medication> med = ReadRxe(m, index, prefix);
    if (!med.ok()) return med.status();
    *facts.add_medications() = *std::move(med);
  } else if (id == "RXA") {
    absl::StatusOr<v1::Medication> med = ReadRxa(s, prefix, &keep);
    if (!med.ok()) return med.status();
    if (keep) *facts.add_medications() = *std::move(med);
  }
  return absl::OkStatus();
}

// Whether two allergens are the same: a shared coding, else equal texts.
bool SameAllergen(const v1::Concept& a, const v1::Concept& b) {
  for (const v1::Coding& x : a.codings()) {
    for (const v1::Coding& y : b.codings()) {
      if (!x.code().empty() && x.system() == y.system() &&
          x.code() == y.code()) {
        return true;
      }
    }
  }
  return !a.text().empty() && absl::EqualsIgnoreCase(a.text(), b.text());
}

void ApplyAllergyAction(const AllergyAction& action, v1::PatientRecord* r) {
  RepeatedPtrField<v1::Allergy>* list = r->mutable_allergies();
  auto matches = [&action](const v1::Allergy& a) {
    return (!action.unique_id.empty() && a.id() == action.unique_id) ||
           SameAllergen(a.substance(), action.allergy.substance());
  };
  if (action.kind == AllergyAction::Kind::kDelete) {
    for (int i = list->size() - 1; i >= 0; --i) {
      if (matches(list->Get(i))) list->DeleteSubrange(i, 1);
    }
    return;
  }
  for (int i = 0; i < list->size(); ++i) {
    v1::Allergy& a = *list->Mutable(i);
    if (!matches(a)) continue;
    if (action.kind == AllergyAction::Kind::kNoChange) return;
    const std::string id = a.id();
    a = action.allergy;
    if (action.unique_id.empty()) a.set_id(id);
    // Every other entry the action names (by its unique id or by the same
    // allergen) is the same allergy recorded twice: one entry stays. Else a
    // message whose actions give one id to two allergens would leave one
    // list the first time and another when it is delivered again.
    for (int j = list->size() - 1; j > i; --j) {
      if (matches(list->Get(j))) list->DeleteSubrange(j, 1);
    }
    return;
  }
  *list->Add() = action.allergy;
  if (!fhir::IsNoKnownAllergy(action.allergy.substance())) {
    r->set_no_known_allergies(false);
  }
}

}  // namespace

std::vector<PatientIdentifier> ReadIdentifiers(const Er7Segment& segment,
                                               int field,
                                               TextEncoding encoding) {
  std::vector<PatientIdentifier> out;
  for (int r = 1; r <= segment.RepetitionCount(field); ++r) {
    PatientIdentifier id;
    id.id = std::string(absl::StripAsciiWhitespace(segment.Get(field, r, 1)));
    if (id.id.empty()) continue;
    std::vector<std::string> hd;
    for (int sub = 1; sub <= 3; ++sub) {
      hd.push_back(segment.Get(field, r, 4, sub));
    }
    while (!hd.empty() && hd.back().empty()) hd.pop_back();
    id.id = ToUtf8(id.id, encoding);
    id.authority = ToUtf8(absl::StrJoin(hd, "&"), encoding);
    id.type = ToUtf8(segment.Get(field, r, 5), encoding);
    bool seen = false;
    for (const PatientIdentifier& o : out) seen = seen || o == id;
    if (!seen) out.push_back(std::move(id));
  }
  return out;
}

absl::StatusOr<PatientUpdate> ReadPatientUpdate(const Er7Message& message) {
  const Er7Segment* pid = message.Find("PID");
  if (pid == nullptr) {
    return Missing(SegmentLocation("PID", 1), "the PID segment is missing");
  }
  PatientUpdate u;
  u.identifiers = ReadIdentifiers(*pid, 3, MessageEncoding(message));
  if (u.identifiers.empty()) {
    return Missing(FieldLocation(*pid, 3),
                   "no patient identifier (PID-3 with CX.1)");
  }
  absl::StatusOr<std::string> birth = ReadDate(*pid, 7);
  if (!birth.ok()) return birth.status();
  u.facts.set_birth_date(birth->substr(0, 10));
  const std::string prefix = absl::StrCat(message.header().control_id, "/");
  NoteContext context = NoteContext::kNone;
  const std::vector<Er7Segment>& segments = message.segments();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i].id() == "PID") {
      // A second PID starts another patient's group (not ours).
      if (&segments[i] != pid) break;
      context = NoteContext::kPatient;
      continue;
    }
    absl::Status status = ReadSegment(message, i, prefix, &context, &u);
    if (!status.ok()) return status;
  }
  const TextEncoding encoding = MessageEncoding(message);
  MakeStringsUtf8(encoding, &u.facts);
  for (AllergyAction& action : u.allergy_actions) {
    action.unique_id = ToUtf8(action.unique_id, encoding);
    MakeStringsUtf8(encoding, &action.allergy);
  }
  return u;
}

void ApplyPatientUpdate(const PatientUpdate& update,
                        v1::PatientRecord* stored) {
  const v1::PatientRecord& facts = update.facts;
  if (!facts.birth_date().empty()) stored->set_birth_date(facts.birth_date());
  if (facts.fitzpatrick_skin_type() != 0) {
    stored->set_fitzpatrick_skin_type(facts.fitzpatrick_skin_type());
  }
  if (update.replaces_allergies) {
    *stored->mutable_allergies() = facts.allergies();
    stored->set_no_known_allergies(facts.no_known_allergies());
  } else {
    // Only allergy notes: added to what is stored.
    AddAllUnique(facts.allergies(), false, stored->mutable_allergies());
    if (facts.no_known_allergies()) stored->set_no_known_allergies(true);
  }
  if (update.replaces_conditions) {
    *stored->mutable_conditions() = facts.conditions();
  } else {
    AddAllUnique(facts.conditions(), false, stored->mutable_conditions());
  }
  AddAllUnique(facts.procedures(), true, stored->mutable_procedures());
  AddAllUnique(facts.medications(), true, stored->mutable_medications());
  AddAllUnique(facts.observations(), true, stored->mutable_observations());
  for (const AllergyAction& action : update.allergy_actions) {
    ApplyAllergyAction(action, stored);
  }
}

absl::StatusOr<std::vector<PatientMerge>> ReadPatientMerges(
    const Er7Message& message) {
  std::vector<PatientMerge> out;
  const TextEncoding encoding = MessageEncoding(message);
  const std::vector<Er7Segment>& segments = message.segments();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i].id() != "PID") continue;
    const Er7Segment& pid = segments[i];
    PatientMerge merge;
    merge.surviving = ReadIdentifiers(pid, 3, encoding);
    if (merge.surviving.empty()) {
      return Missing(FieldLocation(pid, 3),
                     "no patient identifier (PID-3 with CX.1)");
    }
    const Er7Segment* mrg = nullptr;
    for (size_t j = i + 1; j < segments.size() && segments[j].id() != "PID";
         ++j) {
      if (segments[j].id() == "MRG") {
        mrg = &segments[j];
        break;
      }
    }
    if (mrg == nullptr) {
      return MakeHl7Error(absl::StatusCode::kInvalidArgument,
                          Hl7ErrorCode::kSegmentSequenceError,
                          SegmentLocation("PID", pid.sequence()),
                          "no MRG segment follows this PID");
    }
    merge.prior = ReadIdentifiers(*mrg, 1, encoding);
    if (merge.prior.empty()) merge.prior = ReadIdentifiers(*mrg, 4, encoding);
    if (merge.prior.empty()) {
      return Missing(FieldLocation(*mrg, 1),
                     "no prior patient identifier (MRG-1 with CX.1)");
    }
    out.push_back(std::move(merge));
  }
  if (out.empty()) {
    return Missing(SegmentLocation("PID", 1), "the PID segment is missing");
  }
  return out;
}

void MergePatientRecords(const v1::PatientRecord& prior,
                         v1::PatientRecord* surviving) {
  if (surviving->birth_date().empty()) {
    surviving->set_birth_date(prior.birth_date());
  }
  if (surviving->fitzpatrick_skin_type() == 0) {
    surviving->set_fitzpatrick_skin_type(prior.fitzpatrick_skin_type());
  }
  AddAllUnique(prior.allergies(), false, surviving->mutable_allergies());
  AddAllUnique(prior.conditions(), false, surviving->mutable_conditions());
  AddAllUnique(prior.procedures(), false, surviving->mutable_procedures());
  AddAllUnique(prior.medications(), false, surviving->mutable_medications());
  AddAllUnique(prior.observations(), false, surviving->mutable_observations());
  bool nka = surviving->no_known_allergies() || prior.no_known_allergies();
  for (const v1::Allergy& a : surviving->allergies()) {
    if (!fhir::IsNoKnownAllergy(a.substance())) nka = false;
  }
  surviving->set_no_known_allergies(nka);
}

}  // namespace needlecheck::hl7v2
