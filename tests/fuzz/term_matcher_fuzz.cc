// Fuzz target for TermMatcher::FindAll and ContextClassifier::Classify,
// which face untrusted free text (allergy notes, condition and procedure
// texts from EHRs).
//
// The matcher is built once with realistic anesthetic, microneedling and
// condition terms, suffix terms, exclusions and negation rules. Every input
// is checked for these invariants (a violation prints a message and aborts):
// - 0 <= begin < end <= size for every hit;
// - hits are ordered by (begin, tag) with no duplicates;
// - a hit starts and ends on word boundaries;
// - hits of one tag do not overlap;
// - ASCII case does not matter: the lower- and upper-cased inputs give the
//   same hits;
// - a leading or trailing newline shifts the hits and changes nothing else;
// - the context of every hit (and of a span chosen by the input's first
//   bytes, in or out of range) is the same for the lower- and upper-cased
//   and newline-framed inputs;
// - a hit tells whether its sentence holds a watched word (the first word of
//   each context trigger) exactly when it does, and a hit whose sentence
//   holds none reads affirmed, recent, patient (what lets the knowledge
//   base skip reading it).
//
// Built as a libFuzzer binary with clang and -DNEEDLECHECK_FUZZ=ON; always
// linked into term_matcher_fuzz_smoke_test so ctest exercises it on gcc too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/text/context.h"
#include "common/text/term_matcher.h"

namespace {

using needlecheck::text::ContextCategory;
using needlecheck::text::ContextClassifier;
using needlecheck::text::ContextRules;
using needlecheck::text::MatcherOptions;
using needlecheck::text::MentionContext;
using needlecheck::text::TermHit;
using needlecheck::text::TermMatcher;
using needlecheck::text::TermSpec;
using needlecheck::text::TriggerDirection;

// A word of each trigger of Context() below.
std::vector<std::string> WatchedWords() {
  return {"no",      "denies", "ruled", "denied", "unlikely",
          "history", "s",      "if",    "mother"};
}

const TermMatcher& Matcher() {
  // Function-local static: built on first use, never destroyed.
  static const TermMatcher* const matcher = [] {
    std::vector<TermSpec> terms = {
        {"lidocaine", 1},
        {"lignocaine", 1},
        {"xylocaine", 1},
        {"LMX", 1},
        {"LMX4", 1},
        {"prilocaine", 2},
        {"citanest", 2},
        {"EMLA", 3},
        {"lidocaine/prilocaine", 3},
        {"benzocaine", 4},
        {"hurricaine", 4},
        {"tetracaine", 5},
        {"amethocaine", 5},
        {"ametop", 5},
        {"procaine", 6},
        {"novocaine", 6},
        {"novocain", 6},
        {"BLT cream", 7},
        {"numbing cream", 8},
        {"topical anesthetic", 8},
        {"local anaesthetic", 8},
        {"microneedling", 30},
        {"micro needling", 30},
        {"collagen induction therapy", 30},
        {"percutaneous collagen induction therapy session", 30},
        {"derma pen", 30},
        {"RF microneedling", 30},
        {"acne", 40},
        {"keloid", 41},
        {"hypertrophic scar", 41},
        {"0.5 mm", 50},
        {"a", 51},
    };
    std::vector<TermSpec> suffixes = {{"caine", 90}, {"-ine", 91}};
    std::vector<TermSpec> exclusions = {
        {"scars", 40}, {"acne scar", 40}, {"family history", 41}};
    MatcherOptions options;
    options.misspelling_min_length = 5;
    options.negation.pre_triggers = {
        "no",  "not",  "denies",  "negative for", "no known",
        "nka", "nkda", "without", "never",        "tolerated"};
    options.negation.post_triggers = {"denied", "ruled out", "tolerated"};
    options.negation.terminators = {"but",        "however",    "except",
                                    "apart from", "aside from", "yet"};
    options.negation.window_words = 6;
    options.watched_words = WatchedWords();
    auto m = TermMatcher::Create(terms, suffixes, exclusions, options);
    if (!m.ok()) {
      std::fprintf(stderr, "term_matcher_fuzz: Create failed: %s\n",
                   m.status().ToString().c_str());
      std::abort();
    }
    return m->release();
  }();
  return *matcher;
}

const ContextClassifier& Context() {
  static const ContextClassifier* const classifier = [] {
    using C = ContextCategory;
    using D = TriggerDirection;
    ContextRules r;
    r.triggers = {{"no", C::kNegated, D::kForward},
                  {"denies", C::kNegated, D::kForward},
                  {"ruled out", C::kNegated, D::kBackward},
                  {"denied", C::kNegated, D::kBidirectional},
                  {"unlikely", C::kProbableNegation, D::kBidirectional},
                  {"history of", C::kHistorical, D::kForward},
                  {"s/p", C::kHistorical, D::kForward, 1},
                  {"if", C::kHypothetical, D::kForward},
                  {"mother", C::kOtherExperiencer, D::kForward}};
    r.pseudo_triggers = {"no increase", "gram negative"};
    r.terminators = {{"but", std::nullopt},
                     {"aside from", std::nullopt},
                     {"presents", C::kHistorical}};
    r.reaction_cues = {"causes", "->", ":"};
    auto c = ContextClassifier::Create(r);
    if (!c.ok()) {
      std::fprintf(stderr, "term_matcher_fuzz: context Create failed: %s\n",
                   c.status().ToString().c_str());
      std::abort();
    }
    return c->release();
  }();
  return *classifier;
}

bool IsWordByte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || c >= 0x80;
}

