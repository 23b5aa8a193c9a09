// TermMatcher: finds clinical terms in free text (allergy notes, condition
// and procedure texts), tolerant of case, punctuation, hyphens and one-letter
// misspellings, and tells which mentions are negated.
//
// Contract
// - Built once from a list of terms, each carrying an integer `tag` chosen
//   by the caller (a value set or an anesthetic agent). Immutable after
//   Create(); FindAll() is const and thread-safe. No I/O, no globals.
// - Text is split into words: maximal runs of ASCII letters and digits, plus
//   any byte >= 0x80 (so UTF-8 letters stay inside words). Matching is
//   ASCII case-insensitive. Every other character separates words, so
//   "lidocaine/prilocaine" is two words and "micro-needling" matches the term
//   "micro needling".
// - A term is one or more words, matched against consecutive words of the
//   text. A multi-word term also matches its words written together as one
//   word ("micro needling" matches "microneedling"; "derma pen" matches
//   "Dermapen").
// - Misspellings: a text word matches a term word of at least
//   `misspelling_min_length` letters when they are at most one edit apart
//   (one letter inserted, deleted or substituted, or two adjacent letters
//   swapped). Shorter term words must match exactly. ("lidocane" matches
//   "lidocaine"; "EMLA" matches only "emla".)
// - Case-sensitive terms (TermSpec::case_sensitive, for abbreviations that
//   are also everyday words: "LET" against "let us know"): each word of the
//   term that contains an ASCII capital letter matches only a text word
//   with exactly the same bytes (same case, no misspelling); the term's other
//   words match as usual. Such a term is not matched with its words written
//   together. "LET gel" matches "LET gel" and "LET Gel", not "let gel" or
//   "Let gel".
// - Suffix terms: a word that ends with a suffix term ("caine") and is longer
//   than it, and that no ordinary term (exactly or within one edit) matches,
//   is a hit with the suffix's tag.
// - Overlaps: hits of different tags may overlap (a caller may give
//   "lidocaine prilocaine" one tag and "lidocaine" another). For one tag,
//   the leftmost-longest hit wins and hits do not overlap.
// - Clauses: text is cut into clauses at '.', ';', '!', newline (a '.'
//   between two digits, as in "0.5", does not cut), and at terminator terms
//   ("but", "however", ...).
// - Negation (NegEx-style): a hit is `negated` when a pre-trigger ("no",
//   "denies", "negative for", "NKDA", ...) ends at most `window_words` words
//   before the hit's first word in the same clause, or a post-trigger
//   ("denied", "ruled out", ...) starts at most `window_words` words after
//   the hit's last word in the same clause. Uncertainty words ("possible",
//   "?") do not negate.
// - Exclusions: an exclusion term for a tag ("scar" for acne) anywhere in the
//   same clause as a hit of that tag drops the hit: FindAll does not return
//   it. Exclusion terms match exactly (no misspelling tolerance) and also
//   match simple plurals/inflections only if listed.
// - Hits carry byte offsets into the text, so `text.substr(begin, end -
//   begin)` is the exact span that matched (from the first byte of its first
//   word to the last byte of its last word).
#ifndef COMMON_TEXT_TERM_MATCHER_H_
#define COMMON_TEXT_TERM_MATCHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck::text {

struct TermSpec {
  std::string term;  // one or more words, e.g. "numbing cream"
  int32_t tag = 0;
  bool case_sensitive = false;  // words with capitals match only as written
};

struct NegationRules {
  std::vector<std::string> pre_triggers;   // e.g. "no", "denies", "nkda"
  std::vector<std::string> post_triggers;  // e.g. "denied", "ruled out"
  std::vector<std::string> terminators;    // e.g. "but", "however"
  int window_words = 6;                    // scope of a trigger, in words
};

struct MatcherOptions {
  int misspelling_min_length = 6;  // words this long allow one edit
  NegationRules negation;
  // Single words FindAll looks out for (ASCII case-insensitive), e.g. the
  // first words of a context reader's triggers: each hit tells whether one
  // of them is written in its sentence (TermHit::sentence_has_watched_word),
  // so a caller can skip reading the context of a hit whose sentence holds
  // none. They match nothing and change no hit.
  std::vector<std::string> watched_words;
};

struct TermHit {
  int32_t tag = 0;
  size_t begin = 0;  // byte offset of the first matched byte
  size_t end = 0;    // one past the last matched byte
  bool negated = false;
  bool misspelled = false;  // at least one word matched within one edit
  // A word of MatcherOptions::watched_words is written in the hit's
  // sentence: the text between the sentence ends around it ('.', ';', '!',
  // a line break; a '.' between two digits is none). Terminator terms do
  // not end a sentence.
  bool sentence_has_watched_word = false;
};

class TermMatcher {
 public:
  // Errors (INVALID_ARGUMENT): an empty term, a term with no word
  // characters, a case-sensitive term with no capital letter, a trigger or
  // terminator with no word characters, a watched word that is not exactly
  // one word, misspelling_min_length < 3, window_words < 1.
  static absl::StatusOr<std::unique_ptr<TermMatcher>> Create(
      const std::vector<TermSpec>& terms,
      const std::vector<TermSpec>& suffix_terms,
      const std::vector<TermSpec>& exclusions, const MatcherOptions& options);

  virtual ~TermMatcher() = default;

  // Every hit in `text`, negated ones included (with negated = true),
  // excluded ones left out; ordered by begin, then tag.
  std::vector<TermHit> FindAll(absl::string_view text) const;

  // The same hits into `out` (cleared first). A text of at most
  // kInlineHits hits allocates nothing.
  static constexpr size_t kInlineHits = 8;
  using Hits = absl::InlinedVector<TermHit, kInlineHits>;
  virtual void FindAll(absl::string_view text, Hits* out) const = 0;
};

}  // namespace needlecheck::text

#endif  // COMMON_TEXT_TERM_MATCHER_H_
