// SessionMatcher: whether a booked service or an ordered procedure is a
// microneedling session, by the knowledge base's microneedling value set
// (KnowledgeBaseDefinition.microneedling_value_set), never by a word list
// of our own: a coding whose (system, code) is in the set, or a text or
// coding display in which one of the set's terms is found (common/text
// TermMatcher: case, hyphens and spaces ignored, one-letter misspellings in
// words of misspelling_min_length letters or more) and no exclude term is
// in the same clause, and which no negation trigger of the knowledge
// base's ConText lists negates ("no microneedling").
//
// Immutable after Create(), copyable (shares the compiled matcher);
// Matches() is thread-safe.
//
// Create() errors (InvalidArgument): the knowledge base names no
// microneedling value set, the set is not in value_sets, or it has neither
// codes nor terms, or a term the matcher rejects.
#ifndef ADAPTERS_HL7V2_MAPPING_SESSION_MATCHER_H_
#define ADAPTERS_HL7V2_MAPPING_SESSION_MATCHER_H_

#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "common/text/term_matcher.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::hl7v2 {

class SessionMatcher {
 public:
  static absl::StatusOr<SessionMatcher> Create(
      const needlecheck::v1::KnowledgeBaseDefinition& kb);

  // A code match or a term match in the text or any coding display.
  bool Matches(const needlecheck::v1::Concept& service) const;
  // Whether `text` mentions microneedling (not negated).
  bool MatchesText(absl::string_view text) const;

  // The knowledge base's version.
  const std::string& knowledge_base_version() const { return version_; }
  // The deepest planned needle depth the service accepts
  // (thresholds.max_needle_depth_mm); 0 when the knowledge base sets none.
  double max_needle_depth_mm() const { return max_needle_depth_mm_; }

 private:
  SessionMatcher() = default;

  std::string version_;
  double max_needle_depth_mm_ = 0;
  std::set<std::pair<std::string, std::string>> codes_;  // (system, code)
  std::shared_ptr<const text::TermMatcher> terms_;       // null: no terms
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_MAPPING_SESSION_MATCHER_H_
