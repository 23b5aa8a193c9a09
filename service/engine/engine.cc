#include "service/engine/engine.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/engine/alert_text.h"
#include "service/engine/as_of.h"
#include "service/engine/internal/session_history.h"

namespace needlecheck::engine {
namespace {

using kb::ConceptMatch;
using kb::KnowledgeBase;
using v1::Alert;
using v1::Severity;

constexpr size_t kMaxSummaryChars = 140;

// The name a clinician knows an entry by: its text, else a display, else
// the code.
absl::string_view ConceptName(const v1::Concept& c) {
  if (!c.text().empty()) return c.text();
  for (const auto& coding : c.codings()) {
    if (!coding.display().empty()) return coding.display();
  }
  for (const auto& coding : c.codings()) {
    if (!coding.code().empty()) return coding.code();
  }
  return "(unnamed)";
}

// How a text mention was read, for the finding: "" for a code or a plain
// mention.
std::string ReadingNote(const ConceptMatch::Hit& hit) {
  if (hit.coding != nullptr) return "";
  std::string note;
  if (hit.judged_unlikely()) note = "judged unlikely in the record";
  if (hit.historical()) {
    absl::StrAppend(&note, note.empty() ? "" : ", ", "historical mention");
  }
  return note;
}

// Probable negation ("unlikely") fires at most at WARNING.
Severity CapForReading(Severity s, const ConceptMatch::Hit& hit) {
  return hit.judged_unlikely() ? std::min(s, v1::SEVERITY_WARNING) : s;
}

}  // namespace

namespace {

// Whether some entry whose value_set_bits are in `bits` may be in value set
// `vs`.
bool MayHave(uint64_t bits, kb::ValueSetIndex vs) {
  return vs >= 0 && (bits & ConceptMatch::ValueSetBit(vs)) != 0;
}

// One entry of the record: its classification, and its dates, read when a
// rule first asks (most entries match no rule, and their dates are never
// read).
// Kept in a cache, an entry's slot remembers the date strings it last
// parsed: the same patient screened again compares them instead of parsing.
template <typename Dates>
struct Classified {
  ConceptMatch match;
  Dates dates;
  bool dates_read = false;
  bool keep_dates = false;  // memos are used (the slot outlives the call)
  DateMemo memos[2];

  template <typename Entry>
  const Dates& DatesFor(const Entry& entry) {
    if (!dates_read) {
      dates = DatesOf(entry, keep_dates ? memos : nullptr);
      dates_read = true;
    }
    return dates;
  }
  template <typename Entry>
  void Reset(const KnowledgeBase& kb, const v1::Concept& concept,
             kb::TextClassificationCache* texts) {
    kb.ClassifyConcept(concept, &match, texts);
    dates_read = false;
    keep_dates = texts != nullptr;
  }
};

struct ClassifiedAllergy : Classified<AllergyDates> {
  bool is_nka = false;
};

struct ClassifiedObservation : Classified<ParsedDate> {
  ConceptMatch value;  // classified when a rule first asks
  bool value_read = false;
};

// What evaluating one rule collects before it becomes an alert. Strings
// the alert copies anyway (labels, entry ids) are views into the knowledge
// base and the record; the findings are written into one string as they are
// found.
struct Firing {
  // The alert lists the first kShownFindings findings, then a count.
  static constexpr size_t kShownFindings = 5;
  struct Proof {
    absl::string_view entry_id;
    std::string matched_text;
  };

  Severity severity = v1::SEVERITY_UNSPECIFIED;
  std::vector<Proof> evidence;
  absl::InlinedVector<absl::string_view, 4> labels;  // distinct labels
  std::string findings;        // human-readable, the first kShownFindings
  size_t finding_count = 0;    // one per evidence
  std::string hidden_finding;  // where findings past those are written
  // Extra template values (names are literals).
  std::vector<std::pair<absl::string_view, std::string>> values;

