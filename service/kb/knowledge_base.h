// KnowledgeBase: the validated, compiled form of a knowledge-base file
// (proto/needlecheck/v1/knowledge_base.proto, `KnowledgeBaseDefinition`,
// written in protobuf text format).
//
// Contract
// - Create one with KnowledgeBase::FromText(). It parses, validates and
//   compiles in one step; a KnowledgeBase that exists is valid. Errors are
//   INVALID_ARGUMENT and name the place: "<source>:<line>:<column>: <field
//   path>: <problem>", e.g.
//   "kb.textproto:212:7: rules[3].criteria[0].value_set: unknown value set
//   \"acne2\"".
// - Immutable after creation and shared as std::shared_ptr<const
//   KnowledgeBase>: any number of threads may read it while the server swaps
//   in a new one on reload.
// - Compiled lookups: every (system, code) maps to the value sets and
//   anesthetic agents that list it; all text terms live in one TermMatcher.
// - No I/O here except what the caller passes in; LoadKnowledgeBaseFile()
//   reads a file.
#ifndef SERVICE_KB_KNOWLEDGE_BASE_H_
#define SERVICE_KB_KNOWLEDGE_BASE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/record.pb.h"
#include "service/text/term_matcher.h"

namespace needlecheck::kb {

// Index of a value set or anesthetic agent inside a KnowledgeBase.
using ValueSetIndex = int32_t;
using AgentIndex = int32_t;

// One compiled anesthetic agent or product.
struct AnestheticAgent {
  std::string id;
  std::string name;
  bool amide = false;
  bool ester = false;
  // Indexes of the single agents it contains (itself for a single agent).
  std::vector<AgentIndex> components;
};

// What a Concept (or a free text) is, according to the knowledge base.
struct ConceptMatch {
  // Value sets the concept belongs to, each with the evidence text
  // ("system|code display" for a code, the exact span for text).
  struct Hit {
    int32_t index = 0;        // ValueSetIndex or AgentIndex
    std::string matched_text;
  };
  std::vector<Hit> value_sets;
  std::vector<Hit> agents;
  // A generic anesthetic of unknown class ("numbing cream", "-caine", Z88.4).
  std::vector<std::string> generic_anesthetic;
  // True when at least one coding was known to the knowledge base (then the
  // text was not consulted).
  bool coded = false;
};

class KnowledgeBase {
 public:
  // Parses, validates and compiles. `source_name` names the file in errors
  // and in Summary() ("bundled" for the built-in one).
  static absl::StatusOr<std::shared_ptr<const KnowledgeBase>> FromText(
      absl::string_view text, absl::string_view source_name);

  const needlecheck::v1::KnowledgeBaseDefinition& definition() const {
    return definition_;
  }
  const std::string& version() const { return definition_.version(); }
  const needlecheck::v1::Thresholds& thresholds() const {
    return definition_.thresholds();
  }

  // What GetKnowledgeBase reports; `loaded_at` is left empty for the caller.
  needlecheck::v1::KnowledgeBase Summary() const;

  // Value set lookup by id; -1 when unknown.
  ValueSetIndex FindValueSet(absl::string_view id) const;
  const std::string& ValueSetId(ValueSetIndex index) const;

  const std::vector<AnestheticAgent>& agents() const { return agents_; }

  // Classifies a coded concept: codes first; the text (and the codings'
  // displays) only when no coding is known. Negated text mentions are left
  // out.
  ConceptMatch ClassifyConcept(const needlecheck::v1::Concept& concept) const;

  // Classifies free text (notes, reactions): value sets, agents and generic
  // anesthetic mentions, negated mentions left out.
  ConceptMatch ClassifyText(absl::string_view text) const;

  // Whether `concept` is in value set `index` (code or, when no coding is
  // known, text), with the evidence text.
  bool ConceptInValueSet(const needlecheck::v1::Concept& concept,
                         ValueSetIndex index, std::string* matched_text) const;

  // The value sets with special meaning (see KnowledgeBaseDefinition).
  ValueSetIndex microneedling_value_set() const { return microneedling_; }
  ValueSetIndex no_known_allergy_value_set() const { return no_known_allergy_; }
  ValueSetIndex fitzpatrick_observation_value_set() const {
    return fitzpatrick_observation_;
  }
  // Value set per Fitzpatrick type, index 0 = type I.
  const std::vector<ValueSetIndex>& fitzpatrick_type_value_sets() const {
    return fitzpatrick_types_;
  }

 private:
  KnowledgeBase() = default;
  friend class KnowledgeBaseCompiler;

  needlecheck::v1::KnowledgeBaseDefinition definition_;
  std::string source_name_;
  std::string sha256_;
  absl::flat_hash_map<std::string, ValueSetIndex> value_set_by_id_;
  // "system|code" -> value sets / agents listing it.
  absl::flat_hash_map<std::string, std::vector<ValueSetIndex>> code_to_sets_;
  absl::flat_hash_map<std::string, std::vector<AgentIndex>> code_to_agents_;
  absl::flat_hash_map<std::string, bool> generic_anesthetic_codes_;
  std::vector<AnestheticAgent> agents_;
  std::unique_ptr<text::TermMatcher> matcher_;
  ValueSetIndex microneedling_ = -1;
  ValueSetIndex no_known_allergy_ = -1;
  ValueSetIndex fitzpatrick_observation_ = -1;
  std::vector<ValueSetIndex> fitzpatrick_types_;
};

// The knowledge base compiled into the binary (service/kb/data/).
absl::string_view BundledKnowledgeBaseText();

// Reads and compiles a knowledge-base file. NOT_FOUND / PERMISSION_DENIED
// when it cannot be read; INVALID_ARGUMENT as FromText.
absl::StatusOr<std::shared_ptr<const KnowledgeBase>> LoadKnowledgeBaseFile(
    const std::string& path);

// The bundled knowledge base, compiled (source name "bundled").
absl::StatusOr<std::shared_ptr<const KnowledgeBase>> LoadBundledKnowledgeBase();

}  // namespace needlecheck::kb

#endif  // SERVICE_KB_KNOWLEDGE_BASE_H_
