#include "service/kb/kb_validation.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/text/context.h"
#include "google/protobuf/descriptor.h"
#include "re2/re2.h"

namespace needlecheck::kb {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;
using namespace needlecheck::v1;  // NOLINT: the schema's message names

constexpr char kSnomed[] = "http://snomed.info/sct";
constexpr char kIcd10Cm[] = "http://hl7.org/fhir/sid/icd-10-cm";
constexpr char kRxNorm[] = "http://www.nlm.nih.gov/research/umls/rxnorm";
constexpr char kLoinc[] = "http://loinc.org";

// Placeholders the engine expands in rule texts.
constexpr const char* kPlaceholders[] = {
    "findings",      "labels",        "date",      "last_date",
    "days",          "earliest_date", "depth",     "allergen",
    "planned",       "alternative",   "min_depth", "max_depth",
    "interval_days", "lookback_days"};

// One step of a field path: a field of the current message and, for a
// repeated field, the element index (-1 otherwise).
struct Step {
  const FieldDescriptor* field;
  int index;
};

class Validator {
 public:
  Validator(const KnowledgeBaseDefinition& def,
            const TextFormat::ParseInfoTree& tree, std::string source)
      : def_(def), tree_(tree), source_(std::move(source)) {}

  std::vector<std::string> Run() {
    CheckTop();
    return std::move(problems_);
  }

 private:
  // Path building ----------------------------------------------------------
  using Path = std::vector<Step>;

  static Path Append(Path path, const Descriptor* d, const char* field,
                     int index = -1) {
    path.push_back({d->FindFieldByName(field), index});
    return path;
  }

  std::string PathText(const Path& path) const {
    std::string out;
    for (const Step& s : path) {
      if (!out.empty()) out += ".";
      out += s.field->name();
      if (s.index >= 0) absl::StrAppend(&out, "[", s.index, "]");
    }
    return out.empty() ? "(file)" : out;
  }

  // The location of the deepest element of `path` present in the file.
  std::pair<int, int> Locate(const Path& path) const {
    const TextFormat::ParseInfoTree* tree = &tree_;
    std::pair<int, int> best = {0, 0};
    for (const Step& s : path) {
      if (tree == nullptr || s.field == nullptr) break;
      // A repeated field as a whole (index -1) has no single location.
      if (s.field->is_repeated() != (s.index >= 0)) break;
      TextFormat::ParseLocation loc = tree->GetLocation(s.field, s.index);
      if (loc.line < 0) break;
      best = {loc.line + 1, loc.column + 1};
      if (s.field->type() != FieldDescriptor::TYPE_MESSAGE) break;
      tree = tree->GetTreeForNested(s.field, s.index);
    }
    return best;
  }

  void Problem(const Path& path, absl::string_view what) {
    auto [line, column] = Locate(path);
    problems_.push_back(absl::StrCat(source_, ":", line, ":", column, ": ",
                                     PathText(path), ": ", what));
  }

