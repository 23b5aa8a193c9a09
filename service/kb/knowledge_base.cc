#include "service/kb/knowledge_base.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/files/bounded_file.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "re2/re2.h"
#include "service/kb/kb_validation.h"

namespace needlecheck::kb {
namespace {

using needlecheck::v1::KnowledgeBaseDefinition;

class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(std::string source) : source_(std::move(source)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(
        absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), len));
}

}  // namespace

std::string ConceptMatch::Hit::EvidenceText() const {
  if (coding != nullptr) {
    std::string out = absl::StrCat(coding->system(), "|", coding->code());
    if (!coding->display().empty())
      absl::StrAppend(&out, " ", coding->display());
    return out;
  }
  return std::string(span);
}

const ConceptMatch::Hit* ConceptMatch::FindValueSet(int32_t index) const {
  // The strongest reading: a code, then an affirmed mention, then a recent
  // one ("lidocaine allergy unlikely; lidocaine causes hives" is affirmed).
  auto rank = [](const Hit& h) {
    if (h.coding != nullptr) return 0;
    return (h.judged_unlikely() ? 2 : 0) + (h.historical() ? 1 : 0);
  };
  if (!MayHaveValueSet(index)) return nullptr;
  const Hit* best = nullptr;
  int best_rank = 0;
  for (const Hit& hit : value_sets) {
    if (hit.index != index) continue;
    const int r = rank(hit);
    if (r == 0) return &hit;
    if (best == nullptr || r < best_rank) {
      best = &hit;
      best_rank = r;
    }
  }
  return best;
}

