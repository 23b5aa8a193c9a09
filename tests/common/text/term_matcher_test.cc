#include "common/text/term_matcher.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/text/internal/word_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::text {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

enum Tag : int32_t {
  kLidocaine = 1,
  kPrilocaine = 2,
  kEmla = 3,
  kBenzocaine = 4,
  kTetracaine = 5,
  kProcaine = 6,
  kBlt = 7,
  kUnknownAnesthetic = 8,
  kMicroneedling = 30,
  kAcne = 40,
  kAnyCaine = 90,  // suffix term
};

std::vector<TermSpec> AnestheticTerms() {
  return {
      {"lidocaine", kLidocaine},
      {"lignocaine", kLidocaine},
      {"xylocaine", kLidocaine},
      {"LMX", kLidocaine},
      {"LMX4", kLidocaine},
      {"LMX5", kLidocaine},
      {"prilocaine", kPrilocaine},
      {"citanest", kPrilocaine},
      {"EMLA", kEmla},
      {"lidocaine/prilocaine", kEmla},
      {"benzocaine", kBenzocaine},
      {"americaine", kBenzocaine},
      {"hurricaine", kBenzocaine},
      {"tetracaine", kTetracaine},
      {"amethocaine", kTetracaine},
      {"pontocaine", kTetracaine},
      {"ametop", kTetracaine},
      {"procaine", kProcaine},
      {"novocaine", kProcaine},
      {"novocain", kProcaine},
      {"BLT cream", kBlt},
      {"numbing cream", kUnknownAnesthetic},
      {"topical anesthetic", kUnknownAnesthetic},
      {"topical anaesthetic", kUnknownAnesthetic},
      {"local anesthetic", kUnknownAnesthetic},
      {"local anaesthetic", kUnknownAnesthetic},
      {"microneedling", kMicroneedling},
      {"micro needling", kMicroneedling},
      {"collagen induction therapy", kMicroneedling},
      {"percutaneous collagen induction", kMicroneedling},
      {"derma roller", kMicroneedling},
      {"derma pen", kMicroneedling},
      {"RF microneedling", kMicroneedling},
      {"radiofrequency micro needling", kMicroneedling},
      {"acne", kAcne},
  };
}

MatcherOptions ClinicalOptions() {
  MatcherOptions o;
  o.misspelling_min_length = 6;
  o.negation.pre_triggers = {"no",           "not",      "denies",   "denied",
                             "negative for", "no known", "nka",      "nkda",
                             "without",      "never",    "tolerated"};
  o.negation.post_triggers = {"denied", "ruled out", "tolerated"};
  o.negation.terminators = {"but",    "however",    "except",     "although",
                            "though", "apart from", "aside from", "yet"};
  o.negation.window_words = 6;
  return o;
}

std::unique_ptr<TermMatcher> MakeClinical() {
  auto m = TermMatcher::Create(AnestheticTerms(), {{"caine", kAnyCaine}},
                               {{"scars", kAcne}, {"acne scar", kAcne}},
                               ClinicalOptions());
  EXPECT_THAT(m, IsOk());
  return m.ok() ? std::move(*m) : nullptr;
}

// "tag:span" plus " NEG" and " MISS" flags, for readable expectations.
std::vector<std::string> Show(const TermMatcher& m, absl::string_view text) {
  std::vector<std::string> out;
  for (const TermHit& h : m.FindAll(text)) {
    EXPECT_LT(h.begin, h.end);
    EXPECT_LE(h.end, text.size());
    out.push_back(
        absl::StrCat(h.tag, ":", text.substr(h.begin, h.end - h.begin),
                     h.negated ? " NEG" : "", h.misspelled ? " MISS" : ""));
  }
  return out;
}

class TermMatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    matcher_ = MakeClinical();
    ASSERT_NE(matcher_, nullptr);
  }
  std::vector<std::string> Find(absl::string_view text) {
    return Show(*matcher_, text);
  }
  std::unique_ptr<TermMatcher> matcher_;
};

// ---------------------------------------------------------------- Create()

