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
//   anesthetic agents that list it; all text terms live in one TermMatcher,
//   and every text mention is read in its context by one ContextClassifier
//   (common/text/context.h): negated, other-experiencer and hypothetical
//   mentions are left out of a ConceptMatch; probable negation ("unlikely"),
//   historical and resolved mentions stay in, with their context, for the
//   engine to weigh.
// - No I/O here except what the caller passes in; LoadKnowledgeBaseFile()
//   reads a file.
#ifndef SERVICE_KB_KNOWLEDGE_BASE_H_
#define SERVICE_KB_KNOWLEDGE_BASE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/context.h"
#include "common/text/term_matcher.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/record.pb.h"

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
// Hits point into the classified input (the Concept's codings or the text),
// so a ConceptMatch must not outlive it.
struct ConceptMatch {
  struct Hit {
    // ValueSetIndex or AgentIndex; -1 for a generic anesthetic mention.
    int32_t index = 0;
    // The coding that matched, or null for a text match.
    const needlecheck::v1::Coding* coding = nullptr;
    // The exact text span that matched (text matches only).
    absl::string_view span;
    // How the text mention is read (code matches: affirmed, recent,
    // patient). Only affirmed, possible or resolved; recent or historical;
    // patient mentions reach a ConceptMatch.
    text::MentionContext context;
    // "system|code display" for a code match, the span for a text match.
    std::string EvidenceText() const;
    bool judged_unlikely() const {
      return context.negation == text::Negation::kPossible;
    }
    // "history of", "as a child", or a reaction that resolved.
    bool historical() const {
      return context.temporality == text::Temporality::kHistorical ||
             context.resolved;
    }
  };
  // Inline storage: most entries match zero to two sets, so classifying a
  // record allocates nothing for them.
  absl::InlinedVector<Hit, 2> value_sets;
  absl::InlinedVector<Hit, 1> agents;
  // Anesthetics of unknown class ("numbing cream", "-caine", Z88.4).
  absl::InlinedVector<Hit, 1> generic_anesthetic;
  // True when at least one coding was known to the knowledge base (then the
  // text was not consulted).
  bool coded = false;
  // Bit min(i, 63) is set when value_sets holds a hit of value set i: most
  // entries match none of the sets a rule asks about, and this answers so
  // without a scan.
  uint64_t value_set_bits = 0;

  static uint64_t ValueSetBit(int32_t index) {
    return uint64_t{1} << (index < 63 ? index : 63);
  }
  // False when value_sets certainly holds no hit of value set `index`.
  bool MayHaveValueSet(int32_t index) const {
    return index >= 0 && (value_set_bits & ValueSetBit(index)) != 0;
  }
  void AddValueSet(const Hit& hit) {
    value_sets.push_back(hit);
    value_set_bits |= ValueSetBit(hit.index);
  }

  bool Empty() const {
    return value_sets.empty() && agents.empty() && generic_anesthetic.empty();
  }
  // The hit for value set `index`, or null; of several, a code match first,
  // then an affirmed, then a recent mention.
  const Hit* FindValueSet(int32_t index) const;
  void Clear() {
    value_sets.clear();
    agents.clear();
    generic_anesthetic.clear();
    coded = false;
    value_set_bits = 0;
  }
};

class KnowledgeBase;

// A caller-owned memo of ClassifyText. How a text reads depends only on the
// text and the knowledge base, so a caller that meets the same texts again (a
// patient's notes at the next screening, the same problem-list wording across
// patients) keeps one and passes it to ClassifyConcept / ClassifyText.
//
// Contract
// - Results are identical with and without it.
// - Not thread-safe: one per thread (or per worker), never shared.
// - Bound to a knowledge base by content (its SHA-256): used with another
//   one, it empties itself first, so a reload never serves stale readings.
// - Bounded: it keeps texts of at most `max_text_bytes` bytes in all (a text
//   longer than a sixteenth of that is classified but not kept); when the
//   next text would not fit, it empties itself and starts over.
class TextClassificationCache {
 public:
  static constexpr size_t kDefaultMaxTextBytes = size_t{1} << 20;

  explicit TextClassificationCache(size_t max_text_bytes = kDefaultMaxTextBytes)
      : max_text_bytes_(max_text_bytes) {}

  // Texts held.
  size_t size() const { return entries_.size(); }
  void Clear();

 private:
  friend class KnowledgeBase;
  enum class List : uint8_t { kValueSet, kAgent, kGeneric };
  struct StoredHit {
    int32_t index = 0;
    List list = List::kValueSet;
    uint32_t begin = 0;
    uint32_t end = 0;
    text::MentionContext context;
  };

  std::string kb_sha256_;
  // Text -> [first, first + count) in hits_.
  absl::flat_hash_map<std::string, std::pair<uint32_t, uint32_t>> entries_;
  std::vector<StoredHit> hits_;
  size_t text_bytes_ = 0;
  size_t max_text_bytes_;
};

// Value sets a criterion of a rule refers to, resolved when the knowledge
// base is compiled (-1: none).
struct CompiledCriterion {
  ValueSetIndex value_set = -1;
  ValueSetIndex value_value_set = -1;
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