namespace {

// The word of a trigger phrase whose presence a sentence is screened for
// before its mentions are read in context: the longest word that is not a
// common function word (any word of the phrase would be correct; a rarer
// one lets more sentences skip the reading); empty when it has no word.
std::string WatchedWordOf(absl::string_view phrase) {
  static constexpr absl::string_view kCommon[] = {
      "a",   "an",  "and", "are",  "as",   "at",  "be", "by",
      "for", "had", "has", "have", "in",   "is",  "of", "on",
      "or",  "the", "to",  "was",  "were", "with"};
  std::string best;
  bool best_common = true;
  for (absl::string_view token :
       absl::StrSplit(text::NormalizedPhrase(phrase), ' ', absl::SkipEmpty())) {
    const unsigned char c = static_cast<unsigned char>(token[0]);
    if (c < 0x80 && !absl::ascii_isalnum(c)) continue;  // punctuation
    const bool common = std::find(std::begin(kCommon), std::end(kCommon),
                                  token) != std::end(kCommon);
    if (best.empty() || (best_common && !common) ||
        (best_common == common && token.size() > best.size())) {
      best = std::string(token);
      best_common = common;
    }
  }
  return best;
}

// Whether two SHA-256 digests (64 hex digits) are equal, compared inline
// with a fixed length the compiler unrolls: this runs for every text
// classified with a cache.
bool SameDigest(absl::string_view a, absl::string_view b) {
  constexpr size_t kHexDigits = 64;
  if (a.size() != kHexDigits || b.size() != kHexDigits) return a == b;
  uint64_t diff = 0;
  for (size_t i = 0; i < kHexDigits; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace

// Builds a KnowledgeBase from a validated definition.
class KnowledgeBaseCompiler {
 public:
  static absl::StatusOr<std::shared_ptr<const KnowledgeBase>> Compile(
      KnowledgeBaseDefinition definition, std::string source_name,
      std::string sha256) {
    auto kb = std::make_shared<KnowledgeBase>(KnowledgeBase::Passkey());
    kb->definition_ = std::move(definition);
    kb->source_name_ = std::move(source_name);
    kb->sha256_ = std::move(sha256);
    const KnowledgeBaseDefinition& def = kb->definition_;

    std::vector<text::TermSpec> terms;
    std::vector<text::TermSpec> exclusions;
    for (int i = 0; i < def.value_sets_size(); ++i) {
      const auto& vs = def.value_sets(i);
      kb->value_set_by_id_[vs.id()] = i;
      for (const auto& code : vs.codes()) {
        kb->codes_[kb->InternSystem(code.system())][code.code()]
            .value_sets.push_back(i);
      }
      for (const auto& term : vs.terms()) terms.push_back({term, i});
      for (const auto& term : vs.exclude_terms())
        exclusions.push_back({term, i});
    }
    absl::flat_hash_map<std::string, AgentIndex> agent_by_id;
    for (int j = 0; j < def.anesthetics_size(); ++j) {
      agent_by_id[def.anesthetics(j).id()] = j;
    }
    for (int j = 0; j < def.anesthetics_size(); ++j) {
      const auto& a = def.anesthetics(j);
      AnestheticAgent agent;
      agent.id = a.id();
      agent.name = a.name();
      for (int c : a.classes()) {
        if (c == v1::ANESTHETIC_CLASS_AMIDE) agent.amide = true;
        if (c == v1::ANESTHETIC_CLASS_ESTER) agent.ester = true;
      }
      if (a.components().empty()) {
        agent.components.push_back(j);
      } else {
        for (const auto& component : a.components()) {
          agent.components.push_back(agent_by_id.at(component));
        }
      }
      kb->agents_.push_back(std::move(agent));
      for (const auto& code : a.codes()) {
        kb->codes_[kb->InternSystem(code.system())][code.code()]
            .agents.push_back(j);
      }
      for (const auto& term : a.terms()) {
        terms.push_back({term, KnowledgeBase::kAgentTagBase + j});
      }
      for (const auto& term : a.case_sensitive_terms()) {
        terms.push_back({term, KnowledgeBase::kAgentTagBase + j,
                         /*case_sensitive=*/true});
      }
    }
    for (const auto& code : def.generic_anesthetic_codes()) {
      kb->codes_[kb->InternSystem(code.system())][code.code()]
          .generic_anesthetic = true;
    }
    for (const auto& term : def.generic_anesthetic_terms()) {
      terms.push_back({term, KnowledgeBase::kGenericAnestheticTag});
    }
    std::vector<text::TermSpec> suffixes = {
        {"caine", KnowledgeBase::kGenericAnestheticTag}};

    // Negation is the ContextClassifier's job; the matcher only needs the
    // terminators of every category to keep terms and exclusions inside a
    // clause.
    text::MatcherOptions options;
    options.misspelling_min_length = def.thresholds().misspelling_min_length();
    for (const auto& list : def.context().terminators()) {
      if (list.category() != v1::CONTEXT_CATEGORY_UNSPECIFIED) continue;
      for (const auto& phrase : list.phrases()) {
        // The matcher's terminators are words; a punctuation-only phrase
        // already cuts (or never cuts) a clause there.
        bool has_word = false;
        for (char ch : phrase) has_word |= absl::ascii_isalnum(ch);
        if (has_word) options.negation.terminators.push_back(phrase);
      }
    }
    // A mention is read in its context only when its sentence holds a word
    // of some trigger (one word per trigger suffices: a trigger lies within
    // the sentence it acts in); without a trigger the reading is affirmed,
    // recent, patient whatever else the sentence says. A trigger with no
    // word would need every mention read.
    for (const auto& list : def.context().triggers()) {
      for (const auto& phrase : list.phrases()) {
        const std::string watched = WatchedWordOf(phrase);
        if (!watched.empty()) {
          options.watched_words.push_back(watched);
        } else if (!text::NormalizedPhrase(phrase).empty()) {
          kb->read_every_mention_ = true;
        }
      }
    }
    auto matcher =
        text::TermMatcher::Create(terms, suffixes, exclusions, options);
    if (!matcher.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kb->source_name_, ": text terms: ", matcher.status().message()));
    }
    kb->matcher_ = *std::move(matcher);
    auto context = text::ContextClassifier::Create(ContextRulesOf(def));
    if (!context.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kb->source_name_, ": context: ", context.status().message()));
    }
    kb->context_ = *std::move(context);

    kb->microneedling_ = kb->FindValueSet(def.microneedling_value_set());
    kb->no_known_allergy_ = kb->FindValueSet(def.no_known_allergy_value_set());
    kb->fitzpatrick_observation_ =
        kb->FindValueSet(def.fitzpatrick_observation_value_set());
    kb->allergy_finding_ = kb->FindValueSet(def.allergy_finding_value_set());
    for (const auto& id : def.fitzpatrick_type_value_sets()) {
      kb->fitzpatrick_types_.push_back(kb->FindValueSet(id));
    }
    for (const auto& rule : def.rules()) {
      std::vector<CompiledCriterion>& criteria =
          kb->compiled_criteria_.emplace_back();
      for (const auto& c : rule.criteria()) {
        criteria.push_back({kb->FindValueSet(c.value_set()),
                            kb->FindValueSet(c.value_value_set())});
      }
    }
    return std::shared_ptr<const KnowledgeBase>(std::move(kb));
  }
};

