#include "service/kb/knowledge_base.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "re2/re2.h"
#include "service/common/bounded_file.h"
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
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
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
  for (const Hit& hit : value_sets) {
    if (hit.index == index) return &hit;
  }
  return nullptr;
}

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
        kb->codes_[code.system()][code.code()].value_sets.push_back(i);
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
        kb->codes_[code.system()][code.code()].agents.push_back(j);
      }
      for (const auto& term : a.terms()) {
        terms.push_back({term, KnowledgeBase::kAgentTagBase + j});
      }
    }
    for (const auto& code : def.generic_anesthetic_codes()) {
      kb->codes_[code.system()][code.code()].generic_anesthetic = true;
    }
    for (const auto& term : def.generic_anesthetic_terms()) {
      terms.push_back({term, KnowledgeBase::kGenericAnestheticTag});
    }
    std::vector<text::TermSpec> suffixes = {
        {"caine", KnowledgeBase::kGenericAnestheticTag}};

    text::MatcherOptions options;
    options.misspelling_min_length = def.thresholds().misspelling_min_length();
    const auto& neg = def.negation();
    options.negation.pre_triggers.assign(neg.pre_triggers().begin(),
                                         neg.pre_triggers().end());
    options.negation.post_triggers.assign(neg.post_triggers().begin(),
                                          neg.post_triggers().end());
    options.negation.terminators.assign(neg.terminators().begin(),
                                        neg.terminators().end());
    options.negation.window_words = neg.window_words();
    auto matcher =
        text::TermMatcher::Create(terms, suffixes, exclusions, options);
    if (!matcher.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kb->source_name_, ": text terms: ", matcher.status().message()));
    }
    kb->matcher_ = *std::move(matcher);

    kb->microneedling_ = kb->FindValueSet(def.microneedling_value_set());
    kb->no_known_allergy_ = kb->FindValueSet(def.no_known_allergy_value_set());
    kb->fitzpatrick_observation_ =
        kb->FindValueSet(def.fitzpatrick_observation_value_set());
    kb->allergy_finding_ = kb->FindValueSet(def.allergy_finding_value_set());
    for (const auto& id : def.fitzpatrick_type_value_sets()) {
      kb->fitzpatrick_types_.push_back(kb->FindValueSet(id));
    }
    return std::shared_ptr<const KnowledgeBase>(std::move(kb));
  }
};

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

void KnowledgeBase::ClassifyText(absl::string_view text,
                                 ConceptMatch* out) const {
  if (text.empty()) return;
  for (const text::TermHit& hit : matcher_->FindAll(text)) {
    if (hit.negated) continue;
    ConceptMatch::Hit h;
    h.span = text.substr(hit.begin, hit.end - hit.begin);
    if (hit.tag == kGenericAnestheticTag) {
      h.index = -1;
      out->generic_anesthetic.push_back(h);
    } else if (hit.tag >= kAgentTagBase) {
      h.index = hit.tag - kAgentTagBase;
      out->agents.push_back(h);
    } else {
      h.index = hit.tag;
      out->value_sets.push_back(h);
    }
  }
}

void KnowledgeBase::ClassifyConcept(const v1::Concept& concept,
                                    ConceptMatch* out) const {
  out->Clear();
  for (const v1::Coding& coding : concept.codings()) {
    auto system = codes_.find(coding.system());
    if (system == codes_.end()) continue;
    auto entry = system->second.find(coding.code());
    if (entry == system->second.end()) continue;
    out->coded = true;
    for (ValueSetIndex vs : entry->second.value_sets) {
      out->value_sets.push_back({vs, &coding, {}});
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
    ClassifyText(concept.text(), out);
    return;
  }
  for (const v1::Coding& coding : concept.codings()) {
    ClassifyText(coding.display(), out);
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