[[noreturn]] void Fail(absl::string_view text, const char* what) {
  std::fprintf(stderr, "term_matcher_fuzz: %s; input (%zu bytes):", what,
               text.size());
  for (unsigned char c : text.substr(0, 256)) std::fprintf(stderr, " %02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

bool SameHits(const std::vector<TermHit>& a, const std::vector<TermHit>& b,
              size_t shift) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].tag != b[i].tag || a[i].begin + shift != b[i].begin ||
        a[i].end + shift != b[i].end || a[i].negated != b[i].negated ||
        a[i].misspelled != b[i].misspelled ||
        a[i].sentence_has_watched_word != b[i].sentence_has_watched_word) {
      return false;
    }
  }
  return true;
}

void CheckHits(absl::string_view text, const std::vector<TermHit>& hits) {
  const size_t n = text.size();
  std::vector<std::pair<int32_t, size_t>> last_end_by_tag;
  for (size_t i = 0; i < hits.size(); ++i) {
    const TermHit& h = hits[i];
    if (!(h.begin < h.end && h.end <= n)) Fail(text, "bad offsets");
    if (i > 0) {
      const TermHit& p = hits[i - 1];
      if (p.begin > h.begin || (p.begin == h.begin && p.tag >= h.tag)) {
        Fail(text, "hits not ordered by (begin, tag)");
      }
    }
    if (!IsWordByte(text[h.begin]) || !IsWordByte(text[h.end - 1]) ||
        (h.begin > 0 && IsWordByte(text[h.begin - 1])) ||
        (h.end < n && IsWordByte(text[h.end]))) {
      Fail(text, "hit not on word boundaries");
    }
    bool found = false;
    for (auto& [tag, end] : last_end_by_tag) {
      if (tag != h.tag) continue;
      found = true;
      if (h.begin < end) Fail(text, "hits of one tag overlap");
      end = h.end;
    }
    if (!found) last_end_by_tag.emplace_back(h.tag, h.end);
  }
}

bool EndsSentence(absl::string_view text, size_t i) {
  const char c = text[i];
  if (c == ';' || c == '!' || c == '\n' || c == '\r') return true;
  return c == '.' &&
         !(i > 0 && i + 1 < text.size() && text[i - 1] >= '0' &&
           text[i - 1] <= '9' && text[i + 1] >= '0' && text[i + 1] <= '9');
}

// Whether the sentence around text[begin, end) holds a watched word, found
// by a plain scan.
bool SentenceHasWatchedWord(absl::string_view text, size_t begin, size_t end) {
  size_t first = begin;
  while (first > 0 && !EndsSentence(text, first - 1)) --first;
  size_t last = end;
  while (last < text.size() && !EndsSentence(text, last)) ++last;
  const std::vector<std::string> watched = WatchedWords();
  for (size_t i = first; i < last;) {
    if (!IsWordByte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::string word;
    for (; i < last && IsWordByte(static_cast<unsigned char>(text[i])); ++i) {
      const char c = text[i];
      word.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a')
                                          : c);
    }
    for (const std::string& w : watched) {
      if (w == word) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const TermMatcher& matcher = Matcher();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<TermHit> hits = matcher.FindAll(text);
  CheckHits(text, hits);

  std::string lower(text);
  std::string upper(text);
  for (size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (c >= 'A' && c <= 'Z') lower[i] = static_cast<char>(c - 'A' + 'a');
    if (c >= 'a' && c <= 'z') upper[i] = static_cast<char>(c - 'a' + 'A');
  }
  if (!SameHits(hits, matcher.FindAll(lower), 0)) {
    Fail(text, "lower-casing changed the hits");
  }
  if (!SameHits(hits, matcher.FindAll(upper), 0)) {
    Fail(text, "upper-casing changed the hits");
  }
  std::string framed;
  framed.reserve(size + 2);
  framed.push_back('\n');
  framed.append(text.data(), text.size());
  framed.push_back('\n');
  if (!SameHits(hits, matcher.FindAll(framed), 1)) {
    Fail(text, "surrounding newlines changed the hits");
  }

  // Spans: every hit, and one chosen by the input (possibly out of range).
  std::vector<std::pair<size_t, size_t>> spans;
  for (const TermHit& h : hits) spans.emplace_back(h.begin, h.end);
  if (size >= 2) spans.emplace_back(data[0] % (size + 4), data[1] % (size + 4));
  const ContextClassifier& context = Context();
  for (const TermHit& h : hits) {
    if (h.sentence_has_watched_word !=
        SentenceHasWatchedWord(text, h.begin, h.end)) {
      Fail(text, "sentence_has_watched_word is wrong");
    }
    if (!h.sentence_has_watched_word &&
        !(context.Classify(text, h.begin, h.end) == MentionContext())) {
      Fail(text, "a mention whose sentence holds no trigger word is not plain");
    }
  }
  for (const auto& [b, e] : spans) {
    const MentionContext c = context.Classify(text, b, e);
    if (!(c == context.Classify(lower, b, e)) ||
        !(c == context.Classify(upper, b, e))) {
      Fail(text, "case changed a mention's context");
    }
    if (e <= size && !(c == context.Classify(framed, b + 1, e + 1))) {
      Fail(text, "surrounding newlines changed a mention's context");
    }
  }
  return 0;
}
