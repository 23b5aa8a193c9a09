// ContextClassifier implementation.
//
// Build time: every phrase is tokenized and its tokens interned as ids; a
// table maps each first token id to the phrases starting with it.
//
// Classify: tokenize the text once (tokens unknown to every phrase get id
// -1), mark the mention's tokens, find phrases left to right (longest
// first, never overlapping the mention), then test each trigger's scope
// against the mention: the tokens strictly between them must hold no
// sentence end, no terminator for the trigger's category, and no comma
// separating the mention's own reaction statement; and the mention must be
// within max_scope_words when the trigger sets it.
#include "common/text/context.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/text/internal/word_index.h"

namespace needlecheck::text {
namespace {

using internal::FoldByte;
using internal::IsWordByte;

struct RawToken {
  size_t begin = 0;
  size_t end = 0;
  bool word = false;
  bool sentence_end = false;
  bool comma = false;
  bool colon = false;
  bool dash = false;
  bool list_colon = false;  // "the following:", "include:": not a boundary
  bool open_paren = false;
  bool close_paren = false;
};

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

// Whether text[0, close) ends with a number of at most two digits that
// starts a word: the "2" of "2)".
bool IsListNumber(absl::string_view text, size_t close) {
  size_t i = close;
  while (i > 0 && static_cast<unsigned>(text[i - 1] - '0') < 10u) --i;
  const size_t digits = close - i;
  return digits >= 1 && digits <= 2 && (i == 0 || !IsWordByte(text[i - 1]));
}

std::string Folded(absl::string_view s) {
  std::string out(s.size(), '\0');
  for (size_t i = 0; i < s.size(); ++i) {
    out[i] = static_cast<char>(FoldByte(s[i]));
  }
  return out;
}

// Whether `before` ends with a word that introduces a list ("any of the
// following:", "as follows:", "allergies include:"): the colon after it
// continues the clause.
bool IntroducesList(absl::string_view before) {
  while (!before.empty() &&
         IsSpace(static_cast<unsigned char>(before.back()))) {
    before.remove_suffix(1);
  }
  size_t start = before.size();
  while (start > 0 && IsWordByte(before[start - 1])) --start;
  const std::string word = Folded(before.substr(start));
  return word == "following" || word == "follows" || word == "include" ||
         word == "includes" || word == "including";
}

// Splits `text` into tokens (see the header). Line breaks become
// sentence-end tokens of their own.
template <typename Fn>
void ForEachToken(absl::string_view text, Fn&& fn) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    RawToken t;
    t.begin = i;
    if (IsWordByte(text[i])) {
      while (i < n && IsWordByte(text[i])) ++i;
      t.word = true;
    } else {
      ++i;
      if (c == '\n' || c == '\r' || c == ';' || c == '!') {
        t.sentence_end = true;
      } else if (c == '.') {
        const bool between_digits =
            t.begin > 0 && i < n &&
            static_cast<unsigned>(text[t.begin - 1] - '0') < 10u &&
            static_cast<unsigned>(text[i] - '0') < 10u;
        t.sentence_end = !between_digits;
      } else if (c == ',') {
        t.comma = true;
      } else if (c == '-') {
        t.dash = true;
      } else if (c == ':') {
        t.colon = true;
        t.list_colon = IntroducesList(text.substr(0, t.begin));
      } else if (c == '(') {
        t.open_paren = true;
      } else if (c == ')') {
        // "2)" starts an item of a numbered list.
        t.sentence_end = t.begin > 0 && IsListNumber(text, t.begin);
        t.close_paren = true;
      }
    }
    t.end = i;
    fn(t);
  }
}

std::vector<std::string> PhraseTokens(absl::string_view phrase) {
  std::vector<std::string> out;
  ForEachToken(phrase, [&](const RawToken& t) {
    out.push_back(Folded(phrase.substr(t.begin, t.end - t.begin)));
  });
  return out;
}

