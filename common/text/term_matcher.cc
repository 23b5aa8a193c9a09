// TermMatcher implementation.
//
// Build time: every term, trigger, terminator and exclusion is split into
// case-folded words ("units"). A term of n <= kMaxGroupedWords words gets one
// variant per way of writing adjacent words together ("radiofrequency micro
// needling", "radiofrequency microneedling", ...); longer terms get only the
// separate and the fully joined forms. Units are indexed by hash for exact
// lookup, and units of >= misspelling_min_length bytes also under each of
// their one-deletion variants (symmetric delete) for misspelling lookup.
//
// FindAll: one pass tokenizes the text into a small stack buffer, hashing
// each word as it goes, and looks the word up exactly (Bloom filter, then
// hash map). Only a word whose length and first or last bytes fit some
// misspellable unit (AnchorFilter: one edit cannot change both ends) goes on
// to the misspelling lookup: the hashes of its one-deletion variants come from
// prefix and suffix hashes in O(length), each probed behind a Bloom filter
// and confirmed by an OSA check. A text in which no word is a candidate
// returns here, with no allocation. Otherwise phrases (terms, triggers,
// terminators, exclusions) are matched on the per-word unit ids.
//
// Choices the header leaves open:
// - A text word that is itself (exactly) a word of some term is not also
//   matched as a misspelling of other term words ("procaine" does not match
//   a term "procaina"). A correctly spelled known word is not a typo.
// - '\r' cuts a clause like '\n'.
// - Words of a term, trigger, terminator or exclusion must lie in one clause.
// - Window: a pre-trigger ending at word t negates a hit starting at word h
//   when 0 < h - t <= window_words (with window 1 only "no EMLA" negates);
//   post-triggers symmetrically.
// - Triggers, terminators and exclusions match whole words exactly, in
//   sequence, without the joined form or misspelling tolerance.
// - A suffix term must be a single word ("-caine" is fine, "ca ine" is
//   INVALID_ARGUMENT). Suffix hits are never `misspelled`.
// - Misspelling edits are counted in bytes (see internal/word_index.h).
// - A case-sensitive term is matched on its folded words like any other
//   term; the case of its capitalized words is checked on the hit, against
//   the text's bytes.
#include "common/text/term_matcher.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/text/internal/small_vector.h"
#include "common/text/internal/word_index.h"

namespace needlecheck::text {
namespace {

using internal::FoldByte;
using internal::IsWordByte;

constexpr size_t kMaxGroupedWords = 4;

// Splits `s` into words (the tokenizer of the header contract), case-folded
// when `fold`, else as written.
std::vector<std::string> SplitWords(absl::string_view s, bool fold) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    if (!IsWordByte(s[i])) {
      ++i;
      continue;
    }
    std::string w;
    while (i < s.size() && IsWordByte(s[i])) {
      w.push_back(fold ? static_cast<char>(FoldByte(s[i])) : s[i]);
      ++i;
    }
    words.push_back(std::move(w));
  }
  return words;
}

std::vector<std::string> FoldedWords(absl::string_view s) {
  return SplitWords(s, /*fold=*/true);
}

bool HasCapital(absl::string_view word) {
  return std::any_of(word.begin(), word.end(),
                     [](char c) { return c >= 'A' && c <= 'Z'; });
}

enum class PhraseKind : uint8_t {
  kTerm,
  kPreTrigger,
  kPostTrigger,
  kTerminator,
  kExclusion,
};

struct Phrase {
  uint32_t units_begin = 0;  // into units_of_phrases_
  uint32_t num_units = 0;
  PhraseKind kind = PhraseKind::kTerm;
  int32_t tag = 0;
  // Case-sensitive terms: index of num_units entries in case_words_, each
  // the word as written when it must match exactly, else empty. -1: none.
  int32_t case_begin = -1;
};

// Compressed lists: for each first unit id, the phrases starting with it.
struct PhraseTable {
  std::vector<uint32_t> begin;  // size num_units + 1
  std::vector<uint32_t> phrase_ids;

  absl::Span<const uint32_t> StartingWith(int32_t unit) const {
    return absl::MakeConstSpan(phrase_ids.data() + begin[unit],
                               begin[unit + 1] - begin[unit]);
  }
};