  bool fired() const { return severity != v1::SEVERITY_UNSPECIFIED; }
  // Empty again, keeping the buffers' capacity for the next rule.
  void Clear() {
    severity = v1::SEVERITY_UNSPECIFIED;
    evidence.clear();
    labels.clear();
    findings.clear();
    finding_count = 0;
    values.clear();
  }
  void Raise(Severity s) { severity = std::max(severity, s); }
  void AddLabel(absl::string_view label) {
    if (std::find(labels.begin(), labels.end(), label) == labels.end()) {
      labels.push_back(label);
    }
  }
  bool HasEvidence(absl::string_view entry_id) const {
    for (const auto& e : evidence) {
      if (!entry_id.empty() && e.entry_id == entry_id) return true;
    }
    return false;
  }
  bool HasProof(absl::string_view entry_id,
                absl::string_view matched_text) const {
    for (const auto& e : evidence) {
      if (e.entry_id == entry_id && e.matched_text == matched_text) {
        return true;
      }
    }
    return false;
  }
  // Adds evidence and returns the string its finding is to be appended to.
  std::string* AddEvidence(absl::string_view entry_id,
                           std::string matched_text) {
    evidence.push_back(Proof{entry_id, std::move(matched_text)});
    if (finding_count++ >= kShownFindings) {
      hidden_finding.clear();
      return &hidden_finding;
    }
    if (finding_count > 1) findings += "; ";
    return &findings;
  }
};

}  // namespace

namespace internal {

// Every entry of the record, classified once against the knowledge base.
// Kept in an EvaluationCache between evaluations so that its buffers are
// reused.
struct EvaluationScratch {
  std::vector<Classified<ConditionDates>> conditions;
  // Substance, notes and reactions.
  std::vector<ClassifiedAllergy> allergies;
  std::vector<Classified<MedicationDates>> medications;
  std::vector<Classified<ProcedureDates>> procedures;
  std::vector<std::optional<DayNumber>> session_days;  // SessionDay
  std::vector<ClassifiedObservation> observations;
  // Per kind of entry, the union of its entries' value_set_bits: a rule
  // asking for a value set no entry of that kind holds skips them all.
  uint64_t condition_bits = 0;
  uint64_t allergy_bits = 0;
  uint64_t medication_bits = 0;
  uint64_t procedure_bits = 0;
  uint64_t observation_bits = 0;
  // Working buffers of single rules.
  std::vector<PreviousSession> previous_sessions;
  std::vector<ConceptMatch> condition_texts;
  // What the rules collect, reused rule after rule and call after call.
  std::vector<Firing> firings;
  // The fired rules: (rule index, index into firings).
  std::vector<std::pair<int, size_t>> fired;
  // The evaluation date as alerts print it, for date_day.
  std::optional<DayNumber> date_day;
  std::string date_text;
  // The thresholds as alerts print them, for the values in `thresholds`.
  std::optional<std::tuple<double, double, int>> thresholds;
  std::string min_depth_text, max_depth_text, interval_days_text;
  // The labels of the alert being built, joined ("{labels}").
  std::string labels_text;

  void Classify(const KnowledgeBase& kb, const v1::PatientRecord& r,
                kb::TextClassificationCache* texts) {
    conditions.resize(r.conditions_size());
    condition_bits = 0;
    for (int i = 0; i < r.conditions_size(); ++i) {
      conditions[i].Reset<v1::Condition>(kb, r.conditions(i).code(), texts);
      condition_bits |= conditions[i].match.value_set_bits;
    }
    allergies.resize(r.allergies_size());
    allergy_bits = 0;
    for (int i = 0; i < r.allergies_size(); ++i) {
      const v1::Allergy& a = r.allergies(i);
      ClassifiedAllergy& c = allergies[i];
      c.Reset<v1::Allergy>(kb, a.substance(), texts);
      ConceptMatch& m = c.match;
      c.is_nka = m.FindValueSet(kb.no_known_allergy_value_set()) != nullptr;
      // The substance text can name what a generic code ("Allergy to drug")
      // does not.
      if (m.coded) kb.ClassifyText(a.substance().text(), &m, texts);
      for (const std::string& note : a.notes())
        kb.ClassifyText(note, &m, texts);
      for (const std::string& reaction : a.reactions())
        kb.ClassifyText(reaction, &m, texts);
      allergy_bits |= m.value_set_bits;
    }
    medications.resize(r.medications_size());
    medication_bits = 0;
    for (int i = 0; i < r.medications_size(); ++i) {
      medications[i].Reset<v1::Medication>(kb, r.medications(i).code(), texts);
      medication_bits |= medications[i].match.value_set_bits;
    }
    procedures.resize(r.procedures_size());
    session_days.resize(r.procedures_size());
    procedure_bits = 0;
    for (int i = 0; i < r.procedures_size(); ++i) {
      const v1::Procedure& p = r.procedures(i);
      procedures[i].Reset<v1::Procedure>(kb, p.code(), texts);
      procedure_bits |= procedures[i].match.value_set_bits;
      session_days[i] = procedures[i].match.FindValueSet(
                            kb.microneedling_value_set()) != nullptr
                            ? ProcedureLastDay(p, procedures[i].DatesFor(p))
                            : std::nullopt;
    }
    observations.resize(r.observations_size());
    observation_bits = 0;
    for (int i = 0; i < r.observations_size(); ++i) {
      observations[i].Reset<v1::Observation>(kb, r.observations(i).code(),
                                             texts);
      observation_bits |= observations[i].match.value_set_bits;
      observations[i].value_read = false;
    }
  }
};

}  // namespace internal

namespace {

using internal::EvaluationScratch;

class Evaluator {
 public:
  Evaluator(const KnowledgeBase& kb, const v1::PatientRecord& record,
            const v1::PlannedSession& session, DayNumber t,
            kb::TextClassificationCache* texts, EvaluationScratch& scratch)
      : kb_(kb),
        record_(record),
        session_(session),
        t_(t),
        texts_(texts),
        classified_(scratch) {
    classified_.Classify(kb, record, texts);
  }