  // Checks -----------------------------------------------------------------
  void CheckTop() {
    const Descriptor* d = KnowledgeBaseDefinition::descriptor();
    if (def_.version().empty()) {
      Problem(Append({}, d, "version"), "required: the knowledge-base version");
    } else if (!RE2::FullMatch(def_.version(),
                               R"([0-9A-Za-z][0-9A-Za-z.+_-]*)")) {
      Problem(Append({}, d, "version"),
              "must be letters, digits and . + _ - (e.g. 2026.11.1)");
    }
    if (!def_.has_thresholds()) {
      Problem(Append({}, d, "thresholds"), "required");
    } else {
      CheckThresholds(Append({}, d, "thresholds"));
    }
    if (!def_.has_context()) {
      Problem(Append({}, d, "context"), "required");
    } else {
      CheckContext(Append({}, d, "context"));
    }
    for (int i = 0; i < def_.value_sets_size(); ++i) {
      CheckValueSet(def_.value_sets(i), Append({}, d, "value_sets", i));
    }
    for (int i = 0; i < def_.anesthetics_size(); ++i) {
      CheckAnesthetic(def_.anesthetics(i), Append({}, d, "anesthetics", i));
    }
    for (int i = 0; i < def_.anesthetics_size(); ++i) {
      const auto& a = def_.anesthetics(i);
      for (int c = 0; c < a.components_size(); ++c) {
        auto it = agent_index_.find(a.components(c));
        Path p = Append(Append({}, d, "anesthetics", i),
                        AnestheticDefinition::descriptor(), "components", c);
        if (it == agent_index_.end()) {
          Problem(p,
                  absl::StrCat("unknown anesthetic \"", a.components(c), "\""));
        } else if (def_.anesthetics(it->second).components_size() > 0) {
          Problem(p,
                  absl::StrCat("\"", a.components(c),
                               "\" is itself a product; list single agents"));
        }
      }
    }
    for (int i = 0; i < def_.generic_anesthetic_terms_size(); ++i) {
      CheckTerm(def_.generic_anesthetic_terms(i),
                Append({}, d, "generic_anesthetic_terms", i));
    }
    for (int i = 0; i < def_.generic_anesthetic_codes_size(); ++i) {
      CheckCode(def_.generic_anesthetic_codes(i),
                Append({}, d, "generic_anesthetic_codes", i));
    }
    CheckValueSetRef(def_.microneedling_value_set(),
                     Append({}, d, "microneedling_value_set"), true);
    CheckValueSetRef(def_.no_known_allergy_value_set(),
                     Append({}, d, "no_known_allergy_value_set"), true);
    CheckValueSetRef(def_.fitzpatrick_observation_value_set(),
                     Append({}, d, "fitzpatrick_observation_value_set"), true);
    CheckValueSetRef(def_.allergy_finding_value_set(),
                     Append({}, d, "allergy_finding_value_set"), true);
    if (def_.fitzpatrick_type_value_sets_size() != 6) {
      Problem(Append({}, d, "fitzpatrick_type_value_sets"),
              absl::StrCat("needs exactly 6 entries (types I to VI), found ",
                           def_.fitzpatrick_type_value_sets_size()));
    }
    for (int i = 0; i < def_.fitzpatrick_type_value_sets_size(); ++i) {
      CheckValueSetRef(def_.fitzpatrick_type_value_sets(i),
                       Append({}, d, "fitzpatrick_type_value_sets", i), true);
    }
    if (def_.rules_size() == 0) Problem(Append({}, d, "rules"), "no rules");
    absl::flat_hash_set<std::string> rule_ids;
    for (int i = 0; i < def_.rules_size(); ++i) {
      Path p = Append({}, d, "rules", i);
      if (!rule_ids.insert(def_.rules(i).id()).second) {
        Problem(Append(p, RuleDefinition::descriptor(), "id"),
                absl::StrCat("duplicate rule id \"", def_.rules(i).id(), "\""));
      }
      CheckRule(def_.rules(i), p);
    }
  }

  void CheckThresholds(const Path& path) {
    const Thresholds& t = def_.thresholds();
    const Descriptor* d = Thresholds::descriptor();
    if (t.min_interval_days() < 1 || t.min_interval_days() > 365) {
      Problem(Append(path, d, "min_interval_days"), "must be 1 to 365 days");
    }
    if (t.maintenance_window_end_days() < t.min_interval_days() ||
        t.maintenance_window_end_days() > 730) {
      Problem(Append(path, d, "maintenance_window_end_days"),
              "must be at least min_interval_days and at most 730");
    }
    auto finite_positive = [](double v) { return std::isfinite(v) && v > 0; };
    if (!finite_positive(t.eye_min_depth_mm())) {
      Problem(Append(path, d, "eye_min_depth_mm"), "must be greater than 0");
    }
    if (!finite_positive(t.eye_max_depth_mm()) ||
        t.eye_max_depth_mm() < t.eye_min_depth_mm()) {
      Problem(Append(path, d, "eye_max_depth_mm"),
              "must be greater than 0 and at least eye_min_depth_mm");
    }
    if (!finite_positive(t.max_needle_depth_mm()) ||
        t.max_needle_depth_mm() < t.eye_max_depth_mm() ||
        t.max_needle_depth_mm() > 10) {
      Problem(Append(path, d, "max_needle_depth_mm"),
              "must be at least eye_max_depth_mm and at most 10 mm");
    }
    if (t.misspelling_min_length() < 3 || t.misspelling_min_length() > 20) {
      Problem(Append(path, d, "misspelling_min_length"), "must be 3 to 20");
    }
  }