TEST(TermMatcherCreateTest, AcceptsEmptyLists) {
  auto m = TermMatcher::Create({}, {}, {}, MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT((*m)->FindAll("lidocaine. no, not this"), IsEmpty());
}

TEST(TermMatcherCreateTest, RejectsEmptyTerm) {
  EXPECT_THAT(TermMatcher::Create({{"", 1}}, {}, {}, MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TermMatcherCreateTest, RejectsTermWithoutWordCharacters) {
  EXPECT_THAT(TermMatcher::Create({{"lidocaine", 1}, {" -/- ", 2}}, {}, {},
                                  MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-/-")));
}

TEST(TermMatcherCreateTest, RejectsBadSuffixAndExclusion) {
  EXPECT_THAT(TermMatcher::Create({}, {{"", 1}}, {}, MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TermMatcher::Create({}, {{"--", 1}}, {}, MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TermMatcher::Create({}, {{"ca ine", 1}}, {}, MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TermMatcher::Create({}, {}, {{"", 1}}, MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TermMatcher::Create({}, {}, {{"...", 1}}, MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A suffix written with a leading hyphen is one word.
  EXPECT_THAT(TermMatcher::Create({}, {{"-caine", 1}}, {}, MatcherOptions()),
              IsOk());
}

TEST(TermMatcherCreateTest, RejectsTriggersWithoutWordCharacters) {
  MatcherOptions o;
  o.negation.pre_triggers = {"no", "?"};
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o = MatcherOptions();
  o.negation.post_triggers = {""};
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o = MatcherOptions();
  o.negation.terminators = {";"};
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TermMatcherCreateTest, RejectsWatchedWordsThatAreNotOneWord) {
  for (const char* bad : {"", "?", "ruled out"}) {
    MatcherOptions o;
    o.watched_words = {"no", bad};
    EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("watched word must be exactly one word")))
        << bad;
  }
}

// "tag:span" of each hit, with " W" when its sentence holds a watched word.
std::vector<std::string> ShowWatched(const TermMatcher& m,
                                     absl::string_view text) {
  std::vector<std::string> out;
  for (const TermHit& h : m.FindAll(text)) {
    out.push_back(absl::StrCat(h.tag, ":",
                               text.substr(h.begin, h.end - h.begin),
                               h.sentence_has_watched_word ? " W" : ""));
  }
  return out;
}

TEST(TermMatcherWatchedWordsTest, TellsWhetherTheHitsSentenceHoldsOne) {
  MatcherOptions o = ClinicalOptions();
  o.watched_words = {"History", "mother", "lidocaine"};
  auto m = TermMatcher::Create(AnestheticTerms(), {}, {}, o);
  ASSERT_THAT(m, IsOk());
  const TermMatcher& matcher = **m;
  // Case-insensitive, anywhere in the sentence, before or after the hit.
  EXPECT_THAT(ShowWatched(matcher, "HISTORY of acne"),
              ElementsAre("40:acne W"));
  EXPECT_THAT(ShowWatched(matcher, "acne, per her mother"),
              ElementsAre("40:acne W"));
  // Only whole words: "histories" and "grandmother" are other words.
  EXPECT_THAT(ShowWatched(matcher, "histories of acne, grandmother"),
              ElementsAre("40:acne"));
  // Sentence ends ('.', ';', '!', line breaks) bound it; a terminator, a
  // comma or a '.' between digits do not.
  EXPECT_THAT(ShowWatched(matcher, "History. Acne; EMLA! mother\nprocaine"),
              ElementsAre("40:Acne", "3:EMLA", "6:procaine"));
  EXPECT_THAT(ShowWatched(matcher, "history 0.5 acne but EMLA"),
              ElementsAre("40:acne W", "3:EMLA W"));
  // A watched word that is also a term word is still a term.
  EXPECT_THAT(ShowWatched(matcher, "lidocaine; acne"),
              ElementsAre("1:lidocaine W", "40:acne"));
  // Negation is unchanged by watching.
  EXPECT_THAT(Show(matcher, "no acne; history of EMLA"),
              ElementsAre("40:acne NEG", "3:EMLA"));
  // Without watched words no hit is flagged.
  auto plain =
      TermMatcher::Create(AnestheticTerms(), {}, {}, ClinicalOptions());
  ASSERT_THAT(plain, IsOk());
  EXPECT_THAT(ShowWatched(**plain, "history of acne"), ElementsAre("40:acne"));
}

TEST(TermMatcherCreateTest, RejectsCaseSensitiveTermWithoutCapital) {
  EXPECT_THAT(TermMatcher::Create({{"let", 1, /*case_sensitive=*/true}}, {}, {},
                                  MatcherOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no capital letter: \"let\"")));
}

// An abbreviation that is also an everyday word matches only as written.
TEST(TermMatcherCaseSensitiveTest, CapitalizedWordsMatchOnlyAsWritten) {
  auto m = TermMatcher::Create({{"LET", 7, true},
                                {"LET gel", 7, true},
                                {"Synera", 8, true},
                                {"lidocaine", 9}},
                               {}, {}, MatcherOptions());
  ASSERT_THAT(m, IsOk());
  const TermMatcher& matcher = **m;
  EXPECT_THAT(Show(matcher, "LET -> hives"), ElementsAre("7:LET"));
  EXPECT_THAT(Show(matcher, "allergic to LET gel"), ElementsAre("7:LET gel"));
  // Only the capitalized word is case-sensitive.
  EXPECT_THAT(Show(matcher, "LET Gel: rash"), ElementsAre("7:LET Gel"));
  EXPECT_THAT(Show(matcher, "let us know if any reaction"), IsEmpty());
  EXPECT_THAT(Show(matcher, "Let the area dry"), IsEmpty());
  EXPECT_THAT(Show(matcher, "patient let the nurse apply it"), IsEmpty());
  EXPECT_THAT(Show(matcher, "LeT gel, Let gel, let gel"), IsEmpty());
  // No joined form and no misspelling for a case-sensitive word.
  EXPECT_THAT(Show(matcher, "LETgel"), IsEmpty());
  EXPECT_THAT(Show(matcher, "Synera, synera, Sinera, SYNERA"),
              ElementsAre("8:Synera"));
  // Other terms keep their case-insensitive, misspelling-tolerant match.
  EXPECT_THAT(Show(matcher, "LIDOCANE"), ElementsAre("9:LIDOCANE MISS"));
}

TEST(TermMatcherCreateTest, ValidatesNumericOptions) {
  MatcherOptions o;
  o.misspelling_min_length = 2;
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o.misspelling_min_length = 3;
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o), IsOk());
  o.negation.window_words = 0;
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o.negation.window_words = -3;
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o.negation.window_words = 1;
  EXPECT_THAT(TermMatcher::Create({{"x", 1}}, {}, {}, o), IsOk());
}

// ------------------------------------------------- clinical-rules examples

TEST_F(TermMatcherTest, AllergyNoteExamples) {
  EXPECT_THAT(Find("allergic to numbing cream"),
              ElementsAre("8:numbing cream"));
  EXPECT_THAT(Find("EMLA - hives"), ElementsAre("3:EMLA"));
  EXPECT_THAT(Find("rash after lidocaine cream"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("NKDA"), IsEmpty());
  EXPECT_THAT(Find("denies allergy to lidocaine"),
              ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("no reaction to prilocaine in 2023"),
              ElementsAre("2:prilocaine NEG"));
}

TEST_F(TermMatcherTest, UncertaintyDoesNotNegate) {
  EXPECT_THAT(Find("possible lidocaine allergy"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("? lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("suspected reaction to EMLA?"), ElementsAre("3:EMLA"));
}

TEST_F(TermMatcherTest, TerminatorEndsNegation) {
  EXPECT_THAT(Find("no rash with EMLA but hives after benzocaine"),
              ElementsAre("3:EMLA NEG", "4:benzocaine"));
  EXPECT_THAT(Find("Denies allergies, however reacted to lidocaine"),
              ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no known allergies apart from tetracaine"),
              ElementsAre("5:tetracaine"));
  EXPECT_THAT(Find("no allergies aside from procaine"),
              ElementsAre("6:procaine"));
  // "apart" alone is no terminator.
  EXPECT_THAT(Find("no allergies apart lidocaine"),
              ElementsAre("1:lidocaine NEG"));
}

TEST_F(TermMatcherTest, PostTriggers) {
  EXPECT_THAT(Find("lidocaine allergy ruled out"),
              ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("EMLA allergy denied by patient"),
              ElementsAre("3:EMLA NEG"));
  EXPECT_THAT(Find("lidocaine tolerated well"), ElementsAre("1:lidocaine NEG"));
  // "ruled" alone is not "ruled out".
  EXPECT_THAT(Find("lidocaine ruled in"), ElementsAre("1:lidocaine"));
  // A pre-only trigger after the hit does not negate it.
  EXPECT_THAT(Find("lidocaine: no"), ElementsAre("1:lidocaine"));
}

TEST_F(TermMatcherTest, MultiWordPreTriggers) {
  EXPECT_THAT(Find("Negative for lidocaine sensitivity"),
              ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("No known allergy to xylocaine"),
              ElementsAre("1:xylocaine NEG"));
  EXPECT_THAT(Find("NKA; EMLA used 2022"), ElementsAre("3:EMLA"));
  EXPECT_THAT(Find("NKA to EMLA"), ElementsAre("3:EMLA NEG"));
  EXPECT_THAT(Find("tolerated lidocaine without reaction"),
              ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("never reacted to LMX4"), ElementsAre("1:LMX4 NEG"));
}

// ------------------------------------------------------------ misspellings

TEST_F(TermMatcherTest, OneEditMisspellings) {
  EXPECT_THAT(Find("lidocane"), ElementsAre("1:lidocane MISS"));    // deletion
  EXPECT_THAT(Find("lidocaien"), ElementsAre("1:lidocaien MISS"));  // swap
  EXPECT_THAT(Find("lidocaime"), ElementsAre("1:lidocaime MISS"));  // subst
  EXPECT_THAT(Find("lidoccaine"), ElementsAre("1:lidoccaine MISS"));  // ins
  EXPECT_THAT(Find("ilidocaine"), ElementsAre("1:ilidocaine MISS"));
  EXPECT_THAT(Find("idocaine"), ElementsAre("1:idocaine MISS"));
  EXPECT_THAT(Find("lidocain"), ElementsAre("1:lidocain MISS"));
  EXPECT_THAT(Find("ildocaine"), ElementsAre("1:ildocaine MISS"));
  EXPECT_THAT(Find("LIDOCANE"), ElementsAre("1:LIDOCANE MISS"));
  EXPECT_THAT(Find("Prilocaine"), ElementsAre("2:Prilocaine"));
}

// All strings one edit (over a-z) away from `word`, `word` excluded.
std::vector<std::string> OneEditVariants(const std::string& word) {
  std::vector<std::string> out;
  for (size_t i = 0; i <= word.size(); ++i) {
    for (char c = 'a'; c <= 'z'; ++c) {
      out.push_back(word.substr(0, i) + c + word.substr(i));  // insertion
      if (i < word.size() && word[i] != c) {                  // substitution
        std::string v = word;
        v[i] = c;
        out.push_back(v);
      }
    }
    if (i < word.size()) out.push_back(word.substr(0, i) + word.substr(i + 1));
    if (i + 1 < word.size() && word[i] != word[i + 1]) {
      std::string v = word;
      std::swap(v[i], v[i + 1]);
      out.push_back(v);
    }
  }
  out.erase(std::remove(out.begin(), out.end(), word), out.end());
  return out;
}

// Every one-edit variant of every single-word term of >= 6 letters matches
// that term (exhaustive check of the deletion index and its filters),
// unless the variant is itself exactly another term word.
TEST_F(TermMatcherTest, EveryOneEditVariantOfLongWordsMatches) {
  std::set<std::string> term_words;
  for (const TermSpec& t : AnestheticTerms()) {
    if (t.term.find_first_of(" /") == std::string::npos) {
      term_words.insert(absl::AsciiStrToLower(t.term));
    }
  }
  term_words.insert("microneedling");  // also the joined "micro needling"
  size_t checked = 0;
  for (const TermSpec& t : AnestheticTerms()) {
    const std::string word = absl::AsciiStrToLower(t.term);
    if (word.size() < 6 || word.find_first_of(" /") != std::string::npos) {
      continue;
    }
    for (const std::string& v : OneEditVariants(word)) {
      if (term_words.count(v) > 0) continue;
      std::vector<TermHit> hits = matcher_->FindAll(v);
      bool found = false;
      for (const TermHit& h : hits) {
        if (h.tag == t.tag && h.begin == 0 && h.end == v.size() &&
            h.misspelled) {
          found = true;
        }
      }
      EXPECT_TRUE(found) << word << " -> " << v;
      ++checked;
    }
  }
  EXPECT_GT(checked, 5000u);
}

TEST(TermMatcherMisspellingTest, EveryOneEditVariantOfShortWordsMatches) {
  for (int min_length : {3, 4, 5}) {
    MatcherOptions o;
    o.misspelling_min_length = min_length;
    auto m = TermMatcher::Create({{"emla", 3}, {"ametop", 5}}, {}, {}, o);
    ASSERT_THAT(m, IsOk());
    for (const std::string word : {"emla", "ametop"}) {
      const bool fuzzy = static_cast<int>(word.size()) >= min_length;
      for (const std::string& v : OneEditVariants(word)) {
        std::vector<TermHit> hits = (*m)->FindAll(v);
        if (fuzzy) {
          ASSERT_EQ(hits.size(), 1u) << min_length << " " << v;
          EXPECT_TRUE(hits[0].misspelled);
        } else {
          EXPECT_THAT(hits, IsEmpty()) << min_length << " " << v;
        }
      }
    }
  }
}

TEST_F(TermMatcherTest, TwoEditsDoNotMatch) {
  EXPECT_THAT(Find("lidcaien"), IsEmpty());
  EXPECT_THAT(Find("lidocaineee"), IsEmpty());
  EXPECT_THAT(Find("ldiocaien"), IsEmpty());
}

TEST_F(TermMatcherTest, ShortWordsMatchExactly) {
  EXPECT_THAT(Find("EMLA"), ElementsAre("3:EMLA"));
  EXPECT_THAT(Find("emla"), ElementsAre("3:emla"));
  EXPECT_THAT(Find("emle"), IsEmpty());
  EXPECT_THAT(Find("emlaa"), IsEmpty());
  EXPECT_THAT(Find("eml"), IsEmpty());
  EXPECT_THAT(Find("LMX"), ElementsAre("1:LMX"));
  EXPECT_THAT(Find("LMX6"), IsEmpty());
  // A 5-letter term word is below the default minimum of 6.
  EXPECT_THAT(Find("lokal anesthetic"), IsEmpty());
  EXPECT_THAT(Find("local anesthetik"), ElementsAre("8:local anesthetik MISS"));
}

TEST(TermMatcherMisspellingTest, MinimumLengthIsConfigurable) {
  MatcherOptions o;
  o.misspelling_min_length = 4;
  auto m = TermMatcher::Create({{"emla", kEmla}}, {}, {}, o);
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "emle"), ElementsAre("3:emle MISS"));
  EXPECT_THAT(Show(**m, "mela"), ElementsAre("3:mela MISS"));
  EXPECT_THAT(Show(**m, "eml"), ElementsAre("3:eml MISS"));
  EXPECT_THAT(Show(**m, "em"), IsEmpty());
  o.misspelling_min_length = 5;
  m = TermMatcher::Create({{"emla", kEmla}}, {}, {}, o);
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "emle"), IsEmpty());
}

TEST(TermMatcherMisspellingTest, ExactKnownWordIsNotATypoOfAnother) {
  auto m = TermMatcher::Create({{"procaine", 1}, {"procaina", 2}}, {}, {},
                               MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "procaine"), ElementsAre("1:procaine"));
  EXPECT_THAT(Show(**m, "procaina"), ElementsAre("2:procaina"));
  // Near both: matches both, as misspellings.
  EXPECT_THAT(Show(**m, "procaino"),
              ElementsAre("1:procaino MISS", "2:procaino MISS"));
}

TEST(TermMatcherMisspellingTest, TriggersAndExclusionsAreExact) {
  MatcherOptions o;
  o.negation.pre_triggers = {"denies"};
  auto m = TermMatcher::Create({{"lidocaine", 1}}, {}, {{"scarring", 1}}, o);
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "denies lidocaine"), ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Show(**m, "denise lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Show(**m, "lidocaine scarring"), IsEmpty());
  EXPECT_THAT(Show(**m, "lidocaine scaring"), ElementsAre("1:lidocaine"));
}

// ------------------------------------------- multi-word and joined terms

TEST_F(TermMatcherTest, MicroneedlingSpellings) {
  for (absl::string_view text :
       {"Microneedling", "micro-needling", "Micro Needling", "Dermapen",
        "derma-pen", "DERMA PEN", "micro  --  needling", "Derma Roller",
        "dermaroller", "Collagen induction therapy",
        "collagen-induction-therapy"}) {
    std::vector<TermHit> hits = matcher_->FindAll(text);
    ASSERT_EQ(hits.size(), 1u) << text;
    EXPECT_EQ(hits[0].tag, kMicroneedling) << text;
    EXPECT_EQ(hits[0].begin, 0u) << text;
    EXPECT_EQ(hits[0].end, text.size()) << text;
    EXPECT_FALSE(hits[0].misspelled) << text;
    EXPECT_FALSE(hits[0].negated) << text;
  }
  EXPECT_THAT(Find("Micorneedling 2021"), ElementsAre("30:Micorneedling MISS"));
  EXPECT_THAT(Find("micro needlign"), ElementsAre("30:micro needlign MISS"));
  EXPECT_THAT(Find("dermappen"), ElementsAre("30:dermappen MISS"));
  // "derma" alone (5 letters) allows no edit.
  EXPECT_THAT(Find("dema pen"), IsEmpty());
}

TEST_F(TermMatcherTest, PartiallyJoinedThreeWordTerm) {
  EXPECT_THAT(Find("radiofrequency microneedling"),
              ElementsAre("30:radiofrequency microneedling"));
  EXPECT_THAT(Find("radiofrequency micro-needling"),
              ElementsAre("30:radiofrequency micro-needling"));
  // Leftmost-longest: "RF microneedling" (2 words) beats "microneedling".
  EXPECT_THAT(Find("RF microneedling x3"), ElementsAre("30:RF microneedling"));
}

TEST_F(TermMatcherTest, MultiWordTermsStayInOneClause) {
  EXPECT_THAT(Find("micro. needling"), IsEmpty());
  EXPECT_THAT(Find("numbing;cream"), IsEmpty());
  EXPECT_THAT(Find("numbing\ncream"), IsEmpty());
  EXPECT_THAT(Find("numbing, cream"), ElementsAre("8:numbing, cream"));
  EXPECT_THAT(Find("derma but pen"), IsEmpty());
  EXPECT_THAT(Find("BLT cream"), ElementsAre("7:BLT cream"));
  EXPECT_THAT(Find("BLT"), IsEmpty());
}

TEST_F(TermMatcherTest, SlashSeparatesWordsAndTagsMayOverlap) {
  EXPECT_THAT(
      Find("lidocaine/prilocaine"),
      ElementsAre("1:lidocaine", "3:lidocaine/prilocaine", "2:prilocaine"));
  EXPECT_THAT(
      Find("Lidocaine Prilocaine cream"),
      ElementsAre("1:Lidocaine", "3:Lidocaine Prilocaine", "2:Prilocaine"));
}

TEST(TermMatcherOverlapTest, LeftmostLongestPerTag) {
  auto m = TermMatcher::Create({{"lidocaine", 1},
                                {"lidocaine cream", 1},
                                {"cream", 1},
                                {"lidocaine cream", 2},
                                {"cream", 3}},
                               {}, {}, MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "lidocaine cream"),
              ElementsAre("1:lidocaine cream", "2:lidocaine cream", "3:cream"));
  EXPECT_THAT(
      Show(**m, "cream lidocaine cream cream"),
      ElementsAre("1:cream", "3:cream", "1:lidocaine cream",
                  "2:lidocaine cream", "3:cream", "1:cream", "3:cream"));
}

TEST(TermMatcherOverlapTest, ExactPreferredOverMisspelledOnSameSpan) {
  // "lidocaines" is exactly a term and within one edit of "lidocaine".
  auto m = TermMatcher::Create({{"lidocaine", 1}, {"lidocaines", 1}}, {}, {},
                               MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "lidocaines"), ElementsAre("1:lidocaines"));
  EXPECT_THAT(Show(**m, "lidocaine"), ElementsAre("1:lidocaine"));
}

TEST(TermMatcherOverlapTest, DuplicateTermsGiveOneHit) {
  auto m = TermMatcher::Create(
      {{"EMLA", 3}, {"emla", 3}, {"E.M.L.A.", 4}, {"Emla", 3}}, {}, {},
      MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "emla"), ElementsAre("3:emla", "4:emla"));
  // "E.M.L.A." is the four words e m l a; written together they are "emla".
  EXPECT_THAT(Show(**m, "e m l a"), ElementsAre("4:e m l a"));
  EXPECT_THAT(Show(**m, "E.M.L.A."), ElementsAre());  // '.' cuts clauses
  EXPECT_THAT(Show(**m, "E-M-L-A"), ElementsAre("4:E-M-L-A"));
}

// --------------------------------------------------------------- clauses

TEST_F(TermMatcherTest, ClauseCutsStopNegation) {
  EXPECT_THAT(Find("no rash. lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no rash; lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no rash! lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no rash\nlidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no rash\r\nlidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no rash, lidocaine"), ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("no rash (lidocaine)"), ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("lidocaine. denied"), ElementsAre("1:lidocaine"));
}

TEST_F(TermMatcherTest, DecimalPointDoesNotCut) {
  EXPECT_THAT(Find("no 0.5 ml lidocaine"), ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("no 5. lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no .5 lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no v.5 lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("no 1..5 lidocaine"), ElementsAre("1:lidocaine"));
}

TEST_F(TermMatcherTest, NegationWindow) {
  // Six words after the trigger are in scope, the seventh is not.
  EXPECT_THAT(Find("no a b c d e lidocaine"), ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("no a b c d e f lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("lidocaine a b c d e denied"),
              ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("lidocaine a b c d e f denied"), ElementsAre("1:lidocaine"));
  // Multi-word triggers count from their last (pre) / first (post) word.
  EXPECT_THAT(Find("negative for a b c d e lidocaine"),
              ElementsAre("1:lidocaine NEG"));
  EXPECT_THAT(Find("lidocaine a b c d e ruled out"),
              ElementsAre("1:lidocaine NEG"));
  // Multi-word hits count from their first (pre) / last (post) word.
  EXPECT_THAT(Find("no a b c d e numbing cream"),
              ElementsAre("8:numbing cream NEG"));
  EXPECT_THAT(Find("numbing cream a b c d e denied"),
              ElementsAre("8:numbing cream NEG"));
}

TEST(TermMatcherNegationTest, WindowOfOne) {
  MatcherOptions o;
  o.negation.pre_triggers = {"no"};
  o.negation.post_triggers = {"denied"};
  o.negation.window_words = 1;
  auto m = TermMatcher::Create({{"emla", 3}}, {}, {}, o);
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "no emla"), ElementsAre("3:emla NEG"));
  EXPECT_THAT(Show(**m, "no topical emla"), ElementsAre("3:emla"));
  EXPECT_THAT(Show(**m, "emla denied"), ElementsAre("3:emla NEG"));
  EXPECT_THAT(Show(**m, "emla was denied"), ElementsAre("3:emla"));
}

TEST_F(TermMatcherTest, NegationOfSeveralHits) {
  EXPECT_THAT(
      Find("no lidocaine, tetracaine or benzocaine allergy"),
      ElementsAre("1:lidocaine NEG", "5:tetracaine NEG", "4:benzocaine NEG"));
  // A comma separates words like a space, so the list also reads as the
  // EMLA term "lidocaine/prilocaine" (per the contract).
  EXPECT_THAT(Find("no lidocaine, prilocaine"),
              ElementsAre("1:lidocaine NEG", "3:lidocaine, prilocaine NEG",
                          "2:prilocaine NEG"));
  EXPECT_THAT(Find("hives after EMLA; denies lidocaine"),
              ElementsAre("3:EMLA", "1:lidocaine NEG"));
}

TEST(TermMatcherNegationTest, NoTriggersConfigured) {
  auto m = TermMatcher::Create({{"lidocaine", 1}}, {}, {}, MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "no lidocaine"), ElementsAre("1:lidocaine"));
}

// ------------------------------------------------------------ exclusions

TEST(TermMatcherExclusionTest, ExclusionDropsHitsOfItsTagInTheClause) {
  auto m = TermMatcher::Create({{"acne", kAcne}, {"lidocaine", kLidocaine}}, {},
                               {{"scars", kAcne}}, MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "Acne scars"), IsEmpty());
  EXPECT_THAT(Show(**m, "scars from acne"), IsEmpty());
  EXPECT_THAT(Show(**m, "active acne; old acne scars"), ElementsAre("40:acne"));
  std::vector<TermHit> hits = (*m)->FindAll("active acne; old acne scars");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].begin, 7u);
  // Other tags are unaffected.
  EXPECT_THAT(Show(**m, "lidocaine on scars"), ElementsAre("1:lidocaine"));
  // Only listed forms: "scar" and "scarss" do not exclude.
  EXPECT_THAT(Show(**m, "acne scar"), ElementsAre("40:acne"));
  EXPECT_THAT(Show(**m, "acne scarss"), ElementsAre("40:acne"));
}