  // Appends the alerts to `out`.
  void Run(google::protobuf::RepeatedPtrField<Alert>* out) {
    // The fired rules, by index, then their alerts in the final order
    // (severity, then rule id), built in place.
    std::vector<Firing>& firings = classified_.firings;
    std::vector<std::pair<int, size_t>>& fired = classified_.fired;
    fired.clear();
    size_t used = 0;
    const auto& rules = kb_.definition().rules();
    for (int r = 0; r < rules.size(); ++r) {
      const v1::RuleDefinition& rule = rules[r];
      if (!rule.enabled()) continue;
      if (!rule.requires_planned_areas().empty() && !PlansAnyArea(rule))
        continue;
      if (used == firings.size()) firings.emplace_back();
      Firing& firing = firings[used];
      firing.Clear();
      switch (rule.kind()) {
        case v1::RULE_KIND_CRITERIA:
          for (int k = 0; k < rule.criteria_size(); ++k) {
            EvaluateCriterion(rule, rule.criteria(k),
                              kb_.compiled_criterion(r, k), &firing);
          }
          break;
        case v1::RULE_KIND_ANESTHETIC_ALLERGY:
          EvaluateAnestheticAllergy(&firing);
          break;
        case v1::RULE_KIND_ALLERGY_UNDOCUMENTED:
          EvaluateAllergyUndocumented(rule, &firing);
          break;
        case v1::RULE_KIND_SESSION_INTERVAL:
          EvaluateSessionInterval(rule, &firing);
          break;
        case v1::RULE_KIND_EYE_DEPTH:
          EvaluateEyeDepth(rule, &firing);
          break;
        case v1::RULE_KIND_EYE_DEPTH_MISSING:
          EvaluateEyeDepthMissing(rule, &firing);
          break;
        case v1::RULE_KIND_SKIN_TYPE_MISSING:
          EvaluateSkinTypeMissing(rule, &firing);
          break;
        case v1::RULE_KIND_MAINTENANCE_WINDOW:  // the recommended window
        default:
          break;
      }
      if (firing.fired()) fired.emplace_back(r, used++);
    }
    std::stable_sort(fired.begin(), fired.end(),
                     [&](const auto& a, const auto& b) {
                       const Severity sa = firings[a.second].severity;
                       const Severity sb = firings[b.second].severity;
                       if (sa != sb) return sa > sb;
                       return rules[a.first].id() < rules[b.first].id();
                     });
    if (!fired.empty()) {
      out->Reserve(out->size() + static_cast<int>(fired.size()));
      // Values every alert's texts may use, formatted once.
      const v1::Thresholds& th = kb_.thresholds();
      if (classified_.date_day != t_) {
        classified_.date_text = FormatDay(t_);
        classified_.date_day = t_;
      }
      const std::string& date = classified_.date_text;
      const std::tuple<double, double, int> thresholds(
          th.eye_min_depth_mm(), th.eye_max_depth_mm(), th.min_interval_days());
      if (classified_.thresholds != thresholds) {
        classified_.min_depth_text = FormatMm(th.eye_min_depth_mm());
        classified_.max_depth_text = FormatMm(th.eye_max_depth_mm());
        classified_.interval_days_text = absl::StrCat(th.min_interval_days());
        classified_.thresholds = thresholds;
      }
      const std::string& min_depth = classified_.min_depth_text;
      const std::string& max_depth = classified_.max_depth_text;
      const std::string& interval_days = classified_.interval_days_text;
      const CommonValues common{date, min_depth, max_depth, interval_days};
      for (size_t i = 0; i < fired.size(); ++i) {
        MakeAlert(rules[fired[i].first], firings[fired[i].second], common,
                  out->Add());
      }
    }
  }

 private:
  // Areas ------------------------------------------------------------------
  bool PlansArea(v1::TreatmentArea area) const {
    for (const auto& a : session_.areas()) {
      if (a.area() == area) return true;
    }
    return false;
  }
  bool PlansAnyArea(const v1::RuleDefinition& rule) const {
    for (int area : rule.requires_planned_areas()) {
      if (PlansArea(static_cast<v1::TreatmentArea>(area))) return true;
    }
    return false;
  }

  // Criteria ---------------------------------------------------------------
  static Severity CriterionSeverity(const v1::RuleDefinition& rule,
                                    const v1::Criterion& c) {
    return c.severity() != v1::SEVERITY_UNSPECIFIED ? c.severity()
                                                    : rule.severity();
  }

  // Records a match of criterion `c`; `write(std::string*)` appends its
  // finding, called only when the entry is new evidence.
  template <typename WriteFinding>
  void Matched(const v1::RuleDefinition& rule, const v1::Criterion& c,
               absl::string_view entry_id, const ConceptMatch::Hit& hit,
               Firing* f, WriteFinding&& write) {
    f->Raise(CapForReading(CriterionSeverity(rule, c), hit));
    f->AddLabel(c.label());
    if (f->HasEvidence(entry_id)) return;
    std::string* finding = f->AddEvidence(entry_id, hit.EvidenceText());
    write(finding);
    const std::string note = ReadingNote(hit);
    if (!note.empty()) absl::StrAppend(finding, " [", note, "]");
  }