  // The ConText lists: ids unique, a source each, known categories and
  // directions, no empty phrase, no phrase twice where it would act twice
  // (the same trigger category and direction, a pseudo-trigger that is also
  // a trigger, the same terminator scope, the same cue).
  void CheckContext(const Path& path) {
    const ContextDefinition& c = def_.context();
    const Descriptor* d = ContextDefinition::descriptor();
    if (c.triggers_size() == 0) {
      Problem(Append(path, d, "triggers"), "at least one trigger list needed");
    }
    absl::flat_hash_set<std::string> ids;
    // Normalized phrase + what it does -> already seen.
    absl::flat_hash_set<std::string> seen;
    absl::flat_hash_set<std::string> trigger_phrases;
    auto check_header = [&](const std::string& id, const std::string& source,
                            int num_phrases, const Path& list_path,
                            const Descriptor* ld) {
      if (!RE2::FullMatch(id, "[a-z0-9][a-z0-9_-]*")) {
        Problem(Append(list_path, ld, "id"),
                absl::StrCat("must be [a-z0-9_-], got \"", id, "\""));
      } else if (!ids.insert(id).second) {
        Problem(Append(list_path, ld, "id"),
                absl::StrCat("duplicate context list id \"", id, "\""));
      }
      if (source.empty()) {
        Problem(Append(list_path, ld, "source"),
                "required: where the phrases come from");
      }
      if (num_phrases == 0) {
        Problem(Append(list_path, ld, "phrases"), "at least one phrase needed");
      }
    };
    auto check_phrases = [&](const auto& phrases, const Path& list_path,
                             const Descriptor* ld, absl::string_view role) {
      for (int i = 0; i < phrases.size(); ++i) {
        const std::string norm = text::NormalizedPhrase(phrases[i]);
        const Path phrase_path = Append(list_path, ld, "phrases", i);
        if (norm.empty()) {
          Problem(phrase_path, "empty phrase");
        } else if (phrases[i].find_first_of(".;!\n\r") != std::string::npos) {
          Problem(phrase_path,
                  absl::StrCat("\"", phrases[i],
                               "\" holds a sentence end ('.', ';', '!' or a "
                               "line break) and could never match"));
        } else if (!seen.insert(absl::StrCat(role, "|", norm)).second) {
          Problem(phrase_path,
                  absl::StrCat("duplicate ", role, " \"", phrases[i], "\""));
        }
      }
    };
    auto check_list = [&](const ContextPhraseList& l, const Path& p,
                          absl::string_view role) {
      const Descriptor* ld = ContextPhraseList::descriptor();
      check_header(l.id(), l.source(), l.phrases_size(), p, ld);
      check_phrases(l.phrases(), p, ld, role);
    };
    for (int i = 0; i < c.triggers_size(); ++i) {
      const ContextTriggerList& t = c.triggers(i);
      const Path p = Append(path, d, "triggers", i);
      const Descriptor* td = ContextTriggerList::descriptor();
      if (t.category() == CONTEXT_CATEGORY_UNSPECIFIED) {
        Problem(Append(p, td, "category"), "required");
      }
      if (t.direction() == CONTEXT_DIRECTION_UNSPECIFIED) {
        Problem(Append(p, td, "direction"), "required");
      }
      if (t.max_scope_words() < 0 || t.max_scope_words() > 50) {
        Problem(Append(p, td, "max_scope_words"), "must be 0 to 50");
      }
      check_header(t.id(), t.source(), t.phrases_size(), p, td);
      // Forward and backward lists may share a phrase; bidirectional counts
      // as both.
      for (int dir : {CONTEXT_DIRECTION_FORWARD, CONTEXT_DIRECTION_BACKWARD}) {
        if (t.direction() != dir &&
            t.direction() != CONTEXT_DIRECTION_BIDIRECTIONAL) {
          continue;
        }
        check_phrases(
            t.phrases(), p, td,
            absl::StrCat(
                ContextCategory_Name(t.category()), " ",
                dir == CONTEXT_DIRECTION_FORWARD ? "forward" : "backward",
                " trigger"));
      }
      for (const std::string& phrase : t.phrases()) {
        trigger_phrases.insert(text::NormalizedPhrase(phrase));
      }
    }
    for (int i = 0; i < c.pseudo_triggers_size(); ++i) {
      const ContextPhraseList& l = c.pseudo_triggers(i);
      const Path p = Append(path, d, "pseudo_triggers", i);
      const Descriptor* ld = ContextPhraseList::descriptor();
      if (l.category() != CONTEXT_CATEGORY_UNSPECIFIED) {
        Problem(Append(p, ld, "category"),
                "pseudo-triggers shadow every category: leave it unset");
      }
      check_list(l, p, "pseudo-trigger");
      for (int k = 0; k < l.phrases_size(); ++k) {
        if (trigger_phrases.contains(text::NormalizedPhrase(l.phrases(k)))) {
          Problem(Append(p, ld, "phrases", k),
                  absl::StrCat("\"", l.phrases(k),
                               "\" is both a trigger and a pseudo-trigger"));
        }
      }
    }
    for (int i = 0; i < c.terminators_size(); ++i) {
      const ContextPhraseList& l = c.terminators(i);
      check_list(
          l, Append(path, d, "terminators", i),
          absl::StrCat(ContextCategory_Name(l.category()), " terminator"));
    }
    for (const auto& [field, role] :
         {std::make_pair("reaction_cues", "reaction cue"),
          std::make_pair("reaction_words", "reaction word")}) {
      const auto& lists = std::string(field) == "reaction_cues"
                              ? c.reaction_cues()
                              : c.reaction_words();
      for (int i = 0; i < lists.size(); ++i) {
        const ContextPhraseList& l = lists[i];
        const Path p = Append(path, d, field, i);
        if (l.category() != CONTEXT_CATEGORY_UNSPECIFIED) {
          Problem(Append(p, ContextPhraseList::descriptor(), "category"),
                  absl::StrCat(role, "s have no category: leave it unset"));
        }
        check_list(l, p, role);
      }
    }
  }

