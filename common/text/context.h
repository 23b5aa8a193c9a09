// ContextClassifier: reads one mention in free text the way ConText
// (Harkema et al., J Biomed Inform 2009;42(5):839-51) reads clinical text:
// its negation (affirmed / negated / possible, the last being ConText's
// "probable negation": "unlikely", "doubt"), its experiencer (patient /
// other) and its temporality (recent / historical / hypothetical).
//
// Contract
// - Built once from ContextRules (trigger phrases, pseudo-triggers,
//   terminators and reaction cues, all data from the knowledge base).
//   Immutable after Create(); Classify() is const and thread-safe. No I/O.
// - Text is split into tokens: words (maximal runs of ASCII letters, digits
//   and bytes >= 0x80, compared ASCII case-insensitively) and single
//   punctuation characters ("->" is the two tokens '-' '>'). Whitespace only
//   separates. Phrases are tokenized the same way and match consecutive
//   tokens exactly.
// - Phrases are found left to right, longest first; where the longest phrase
//   starting at a token is a pseudo-trigger ("no increase", "gram negative",
//   "history and physical") it consumes its tokens and triggers nothing.
//   Phrases never overlap the mention itself ("no known allergies" is not
//   negated by its own "no").
// - A trigger acts forward (on mentions after it), backward (before it) or
//   both, over a scope that ends at the clause boundary:
//     * a sentence end: '.', ';', '!', a line break ('.' between two digits,
//       as in "0.5", is not one), or the ')' of a list number ("2) No
//       additional lesions": one or two digits starting a word);
//     * a terminator phrase ("but", "however", "which", ...), for every
//       category or only for the one it names;
//     * a colon ("Header: text"), except right after a forward trigger or
//       right before a backward one ("Negative for: fever", "lidocaine
//       allergy: ruled out"), or after a word that introduces a list ("call
//       if any of the following: fever, rash"; following, follows,
//       include, includes, including);
//     * for a forward trigger inside a parenthesis, its ')' ("(slides not
//       submitted) indicates leukemia");
//     * a comma, when the comma-delimited segment holding the mention also
//       holds a reaction cue outside the mention ("No latex allergy,
//       lidocaine causes hives": "causes" makes "lidocaine causes hives" a
//       statement of its own), or whose mention is followed right away by a
//       reaction word ("NKDA, EMLA rash"; a '-' or ':' may stand between).
//       Without a cue a negated list stays negated across its commas ("no
//       hives, swelling or rash after lidocaine");
//     * max_scope_words, when a trigger sets it (> 0): the mention must
//       start within that many words of the trigger.
// - Outcome per axis: negated wins over possible ("resolved" triggers negate
//   too, and set `resolved` when no other negation applies); hypothetical wins
//   over historical; any other-experiencer trigger in scope makes it "other".
//   Uncertainty words ("possible", "suspected", "?") are not triggers: such
//   a mention is affirmed.
#ifndef COMMON_TEXT_CONTEXT_H_
#define COMMON_TEXT_CONTEXT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace needlecheck::text {

enum class Negation { kAffirmed, kNegated, kPossible };
enum class Temporality { kRecent, kHistorical, kHypothetical };
enum class Experiencer { kPatient, kOther };

struct MentionContext {
  Negation negation = Negation::kAffirmed;
  Temporality temporality = Temporality::kRecent;
  Experiencer experiencer = Experiencer::kPatient;
  // Negated only by "resolved"-type triggers ("hives, resolved"): absent now
  // (negation is kNegated, as ConText reads it) but present in the past, so
  // still an allergy and still a history.
  bool resolved = false;

  bool operator==(const MentionContext& o) const {
    return negation == o.negation && temporality == o.temporality &&
           experiencer == o.experiencer && resolved == o.resolved;
  }
};

// Lower-case names as printed by `needlecheck text classify`: "affirmed",
// "negated", "possible"; "recent", "historical", "hypothetical"; "patient",
// "other".
absl::string_view NegationName(Negation n);
absl::string_view TemporalityName(Temporality t);
absl::string_view ExperiencerName(Experiencer e);

// What a trigger sets when a mention is in its scope.
enum class ContextCategory {
  kNegated,           // negation = negated
  kProbableNegation,  // negation = possible
  kHistorical,        // temporality = historical
  kHypothetical,      // temporality = hypothetical
  kOtherExperiencer,  // experiencer = other
  kResolved,          // negation = negated, resolved = true
};

enum class TriggerDirection { kForward, kBackward, kBidirectional };

struct ContextTrigger {
  std::string phrase;
  ContextCategory category = ContextCategory::kNegated;
  TriggerDirection direction = TriggerDirection::kForward;
  int max_scope_words = 0;  // 0: the whole clause
};

struct ContextTerminator {
  std::string phrase;
  // Ends the scope of triggers of this category only; nullopt: of all.
  std::optional<ContextCategory> category;
};

struct ContextRules {
  std::vector<ContextTrigger> triggers;
  std::vector<std::string> pseudo_triggers;
  std::vector<ContextTerminator> terminators;
  std::vector<std::string> reaction_cues;  // "causes", "->", ":"
  // Reactions that, written right after the mention (a '-' or ':' between
  // allowed), are its own: "NKDA, EMLA rash".
  std::vector<std::string> reaction_words;
};

class ContextClassifier {
 public:
  // INVALID_ARGUMENT: a phrase with no token (empty or only whitespace),
  // max_scope_words < 0. A phrase holding a sentence end ('.', ';', '!', a
  // line break) is accepted but never matches (the knowledge base rejects
  // it). Duplicates are the knowledge base's concern
  // (kb_validation) and are harmless here.
  static absl::StatusOr<std::unique_ptr<ContextClassifier>> Create(
      const ContextRules& rules);

  virtual ~ContextClassifier() = default;

  // The context of the mention text[begin, end). A span that covers no
  // token, or lies outside the text, is affirmed, recent, patient.
  virtual MentionContext Classify(absl::string_view text, size_t begin,
                                  size_t end) const = 0;

  // Classify() for several mentions of one text, which is split into tokens
  // once: out[i] becomes the context of spans[i]. `out` must be at least as
  // long as `spans`.
  virtual void ClassifyAll(absl::string_view text,
                           absl::Span<const std::pair<size_t, size_t>> spans,
                           absl::Span<MentionContext> out) const = 0;
};

// Where `phrase` is mentioned in `text`, as byte offsets [begin, end) into
// `text`: an occurrence as a token sequence (ASCII case-insensitive, any
// whitespace between tokens); of several, the first written exactly as
// `phrase` (whitespace aside), else the first written in capitals (how
// annotated clinical sentences mark the mention: "He denies any CHEST PAIN,
// chest pain ..."), else the first. With no such occurrence, the first
// case-insensitive occurrence as a plain substring, whitespace runs read as
// one space ("RESECTIONto" holds "resection"). nullopt when absent or when
// `phrase` has no token.
std::optional<std::pair<size_t, size_t>> FindPhrase(absl::string_view text,
                                                    absl::string_view phrase);

// `s` with every run of whitespace turned into one space, trimmed.
std::string NormalizedSpacing(absl::string_view s);

// `phrase` as the classifier sees it: its case-folded tokens joined by one
// space ("Ruled  OUT" -> "ruled out", "->" -> "- >"); empty when it has no
// token. Two phrases with the same normal form are duplicates.
std::string NormalizedPhrase(absl::string_view phrase);

}  // namespace needlecheck::text

#endif  // COMMON_TEXT_CONTEXT_H_