struct Token {
  size_t begin = 0;
  size_t end = 0;
  size_t clause = 0;
  size_t sentence = 0;      // clause before terminators cut it
  int32_t exact_unit = -1;  // unit equal to this word, any kind
  size_t cands_begin = 0;   // term-unit candidates in FindAll's `cands`
  size_t cands_end = 0;
  bool terminator = false;
  bool suffix_candidate = false;  // ends with some suffix term
};

struct Candidate {
  int32_t unit = 0;
  bool misspelled = false;
};

struct RawHit {
  int32_t tag = 0;
  size_t first = 0;  // token indices, inclusive
  size_t last = 0;
  bool misspelled = false;
};

struct Occurrence {
  PhraseKind kind = PhraseKind::kTerm;
  int32_t tag = 0;
  size_t first = 0;
  size_t last = 0;
};

struct ClauseTag {
  size_t clause = 0;
  int32_t tag = 0;
  bool operator<(const ClauseTag& o) const {
    return clause != o.clause ? clause < o.clause : tag < o.tag;
  }
};

using Candidates = internal::SmallVector<Candidate, 16>;

class TermMatcherImpl final : public TermMatcher {
 public:
  static absl::StatusOr<std::unique_ptr<TermMatcher>> Build(
      const std::vector<TermSpec>& terms,
      const std::vector<TermSpec>& suffix_terms,
      const std::vector<TermSpec>& exclusions, const MatcherOptions& options);

  void FindAll(absl::string_view text, Hits* out) const override;

 private:
  struct Unit {
    std::string text;
    bool term_word = false;  // a word (or joined group) of some term
    bool watched = false;    // one of MatcherOptions::watched_words
  };
  struct Suffix {
    std::string text;  // folded
    int32_t tag;
  };

  TermMatcherImpl() = default;

  int32_t InternUnit(const std::string& folded, bool term_word);
  void AddPhrase(const std::vector<int32_t>& units, PhraseKind kind,
                 int32_t tag, std::vector<std::string> case_words = {});
  // Whether `tokens` (the words of a hit of `p`, in order) are written with
  // the case its capitalized words require.
  bool CaseMatches(const Phrase& p, absl::string_view text,
                   absl::Span<const Token> tokens) const;
  absl::Status AddTerm(const TermSpec& spec);
  absl::Status AddExactPhrases(const std::vector<std::string>& phrases,
                               PhraseKind kind, absl::string_view what);
  void Finalize();

  // Fills token.exact_unit and appends term-unit candidates to `cands`.
  // `raw_hash` is internal::RawHash(word).
  void LookUpWord(absl::string_view word, uint64_t raw_hash, Token& token,
                  Candidates& cands, internal::HashScratch& scratch) const;
  bool EndsWithSuffix(absl::string_view word) const;

  MatcherOptions options_;
  size_t fuzzy_min_ = 6;

  std::vector<Unit> units_;
  absl::flat_hash_map<std::string, int32_t> unit_by_text_;  // build only
  size_t max_unit_length_ = 0;
  size_t max_fuzzy_length_ = 0;  // longest unit allowing one edit
  internal::WordHashIndex exact_index_;
  internal::WordHashIndex deletion_index_;
  internal::AnchorFilter near_filter_;
  std::vector<uint64_t> pow_;  // kHashBase^k, k <= max_fuzzy_length_ + 1

  std::vector<Phrase> phrases_;
  std::vector<int32_t> units_of_phrases_;
  std::vector<std::string> case_words_;
  absl::flat_hash_set<std::pair<int32_t, std::vector<int32_t>>>
      seen_terms_;  // build only: (tag, units), and kinds other than terms
  PhraseTable term_table_;   // kTerm phrases
  PhraseTable other_table_;  // triggers, terminators, exclusions
  bool has_terminators_ = false;
  bool has_watched_words_ = false;

  std::vector<Suffix> suffixes_;
  bool suffix_last_byte_[256] = {};  // last bytes of suffixes_
};

int32_t TermMatcherImpl::InternUnit(const std::string& folded, bool term_word) {
  auto [it, inserted] =
      unit_by_text_.emplace(folded, static_cast<int32_t>(units_.size()));
  if (inserted) {
    units_.push_back(Unit{folded, term_word});
    max_unit_length_ = std::max(max_unit_length_, folded.size());
  } else if (term_word) {
    units_[it->second].term_word = true;
  }
  return it->second;
}