  void CheckTerm(const std::string& term, const Path& path) {
    bool has_word_char = false;
    for (char c : term) {
      if (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
          static_cast<unsigned char>(c) >= 0x80) {
        has_word_char = true;
      }
    }
    if (!has_word_char) {
      Problem(path,
              absl::StrCat("term \"", term, "\" has no letters or digits"));
    }
  }

  void CheckCode(const CodeDefinition& code, const Path& path) {
    const Descriptor* d = CodeDefinition::descriptor();
    if (code.system().empty()) {
      Problem(Append(path, d, "system"), "required");
      return;
    }
    if (code.code().empty()) Problem(Append(path, d, "code"), "required");
    if (code.display().empty()) Problem(Append(path, d, "display"), "required");
    if (code.source().empty()) {
      Problem(Append(path, d, "source"),
              "required: where the code was verified (terminology.md)");
    }
    const char* pattern = nullptr;
    const char* what = nullptr;
    if (code.system() == kSnomed) {
      pattern = R"([1-9][0-9]{5,17})";
      what = "a SNOMED CT concept id (6-18 digits)";
    } else if (code.system() == kIcd10Cm) {
      pattern = R"([A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?)";
      what = "an ICD-10-CM code such as L20.9";
    } else if (code.system() == kRxNorm) {
      pattern = R"([1-9][0-9]{0,9})";
      what = "an RxNorm concept id (digits)";
    } else if (code.system() == kLoinc) {
      pattern = R"([0-9]{1,7}-[0-9])";
      what = "a LOINC code such as 66555-4";
    } else if (!absl::StartsWith(code.system(), "http://") &&
               !absl::StartsWith(code.system(), "https://") &&
               !absl::StartsWith(code.system(), "urn:")) {
      Problem(Append(path, d, "system"),
              absl::StrCat("\"", code.system(), "\" is not a code system URI"));
      return;
    }
    if (pattern != nullptr && !code.code().empty() &&
        !RE2::FullMatch(code.code(), pattern)) {
      Problem(Append(path, d, "code"),
              absl::StrCat("\"", code.code(), "\" is not ", what));
    }
  }

  void CheckValueSet(const ValueSetDefinition& vs, const Path& path) {
    const Descriptor* d = ValueSetDefinition::descriptor();
    if (!RE2::FullMatch(vs.id(), R"([a-z0-9][a-z0-9_-]*)")) {
      Problem(Append(path, d, "id"),
              "required: lower-case letters, digits, '_' and '-'");
    } else if (!value_set_index_.emplace(vs.id(), 0).second) {
      Problem(Append(path, d, "id"),
              absl::StrCat("duplicate value set id \"", vs.id(), "\""));
    }
    if (vs.codes_size() == 0 && vs.terms_size() == 0) {
      Problem(path, absl::StrCat("value set \"", vs.id(),
                                 "\" is empty: give codes or terms"));
    }
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < vs.codes_size(); ++i) {
      Path p = Append(path, d, "codes", i);
      CheckCode(vs.codes(i), p);
      if (!seen.insert(
                   absl::StrCat(vs.codes(i).system(), "|", vs.codes(i).code()))
               .second) {
        Problem(p, absl::StrCat("duplicate code ", vs.codes(i).code()));
      }
    }
    for (int i = 0; i < vs.terms_size(); ++i) {
      CheckTerm(vs.terms(i), Append(path, d, "terms", i));
    }
    for (int i = 0; i < vs.exclude_terms_size(); ++i) {
      CheckTerm(vs.exclude_terms(i), Append(path, d, "exclude_terms", i));
    }
  }