  void EvaluateCriterion(const v1::RuleDefinition& rule, const v1::Criterion& c,
                         const kb::CompiledCriterion& compiled, Firing* f) {
    const kb::ValueSetIndex vs = compiled.value_set;
    switch (c.source()) {
      case v1::ENTRY_SOURCE_CONDITION:
        if (!MayHave(classified_.condition_bits, vs)) break;
        for (int i = 0; i < record_.conditions_size(); ++i) {
          const ConceptMatch::Hit* hit =
              classified_.conditions[i].match.FindValueSet(vs);
          if (hit == nullptr) continue;
          const v1::Condition& cond = record_.conditions(i);
          // A text-only historical mention ("history of acne") is a past
          // condition whatever its status says.
          const ConditionDates& dates =
              classified_.conditions[i].DatesFor(cond);
          const bool active =
              ConditionActiveAt(cond, dates, t_) && !hit->historical();
          bool counts = false;
          switch (c.temporal()) {
            case v1::TEMPORAL_ACTIVE:
              counts = active;
              break;
            case v1::TEMPORAL_EVER:
              counts = ConditionBegunBy(cond, dates, t_);
              break;
            case v1::TEMPORAL_EVER_NOT_ACTIVE:
              counts = ConditionBegunBy(cond, dates, t_) && !active;
              break;
            default:
              break;
          }
          if (!counts) continue;
          Matched(rule, c, cond.id(), *hit, f, [&](std::string* finding) {
            absl::StrAppend(finding, ConceptName(cond.code()), " (", c.label(),
                            "; condition ", cond.id());
            if (!cond.onset().empty())
              absl::StrAppend(finding, ", onset ", cond.onset());
            if (!cond.abatement().empty()) {
              absl::StrAppend(finding, ", abated ", cond.abatement());
            }
            if (!cond.clinical_status().empty()) {
              absl::StrAppend(finding, ", status ", cond.clinical_status());
            }
            finding->push_back(')');
          });
        }
        break;
      case v1::ENTRY_SOURCE_MEDICATION:
        if (!MayHave(classified_.medication_bits, vs)) break;
        for (int i = 0; i < record_.medications_size(); ++i) {
          const ConceptMatch::Hit* hit =
              classified_.medications[i].match.FindValueSet(vs);
          if (hit == nullptr) continue;
          const v1::Medication& m = record_.medications(i);
          const MedicationDates& dates = classified_.medications[i].DatesFor(m);
          const bool counts =
              c.temporal() == v1::TEMPORAL_EVER
                  ? MedicationBegunBy(m, dates, t_)
                  : MedicationActiveAt(m, dates, t_, c.lookback_days());
          if (!counts) continue;
          Matched(rule, c, m.id(), *hit, f, [&](std::string* finding) {
            absl::StrAppend(finding, ConceptName(m.code()), " (medication ",
                            m.id());
            if (!m.start().empty())
              absl::StrAppend(finding, ", from ", m.start());
            if (!m.end().empty()) absl::StrAppend(finding, " to ", m.end());
            if (!m.status().empty())
              absl::StrAppend(finding, ", status ", m.status());
            finding->push_back(')');
          });
        }
        break;
      case v1::ENTRY_SOURCE_PROCEDURE:
        if (!MayHave(classified_.procedure_bits, vs)) break;
        for (int i = 0; i < record_.procedures_size(); ++i) {
          const ConceptMatch::Hit* hit =
              classified_.procedures[i].match.FindValueSet(vs);
          if (hit == nullptr) continue;
          const v1::Procedure& p = record_.procedures(i);
          const int lookback =
              c.temporal() == v1::TEMPORAL_EVER ? 0 : c.lookback_days();
          if (!ProcedurePerformedBy(p, classified_.procedures[i].DatesFor(p),
                                    t_, lookback)) {
            continue;
          }
          Matched(rule, c, p.id(), *hit, f, [&](std::string* finding) {
            absl::StrAppend(finding, ConceptName(p.code()), " (procedure ",
                            p.id(), p.performed().empty() ? "" : ", performed ",
                            p.performed(), ")");
          });
        }
        break;
      case v1::ENTRY_SOURCE_ALLERGY:
        if (!MayHave(classified_.allergy_bits, vs)) break;
        for (int i = 0; i < record_.allergies_size(); ++i) {
          if (classified_.allergies[i].is_nka) continue;
          const ConceptMatch::Hit* hit =
              classified_.allergies[i].match.FindValueSet(vs);
          if (hit == nullptr) continue;
          const v1::Allergy& a = record_.allergies(i);
          if (!AllergyActiveAt(a, classified_.allergies[i].DatesFor(a), t_))
            continue;
          Matched(rule, c, a.id(), *hit, f, [&](std::string* finding) {
            absl::StrAppend(
                finding, "allergy to ", c.label(), ": \"",
                hit->coding ? ConceptName(a.substance()) : hit->span,
                "\" (allergy ", a.id(), ")");
          });
        }
        break;
      case v1::ENTRY_SOURCE_OBSERVATION:
        EvaluateObservationCriterion(rule, c, vs, compiled.value_value_set, f);
        break;
      case v1::ENTRY_SOURCE_SKIN_TYPE: {
        auto [type, entry_id, text] = SkinType();
        if (type >= c.min_skin_type()) {
          static constexpr const char* kRoman[] = {"",   "I", "II", "III",
                                                   "IV", "V", "VI"};
          f->Raise(CriterionSeverity(rule, c));
          f->AddLabel(c.label());
          std::string* finding = f->AddEvidence(entry_id, std::move(text));
          absl::StrAppend(finding, "Fitzpatrick skin type ", kRoman[type]);
          if (entry_id.empty()) {
            absl::StrAppend(finding, " (record)");
          } else {
            absl::StrAppend(finding, " (observation ", entry_id, ")");
          }
        }
        break;
      }
      default:
        break;
    }
  }