void TermMatcherImpl::AddPhrase(const std::vector<int32_t>& units,
                                PhraseKind kind, int32_t tag,
                                std::vector<std::string> case_words) {
  // Deduplicate identical phrases (same kind, tag, words and case).
  std::vector<int32_t> key = units;
  key.push_back(static_cast<int32_t>(kind));
  if (!case_words.empty()) {
    for (const std::string& w : case_words) {
      key.push_back(-1);
      for (char c : w) key.push_back(static_cast<unsigned char>(c));
    }
  }
  if (!seen_terms_.emplace(tag, std::move(key)).second) return;
  Phrase p;
  if (!case_words.empty()) {
    p.case_begin = static_cast<int32_t>(case_words_.size());
    for (std::string& w : case_words) case_words_.push_back(std::move(w));
  }
  p.units_begin = static_cast<uint32_t>(units_of_phrases_.size());
  p.num_units = static_cast<uint32_t>(units.size());
  p.kind = kind;
  p.tag = tag;
  units_of_phrases_.insert(units_of_phrases_.end(), units.begin(), units.end());
  phrases_.push_back(p);
}

absl::Status TermMatcherImpl::AddTerm(const TermSpec& spec) {
  if (spec.term.empty()) {
    return absl::InvalidArgumentError("empty term");
  }
  std::vector<std::string> words = FoldedWords(spec.term);
  if (words.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("term has no word characters: \"", spec.term, "\""));
  }
  const size_t n = words.size();
  if (spec.case_sensitive) {
    std::vector<std::string> written = SplitWords(spec.term, /*fold=*/false);
    bool any_capital = false;
    for (std::string& w : written) {
      if (HasCapital(w)) {
        any_capital = true;
      } else {
        w.clear();
      }
    }
    if (!any_capital) {
      return absl::InvalidArgumentError(absl::StrCat(
          "case-sensitive term has no capital letter: \"", spec.term, "\""));
    }
    std::vector<int32_t> units;
    for (const std::string& w : words) {
      units.push_back(InternUnit(w, /*term_word=*/true));
    }
    AddPhrase(units, PhraseKind::kTerm, spec.tag, std::move(written));
    return absl::OkStatus();
  }
  // Bit k of `joins` set: word k and word k + 1 are written together.
  const uint64_t all_joined = n > 1 ? (uint64_t{1} << (n - 1)) - 1 : 0;
  std::vector<uint64_t> groupings;
  if (n <= kMaxGroupedWords) {
    for (uint64_t joins = 0; joins <= all_joined; ++joins) {
      groupings.push_back(joins);
    }
  } else {
    groupings = {0, ~uint64_t{0}};
  }
  for (uint64_t joins : groupings) {
    std::vector<int32_t> units;
    std::string group = words[0];
    for (size_t k = 1; k < n; ++k) {
      if (joins & (uint64_t{1} << std::min<size_t>(k - 1, 63))) {
        group += words[k];
      } else {
        units.push_back(InternUnit(group, /*term_word=*/true));
        group = words[k];
      }
    }
    units.push_back(InternUnit(group, /*term_word=*/true));
    AddPhrase(units, PhraseKind::kTerm, spec.tag);
  }
  return absl::OkStatus();
}

absl::Status TermMatcherImpl::AddExactPhrases(
    const std::vector<std::string>& phrases, PhraseKind kind,
    absl::string_view what) {
  for (const std::string& phrase : phrases) {
    std::vector<std::string> words = FoldedWords(phrase);
    if (words.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has no word characters: \"", phrase, "\""));
    }
    std::vector<int32_t> units;
    for (const std::string& w : words) {
      units.push_back(InternUnit(w, /*term_word=*/false));
    }
    AddPhrase(units, kind, 0);
  }
  return absl::OkStatus();
}