  void CheckAnesthetic(const AnestheticDefinition& a, const Path& path) {
    const Descriptor* d = AnestheticDefinition::descriptor();
    if (!RE2::FullMatch(a.id(), R"([a-z0-9][a-z0-9_-]*)")) {
      Problem(Append(path, d, "id"),
              "required: lower-case letters, digits, '_' and '-'");
    } else if (!agent_index_.emplace(a.id(), agent_index_.size()).second) {
      Problem(Append(path, d, "id"),
              absl::StrCat("duplicate anesthetic id \"", a.id(), "\""));
    }
    if (a.name().empty()) Problem(Append(path, d, "name"), "required");
    if (a.terms_size() == 0 && a.codes_size() == 0 &&
        a.case_sensitive_terms_size() == 0) {
      Problem(path, "give terms or codes");
    }
    if (a.classes_size() == 0) {
      Problem(Append(path, d, "classes"),
              "at least one class (amide or ester)");
    }
    for (int i = 0; i < a.classes_size(); ++i) {
      if (a.classes(i) == ANESTHETIC_CLASS_UNSPECIFIED) {
        Problem(Append(path, d, "classes", i), "must be AMIDE or ESTER");
      }
    }
    for (int i = 0; i < a.terms_size(); ++i) {
      CheckTerm(a.terms(i), Append(path, d, "terms", i));
    }
    absl::flat_hash_set<std::string> folded_terms;
    for (const std::string& term : a.terms()) {
      folded_terms.insert(absl::AsciiStrToLower(term));
    }
    for (int i = 0; i < a.case_sensitive_terms_size(); ++i) {
      const std::string& term = a.case_sensitive_terms(i);
      const Path p = Append(path, d, "case_sensitive_terms", i);
      CheckTerm(term, p);
      if (std::none_of(term.begin(), term.end(), absl::ascii_isupper)) {
        Problem(p, absl::StrCat("case-sensitive term \"", term,
                                "\" has no capital letter: put it in terms"));
      } else if (folded_terms.contains(absl::AsciiStrToLower(term))) {
        Problem(p, absl::StrCat("\"", term,
                                "\" is also in terms, which match it in any "
                                "case: remove it from terms"));
      }
    }
    for (int i = 0; i < a.codes_size(); ++i) {
      CheckCode(a.codes(i), Append(path, d, "codes", i));
    }
  }

  void CheckValueSetRef(const std::string& id, const Path& path,
                        bool required) {
    if (id.empty()) {
      if (required) Problem(path, "required: a value set id");
      return;
    }
    if (!value_set_index_.contains(id)) {
      Problem(path, absl::StrCat("unknown value set \"", id, "\""));
    }
  }

  void CheckTemplate(const std::string& text, const Path& path) {
    size_t pos = 0;
    while ((pos = text.find('{', pos)) != std::string::npos) {
      size_t end = text.find('}', pos);
      if (end == std::string::npos) {
        Problem(path, "unclosed '{' in text");
        return;
      }
      absl::string_view name(text.data() + pos + 1, end - pos - 1);
      bool known = false;
      for (const char* p : kPlaceholders) known = known || name == p;
      if (!known) {
        Problem(path, absl::StrCat("unknown placeholder {", name, "}"));
      }
      pos = end + 1;
    }
  }