TEST_F(TermMatcherTest, MultiWordExclusionAndTerminatorClauses) {
  EXPECT_THAT(Find("acne scar on cheek"), IsEmpty());
  EXPECT_THAT(Find("acne but no scars"), ElementsAre("40:acne"));
  EXPECT_THAT(Find("acne, cheek scar"), ElementsAre("40:acne"));
}

// ---------------------------------------------------------- suffix terms

TEST_F(TermMatcherTest, SuffixTerms) {
  EXPECT_THAT(Find("mepivacaine"), ElementsAre("90:mepivacaine"));
  EXPECT_THAT(Find("Bupivacaine-allergy"), ElementsAre("90:Bupivacaine"));
  EXPECT_THAT(Find("lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("caine"), IsEmpty());
  EXPECT_THAT(Find("CAINE"), IsEmpty());
  // A misspelled term word is a term hit, not a suffix hit.
  EXPECT_THAT(Find("novocainne"), ElementsAre("6:novocainne MISS"));
  EXPECT_THAT(Find("lidacaine"), ElementsAre("1:lidacaine MISS"));
  EXPECT_THAT(Find("denies ropivacaine allergy"),
              ElementsAre("90:ropivacaine NEG"));
  EXPECT_THAT(Find("cocaine and lidocaine"),
              ElementsAre("90:cocaine", "1:lidocaine"));
}

TEST(TermMatcherSuffixTest, WordOfAnUnmatchedMultiWordTermGetsSuffixHit) {
  auto m = TermMatcher::Create({{"hurricaine spray", 4}}, {{"caine", 90}}, {},
                               MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "hurricaine spray"), ElementsAre("4:hurricaine spray"));
  EXPECT_THAT(Show(**m, "hurricaine gel"), ElementsAre("90:hurricaine"));
}

TEST(TermMatcherSuffixTest, SeveralSuffixes) {
  auto m = TermMatcher::Create(
      {}, {{"caine", 90}, {"-AINE", 91}, {"caine", 90}}, {}, MatcherOptions());
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(Show(**m, "Articaine"),
              ElementsAre("90:Articaine", "91:Articaine"));
  EXPECT_THAT(Show(**m, "ketamine"), IsEmpty());
}

// -------------------------------------------------------------- offsets

TEST_F(TermMatcherTest, OffsetsGiveTheExactSpan) {
  const absl::string_view text = "Pt: Lidocaine-allergy";
  std::vector<TermHit> hits = matcher_->FindAll(text);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].tag, kLidocaine);
  EXPECT_EQ(text.substr(hits[0].begin, hits[0].end - hits[0].begin),
            "Lidocaine");
  EXPECT_EQ(hits[0].begin, 4u);
  EXPECT_EQ(hits[0].end, 13u);
  EXPECT_FALSE(hits[0].negated);
  EXPECT_FALSE(hits[0].misspelled);

  EXPECT_THAT(Find("  (Numbing   cream)  "), ElementsAre("8:Numbing   cream"));
}

