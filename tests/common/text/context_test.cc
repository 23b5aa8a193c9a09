#include "common/text/context.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::text {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;

// A small rule set in the shape of the knowledge base's, so each test reads
// on its own.
ContextRules SmallRules() {
  ContextRules r;
  using C = ContextCategory;
  using D = TriggerDirection;
  r.triggers = {
      {"no", C::kNegated, D::kForward},
      {"denies", C::kNegated, D::kForward},
      {"ruled out", C::kNegated, D::kBackward},
      {"denied", C::kNegated, D::kBidirectional},
      {"unlikely", C::kProbableNegation, D::kBidirectional},
      {"history", C::kHistorical, D::kForward},
      {"s/p", C::kHistorical, D::kForward, 1},
      {"if", C::kHypothetical, D::kForward},
      {"mother", C::kOtherExperiencer, D::kForward},
      {"family history", C::kOtherExperiencer, D::kForward},
      {"resolved", C::kResolved, D::kBackward},
  };
  r.pseudo_triggers = {"no increase", "gram negative", "history and physical"};
  r.terminators = {{"but", std::nullopt},
                   {"however", std::nullopt},
                   {"aside from", std::nullopt},
                   {"which", std::nullopt},
                   {"presents", ContextCategory::kHistorical}};
  r.reaction_cues = {"causes", "->", ":"};
  r.reaction_words = {"rash", "hives", "edema"};
  return r;
}

class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ContextClassifier::Create(SmallRules());
    ASSERT_THAT(c, IsOk());
    classifier_ = *std::move(c);
  }

  // The context of the first occurrence of `term` in `text`.
  MentionContext Read(const std::string& term, const std::string& text) {
    auto span = FindPhrase(text, term);
    EXPECT_TRUE(span.has_value()) << term << " not in " << text;
    if (!span.has_value()) return {};
    return classifier_->Classify(text, span->first, span->second);
  }
  Negation Neg(const std::string& term, const std::string& text) {
    return Read(term, text).negation;
  }

  std::unique_ptr<ContextClassifier> classifier_;
};

TEST_F(ContextTest, ForwardTriggerScopeIsTheWholeClause) {
  EXPECT_EQ(Neg("lidocaine",
                "denies any history of an allergic reaction of any kind to "
                "lidocaine"),
            Negation::kNegated);
  EXPECT_EQ(Neg("lidocaine", "lidocaine allergy"), Negation::kAffirmed);
}

TEST_F(ContextTest, TerminatorsEndTheScope) {
  EXPECT_EQ(Neg("lidocaine", "no latex allergy but lidocaine gives hives"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "no rash however lidocaine"), Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "no allergies aside from lidocaine"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "no latex which lidocaine"), Negation::kAffirmed);
}

TEST_F(ContextTest, SentenceEndsEndTheScope) {
  EXPECT_EQ(Neg("lidocaine", "No latex allergy. Lidocaine rash"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "No latex allergy; lidocaine rash"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "No latex allergy\nlidocaine rash"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "No latex allergy! lidocaine rash"),
            Negation::kAffirmed);
  // A decimal point is not a sentence end.
  EXPECT_EQ(Neg("lidocaine", "no 2.5 % lidocaine"), Negation::kNegated);
}

TEST_F(ContextTest, TerminatorForOneCategoryLeavesTheOthers) {
  MentionContext c = Read("rash", "no history, presents with rash");
  EXPECT_EQ(c.negation, Negation::kNegated);
  EXPECT_EQ(c.temporality, Temporality::kRecent);
}

TEST_F(ContextTest, NegatedListStaysNegatedAcrossCommas) {
  EXPECT_EQ(Neg("lidocaine", "no hives, swelling or rash after lidocaine"),
            Negation::kNegated);
  EXPECT_EQ(Neg("rash", "no hives, swelling, rash"), Negation::kNegated);
}