  void CheckRule(const RuleDefinition& rule, const Path& path) {
    const Descriptor* d = RuleDefinition::descriptor();
    if (!RE2::FullMatch(rule.id(), R"(MN-[A-Z0-9]+(-[A-Z0-9]+)*)")) {
      Problem(Append(path, d, "id"), "required: MN-<WORDS>, upper case");
    }
    if (rule.category().empty())
      Problem(Append(path, d, "category"), "required");
    if (rule.kind() == RULE_KIND_UNSPECIFIED) {
      Problem(Append(path, d, "kind"), "required");
    }
    const bool silent = rule.kind() == RULE_KIND_MAINTENANCE_WINDOW;
    if (!silent && rule.severity() == SEVERITY_UNSPECIFIED) {
      Problem(Append(path, d, "severity"), "required");
    }
    if (!silent && rule.summary().empty()) {
      Problem(Append(path, d, "summary"), "required");
    }
    if (rule.summary().size() > 140) {
      Problem(Append(path, d, "summary"),
              absl::StrCat("longer than 140 characters (",
                           rule.summary().size(), ")"));
    }
    if (rule.citation().empty())
      Problem(Append(path, d, "citation"), "required");
    CheckTemplate(rule.summary(), Append(path, d, "summary"));
    CheckTemplate(rule.detail(), Append(path, d, "detail"));
    for (int i = 0; i < rule.suggestions_size(); ++i) {
      CheckTemplate(rule.suggestions(i), Append(path, d, "suggestions", i));
    }
    bool can_be_critical = rule.severity() == SEVERITY_CRITICAL ||
                           rule.kind() == RULE_KIND_ANESTHETIC_ALLERGY;
    for (const auto& c : rule.criteria()) {
      can_be_critical = can_be_critical || c.severity() == SEVERITY_CRITICAL;
    }
    if (can_be_critical && rule.override_reasons_size() == 0) {
      Problem(Append(path, d, "override_reasons"),
              "a rule that can be CRITICAL needs override reasons");
    }
    if (rule.kind() == RULE_KIND_CRITERIA && rule.criteria_size() == 0) {
      Problem(Append(path, d, "criteria"), "a CRITERIA rule needs criteria");
    }
    if (rule.kind() != RULE_KIND_CRITERIA && rule.criteria_size() > 0) {
      Problem(Append(path, d, "criteria"),
              "only RULE_KIND_CRITERIA rules take criteria");
    }
    for (int i = 0; i < rule.requires_planned_areas_size(); ++i) {
      if (rule.requires_planned_areas(i) == TREATMENT_AREA_UNSPECIFIED) {
        Problem(Append(path, d, "requires_planned_areas", i),
                "must name an area");
      }
    }
    for (int i = 0; i < rule.criteria_size(); ++i) {
      CheckCriterion(rule.criteria(i), Append(path, d, "criteria", i));
    }
  }

  void CheckCriterion(const Criterion& c, const Path& path) {
    const Descriptor* d = Criterion::descriptor();
    if (c.source() == ENTRY_SOURCE_UNSPECIFIED) {
      Problem(Append(path, d, "source"), "required");
      return;
    }
    if (c.source() == ENTRY_SOURCE_SKIN_TYPE) {
      if (c.min_skin_type() < 1 || c.min_skin_type() > 6) {
        Problem(Append(path, d, "min_skin_type"), "must be 1 to 6");
      }
    } else {
      CheckValueSetRef(c.value_set(), Append(path, d, "value_set"), true);
      if (c.temporal() == TEMPORAL_UNSPECIFIED) {
        Problem(Append(path, d, "temporal"), "required");
      }
    }
    if (c.temporal() == TEMPORAL_EVER_NOT_ACTIVE &&
        c.source() != ENTRY_SOURCE_CONDITION) {
      Problem(Append(path, d, "temporal"),
              "TEMPORAL_EVER_NOT_ACTIVE applies to conditions only");
    }
    if (c.source() == ENTRY_SOURCE_OBSERVATION) {
      CheckValueSetRef(c.value_value_set(), Append(path, d, "value_value_set"),
                       true);
    } else if (!c.value_value_set().empty()) {
      Problem(Append(path, d, "value_value_set"), "observations only");
    }
    if (c.lookback_days() < 0 || c.lookback_days() > 3650) {
      Problem(Append(path, d, "lookback_days"), "must be 0 to 3650");
    }
    if (c.max_age_days() < 0 || c.max_age_days() > 3650) {
      Problem(Append(path, d, "max_age_days"), "must be 0 to 3650");
    }
    if (c.label().empty()) Problem(Append(path, d, "label"), "required");
  }

  const KnowledgeBaseDefinition& def_;
  const TextFormat::ParseInfoTree& tree_;
  std::string source_;
  std::vector<std::string> problems_;
  absl::flat_hash_map<std::string, int> value_set_index_;
  absl::flat_hash_map<std::string, int> agent_index_;
};

}  // namespace

std::vector<std::string> ValidateKnowledgeBaseDefinition(
    const KnowledgeBaseDefinition& definition,
    const TextFormat::ParseInfoTree& locations, const std::string& source) {
  return Validator(definition, locations, source).Run();
}

}  // namespace needlecheck::kb