void TermMatcherImpl::Finalize() {
  // Word indices.
  for (size_t id = 0; id < units_.size(); ++id) {
    const std::string& u = units_[id].text;
    exact_index_.Add(internal::WordKeyOf(u), static_cast<int32_t>(id));
    if (units_[id].term_word && u.size() >= fuzzy_min_) {
      max_fuzzy_length_ = std::max(max_fuzzy_length_, u.size());
    }
  }
  pow_.assign(max_fuzzy_length_ + 2, 1);
  for (size_t k = 1; k < pow_.size(); ++k) {
    pow_[k] = pow_[k - 1] * internal::kHashBase;
  }
  internal::HashScratch scratch;
  for (size_t id = 0; id < units_.size(); ++id) {
    const std::string& u = units_[id].text;
    if (!units_[id].term_word || u.size() < fuzzy_min_) continue;
    near_filter_.Add(u);
    internal::ForEachDeletionKey(u, pow_, scratch, [&](uint64_t key) {
      deletion_index_.Add(key, static_cast<int32_t>(id));
    });
  }
  exact_index_.Finalize();
  deletion_index_.Finalize();

  // Phrase tables.
  auto build_table = [&](PhraseTable& table, bool terms) {
    table.begin.assign(units_.size() + 1, 0);
    for (const Phrase& p : phrases_) {
      if ((p.kind == PhraseKind::kTerm) != terms) continue;
      ++table.begin[units_of_phrases_[p.units_begin] + 1];
    }
    for (size_t u = 0; u < units_.size(); ++u) {
      table.begin[u + 1] += table.begin[u];
    }
    table.phrase_ids.assign(table.begin.back(), 0);
    std::vector<uint32_t> fill(table.begin.begin(), table.begin.end() - 1);
    for (size_t i = 0; i < phrases_.size(); ++i) {
      const Phrase& p = phrases_[i];
      if ((p.kind == PhraseKind::kTerm) != terms) continue;
      table.phrase_ids[fill[units_of_phrases_[p.units_begin]]++] =
          static_cast<uint32_t>(i);
    }
  };
  build_table(term_table_, true);
  build_table(other_table_, false);
  for (const Phrase& p : phrases_) {
    if (p.kind == PhraseKind::kTerminator) has_terminators_ = true;
  }
  unit_by_text_.clear();
  seen_terms_.clear();
}

absl::StatusOr<std::unique_ptr<TermMatcher>> TermMatcherImpl::Build(
    const std::vector<TermSpec>& terms,
    const std::vector<TermSpec>& suffix_terms,
    const std::vector<TermSpec>& exclusions, const MatcherOptions& options) {
  if (options.misspelling_min_length < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("misspelling_min_length must be >= 3, got ",
                     options.misspelling_min_length));
  }
  if (options.negation.window_words < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "window_words must be >= 1, got ", options.negation.window_words));
  }
  auto m = std::unique_ptr<TermMatcherImpl>(new TermMatcherImpl());
  m->options_ = options;
  m->fuzzy_min_ = static_cast<size_t>(options.misspelling_min_length);
  for (const TermSpec& spec : terms) {
    absl::Status s = m->AddTerm(spec);
    if (!s.ok()) return s;
  }
  for (const TermSpec& spec : suffix_terms) {
    if (spec.term.empty()) {
      return absl::InvalidArgumentError("empty suffix term");
    }
    std::vector<std::string> words = FoldedWords(spec.term);
    if (words.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "suffix term must be exactly one word: \"", spec.term, "\""));
    }
    m->suffix_last_byte_[static_cast<unsigned char>(words[0].back())] = true;
    m->suffixes_.push_back(Suffix{std::move(words[0]), spec.tag});
  }
  for (const TermSpec& spec : exclusions) {
    if (spec.term.empty()) {
      return absl::InvalidArgumentError("empty exclusion term");
    }
    std::vector<std::string> words = FoldedWords(spec.term);
    if (words.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "exclusion term has no word characters: \"", spec.term, "\""));
    }
    std::vector<int32_t> units;
    for (const std::string& w : words) {
      units.push_back(m->InternUnit(w, /*term_word=*/false));
    }
    m->AddPhrase(units, PhraseKind::kExclusion, spec.tag);
  }
  const NegationRules& neg = options.negation;
  for (auto [list, kind, what] :
       {std::make_tuple(&neg.pre_triggers, PhraseKind::kPreTrigger,
                        "pre-trigger"),
        std::make_tuple(&neg.post_triggers, PhraseKind::kPostTrigger,
                        "post-trigger"),
        std::make_tuple(&neg.terminators, PhraseKind::kTerminator,
                        "terminator")}) {
    absl::Status s = m->AddExactPhrases(*list, kind, what);
    if (!s.ok()) return s;
  }
  for (const std::string& word : options.watched_words) {
    std::vector<std::string> words = FoldedWords(word);
    if (words.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "watched word must be exactly one word: \"", word, "\""));
    }
    m->units_[m->InternUnit(words[0], /*term_word=*/false)].watched = true;
    m->has_watched_words_ = true;
  }
  m->Finalize();
  return std::unique_ptr<TermMatcher>(std::move(m));
}