text::ContextRules ContextRulesOf(const KnowledgeBaseDefinition& def) {
  auto category = [](v1::ContextCategory c) {
    switch (c) {
      case v1::CONTEXT_CATEGORY_PROBABLE_NEGATION:
        return text::ContextCategory::kProbableNegation;
      case v1::CONTEXT_CATEGORY_HISTORICAL:
        return text::ContextCategory::kHistorical;
      case v1::CONTEXT_CATEGORY_HYPOTHETICAL:
        return text::ContextCategory::kHypothetical;
      case v1::CONTEXT_CATEGORY_OTHER_EXPERIENCER:
        return text::ContextCategory::kOtherExperiencer;
      case v1::CONTEXT_CATEGORY_RESOLVED:
        return text::ContextCategory::kResolved;
      default:
        return text::ContextCategory::kNegated;
    }
  };
  text::ContextRules rules;
  const v1::ContextDefinition& c = def.context();
  for (const auto& list : c.triggers()) {
    text::TriggerDirection direction = text::TriggerDirection::kForward;
    if (list.direction() == v1::CONTEXT_DIRECTION_BACKWARD) {
      direction = text::TriggerDirection::kBackward;
    } else if (list.direction() == v1::CONTEXT_DIRECTION_BIDIRECTIONAL) {
      direction = text::TriggerDirection::kBidirectional;
    }
    for (const auto& phrase : list.phrases()) {
      rules.triggers.push_back({phrase, category(list.category()), direction,
                                list.max_scope_words()});
    }
  }
  for (const auto& list : c.pseudo_triggers()) {
    rules.pseudo_triggers.insert(rules.pseudo_triggers.end(),
                                 list.phrases().begin(), list.phrases().end());
  }
  for (const auto& list : c.terminators()) {
    for (const auto& phrase : list.phrases()) {
      text::ContextTerminator t{phrase, std::nullopt};
      if (list.category() != v1::CONTEXT_CATEGORY_UNSPECIFIED) {
        t.category = category(list.category());
      }
      rules.terminators.push_back(std::move(t));
    }
  }
  for (const auto& list : c.reaction_cues()) {
    rules.reaction_cues.insert(rules.reaction_cues.end(),
                               list.phrases().begin(), list.phrases().end());
  }
  for (const auto& list : c.reaction_words()) {
    rules.reaction_words.insert(rules.reaction_words.end(),
                                list.phrases().begin(), list.phrases().end());
  }
  return rules;
}

absl::StatusOr<std::shared_ptr<const KnowledgeBase>> KnowledgeBase::FromText(
    absl::string_view text, absl::string_view source_name) {
  const std::string source(source_name);
  KnowledgeBaseDefinition definition;
  google::protobuf::TextFormat::Parser parser;
  CollectingErrors errors(source);
  parser.RecordErrorsTo(&errors);
  google::protobuf::TextFormat::ParseInfoTree tree;
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &definition)) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": not a valid knowledge base"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  std::vector<std::string> problems =
      ValidateKnowledgeBaseDefinition(definition, tree, source);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  }
  return KnowledgeBaseCompiler::Compile(std::move(definition), source,
                                        Sha256Hex(text));
}

ValueSetIndex KnowledgeBase::FindValueSet(absl::string_view id) const {
  auto it = value_set_by_id_.find(id);
  return it == value_set_by_id_.end() ? -1 : it->second;
}

const std::string& KnowledgeBase::ValueSetId(ValueSetIndex index) const {
  return definition_.value_sets(index).id();
}

int KnowledgeBase::SystemIndex(absl::string_view system) const {
  for (size_t i = 0; i < systems_.size(); ++i) {
    if (systems_[i] == system) return static_cast<int>(i);
  }
  return -1;
}

int KnowledgeBase::InternSystem(const std::string& system) {
  const int found = SystemIndex(system);
  if (found >= 0) return found;
  systems_.push_back(system);
  codes_.emplace_back();
  return static_cast<int>(systems_.size()) - 1;
}

void TextClassificationCache::Clear() {
  entries_.clear();
  hits_.clear();
  text_bytes_ = 0;
}