TEST_F(ContextTest, CommaThenOwnReactionStartsAnAffirmedStatement) {
  EXPECT_EQ(Neg("lidocaine", "No latex allergy, lidocaine causes hives"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lido", "no latex issues, lido -> rash"), Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "no latex issues, lidocaine: hives"),
            Negation::kAffirmed);
  // A reaction word right after the mention ('-' or ':' between allowed).
  EXPECT_EQ(Neg("emla", "no latex, EMLA rash"), Negation::kAffirmed);
  EXPECT_EQ(Neg("emla", "no latex, EMLA - hives"), Negation::kAffirmed);
  // Not right after it: a negated list stays negated.
  EXPECT_EQ(Neg("cyanosis", "No clubbing, cyanosis or edema"),
            Negation::kNegated);
  EXPECT_EQ(Neg("swelling", "no hives, swelling or rash"), Negation::kNegated);
  // The cue must be in the mention's own comma segment.
  EXPECT_EQ(Neg("lidocaine", "no latex -> hives, lidocaine"),
            Negation::kNegated);
}

TEST_F(ContextTest, AColonEndsTheClauseExceptNextToItsTrigger) {
  EXPECT_EQ(Neg("fever", "CT WITHOUT CONTRAST  CLINICAL HISTORY: fever"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("fever", "Denies: fever, chills"), Negation::kNegated);
  EXPECT_EQ(Neg("lidocaine", "lidocaine allergy: ruled out"),
            Negation::kNegated);
  EXPECT_EQ(Neg("lidocaine", "lidocaine: latex ruled out"),
            Negation::kAffirmed);
  // A colon that introduces a list continues the clause.
  EXPECT_EQ(
      Read("rash", "call if any of the following: fever, rash").temporality,
      Temporality::kHypothetical);
  EXPECT_EQ(Neg("rash", "no reactions including: rash"), Negation::kNegated);
}

TEST_F(ContextTest, AForwardTriggerStaysInsideItsParenthesis) {
  EXPECT_EQ(Neg("leukemia", "(slides not submitted, no review) leukemia"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("leukemia", "no (hairy cell) leukemia"), Negation::kNegated);
  EXPECT_EQ(Neg("lidocaine", "no (known) lidocaine allergy"),
            Negation::kNegated);
}

TEST_F(ContextTest, ListNumbersStartAClause) {
  EXPECT_EQ(Neg("hernia", "1) No lesions 2) Hiatal hernia"),
            Negation::kAffirmed);
  // Not a list number: part of a word.
  EXPECT_EQ(Neg("hernia", "no lesions (x2) hernia"), Negation::kNegated);
}

TEST_F(ContextTest, PseudoTriggersDoNotTrigger) {
  EXPECT_EQ(Neg("rash", "no increase in rash"), Negation::kAffirmed);
  EXPECT_EQ(Neg("cellulitis", "gram negative cellulitis"), Negation::kAffirmed);
  EXPECT_EQ(Read("acne", "history and physical: acne").temporality,
            Temporality::kRecent);
}

TEST_F(ContextTest, BackwardTriggers) {
  EXPECT_EQ(Neg("lidocaine allergy", "lidocaine allergy ruled out"),
            Negation::kNegated);
  EXPECT_EQ(Neg("lidocaine", "lidocaine allergy, ruled out"),
            Negation::kNegated);
  // Backward triggers do not act forward.
  EXPECT_EQ(Neg("lidocaine", "ruled out latex; lidocaine"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "ruled out latex, lidocaine"),
            Negation::kAffirmed);
  // Terminators end backward scopes too.
  EXPECT_EQ(Neg("lidocaine", "lidocaine rash but latex ruled out"),
            Negation::kAffirmed);
  // Bidirectional.
  EXPECT_EQ(Neg("lidocaine", "lidocaine allergy denied"), Negation::kNegated);
  EXPECT_EQ(Neg("lidocaine", "denied lidocaine allergy"), Negation::kNegated);
}

TEST_F(ContextTest, ProbableNegationIsPossibleAndNegationWins) {
  EXPECT_EQ(Neg("lidocaine", "Lidocaine allergy unlikely per allergist"),
            Negation::kPossible);
  EXPECT_EQ(Neg("lidocaine", "unlikely lidocaine allergy"),
            Negation::kPossible);
  EXPECT_EQ(Neg("lidocaine", "no lidocaine allergy, unlikely"),
            Negation::kNegated);
}

TEST_F(ContextTest, UncertaintyIsNotNegation) {
  EXPECT_EQ(Neg("lidocaine", "possible lidocaine allergy"),
            Negation::kAffirmed);
  EXPECT_EQ(Neg("lidocaine", "? lidocaine allergy"), Negation::kAffirmed);
}

TEST_F(ContextTest, TemporalityAndExperiencer) {
  EXPECT_EQ(Read("lidocaine", "history of lidocaine allergy").temporality,
            Temporality::kHistorical);
  EXPECT_EQ(Read("rash", "if a rash develops").temporality,
            Temporality::kHypothetical);
  EXPECT_EQ(Read("lidocaine", "mother allergic to lidocaine").experiencer,
            Experiencer::kOther);
  EXPECT_EQ(Read("lidocaine", "Family history: mother allergic to lidocaine")
                .experiencer,
            Experiencer::kOther);
  MentionContext plain = Read("lidocaine", "lidocaine allergy");
  EXPECT_EQ(plain, MentionContext());
}

TEST_F(ContextTest, ResolvedIsNegatedButMarkedResolved) {
  MentionContext c = Read("hives", "hives after lidocaine, resolved");
  EXPECT_EQ(c.negation, Negation::kNegated);
  EXPECT_TRUE(c.resolved);
  c = Read("hives", "no hives, resolved");
  EXPECT_EQ(c.negation, Negation::kNegated);
  EXPECT_FALSE(c.resolved);
}

TEST_F(ContextTest, MaxScopeWords) {
  EXPECT_EQ(Read("IVC", "s/p IVC placement").temporality,
            Temporality::kHistorical);
  EXPECT_EQ(Read("placement", "s/p IVC placement").temporality,
            Temporality::kRecent);
}

TEST_F(ContextTest, TriggersInsideTheMentionDoNotCount) {
  EXPECT_EQ(Neg("no increase", "no increase"), Negation::kAffirmed);
  EXPECT_EQ(Neg("no known allergies", "no known allergies"),
            Negation::kAffirmed);
}

TEST_F(ContextTest, OddSpansAreAffirmed) {
  EXPECT_EQ(classifier_->Classify("no rash", 5, 2), MentionContext());
  EXPECT_EQ(classifier_->Classify("no rash", 0, 99), MentionContext());
  EXPECT_EQ(classifier_->Classify("no   rash", 2, 4), MentionContext());
  EXPECT_EQ(classifier_->Classify("", 0, 0), MentionContext());
}

TEST(FindPhraseTest, CaseAndWhitespaceInsensitive) {
  EXPECT_THAT(FindPhrase("He denies any   CHEST PAIN.", "chest  pain "),
              Optional(Pair(16, 26)));
  EXPECT_THAT(FindPhrase("Head normocephalic,atraumatic",
                         "head normocephalic, atraumatic"),
              Optional(Pair(0, 29)));
  EXPECT_EQ(FindPhrase("chest pain", "pain chest"), std::nullopt);
  EXPECT_EQ(FindPhrase("chest pain", "   "), std::nullopt);
  EXPECT_EQ(FindPhrase("chest pain", "chest pains"), std::nullopt);
  // Not a whole token: a plain substring, as a last resort.
  EXPECT_THAT(FindPhrase("painless", "pain"), Optional(Pair(0, 4)));
  EXPECT_THAT(FindPhrase("SURGICAL RESECTIONto  suggest", "resection"),
              Optional(Pair(9, 18)));
}

TEST(FindPhraseTest, PrefersTheExactWritingThenCapitals) {
  // The first occurrence by default.
  EXPECT_THAT(FindPhrase("bk virus; bk virus", "BK virus"),
              Optional(Pair(0, 8)));
  // Written exactly as the phrase.
  EXPECT_THAT(FindPhrase("bk virus; BK virus", "BK virus"),
              Optional(Pair(10, 18)));
  // In capitals, the way annotated sentences mark the mention.
  EXPECT_THAT(FindPhrase("BK Virus Plasma: testing for BK VIRUS is negative",
                         "BK virus"),
              Optional(Pair(29, 37)));
}

TEST(NormalizedPhraseTest, FoldsCaseAndSpaces) {
  EXPECT_EQ(NormalizedPhrase("  Ruled   OUT "), "ruled out");
  EXPECT_EQ(NormalizedPhrase("->"), "- >");
  EXPECT_EQ(NormalizedPhrase(" \t"), "");
}

TEST_F(ContextTest, ClassifyAllReadsEachMentionAsItsSentenceAlone) {
  // Several sentences, mentions in some of them, cut by '.', ';', '!', a
  // line break and a list number; "0.5" does not cut. Each mention must read
  // exactly as in its sentence taken alone, however many mentions share the
  // text.
  const std::vector<std::string> sentences = {
      "No rash with lidocaine",
      " Mother had hives after EMLA, following: edema",
      " history of hives 0.5 mg",
      "\n2) denies rash",
      " rash resolved",
  };
  const std::vector<std::string> seps = {".", ";", "!", "\n", ""};
  std::string text;
  std::vector<std::pair<size_t, size_t>> spans;
  std::vector<MentionContext> alone;
  for (size_t s = 0; s < sentences.size(); ++s) {
    const std::string& sentence = sentences[s];
    for (const char* term : {"rash", "lidocaine", "hives", "EMLA", "edema"}) {
      const size_t at = sentence.find(term);
      if (at == std::string::npos) continue;
      const size_t len = std::string(term).size();
      spans.emplace_back(text.size() + at, text.size() + at + len);
      alone.push_back(classifier_->Classify(sentence, at, at + len));
    }
    text += sentence + seps[s];
  }
  ASSERT_GE(spans.size(), 8u);
  std::vector<MentionContext> all(spans.size());
  classifier_->ClassifyAll(text, spans, absl::MakeSpan(all));
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(all[i], alone[i])
        << text.substr(spans[i].first, spans[i].second - spans[i].first)
        << " at " << spans[i].first;
    EXPECT_EQ(classifier_->Classify(text, spans[i].first, spans[i].second),
              alone[i]);
  }
  // Spans that cover nothing, or lie outside the text, read as affirmed
  // among the others.
  std::vector<std::pair<size_t, size_t>> odd = {
      {3, 3}, spans[0], {text.size(), text.size() + 4}};
  std::vector<MentionContext> odd_out(odd.size());
  classifier_->ClassifyAll(text, odd, absl::MakeSpan(odd_out));
  EXPECT_EQ(odd_out[0], MentionContext());
  EXPECT_EQ(odd_out[1], alone[0]);
  EXPECT_EQ(odd_out[2], MentionContext());
}

TEST(ContextCreateTest, RejectsEmptyPhrasesAndNegativeScope) {
  ContextRules r;
  r.triggers = {{"  ", ContextCategory::kNegated, TriggerDirection::kForward}};
  EXPECT_THAT(ContextClassifier::Create(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("trigger has no token")));
  r.triggers = {
      {"no", ContextCategory::kNegated, TriggerDirection::kForward, -1}};
  EXPECT_THAT(ContextClassifier::Create(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_scope_words")));
  r = ContextRules();
  r.terminators = {{"", std::nullopt}};
  EXPECT_THAT(ContextClassifier::Create(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("terminator has no token")));
}

TEST(ContextNamesTest, Names) {
  EXPECT_EQ(NegationName(Negation::kPossible), "possible");
  EXPECT_EQ(TemporalityName(Temporality::kHypothetical), "hypothetical");
  EXPECT_EQ(ExperiencerName(Experiencer::kOther), "other");
}

}  // namespace
}  // namespace needlecheck::text