void TermMatcherImpl::LookUpWord(absl::string_view word, uint64_t raw_hash,
                                 Token& token, Candidates& cands,
                                 internal::HashScratch& scratch) const {
  const size_t n = word.size();
  token.cands_begin = cands.size();
  const bool fuzzy = n + 1 >= fuzzy_min_ && n <= max_fuzzy_length_ + 1;
  auto add_exact = [&](uint64_t key) {
    for (int32_t id : exact_index_.Find(key)) {
      if (internal::FoldedEquals(word, units_[id].text)) {
        token.exact_unit = id;
        if (units_[id].term_word) cands.push_back(Candidate{id, false});
        return;
      }
    }
  };
  if (n <= max_unit_length_) add_exact(internal::WordKey(raw_hash, n));
  const bool blocked =
      token.exact_unit >= 0 && units_[token.exact_unit].term_word;
  if (fuzzy && !blocked && near_filter_.MayBeNear(word)) {
    // The word's own key finds units one byte longer; the keys of its
    // deletions find units one byte shorter or of equal length.
    internal::ForEachDeletionKey(word, pow_, scratch, [&](uint64_t key) {
      for (int32_t id : deletion_index_.Find(key)) {
        bool seen = false;
        for (size_t c = token.cands_begin; c < cands.size(); ++c) {
          if (cands[c].unit == id) seen = true;
        }
        if (!seen && internal::WithinOneEdit(word, units_[id].text)) {
          cands.push_back(Candidate{id, true});
        }
      }
    });
  }
  token.cands_end = cands.size();
}

bool TermMatcherImpl::CaseMatches(const Phrase& p, absl::string_view text,
                                  absl::Span<const Token> tokens) const {
  for (size_t k = 0; k < p.num_units; ++k) {
    const std::string& want = case_words_[p.case_begin + k];
    if (want.empty()) continue;
    const Token& t = tokens[k];
    if (text.substr(t.begin, t.end - t.begin) != want) return false;
  }
  return true;
}

bool TermMatcherImpl::EndsWithSuffix(absl::string_view word) const {
  for (const Suffix& s : suffixes_) {
    if (word.size() > s.text.size() &&
        internal::FoldedEquals(word.substr(word.size() - s.text.size()),
                               s.text)) {
      return true;
    }
  }
  return false;
}