enum class PhraseKind : uint8_t {
  kTrigger,
  kPseudo,
  kTerminator,
  kCue,
  kReactionWord,
};

struct Phrase {
  std::vector<int32_t> tokens;
  PhraseKind kind = PhraseKind::kTrigger;
  ContextCategory category = ContextCategory::kNegated;
  bool all_categories = false;  // terminators
  TriggerDirection direction = TriggerDirection::kForward;
  int max_scope_words = 0;
};

struct Token {
  RawToken raw;
  int32_t id = -1;
  int words_before = 0;  // word tokens before this one
};

struct Occurrence {
  size_t first = 0;  // token indices, inclusive
  size_t last = 0;
  const Phrase* phrase = nullptr;
};

constexpr size_t kInlineTokens = 64;
using Tokens = absl::InlinedVector<Token, kInlineTokens>;

class ContextClassifierImpl final : public ContextClassifier {
 public:
  static absl::StatusOr<std::unique_ptr<ContextClassifier>> Build(
      const ContextRules& rules);

  MentionContext Classify(absl::string_view text, size_t begin,
                          size_t end) const override;
  void ClassifyAll(absl::string_view text,
                   absl::Span<const std::pair<size_t, size_t>> spans,
                   absl::Span<MentionContext> out) const override;

 private:
  void Tokenize(absl::string_view text, Tokens* tokens) const;
  // The mention text[begin, end) among `tokens`, the tokens of its sentence
  // (offsets relative to where tokenizing started).
  MentionContext ClassifyTokens(absl::Span<const Token> tokens, size_t begin,
                                size_t end) const;
  absl::Status Add(absl::string_view phrase, Phrase p, absl::string_view what);
  int32_t Lookup(absl::string_view word) const;

  // Whether the trigger `o` reaches the mention tokens [ms, me].
  bool InScope(const Occurrence& o, size_t ms, size_t me,
               absl::Span<const Token> tokens,
               absl::Span<const Occurrence> occurrences,
               bool mention_has_own_reaction) const;
  bool Blocked(size_t from, size_t to, bool forward, ContextCategory category,
               absl::Span<const Token> tokens,
               absl::Span<const Occurrence> occurrences,
               bool mention_has_own_reaction) const;

  absl::flat_hash_map<std::string, int32_t> ids_;
  // Bit n of maybe_[b]: some phrase token of n bytes starts with folded
  // byte b (n < 64). Most words fail this and skip the hash lookup.
  uint64_t maybe_[256] = {};
  std::vector<Phrase> phrases_;
  std::vector<std::vector<uint32_t>> starting_with_;  // by first token id
};

absl::Status ContextClassifierImpl::Add(absl::string_view phrase, Phrase p,
                                        absl::string_view what) {
  std::vector<std::string> tokens = PhraseTokens(phrase);
  if (tokens.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has no token: \"", phrase, "\""));
  }
  for (const std::string& t : tokens) {
    if (t.size() < 64) {
      maybe_[static_cast<unsigned char>(t[0])] |= uint64_t{1} << t.size();
    }
    auto [it, inserted] = ids_.emplace(t, static_cast<int32_t>(ids_.size()));
    if (inserted) starting_with_.emplace_back();
    p.tokens.push_back(it->second);
  }
  starting_with_[p.tokens[0]].push_back(static_cast<uint32_t>(phrases_.size()));
  phrases_.push_back(std::move(p));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ContextClassifier>> ContextClassifierImpl::Build(
    const ContextRules& rules) {
  auto c = std::unique_ptr<ContextClassifierImpl>(new ContextClassifierImpl());
  for (const ContextTrigger& t : rules.triggers) {
    if (t.max_scope_words < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("trigger \"", t.phrase, "\": max_scope_words < 0"));
    }
    Phrase p;
    p.kind = PhraseKind::kTrigger;
    p.category = t.category;
    p.direction = t.direction;
    p.max_scope_words = t.max_scope_words;
    absl::Status s = c->Add(t.phrase, std::move(p), "trigger");
    if (!s.ok()) return s;
  }
  for (const std::string& phrase : rules.pseudo_triggers) {
    Phrase p;
    p.kind = PhraseKind::kPseudo;
    absl::Status s = c->Add(phrase, std::move(p), "pseudo-trigger");
    if (!s.ok()) return s;
  }
  for (const ContextTerminator& t : rules.terminators) {
    Phrase p;
    p.kind = PhraseKind::kTerminator;
    p.all_categories = !t.category.has_value();
    if (t.category.has_value()) p.category = *t.category;
    absl::Status s = c->Add(t.phrase, std::move(p), "terminator");
    if (!s.ok()) return s;
  }
  for (const std::string& phrase : rules.reaction_cues) {
    Phrase p;
    p.kind = PhraseKind::kCue;
    absl::Status s = c->Add(phrase, std::move(p), "reaction cue");
    if (!s.ok()) return s;
  }
  for (const std::string& phrase : rules.reaction_words) {
    Phrase p;
    p.kind = PhraseKind::kReactionWord;
    absl::Status s = c->Add(phrase, std::move(p), "reaction word");
    if (!s.ok()) return s;
  }
  return std::unique_ptr<ContextClassifier>(std::move(c));
}