template <typename Fn>
void KnowledgeBase::ForEachTextHit(absl::string_view text, Fn&& add) const {
  text::TermMatcher::Hits hits;
  matcher_->FindAll(text, &hits);
  if (hits.empty()) return;
  // Only mentions whose sentence holds a trigger's first word can read
  // otherwise than affirmed, recent, patient.
  absl::InlinedVector<text::MentionContext, 4> contexts(hits.size());
  absl::InlinedVector<std::pair<size_t, size_t>, 4> spans;
  absl::InlinedVector<size_t, 4> read;
  for (size_t i = 0; i < hits.size(); ++i) {
    if (read_every_mention_ || hits[i].sentence_has_watched_word) {
      spans.emplace_back(hits[i].begin, hits[i].end);
      read.push_back(i);
    }
  }
  if (!spans.empty()) {
    absl::InlinedVector<text::MentionContext, 4> read_contexts(spans.size());
    context_->ClassifyAll(text, spans, absl::MakeSpan(read_contexts));
    for (size_t j = 0; j < read.size(); ++j) {
      contexts[read[j]] = read_contexts[j];
    }
  }
  for (size_t i = 0; i < hits.size(); ++i) {
    const text::TermHit& hit = hits[i];
    const text::MentionContext& context = contexts[i];
    if ((context.negation == text::Negation::kNegated && !context.resolved) ||
        context.temporality == text::Temporality::kHypothetical ||
        context.experiencer == text::Experiencer::kOther) {
      continue;
    }
    TextClassificationCache::StoredHit h;
    h.begin = static_cast<uint32_t>(hit.begin);
    h.end = static_cast<uint32_t>(hit.end);
    h.context = context;
    if (hit.tag == kGenericAnestheticTag) {
      h.index = -1;
      h.list = TextClassificationCache::List::kGeneric;
    } else if (hit.tag >= kAgentTagBase) {
      h.index = hit.tag - kAgentTagBase;
      h.list = TextClassificationCache::List::kAgent;
    } else {
      h.index = hit.tag;
      h.list = TextClassificationCache::List::kValueSet;
    }
    add(h);
  }
}

void KnowledgeBase::AddTextHit(absl::string_view text,
                               const TextClassificationCache::StoredHit& stored,
                               ConceptMatch* out) {
  ConceptMatch::Hit h;
  h.index = stored.index;
  h.span = text.substr(stored.begin, stored.end - stored.begin);
  h.context = stored.context;
  switch (stored.list) {
    case TextClassificationCache::List::kGeneric:
      out->generic_anesthetic.push_back(h);
      break;
    case TextClassificationCache::List::kAgent:
      out->agents.push_back(h);
      break;
    case TextClassificationCache::List::kValueSet:
      out->AddValueSet(h);
      break;
  }
}

void KnowledgeBase::ClassifyText(absl::string_view text, ConceptMatch* out,
                                 TextClassificationCache* cache) const {
  if (text.empty()) return;
  auto add = [&](const TextClassificationCache::StoredHit& h) {
    AddTextHit(text, h, out);
  };
  // Offsets are kept as 32 bits; longer texts are never cached.
  if (cache == nullptr || text.size() > cache->max_text_bytes_ / 16 ||
      text.size() > UINT32_MAX) {
    ForEachTextHit(text, add);
    return;
  }
  if (!SameDigest(cache->kb_sha256_, sha256_)) {
    cache->Clear();
    cache->kb_sha256_ = sha256_;
  }
  auto found = cache->entries_.find(text);
  if (found != cache->entries_.end()) {
    const auto [first, count] = found->second;
    for (uint32_t i = first; i < first + count; ++i) {
      add(cache->hits_[i]);
    }
    return;
  }
  if (cache->text_bytes_ + text.size() > cache->max_text_bytes_) {
    cache->Clear();
  }
  const size_t first = cache->hits_.size();
  ForEachTextHit(text, [&](const TextClassificationCache::StoredHit& h) {
    cache->hits_.push_back(h);
    add(h);
  });
  cache->entries_.emplace(
      std::string(text),
      std::make_pair(static_cast<uint32_t>(first),
                     static_cast<uint32_t>(cache->hits_.size() - first)));
  cache->text_bytes_ += text.size();
}