void TermMatcherImpl::FindAll(absl::string_view text, Hits* out) const {
  out->clear();
  if (text.empty()) return;

  // 1. Tokenize, look words up, and number clauses cut by punctuation.
  internal::SmallVector<Token, 32> tokens;
  Candidates cands;
  internal::HashScratch scratch;
  bool any_suffix = false;
  size_t clause = 0;
  bool cut = false;
  const size_t size = text.size();
  const unsigned char* const bytes =
      reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const word_lower = internal::kByteTables.word_lower;
  for (size_t i = 0; i < size;) {
    unsigned char folded = word_lower[bytes[i]];
    if (folded == 0) {
      const unsigned char c = bytes[i];
      if (c == ';' || c == '!' || c == '\n' || c == '\r') {
        cut = true;
      } else if (c == '.') {
        const bool between_digits =
            i > 0 && i + 1 < size &&
            static_cast<unsigned>(bytes[i - 1] - '0') < 10u &&
            static_cast<unsigned>(bytes[i + 1] - '0') < 10u;
        if (!between_digits) cut = true;
      }
      ++i;
      continue;
    }
    const size_t begin = i;
    uint64_t raw_hash = 0;  // internal::RawHash of the word, on the fly
    do {
      raw_hash = raw_hash * internal::kHashBase + folded;
      ++i;
    } while (i < size && (folded = word_lower[bytes[i]]) != 0);
    if (cut && !tokens.empty()) ++clause;
    cut = false;
    Token& t = tokens.emplace_back();
    t.begin = begin;
    t.end = i;
    t.clause = clause;
    t.sentence = clause;
    const absl::string_view word = text.substr(begin, i - begin);
    LookUpWord(word, raw_hash, t, cands, scratch);
    if (suffix_last_byte_[FoldByte(word.back())] && EndsWithSuffix(word)) {
      t.suffix_candidate = true;
      any_suffix = true;
    }
  }
  // Most texts mention no term: nothing more to do.
  if (cands.empty() && !any_suffix) return;
  const size_t num_tokens = tokens.size();

  // 2. Exact phrases: triggers, terminators, exclusions.
  internal::SmallVector<Occurrence, 8> occurrences;
  for (size_t i = 0; i < num_tokens; ++i) {
    const int32_t u = tokens[i].exact_unit;
    if (u < 0) continue;
    for (uint32_t pid : other_table_.StartingWith(u)) {
      const Phrase& p = phrases_[pid];
      if (p.num_units > num_tokens - i) continue;
      const size_t last = i + p.num_units - 1;
      bool ok = tokens[last].clause == tokens[i].clause;
      for (size_t k = 1; ok && k < p.num_units; ++k) {
        ok = tokens[i + k].exact_unit == units_of_phrases_[p.units_begin + k];
      }
      if (ok) occurrences.push_back(Occurrence{p.kind, p.tag, i, last});
    }
  }

  // 3. Terminators cut clauses: each run of terminator words is a clause of
  //    its own, so no term, trigger or exclusion reaches across it.
  bool any_terminator = false;
  for (const Occurrence& o : occurrences) {
    if (o.kind != PhraseKind::kTerminator) continue;
    any_terminator = true;
    for (size_t k = o.first; k <= o.last; ++k) tokens[k].terminator = true;
  }
  if (any_terminator) {
    size_t prev_clause = tokens[0].clause;
    bool prev_terminator = tokens[0].terminator;
    size_t renumbered = 0;
    tokens[0].clause = 0;
    for (size_t i = 1; i < num_tokens; ++i) {
      Token& t = tokens[i];
      if (t.clause != prev_clause || t.terminator != prev_terminator) {
        ++renumbered;
      }
      prev_clause = t.clause;
      prev_terminator = t.terminator;
      t.clause = renumbered;
    }
  }

  // 4. Terms: consecutive words in one clause, each an exact or one-edit
  //    match of the term's word (or joined group of words).
  internal::SmallVector<RawHit, 8> raw;
  for (size_t i = 0; i < num_tokens; ++i) {
    const Token& t = tokens[i];
    for (size_t c = t.cands_begin; c < t.cands_end; ++c) {
      for (uint32_t pid : term_table_.StartingWith(cands[c].unit)) {
        const Phrase& p = phrases_[pid];
        if (p.num_units > num_tokens - i) continue;
        const size_t last = i + p.num_units - 1;
        if (tokens[last].clause != t.clause) continue;
        bool misspelled = cands[c].misspelled;
        bool ok = true;
        for (size_t k = 1; ok && k < p.num_units; ++k) {
          const Token& next = tokens[i + k];
          const int32_t want = units_of_phrases_[p.units_begin + k];
          ok = false;
          for (size_t d = next.cands_begin; d < next.cands_end; ++d) {
            if (cands[d].unit == want) {
              ok = true;
              misspelled = misspelled || cands[d].misspelled;
              break;
            }
          }
        }
        if (ok && p.case_begin >= 0) {
          ok = CaseMatches(p, text,
                           absl::MakeConstSpan(&tokens[i], p.num_units));
        }
        if (ok) raw.push_back(RawHit{p.tag, i, last, misspelled});
      }
    }
  }

  // 5. Suffix terms, on words no term matched.
  if (any_suffix) {
    internal::SmallVector<bool, 32> covered;
    covered.resize(num_tokens);
    for (const RawHit& h : raw) {
      for (size_t k = h.first; k <= h.last; ++k) covered[k] = true;
    }
    for (size_t i = 0; i < num_tokens; ++i) {
      if (covered[i] || !tokens[i].suffix_candidate) continue;
      const absl::string_view word =
          text.substr(tokens[i].begin, tokens[i].end - tokens[i].begin);
      for (const Suffix& s : suffixes_) {
        if (word.size() > s.text.size() &&
            internal::FoldedEquals(word.substr(word.size() - s.text.size()),
                                   s.text)) {
          raw.push_back(RawHit{s.tag, i, i, false});
        }
      }
    }
  }
  if (raw.empty()) return;

  // 6. Per tag, leftmost-longest without overlap; on equal spans prefer a
  //    correctly spelled match.
  std::sort(raw.begin(), raw.end(), [](const RawHit& a, const RawHit& b) {
    if (a.tag != b.tag) return a.tag < b.tag;
    if (a.first != b.first) return a.first < b.first;
    if (a.last != b.last) return a.last > b.last;
    return a.misspelled < b.misspelled;
  });

  // 7. Exclusions and negation scopes.
  internal::SmallVector<ClauseTag, 4> excluded;
  internal::SmallVector<size_t, 8> pre_ends;
  internal::SmallVector<size_t, 8> post_begins;
  for (const Occurrence& o : occurrences) {
    if (tokens[o.first].clause != tokens[o.last].clause) continue;
    switch (o.kind) {
      case PhraseKind::kExclusion:
        excluded.push_back({tokens[o.first].clause, o.tag});
        break;
      case PhraseKind::kPreTrigger:
        pre_ends.push_back(o.last);
        break;
      case PhraseKind::kPostTrigger:
        post_begins.push_back(o.first);
        break;
      default:
        break;
    }
  }
  std::sort(excluded.begin(), excluded.end());
  std::sort(pre_ends.begin(), pre_ends.end());
  std::sort(post_begins.begin(), post_begins.end());
  const size_t window = static_cast<size_t>(options_.negation.window_words);
  // Sentences holding a watched word.
  internal::SmallVector<bool, 16> watched_sentence;
  if (has_watched_words_) {
    watched_sentence.resize(tokens[num_tokens - 1].sentence + 1);
    for (size_t i = 0; i < num_tokens; ++i) {
      const int32_t u = tokens[i].exact_unit;
      if (u >= 0 && units_[u].watched) {
        watched_sentence[tokens[i].sentence] = true;
      }
    }
  }

  bool have_tag = false;
  int32_t tag = 0;
  size_t taken_last = 0;
  for (const RawHit& h : raw) {
    if (have_tag && h.tag == tag && h.first <= taken_last) continue;
    have_tag = true;
    tag = h.tag;
    taken_last = h.last;
    const size_t hit_clause = tokens[h.first].clause;
    if (std::binary_search(excluded.begin(), excluded.end(),
                           ClauseTag{hit_clause, h.tag})) {
      continue;
    }
    bool negated = false;
    // Nearest pre-trigger ending before the hit.
    auto pre = std::lower_bound(pre_ends.begin(), pre_ends.end(), h.first);
    if (pre != pre_ends.begin()) {
      const size_t te = *(pre - 1);
      negated = h.first - te <= window && tokens[te].clause == hit_clause;
    }
    // Nearest post-trigger starting after the hit.
    auto post =
        std::upper_bound(post_begins.begin(), post_begins.end(), h.last);
    if (!negated && post != post_begins.end()) {
      const size_t tb = *post;
      negated = tb - h.last <= window && tokens[tb].clause == hit_clause;
    }
    TermHit hit;
    hit.tag = h.tag;
    hit.begin = tokens[h.first].begin;
    hit.end = tokens[h.last].end;
    hit.negated = negated;
    hit.misspelled = h.misspelled;
    hit.sentence_has_watched_word =
        has_watched_words_ && watched_sentence[tokens[h.first].sentence];
    out->push_back(hit);
  }
  std::sort(out->begin(), out->end(), [](const TermHit& a, const TermHit& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    return a.tag < b.tag;
  });
}

}  // namespace

std::vector<TermHit> TermMatcher::FindAll(absl::string_view text) const {
  Hits hits;
  FindAll(text, &hits);
  return std::vector<TermHit>(hits.begin(), hits.end());
}

absl::StatusOr<std::unique_ptr<TermMatcher>> TermMatcher::Create(
    const std::vector<TermSpec>& terms,
    const std::vector<TermSpec>& suffix_terms,
    const std::vector<TermSpec>& exclusions, const MatcherOptions& options) {
  return TermMatcherImpl::Build(terms, suffix_terms, exclusions, options);
}

}  // namespace needlecheck::text