  // The latest observation of value set `vs` on or before T; -1 if none.
  // Undated observations rank below dated ones and are used only when
  // max_age_days is 0.
  int LatestObservation(kb::ValueSetIndex vs, int max_age_days) const {
    int best = -1;
    if (!MayHave(classified_.observation_bits, vs)) return best;
    std::optional<DayNumber> best_day;
    for (int i = 0; i < record_.observations_size(); ++i) {
      if (classified_.observations[i].match.FindValueSet(vs) == nullptr)
        continue;
      const ParsedDate& effective =
          classified_.observations[i].DatesFor(record_.observations(i));
      const std::optional<FhirDate>& when = effective.date;
      if (effective.given && !when.has_value()) continue;
      if (when.has_value()) {
        if (when->first_day > t_) continue;
        if (max_age_days > 0 && t_ - when->last_day > max_age_days) continue;
        if (!best_day.has_value() || when->last_day >= *best_day) {
          best = i;
          best_day = when->last_day;
        }
      } else if (max_age_days == 0 && best == -1) {
        best = i;
      }
    }
    return best;
  }

  void EvaluateObservationCriterion(const v1::RuleDefinition& rule,
                                    const v1::Criterion& c,
                                    kb::ValueSetIndex vs,
                                    kb::ValueSetIndex value_vs, Firing* f) {
    const int i = LatestObservation(vs, c.max_age_days());
    if (i < 0) return;
    const v1::Observation& o = record_.observations(i);
    const ConceptMatch::Hit* hit = ObservationValue(i).FindValueSet(value_vs);
    if (hit == nullptr) return;
    Matched(rule, c, o.id(), *hit, f, [&](std::string* finding) {
      absl::StrAppend(finding, ConceptName(o.code()), ": ",
                      ConceptName(o.value()), " (observation ", o.id(),
                      o.effective().empty() ? "" : ", ", o.effective(), ")");
    });
  }

  // Skin type ----------------------------------------------------------------
  struct SkinTypeFact {
    int type = 0;                // 1-6, 0 unknown
    absl::string_view entry_id;  // observation id, empty for the record field
    std::string text;            // evidence text
  };

  SkinTypeFact SkinType() {
    SkinTypeFact fact;
    if (record_.fitzpatrick_skin_type() >= 1 &&
        record_.fitzpatrick_skin_type() <= 6) {
      fact.type = record_.fitzpatrick_skin_type();
      fact.text = absl::StrCat("fitzpatrick_skin_type: ", fact.type);
      return fact;
    }
    const int i = LatestObservation(kb_.fitzpatrick_observation_value_set(), 0);
    if (i < 0) return fact;
    const v1::Observation& o = record_.observations(i);
    const ConceptMatch& value = ObservationValue(i);
    const auto& types = kb_.fitzpatrick_type_value_sets();
    for (int type = 6; type >= 1 && fact.type == 0; --type) {
      if (const ConceptMatch::Hit* hit = value.FindValueSet(types[type - 1])) {
        fact.type = type;
        fact.entry_id = o.id();
        fact.text = hit->EvidenceText();
      }
    }
    return fact;
  }

  void EvaluateSkinTypeMissing(const v1::RuleDefinition& rule, Firing* f) {
    if (record_.fitzpatrick_skin_type() != 0) return;
    if (LatestObservation(kb_.fitzpatrick_observation_value_set(), 0) >= 0)
      return;
    f->Raise(rule.severity());
  }

  // Allergies
  // ------------------------------------------------------------------
  void EvaluateAllergyUndocumented(const v1::RuleDefinition& rule, Firing* f) {
    if (record_.no_known_allergies()) return;
    for (int i = 0; i < record_.allergies_size(); ++i) {
      const v1::Allergy& a = record_.allergies(i);
      if (AllergyRecordedBy(a, classified_.allergies[i].DatesFor(a), t_)) {
        return;
      }
    }
    f->Raise(rule.severity());
  }

  // One anesthetic an allergy names: an agent, or -1 for unknown class.
  struct Allergen {
    int32_t agent = -1;
    absl::string_view entry_id;
    std::string evidence_text;
    absl::string_view name;                  // what the clinician wrote
    const ConceptMatch::Hit* hit = nullptr;  // how it was read
  };

  void CollectAllergens(const ConceptMatch& m, absl::string_view entry_id,
                        absl::InlinedVector<Allergen, 8>* out) const {
    for (const auto& hit : m.agents) {
      out->push_back({hit.index, entry_id, hit.EvidenceText(),
                      hit.coding
                          ? absl::string_view(kb_.agents()[hit.index].name)
                          : hit.span,
                      &hit});
    }
    for (const auto& hit : m.generic_anesthetic) {
      out->push_back({-1, entry_id, hit.EvidenceText(),
                      hit.coding
                          ? absl::string_view(hit.coding->display().empty()
                                                  ? hit.coding->code()
                                                  : hit.coding->display())
                          : hit.span,
                      &hit});
    }
  }

  absl::string_view ClassName(int32_t agent) const {
    if (agent < 0) return "unknown class";
    const kb::AnestheticAgent& a = kb_.agents()[agent];
    if (a.amide && a.ester) return "ester and amide";
    return a.ester ? "ester" : "amide";
  }