int32_t ContextClassifierImpl::Lookup(absl::string_view word) const {
  char buffer[64];
  if (word.size() >= sizeof(buffer)) return -1;  // no phrase token is this long
  if ((maybe_[FoldByte(word[0])] >> word.size() & 1) == 0) return -1;
  for (size_t i = 0; i < word.size(); ++i) {
    buffer[i] = static_cast<char>(FoldByte(word[i]));
  }
  auto it = ids_.find(absl::string_view(buffer, word.size()));
  return it == ids_.end() ? -1 : it->second;
}

bool ContextClassifierImpl::Blocked(size_t from, size_t to, bool forward,
                                    ContextCategory category,
                                    absl::Span<const Token> tokens,
                                    absl::Span<const Occurrence> occurrences,
                                    bool mention_has_own_reaction) const {
  // Tokens strictly between `from` and `to` (from < to); the trigger is at
  // `from` when `forward`, else at `to`.
  int open_parens = 0;
  for (size_t k = from + 1; k < to; ++k) {
    const RawToken& t = tokens[k].raw;
    if (t.sentence_end) return true;
    if (t.comma && mention_has_own_reaction) return true;
    // "Header: text": a colon ends the clause, except right after a forward
    // trigger or right before a backward one ("Negative for: fever",
    // "lidocaine allergy: ruled out").
    if (t.colon && !t.list_colon && !(forward ? k == from + 1 : k + 1 == to)) {
      return true;
    }
    // A forward trigger inside a parenthesis does not reach past it: a ')'
    // with no '(' after the trigger closes the trigger's parenthesis.
    if (forward && t.open_paren) ++open_parens;
    if (forward && t.close_paren && open_parens-- == 0) return true;
  }
  for (const Occurrence& o : occurrences) {
    if (o.phrase->kind != PhraseKind::kTerminator) continue;
    if (o.first <= from || o.last >= to) continue;
    if (o.phrase->all_categories || o.phrase->category == category) {
      return true;
    }
  }
  return false;
}

bool ContextClassifierImpl::InScope(const Occurrence& o, size_t ms, size_t me,
                                    absl::Span<const Token> tokens,
                                    absl::Span<const Occurrence> occurrences,
                                    bool mention_has_own_reaction) const {
  const Phrase& p = *o.phrase;
  const int limit = p.max_scope_words;
  if (o.last < ms && p.direction != TriggerDirection::kBackward) {
    const int words_between = tokens[ms].words_before -
                              tokens[o.last].words_before -
                              (tokens[o.last].raw.word ? 1 : 0);
    if (limit > 0 && words_between + 1 > limit) return false;
    return !Blocked(o.last, ms, /*forward=*/true, p.category, tokens,
                    occurrences, mention_has_own_reaction);
  }
  if (o.first > me && p.direction != TriggerDirection::kForward) {
    const int words_between = tokens[o.first].words_before -
                              tokens[me].words_before -
                              (tokens[me].raw.word ? 1 : 0);
    if (limit > 0 && words_between + 1 > limit) return false;
    return !Blocked(me, o.first, /*forward=*/false, p.category, tokens,
                    occurrences, mention_has_own_reaction);
  }
  return false;
}