  // Classifies a coded concept into `out` (cleared first): codes first; the
  // text (or, without text, the codings' displays) only when no coding is
  // known. Negated text mentions are left out. `cache` (optional) memoizes
  // the text readings.
  void ClassifyConcept(const needlecheck::v1::Concept& concept,
                       ConceptMatch* out,
                       TextClassificationCache* cache = nullptr) const;

  // Adds the value sets, agents and generic anesthetic mentions found in
  // free text (notes, reactions) to `out`; negated, hypothetical and
  // other-experiencer mentions are left out. `cache` as above.
  void ClassifyText(absl::string_view text, ConceptMatch* out,
                    TextClassificationCache* cache = nullptr) const;

  // The value sets of criterion `criterion` of rule `rule` (indexes into
  // definition().rules() and its criteria).
  const CompiledCriterion& compiled_criterion(int rule, int criterion) const {
    return compiled_criteria_[rule][criterion];
  }

  // The context reader built from the file's `context` lists.
  const text::ContextClassifier& context_classifier() const {
    return *context_;
  }

  // The value sets with special meaning (see KnowledgeBaseDefinition).
  ValueSetIndex microneedling_value_set() const { return microneedling_; }
  ValueSetIndex no_known_allergy_value_set() const { return no_known_allergy_; }
  ValueSetIndex allergy_finding_value_set() const { return allergy_finding_; }
  ValueSetIndex fitzpatrick_observation_value_set() const {
    return fitzpatrick_observation_;
  }
  // Value set per Fitzpatrick type, index 0 = type I.
  const std::vector<ValueSetIndex>& fitzpatrick_type_value_sets() const {
    return fitzpatrick_types_;
  }

 private:
  friend class KnowledgeBaseCompiler;
  // Only the compiler can make the key, so only FromText creates instances.
  class Passkey {
    friend class KnowledgeBaseCompiler;
    Passkey() = default;
  };

 public:
  explicit KnowledgeBase(Passkey) {}

 private:
  needlecheck::v1::KnowledgeBaseDefinition definition_;
  std::string source_name_;
  std::string sha256_;
  absl::flat_hash_map<std::string, ValueSetIndex> value_set_by_id_;
  struct CodeEntry {
    std::vector<ValueSetIndex> value_sets;
    std::vector<AgentIndex> agents;
    bool generic_anesthetic = false;
  };
  // Code systems, interned when compiled: a knowledge base names a handful,
  // so finding a coding's system is a few length-and-bytes comparisons, not
  // the hash of a long URI.
  std::vector<std::string> systems_;
  // Index of `system` in systems_, or -1.
  int SystemIndex(absl::string_view system) const;
  int InternSystem(const std::string& system);
  // By system index: code -> what lists it.
  std::vector<absl::flat_hash_map<std::string, CodeEntry>> codes_;
  // By rule, then criterion.
  std::vector<std::vector<CompiledCriterion>> compiled_criteria_;
  // ClassifyText without a cache: calls add(hit, list) for every mention
  // kept.
  template <typename Fn>
  void ForEachTextHit(absl::string_view text, Fn&& add) const;
  static void AddTextHit(absl::string_view text,
                         const TextClassificationCache::StoredHit& stored,
                         ConceptMatch* out);
  std::vector<AnestheticAgent> agents_;
  // Tag offsets in the TermMatcher: value set i has tag i, agent j has tag
  // kAgentTagBase + j, generic anesthetic mentions kGenericAnestheticTag.
  static constexpr int32_t kAgentTagBase = 1 << 20;
  static constexpr int32_t kGenericAnestheticTag = 1 << 21;
  std::unique_ptr<text::TermMatcher> matcher_;
  std::unique_ptr<text::ContextClassifier> context_;
  // Some trigger starts with punctuation: every mention is read in its
  // context, not only those whose sentence holds a trigger's first word.
  bool read_every_mention_ = false;
  ValueSetIndex microneedling_ = -1;
  ValueSetIndex no_known_allergy_ = -1;
  ValueSetIndex fitzpatrick_observation_ = -1;
  ValueSetIndex allergy_finding_ = -1;
  std::vector<ValueSetIndex> fitzpatrick_types_;
};

// The ContextRules of a (validated) definition's `context` lists.
text::ContextRules ContextRulesOf(
    const needlecheck::v1::KnowledgeBaseDefinition& definition);

// The knowledge base compiled into the binary (service/kb/data/).
absl::string_view BundledKnowledgeBaseText();

// The largest knowledge-base file read: 16 MiB (the bundled one is about
// 60 KiB).
inline constexpr size_t kMaxKnowledgeBaseFileBytes = 16 * 1024 * 1024;

// Reads and compiles a knowledge-base file. NOT_FOUND / PERMISSION_DENIED
// when it cannot be read; FAILED_PRECONDITION when it is not a regular file
// (a FIFO, /dev/zero: never read, so never blocking or unbounded);
// RESOURCE_EXHAUSTED when larger than kMaxKnowledgeBaseFileBytes (see
// common/files/bounded_file.h); INVALID_ARGUMENT as FromText.
absl::StatusOr<std::shared_ptr<const KnowledgeBase>> LoadKnowledgeBaseFile(
    const std::string& path);

// The bundled knowledge base, compiled (source name "bundled").
absl::StatusOr<std::shared_ptr<const KnowledgeBase>> LoadBundledKnowledgeBase();

}  // namespace needlecheck::kb

#endif  // SERVICE_KB_KNOWLEDGE_BASE_H_