  void EvaluateAnestheticAllergy(Firing* f) {
    absl::InlinedVector<Allergen, 8> allergens;
    for (int i = 0; i < record_.allergies_size(); ++i) {
      if (classified_.allergies[i].is_nka) continue;
      const v1::Allergy& a = record_.allergies(i);
      if (!AllergyActiveAt(a, classified_.allergies[i].DatesFor(a), t_)) {
        continue;
      }
      CollectAllergens(classified_.allergies[i].match,
                       record_.allergies(i).id(), &allergens);
    }
    // Allergy findings among the conditions ("Allergy to local anesthetic"),
    // active at T; a coded one that names no anesthetic is read by its text.
    const kb::ValueSetIndex allergy_finding = kb_.allergy_finding_value_set();
    auto finding_at = [&](int i) {
      return classified_.conditions[i].match.FindValueSet(allergy_finding) !=
                 nullptr &&
             ConditionActiveAt(
                 record_.conditions(i),
                 classified_.conditions[i].DatesFor(record_.conditions(i)), t_);
    };
    auto read_by_text = [](const ConceptMatch& m) {
      return m.coded && m.agents.empty() && m.generic_anesthetic.empty();
    };
    // Allergens found in condition texts point into these matches, so the
    // buffer is sized before the first is made.
    size_t texts_needed = 0;
    for (int i = 0; i < record_.conditions_size(); ++i) {
      if (finding_at(i) && read_by_text(classified_.conditions[i].match)) {
        ++texts_needed;
      }
    }
    std::vector<ConceptMatch>& condition_texts = classified_.condition_texts;
    if (condition_texts.size() < texts_needed) {
      condition_texts.resize(texts_needed);
    }
    size_t texts_used = 0;
    for (int i = 0; i < record_.conditions_size(); ++i) {
      if (!finding_at(i)) continue;
      const ConceptMatch& m = classified_.conditions[i].match;
      const v1::Condition& cond = record_.conditions(i);
      if (read_by_text(m)) {
        ConceptMatch& text = condition_texts[texts_used++];
        text.Clear();
        kb_.ClassifyText(cond.code().text(), &text, texts_);
        CollectAllergens(text, cond.id(), &allergens);
      } else {
        CollectAllergens(m, cond.id(), &allergens);
      }
    }
    if (allergens.empty()) return;

    // The planned anesthetic.
    ConceptMatch planned_match;
    kb_.ClassifyConcept(session_.anesthetic(), &planned_match, texts_);
    const bool planned_given = !session_.anesthetic().text().empty() ||
                               !session_.anesthetic().codings().empty();
    absl::InlinedVector<int32_t, 8> planned_components;
    bool planned_amide = false, planned_ester = false;
    absl::InlinedVector<absl::string_view, 2> planned_names;
    for (const auto& hit : planned_match.agents) {
      const kb::AnestheticAgent& a = kb_.agents()[hit.index];
      planned_amide |= a.amide;
      planned_ester |= a.ester;
      planned_components.insert(planned_components.end(), a.components.begin(),
                                a.components.end());
      if (std::find(planned_names.begin(), planned_names.end(), a.name) ==
          planned_names.end()) {
        planned_names.push_back(a.name);
      }
    }
    const bool planned_known = !planned_components.empty();
    std::string planned_text =
        !planned_given  ? "none planned"
        : planned_known ? absl::StrJoin(planned_names, " + ")
                        : std::string(ConceptName(session_.anesthetic()));

    bool any_allergen_amide = false, any_allergen_ester = false,
         any_generic = false;
    absl::InlinedVector<absl::string_view, 4> allergen_names;
    for (const Allergen& al : allergens) {
      Severity s;
      absl::string_view why;
      const absl::string_view cls = ClassName(al.agent);
      if (al.agent < 0) {
        any_generic = true;
        s = v1::SEVERITY_WARNING;
        why = planned_given ? "the allergy does not name the anesthetic, so it "
                              "may be the planned one"
                            : "no anesthetic is planned yet; any numbing cream "
                              "may be involved";
      } else {
        const kb::AnestheticAgent& a = kb_.agents()[al.agent];
        any_allergen_amide |= a.amide;
        any_allergen_ester |= a.ester;
        bool contains = false;
        for (int32_t c : a.components) {
          contains |=
              std::find(planned_components.begin(), planned_components.end(),
                        c) != planned_components.end();
        }
        if (!planned_given) {
          s = v1::SEVERITY_WARNING;
          why = "no anesthetic is planned yet: avoid this one";
        } else if (!planned_known) {
          s = v1::SEVERITY_WARNING;
          why = "the planned anesthetic's class is unknown";
        } else if (contains) {
          s = v1::SEVERITY_CRITICAL;
          why = "the planned anesthetic contains the allergen";
        } else if (a.ester && planned_ester) {
          s = v1::SEVERITY_CRITICAL;
          why = "ester anesthetics cross-react (para-aminobenzoic acid)";
        } else if (a.amide && planned_amide) {
          s = v1::SEVERITY_WARNING;
          why = "amide anesthetics rarely cross-react";
        } else {
          s = v1::SEVERITY_INFO;
          why = "ester and amide anesthetics do not usually cross-react";
        }
      }
      s = CapForReading(s, *al.hit);
      const absl::string_view unlikely =
          al.hit->judged_unlikely() ? "; judged unlikely in the record" : "";
      const absl::string_view historical =
          al.hit->historical()
              ? "; a historical mention (allergies do not expire)"
              : "";
      f->Raise(s);
      if (std::find(allergen_names.begin(), allergen_names.end(), al.name) ==
          allergen_names.end()) {
        allergen_names.push_back(al.name);
      }
      // Identical evidence (the same span found twice) is listed once.
      if ((!f->HasEvidence(al.entry_id) || al.agent >= 0) &&
          !f->HasProof(al.entry_id, al.evidence_text)) {
        absl::StrAppend(f->AddEvidence(al.entry_id, al.evidence_text), "\"",
                        al.name, "\" (", cls, "; allergy entry ", al.entry_id,
                        ") vs planned ", planned_text, ": ", why, unlikely,
                        historical, ".");
      }
    }

    f->values.emplace_back("allergen", absl::StrJoin(allergen_names, ", "));
    f->values.emplace_back("planned", planned_text);
    // An alternative class exists only when every allergen has a known class
    // and they are all of one class.
    std::string alternative;
    if (!any_generic && any_allergen_ester != any_allergen_amide) {
      alternative = any_allergen_ester ? ExampleOfClass(/*ester=*/false)
                                       : ExampleOfClass(/*ester=*/true);
    }
    f->values.emplace_back("alternative", alternative);
  }