void ContextClassifierImpl::Tokenize(absl::string_view text,
                                     Tokens* tokens) const {
  int words = 0;
  ForEachToken(text, [&](const RawToken& raw) {
    Token t;
    t.raw = raw;
    t.words_before = words;
    if (raw.word) ++words;
    t.id = Lookup(text.substr(raw.begin, raw.end - raw.begin));
    tokens->push_back(t);
  });
}

// Whether text[i] ends a sentence unconditionally ('.' not between digits,
// ';', '!', a line break): no scope and no phrase crosses it.
bool EndsSentence(absl::string_view text, size_t i) {
  const char c = text[i];
  if (c == ';' || c == '!' || c == '\n' || c == '\r') return true;
  if (c != '.') return false;
  return !(i > 0 && i + 1 < text.size() &&
           static_cast<unsigned>(text[i - 1] - '0') < 10u &&
           static_cast<unsigned>(text[i + 1] - '0') < 10u);
}

MentionContext ContextClassifierImpl::Classify(absl::string_view text,
                                               size_t begin, size_t end) const {
  MentionContext out;
  ClassifyAll(text, {{begin, end}}, absl::MakeSpan(&out, 1));
  return out;
}

void ContextClassifierImpl::ClassifyAll(
    absl::string_view text, absl::Span<const std::pair<size_t, size_t>> spans,
    absl::Span<MentionContext> out) const {
  // Only a mention's sentence matters: nothing reaches across a sentence end
  // (phrases holding one are rejected by the knowledge-base validation and
  // could never match anyway). The sentences of all the mentions are
  // tokenized once, as one stretch of the text: a sentence starts right
  // after a sentence end, so its tokens are the same read alone or within
  // the stretch.
  absl::InlinedVector<std::pair<size_t, size_t>, 4> sentences(spans.size());
  size_t lo = text.size(), hi = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    const auto [begin, end] = spans[i];
    out[i] = MentionContext();
    if (begin >= end || end > text.size()) continue;
    size_t first = begin;
    while (first > 0 && !EndsSentence(text, first - 1)) --first;
    size_t last = end;
    while (last < text.size() && !EndsSentence(text, last)) ++last;
    sentences[i] = {first, last};
    lo = std::min(lo, first);
    hi = std::max(hi, last);
  }
  if (lo >= hi) return;
  Tokens tokens;
  Tokenize(text.substr(lo, hi - lo), &tokens);
  for (size_t i = 0; i < spans.size(); ++i) {
    const auto [begin, end] = spans[i];
    if (begin >= end || end > text.size()) continue;
    const auto [first, last] = sentences[i];
    // The tokens of [first, last), offsets relative to lo.
    size_t a = 0;
    while (a < tokens.size() && tokens[a].raw.begin < first - lo) ++a;
    size_t b = a;
    while (b < tokens.size() && tokens[b].raw.end <= last - lo) ++b;
    out[i] = ClassifyTokens(absl::MakeConstSpan(tokens.data() + a, b - a),
                            begin - lo, end - lo);
  }
}