void KnowledgeBase::ClassifyConcept(const v1::Concept& concept,
                                    ConceptMatch* out,
                                    TextClassificationCache* cache) const {
  out->Clear();
  for (const v1::Coding& coding : concept.codings()) {
    const int system = SystemIndex(coding.system());
    if (system < 0) continue;
    const auto& codes = codes_[system];
    auto entry = codes.find(coding.code());
    if (entry == codes.end()) continue;
    out->coded = true;
    for (ValueSetIndex vs : entry->second.value_sets) {
      out->AddValueSet({vs, &coding, {}});
    }
    for (AgentIndex agent : entry->second.agents) {
      out->agents.push_back({agent, &coding, {}});
    }
    if (entry->second.generic_anesthetic) {
      out->generic_anesthetic.push_back({-1, &coding, {}});
    }
  }
  if (out->coded) return;
  if (!concept.text().empty()) {
    ClassifyText(concept.text(), out, cache);
    return;
  }
  for (const v1::Coding& coding : concept.codings()) {
    ClassifyText(coding.display(), out, cache);
  }
}

v1::KnowledgeBase KnowledgeBase::Summary() const {
  v1::KnowledgeBase summary;
  summary.set_version(definition_.version());
  summary.set_source(source_name_);
  summary.set_sha256(sha256_);
  *summary.mutable_thresholds() = definition_.thresholds();
  summary.set_anesthetic_count(definition_.anesthetics_size());
  for (const auto& rule : definition_.rules()) {
    v1::RuleSummary* r = summary.add_rules();
    r->set_id(rule.id());
    r->set_category(rule.category());
    r->set_severity(rule.severity());
    r->set_enabled(rule.enabled());
    r->set_citation(rule.citation());
    r->set_citation_url(rule.citation_url());
    r->set_summary(rule.summary());
    absl::flat_hash_set<std::string> seen;
    for (const auto& c : rule.criteria()) {
      for (const std::string& id : {c.value_set(), c.value_value_set()}) {
        if (!id.empty() && seen.insert(id).second) r->add_value_sets(id);
      }
    }
  }
  for (const auto& vs : definition_.value_sets()) {
    v1::ValueSetSummary* s = summary.add_value_sets();
    s->set_id(vs.id());
    s->set_description(vs.description());
    s->set_code_count(vs.codes_size());
    s->set_term_count(vs.terms_size());
  }
  for (const auto& a : definition_.anesthetics()) {
    for (const auto& term : a.case_sensitive_terms()) {
      v1::CaseSensitiveTermSummary* t = summary.add_case_sensitive_terms();
      t->set_anesthetic_id(a.id());
      t->set_term(term);
    }
  }
  const v1::ContextDefinition& c = definition_.context();
  auto add_list = [&](const std::string& id, absl::string_view kind,
                      v1::ContextCategory category,
                      v1::ContextDirection direction, const std::string& source,
                      const auto& phrases) {
    v1::ContextListSummary* l = summary.add_context_lists();
    l->set_id(id);
    l->set_kind(std::string(kind));
    l->set_category(category);
    l->set_direction(direction);
    l->set_source(source);
    l->set_phrase_count(phrases.size());
    for (const auto& p : phrases) l->add_phrases(p);
  };
  for (const auto& t : c.triggers()) {
    add_list(t.id(), "trigger", t.category(), t.direction(), t.source(),
             t.phrases());
  }
  for (const auto& [lists, kind] :
       {std::make_pair(&c.pseudo_triggers(), "pseudo-trigger"),
        std::make_pair(&c.terminators(), "terminator"),
        std::make_pair(&c.reaction_cues(), "reaction cue"),
        std::make_pair(&c.reaction_words(), "reaction word")}) {
    for (const auto& l : *lists) {
      add_list(l.id(), kind, l.category(), v1::CONTEXT_DIRECTION_UNSPECIFIED,
               l.source(), l.phrases());
    }
  }
  return summary;
}

absl::StatusOr<std::shared_ptr<const KnowledgeBase>> LoadKnowledgeBaseFile(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadRegularFile(path, kMaxKnowledgeBaseFileBytes);
  if (!text.ok()) return text.status();
  return KnowledgeBase::FromText(*text, path);
}

absl::StatusOr<std::shared_ptr<const KnowledgeBase>>
LoadBundledKnowledgeBase() {
  return KnowledgeBase::FromText(BundledKnowledgeBaseText(), "bundled");
}

}  // namespace needlecheck::kb