TEST_F(TermMatcherTest, OrderedByBeginThenTag) {
  std::vector<TermHit> hits =
      matcher_->FindAll("EMLA, lidocaine/prilocaine; mepivacaine; acne");
  ASSERT_EQ(hits.size(), 6u);
  for (size_t i = 1; i < hits.size(); ++i) {
    EXPECT_TRUE(
        hits[i - 1].begin < hits[i].begin ||
        (hits[i - 1].begin == hits[i].begin && hits[i - 1].tag < hits[i].tag));
  }
}

// ---------------------------------------------------------- robustness

TEST_F(TermMatcherTest, EmptyAndPunctuationOnly) {
  EXPECT_THAT(Find(""), IsEmpty());
  EXPECT_THAT(Find(" "), IsEmpty());
  EXPECT_THAT(Find(".;!?\n\r-/(),"), IsEmpty());
  EXPECT_THAT(Find(absl::string_view("\0\0\0", 3)), IsEmpty());
}

TEST_F(TermMatcherTest, NulAndInvalidUtf8) {
  const char kText[] = "\0lidocaine\0\xff\xfe no\x80 EMLA\xc3";
  const std::string text(kText, sizeof(kText) - 1);
  std::vector<TermHit> hits = matcher_->FindAll(text);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(text.substr(hits[0].begin, hits[0].end - hits[0].begin),
            "lidocaine");
  // Bytes >= 0x80 are word bytes: "no\x80" and "EMLA\xc3" are other words.
  EXPECT_THAT(Find("caf\xc3\xa9 lidocaine"), ElementsAre("1:lidocaine"));
  EXPECT_THAT(Find("lidoca\xc3\xafne"), IsEmpty());  // two byte edits
  EXPECT_THAT(Find("lidocain\xc3"), ElementsAre("1:lidocain\xc3 MISS"));
}