MentionContext ContextClassifierImpl::ClassifyTokens(
    absl::Span<const Token> tokens, size_t begin, size_t end) const {
  MentionContext out;
  // The mention's tokens: those overlapping [begin, end).
  size_t ms = tokens.size(), me = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].raw.end > begin && tokens[i].raw.begin < end) {
      ms = std::min(ms, i);
      me = i;
    }
  }
  if (ms == tokens.size()) return out;

  // Phrases, left to right, longest first, never overlapping the mention.
  absl::InlinedVector<Occurrence, 16> occurrences;
  for (size_t i = 0; i < tokens.size();) {
    if (i >= ms && i <= me) {
      i = me + 1;
      continue;
    }
    const int32_t id = tokens[i].id;
    size_t best = 0;
    if (id >= 0) {
      for (uint32_t pid : starting_with_[id]) {
        const Phrase& p = phrases_[pid];
        const size_t len = p.tokens.size();
        if (len < best || i + len > tokens.size()) continue;
        if (i < ms && i + len - 1 >= ms) continue;  // would cover the mention
        bool ok = true;
        for (size_t k = 1; ok && k < len; ++k) {
          ok = tokens[i + k].id == p.tokens[k];
        }
        if (!ok) continue;
        if (len > best) {
          best = len;
          // Drop shorter phrases found at this position.
          while (!occurrences.empty() && occurrences.back().first == i) {
            occurrences.pop_back();
          }
        }
        occurrences.push_back(Occurrence{i, i + len - 1, &p});
      }
    }
    i += best > 0 ? best : 1;
  }

  // Whether the mention's comma segment states its own reaction.
  size_t seg_begin = ms, seg_end = me;
  while (seg_begin > 0 && !tokens[seg_begin - 1].raw.comma &&
         !tokens[seg_begin - 1].raw.sentence_end) {
    --seg_begin;
  }
  while (seg_end + 1 < tokens.size() && !tokens[seg_end + 1].raw.comma &&
         !tokens[seg_end + 1].raw.sentence_end) {
    ++seg_end;
  }
  // The first token after the mention, past a '-' or ':'.
  size_t next = me + 1;
  while (next < tokens.size() && !tokens[next].raw.word &&
         (tokens[next].raw.colon || tokens[next].raw.dash)) {
    ++next;
  }
  bool own_reaction = false;
  for (const Occurrence& o : occurrences) {
    if (o.phrase->kind == PhraseKind::kCue && o.first >= seg_begin &&
        o.last <= seg_end) {
      own_reaction = true;
    }
    if (o.phrase->kind == PhraseKind::kReactionWord && o.first == next) {
      own_reaction = true;
    }
  }

  bool negated = false, resolved = false;
  for (const Occurrence& o : occurrences) {
    if (o.phrase->kind != PhraseKind::kTrigger) continue;
    if (!InScope(o, ms, me, tokens, occurrences, own_reaction)) continue;
    switch (o.phrase->category) {
      case ContextCategory::kNegated:
        negated = true;
        break;
      case ContextCategory::kResolved:
        resolved = true;
        break;
      case ContextCategory::kProbableNegation:
        if (out.negation == Negation::kAffirmed) {
          out.negation = Negation::kPossible;
        }
        break;
      case ContextCategory::kHistorical:
        if (out.temporality == Temporality::kRecent) {
          out.temporality = Temporality::kHistorical;
        }
        break;
      case ContextCategory::kHypothetical:
        out.temporality = Temporality::kHypothetical;
        break;
      case ContextCategory::kOtherExperiencer:
        out.experiencer = Experiencer::kOther;
        break;
    }
  }
  if (negated || resolved) {
    out.negation = Negation::kNegated;
    out.resolved = !negated;
  }
  return out;
}

}  // namespace

absl::string_view NegationName(Negation n) {
  switch (n) {
    case Negation::kNegated:
      return "negated";
    case Negation::kPossible:
      return "possible";
    case Negation::kAffirmed:
      break;
  }
  return "affirmed";
}

absl::string_view TemporalityName(Temporality t) {
  switch (t) {
    case Temporality::kHistorical:
      return "historical";
    case Temporality::kHypothetical:
      return "hypothetical";
    case Temporality::kRecent:
      break;
  }
  return "recent";
}