  // "an amide-class anesthetic (e.g. lidocaine)".
  std::string ExampleOfClass(bool ester) const {
    for (const kb::AnestheticAgent& a : kb_.agents()) {
      if (a.components.size() == 1 && a.ester == ester && a.amide == !ester) {
        return absl::StrCat(ester ? "an ester" : "an amide",
                            "-class anesthetic (e.g. ", a.name, ")",
                            ester ? " after allergist review" : "");
      }
    }
    return "";
  }

  // Sessions ---------------------------------------------------------------
  void EvaluateSessionInterval(const v1::RuleDefinition& rule, Firing* f) {
    const int min_days = kb_.thresholds().min_interval_days();
    const kb::ValueSetIndex mn = kb_.microneedling_value_set();
    std::optional<DayNumber> last;
    std::vector<int> within;
    // Previous sessions: strictly before T, on an overlapping area.
    internal::PreviousSessions(record_, classified_.session_days, session_, t_,
                               &classified_.previous_sessions);
    for (const internal::PreviousSession& previous :
         classified_.previous_sessions) {
      if (t_ - previous.day >= min_days) continue;
      within.push_back(previous.procedure_index);
      if (!last.has_value() || previous.day > *last) last = previous.day;
    }
    if (!last.has_value()) return;
    f->Raise(rule.severity());
    for (int i : within) {
      const v1::Procedure& p = record_.procedures(i);
      const ConceptMatch::Hit* hit =
          classified_.procedures[i].match.FindValueSet(mn);
      absl::StrAppend(f->AddEvidence(p.id(), hit->EvidenceText()),
                      ConceptName(p.code()), " on ", p.performed(),
                      " (procedure ", p.id(), ")");
    }
    f->values.emplace_back("last_date", FormatDay(*last));
    f->values.emplace_back("days", absl::StrCat(t_ - *last));
    f->values.emplace_back("earliest_date", FormatDay(*last + min_days));
    f->values.emplace_back("interval_days", absl::StrCat(min_days));
  }

  // Technique --------------------------------------------------------------
  void EvaluateEyeDepth(const v1::RuleDefinition& rule, Firing* f) {
    const double max_depth = kb_.thresholds().eye_max_depth_mm();
    double deepest = 0;
    for (const auto& a : session_.areas()) {
      if (a.area() == v1::TREATMENT_AREA_PERIORBITAL &&
          a.needle_depth_mm() > deepest) {
        deepest = a.needle_depth_mm();
      }
    }
    if (deepest <= max_depth + 1e-9) return;
    f->Raise(rule.severity());
    const std::string depth = FormatMm(deepest);
    absl::StrAppend(
        f->AddEvidence("", absl::StrCat("periorbital:", depth, " mm")),
        "periorbital area planned at ", depth, " mm");
    f->values.emplace_back("depth", depth);
  }

  void EvaluateEyeDepthMissing(const v1::RuleDefinition& rule, Firing* f) {
    for (const auto& a : session_.areas()) {
      if (a.area() == v1::TREATMENT_AREA_PERIORBITAL &&
          a.needle_depth_mm() <= 0) {
        f->Raise(rule.severity());
        absl::StrAppend(f->AddEvidence("", "periorbital"),
                        "periorbital area planned without a depth");
        return;
      }
    }
  }

  static std::string FormatMm(double mm) {
    std::string s = absl::StrCat(mm);
    return s;
  }

  // Alert assembly ---------------------------------------------------------
  struct CommonValues {
    absl::string_view date, min_depth, max_depth, interval_days;
  };