TEST_F(TermMatcherTest, VeryLongText) {
  std::string text;
  text.reserve(1 << 20);
  while (text.size() < (1u << 20) - 64) {
    text += "no reaction to lidocaine. microneedling x; zzzzzz ";
  }
  std::vector<TermHit> hits = matcher_->FindAll(text);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits.size() % 2, 0u);
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i].tag, i % 2 == 0 ? kLidocaine : kMicroneedling);
    EXPECT_EQ(hits[i].negated, i % 2 == 0);
  }
}

TEST_F(TermMatcherTest, VeryLongWords) {
  std::string word(1 << 20, 'a');
  EXPECT_THAT(matcher_->FindAll(word), IsEmpty());
  word.replace(word.size() - 5, 5, "caine");
  std::vector<TermHit> hits = matcher_->FindAll(word);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].tag, kAnyCaine);
  EXPECT_EQ(hits[0].end, word.size());
}

TEST_F(TermMatcherTest, ManyTriggersAndTerminators) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "no but lidocaine however denied ";
  std::vector<TermHit> hits = matcher_->FindAll(text);
  ASSERT_EQ(hits.size(), 20000u);
  for (const TermHit& h : hits) EXPECT_FALSE(h.negated);
}

TEST_F(TermMatcherTest, ConcurrentUse) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 200; ++i) {
        std::vector<TermHit> hits =
            matcher_->FindAll("no rash with EMLA but hives after benzocaine");
        ASSERT_EQ(hits.size(), 2u);
        EXPECT_TRUE(hits[0].negated);
        EXPECT_FALSE(hits[1].negated);
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

// ------------------------------------------------------------ internals

TEST(WordIndexTest, WithinOneEdit) {
  using internal::WithinOneEdit;
  EXPECT_FALSE(WithinOneEdit("lidocaine", "lidocaine"));
  EXPECT_FALSE(WithinOneEdit("LIDOCAINE", "lidocaine"));
  EXPECT_TRUE(WithinOneEdit("lidocane", "lidocaine"));
  EXPECT_TRUE(WithinOneEdit("lidocainee", "lidocaine"));
  EXPECT_TRUE(WithinOneEdit("Lidocaien", "lidocaine"));
  EXPECT_TRUE(WithinOneEdit("xidocaine", "lidocaine"));
  EXPECT_TRUE(WithinOneEdit("ildocaine", "lidocaine"));
  EXPECT_TRUE(WithinOneEdit("", "a"));
  EXPECT_TRUE(WithinOneEdit("ab", "ba"));
  EXPECT_FALSE(WithinOneEdit("abc", "cab"));
  EXPECT_FALSE(WithinOneEdit("lidcaien", "lidocaine"));
  EXPECT_FALSE(WithinOneEdit("lidocaine12", "lidocaine"));
  EXPECT_FALSE(WithinOneEdit("abcd", "badc"));  // two swaps
}

TEST(WordIndexTest, DeletionKeysMatchExplicitDeletions) {
  std::vector<uint64_t> pow(20, 1);
  for (size_t k = 1; k < pow.size(); ++k) {
    pow[k] = pow[k - 1] * internal::kHashBase;
  }
  internal::HashScratch scratch;
  for (absl::string_view word : {"Lidocaine", "a", "ab", "MicroNeedling"}) {
    std::vector<uint64_t> keys;
    internal::ForEachDeletionKey(word, pow, scratch,
                                 [&](uint64_t k) { keys.push_back(k); });
    ASSERT_EQ(keys.size(), word.size() + 1);
    EXPECT_EQ(keys[0], internal::WordKeyOf(word));
    for (size_t i = 0; i < word.size(); ++i) {
      std::string deleted(word);
      deleted.erase(i, 1);
      EXPECT_EQ(keys[i + 1], internal::WordKeyOf(deleted)) << word << " " << i;
    }
  }
}

TEST(WordIndexTest, AnchorFilterPassesEveryOneEditVariant) {
  internal::AnchorFilter filter;
  std::vector<std::string> words = {"abc",    "emla",      "abcde",
                                    "ametop", "lidocaine", "microneedling"};
  uint32_t state = 12345;
  for (int i = 0; i < 40; ++i) {  // random words of 3..12 letters
    std::string w;
    for (size_t n = 3 + i % 10; w.size() < n;) {
      state = state * 1103515245u + 12345u;
      w.push_back(static_cast<char>('a' + (state >> 16) % 26));
    }
    words.push_back(w);
  }
  for (const std::string& w : words) filter.Add(w);
  for (const std::string& w : words) {
    EXPECT_TRUE(filter.MayBeNear(w)) << w;
    std::string upper = absl::AsciiStrToUpper(w);
    EXPECT_TRUE(filter.MayBeNear(upper)) << upper;
    for (const std::string& v : OneEditVariants(w)) {
      ASSERT_TRUE(filter.MayBeNear(v)) << w << " -> " << v;
    }
  }
  // And it does rule words out.
  int passed = 0;
  for (const char* w : {"allergy", "penicillin", "hypertension", "tablet",
                        "oral", "finding", "disorder", "mould", "house"}) {
    passed += filter.MayBeNear(w) ? 1 : 0;
  }
  EXPECT_LE(passed, 2);
}

TEST(WordIndexTest, HashIndexFindsAddedIdsOnly) {
  internal::WordHashIndex index;
  EXPECT_TRUE(index.Find(42).empty());
  for (int32_t i = 0; i < 1000; ++i) {
    index.Add(internal::WordKeyOf(absl::StrCat("w", i)), i);
  }
  index.Add(internal::WordKeyOf("w7"), 7);  // duplicate
  index.Add(internal::WordKeyOf("w7"), 1007);
  index.Finalize();
  EXPECT_THAT(index.Find(internal::WordKeyOf("w7")), ElementsAre(7, 1007));
  EXPECT_THAT(index.Find(internal::WordKeyOf("W999")), ElementsAre(999));
  EXPECT_TRUE(index.Find(internal::WordKeyOf("w1000")).empty());
}

TEST_F(TermMatcherTest, FindAllIntoABufferClearsItAndGivesTheSameHits) {
  // More hits than the buffer holds inline, negated and misspelled ones
  // among them.
  const std::string text =
      "EMLA, lidocaine, lidocane; no prilocaine. benzocaine, tetracaine, "
      "articaine, mepivacaine, bupivacaine, ropivacaine, EMLA again";
  const std::vector<TermHit> expected = matcher_->FindAll(text);
  ASSERT_GT(expected.size(), TermMatcher::kInlineHits);
  TermMatcher::Hits hits;
  hits.push_back(TermHit{-7, 0, 1, false, false});  // cleared first
  matcher_->FindAll(text, &hits);
  ASSERT_EQ(hits.size(), expected.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i].tag, expected[i].tag);
    EXPECT_EQ(hits[i].begin, expected[i].begin);
    EXPECT_EQ(hits[i].end, expected[i].end);
    EXPECT_EQ(hits[i].negated, expected[i].negated);
    EXPECT_EQ(hits[i].misspelled, expected[i].misspelled);
  }
  matcher_->FindAll("nothing to see", &hits);
  EXPECT_TRUE(hits.empty());
}

}  // namespace
}  // namespace needlecheck::text