absl::string_view ExperiencerName(Experiencer e) {
  return e == Experiencer::kOther ? "other" : "patient";
}

absl::StatusOr<std::unique_ptr<ContextClassifier>> ContextClassifier::Create(
    const ContextRules& rules) {
  return ContextClassifierImpl::Build(rules);
}

std::string NormalizedPhrase(absl::string_view phrase) {
  std::string out;
  for (const std::string& t : PhraseTokens(phrase)) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

namespace {

// How an occurrence of a phrase is written.
enum class Writing { kExact, kCapitals, kOther };

Writing WritingOf(absl::string_view written, absl::string_view phrase) {
  if (NormalizedSpacing(written) == NormalizedSpacing(phrase)) {
    return Writing::kExact;
  }
  bool letter = false;
  for (char c : written) {
    if (c >= 'a' && c <= 'z') return Writing::kOther;
    letter |= c >= 'A' && c <= 'Z';
  }
  return letter ? Writing::kCapitals : Writing::kOther;
}

// The first case-insensitive occurrence of `phrase` in `text` as a
// substring, with every run of whitespace read as one space.
std::optional<std::pair<size_t, size_t>> FindSubstring(
    absl::string_view text, absl::string_view phrase) {
  auto normalize = [](absl::string_view s, std::vector<size_t>* offsets) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      const bool space = IsSpace(static_cast<unsigned char>(s[i])) ||
                         s[i] == '\n' || s[i] == '\r';
      if (space) {
        if (out.empty() || out.back() == ' ') continue;
        out.push_back(' ');
      } else {
        out.push_back(static_cast<char>(FoldByte(s[i])));
      }
      if (offsets != nullptr) offsets->push_back(i);
    }
    if (!out.empty() && out.back() == ' ') {
      out.pop_back();
      if (offsets != nullptr) offsets->pop_back();
    }
    return out;
  };
  std::vector<size_t> offsets;
  const std::string haystack = normalize(text, &offsets);
  const std::string needle = normalize(phrase, nullptr);
  if (needle.empty()) return std::nullopt;
  const size_t at = haystack.find(needle);
  if (at == std::string::npos) return std::nullopt;
  return std::make_pair(offsets[at], offsets[at + needle.size() - 1] + 1);
}

}  // namespace

std::string NormalizedSpacing(absl::string_view s) {
  std::string out;
  for (char c : s) {
    const bool space =
        IsSpace(static_cast<unsigned char>(c)) || c == '\n' || c == '\r';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::optional<std::pair<size_t, size_t>> FindPhrase(absl::string_view text,
                                                    absl::string_view phrase) {
  std::vector<std::string> want = PhraseTokens(phrase);
  if (want.empty()) return std::nullopt;
  absl::InlinedVector<RawToken, kInlineTokens> tokens;
  ForEachToken(text, [&](const RawToken& t) { tokens.push_back(t); });
  std::optional<std::pair<size_t, size_t>> best;
  Writing best_writing = Writing::kOther;
  for (size_t i = 0; i + want.size() <= tokens.size(); ++i) {
    bool ok = true;
    for (size_t k = 0; ok && k < want.size(); ++k) {
      const RawToken& t = tokens[i + k];
      const absl::string_view s = text.substr(t.begin, t.end - t.begin);
      ok = s.size() == want[k].size();
      for (size_t b = 0; ok && b < s.size(); ++b) {
        ok = FoldByte(s[b]) == static_cast<unsigned char>(want[k][b]);
      }
    }
    if (!ok) continue;
    const std::pair<size_t, size_t> span(tokens[i].begin,
                                         tokens[i + want.size() - 1].end);
    const Writing w =
        WritingOf(text.substr(span.first, span.second - span.first), phrase);
    if (!best.has_value() || w < best_writing) {
      best = span;
      best_writing = w;
    }
    if (w == Writing::kExact) break;
  }
  if (best.has_value()) return best;
  return FindSubstring(text, phrase);
}

}  // namespace needlecheck::text
