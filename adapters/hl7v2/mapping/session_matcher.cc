#include "adapters/hl7v2/mapping/session_matcher.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::hl7v2 {
namespace {

namespace v1 = ::needlecheck::v1;

bool HasWordCharacter(absl::string_view phrase) {
  for (char c : phrase) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
        static_cast<unsigned char>(c) >= 0x80) {
      return true;
    }
  }
  return false;
}

// The knowledge base's definite-negation triggers and terminators as the
// term matcher's negation rules.
text::NegationRules NegationFrom(const v1::ContextDefinition& context) {
  text::NegationRules rules;
  for (const v1::ContextTriggerList& list : context.triggers()) {
    if (list.category() != v1::CONTEXT_CATEGORY_NEGATED) continue;
    for (const std::string& phrase : list.phrases()) {
      if (!HasWordCharacter(phrase)) continue;
      if (list.direction() != v1::CONTEXT_DIRECTION_BACKWARD) {
        rules.pre_triggers.push_back(phrase);
      }
      if (list.direction() == v1::CONTEXT_DIRECTION_BACKWARD ||
          list.direction() == v1::CONTEXT_DIRECTION_BIDIRECTIONAL) {
        rules.post_triggers.push_back(phrase);
      }
    }
  }
  for (const v1::ContextPhraseList& list : context.terminators()) {
    if (list.category() != v1::CONTEXT_CATEGORY_UNSPECIFIED) continue;
    for (const std::string& phrase : list.phrases()) {
      if (HasWordCharacter(phrase)) rules.terminators.push_back(phrase);
    }
  }
  return rules;
}

}  // namespace

absl::StatusOr<SessionMatcher> SessionMatcher::Create(
    const v1::KnowledgeBaseDefinition& kb) {
  const std::string& id = kb.microneedling_value_set();
  if (id.empty()) {
    return absl::InvalidArgumentError(
        "the knowledge base names no microneedling value set");
  }
  const v1::ValueSetDefinition* set = nullptr;
  for (const v1::ValueSetDefinition& vs : kb.value_sets()) {
    if (vs.id() == id) set = &vs;
  }
  if (set == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the microneedling value set \"", id,
                     "\" is not in the knowledge base"));
  }
  if (set->codes_size() == 0 && set->terms_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the microneedling value set \"", id, "\" has no codes and no terms"));
  }
  SessionMatcher matcher;
  matcher.version_ = kb.version();
  matcher.max_needle_depth_mm_ = kb.thresholds().max_needle_depth_mm();
  for (const v1::CodeDefinition& c : set->codes()) {
    matcher.codes_.emplace(c.system(), c.code());
  }
  if (set->terms_size() > 0) {
    std::vector<text::TermSpec> terms, exclusions;
    for (const std::string& t : set->terms()) terms.push_back({t, 0, false});
    for (const std::string& t : set->exclude_terms()) {
      exclusions.push_back({t, 0, false});
    }
    text::MatcherOptions options;
    if (kb.thresholds().misspelling_min_length() >= 3) {
      options.misspelling_min_length = kb.thresholds().misspelling_min_length();
    }
    options.negation = NegationFrom(kb.context());
    absl::StatusOr<std::unique_ptr<text::TermMatcher>> m =
        text::TermMatcher::Create(terms, {}, exclusions, options);
    if (!m.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("microneedling value set: ", m.status().message()));
    }
    matcher.terms_ = std::shared_ptr<const text::TermMatcher>(std::move(*m));
  }
  return matcher;
}

bool SessionMatcher::MatchesText(absl::string_view text) const {
  if (terms_ == nullptr || text.empty()) return false;
  for (const text::TermHit& hit : terms_->FindAll(text)) {
    if (!hit.negated) return true;
  }
  return false;
}

bool SessionMatcher::Matches(const v1::Concept& service) const {
  for (const v1::Coding& c : service.codings()) {
    if (codes_.count({c.system(), c.code()}) > 0) return true;
  }
  if (MatchesText(service.text())) return true;
  for (const v1::Coding& c : service.codings()) {
    if (MatchesText(c.display())) return true;
  }
  return false;
}

}  // namespace needlecheck::hl7v2