  void MakeAlert(const v1::RuleDefinition& rule, Firing& f,
                 const CommonValues& common, Alert* alert) const {
    std::string& labels = classified_.labels_text;
    labels.clear();
    for (size_t i = 0; i < f.labels.size(); ++i) {
      if (i > 0) labels += ", ";  // as absl::StrJoin(f.labels, ", ")
      labels.append(f.labels[i].data(), f.labels[i].size());
    }
    std::string& findings = f.findings;
    if (f.finding_count > Firing::kShownFindings) {
      absl::StrAppend(&findings, "; and ",
                      f.finding_count - Firing::kShownFindings, " more");
    }
    std::string lookback_days;
    for (const auto& c : rule.criteria()) {
      if (c.lookback_days() > 0) {
        lookback_days = absl::StrCat(c.lookback_days());
        break;
      }
    }
    // The rule's own values first: they win over the common ones.
    absl::InlinedVector<TemplateValue, 16> values;
    for (const auto& [name, value] : f.values) values.emplace_back(name, value);
    values.emplace_back("date", common.date);
    values.emplace_back("labels", labels);
    values.emplace_back("findings", findings);
    values.emplace_back("min_depth", common.min_depth);
    values.emplace_back("max_depth", common.max_depth);
    values.emplace_back("interval_days", common.interval_days);
    if (!lookback_days.empty()) {
      values.emplace_back("lookback_days", lookback_days);
    }

    alert->set_rule_id(rule.id());
    alert->set_severity(f.severity);
    alert->set_category(rule.category());
    std::string summary;
    ExpandTemplate(rule.summary(), values, &summary);
    alert->set_summary(summary.size() <= kMaxSummaryChars
                           ? std::move(summary)
                           : LimitChars(summary, kMaxSummaryChars));
    ExpandTemplate(rule.detail(), values, alert->mutable_detail());
    alert->mutable_evidence()->Reserve(static_cast<int>(f.evidence.size()));
    for (Firing::Proof& proof : f.evidence) {
      v1::Evidence* e = alert->add_evidence();
      e->set_entry_id(proof.entry_id.data(), proof.entry_id.size());
      e->set_matched_text(std::move(proof.matched_text));
    }
    alert->set_citation(rule.citation());
    const v1::Thresholds& th = kb_.thresholds();
    for (const std::string& text : rule.suggestions()) {
      const ExpandedTemplate expanded(text, values);
      if (expanded.lacks_value()) continue;
      v1::Suggestion* s = alert->add_suggestions();
      expanded.AppendTo(s->mutable_text());
      if (rule.kind() == v1::RULE_KIND_SESSION_INTERVAL) {
        for (const auto& [k, v] : values) {
          if (k == "earliest_date") s->set_earliest_date(std::string(v));
        }
      }
      if (rule.kind() == v1::RULE_KIND_EYE_DEPTH ||
          rule.kind() == v1::RULE_KIND_EYE_DEPTH_MISSING) {
        s->set_min_needle_depth_mm(th.eye_min_depth_mm());
        s->set_max_needle_depth_mm(th.eye_max_depth_mm());
      }
    }
    // With a known alternative class, the "confirm which anesthetic"
    // suggestion is kept too; without one only the latter applies.
    if (f.severity == v1::SEVERITY_CRITICAL) {
      for (const std::string& r : rule.override_reasons())
        alert->add_override_reasons(r);
    }
  }

  // The classified value of observation i.
  const ConceptMatch& ObservationValue(int i) {
    ClassifiedObservation& o = classified_.observations[i];
    if (!o.value_read) {
      kb_.ClassifyConcept(record_.observations(i).value(), &o.value, texts_);
      o.value_read = true;
    }
    return o.value;
  }

  const KnowledgeBase& kb_;
  const v1::PatientRecord& record_;
  const v1::PlannedSession& session_;
  const DayNumber t_;
  kb::TextClassificationCache* const texts_;
  EvaluationScratch& classified_;
};

}  // namespace

EvaluationCache::EvaluationCache(size_t max_text_bytes)
    : texts_(max_text_bytes),
      scratch_(std::make_unique<internal::EvaluationScratch>()) {}

EvaluationCache::~EvaluationCache() = default;

void EvaluateAsOf(const KnowledgeBase& kb, const v1::PatientRecord& record,
                  const v1::PlannedSession& session, DayNumber as_of,
                  EvaluationCache* cache,
                  google::protobuf::RepeatedPtrField<Alert>* alerts) {
  if (cache == nullptr) {
    EvaluationScratch scratch;
    Evaluator(kb, record, session, as_of, nullptr, scratch).Run(alerts);
    return;
  }
  Evaluator(kb, record, session, as_of, &cache->texts_, *cache->scratch_)
      .Run(alerts);
}

std::vector<Alert> EvaluateAsOf(const KnowledgeBase& kb,
                                const v1::PatientRecord& record,
                                const v1::PlannedSession& session,
                                DayNumber as_of, EvaluationCache* cache) {
  google::protobuf::RepeatedPtrField<Alert> built;
  EvaluateAsOf(kb, record, session, as_of, cache, &built);
  // Heap messages: each move is a swap.
  std::vector<Alert> alerts(built.size());
  for (int i = 0; i < built.size(); ++i) alerts[i].Swap(built.Mutable(i));
  return alerts;
}

std::vector<Alert> EvaluateAsOf(const KnowledgeBase& kb,
                                const v1::PatientRecord& record,
                                const v1::PlannedSession& session,
                                DayNumber as_of) {
  return EvaluateAsOf(kb, record, session, as_of, nullptr);
}

}  // namespace needlecheck::engine
