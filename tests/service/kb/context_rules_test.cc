// The bundled knowledge base's ConText lists read the examples of
// clinical-rules.md ("Free text and negation", "The context of a mention"),
// and bad context lists are rejected on load with the place named.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/text/context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/kb/knowledge_base.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::kb {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using text::Experiencer;
using text::MentionContext;
using text::Negation;
using text::Temporality;

class BundledContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto kb = LoadBundledKnowledgeBase();
    ASSERT_THAT(kb, IsOk());
    kb_ = new std::shared_ptr<const KnowledgeBase>(*std::move(kb));
  }
  static void TearDownTestSuite() {
    delete kb_;
    kb_ = nullptr;
  }

  static MentionContext Read(const std::string& term, const std::string& s) {
    auto span = text::FindPhrase(s, term);
    EXPECT_TRUE(span.has_value()) << term << " / " << s;
    if (!span.has_value()) return {};
    return (*kb_)->context_classifier().Classify(s, span->first, span->second);
  }

  // The anesthetic mentions ClassifyText keeps (agents and generic).
  static int KeptMentions(const std::string& s) {
    ConceptMatch m;
    (*kb_)->ClassifyText(s, &m);
    return static_cast<int>(m.agents.size() + m.generic_anesthetic.size());
  }

  static std::shared_ptr<const KnowledgeBase>* kb_;
};

std::shared_ptr<const KnowledgeBase>* BundledContextTest::kb_ = nullptr;

TEST_F(BundledContextTest, NegatedMentionsOfTheSpecification) {
  for (const auto& [term, s] : std::vector<std::pair<std::string, std::string>>{
           {"lidocaine",
            "Denies any history of allergic reaction to lidocaine"},
           {"lidocaine", "denies allergy to lidocaine"},
           {"prilocaine", "no reaction to prilocaine in 2023"},
           {"lidocaine", "no hives, swelling or rash after lidocaine"},
           {"emla", "NKDA, tolerated EMLA without problems"},
           {"lidocaine", "lidocaine allergy ruled out"},
           {"lidocaine", "negative for lidocaine allergy"},
       }) {
    EXPECT_EQ(Read(term, s).negation, Negation::kNegated) << s;
    EXPECT_EQ(KeptMentions(s), 0) << s;
  }
}

TEST_F(BundledContextTest, AffirmedMentionsOfTheSpecification) {
  for (const auto& [term, s] : std::vector<std::pair<std::string, std::string>>{
           {"numbing cream", "allergic to numbing cream"},
           {"EMLA", "EMLA - hives"},
           {"lidocaine", "rash after lidocaine cream"},
           {"lidocaine", "No latex allergy, lidocaine causes hives"},
           {"lido", "NKA; lido -> rash"},
           {"lidocaine", "no latex issues, lidocaine: hives"},
           {"lido", "lido -> hives"},
           {"caine", "caine allergy"},
           {"Lidoderm", "Lidoderm patch - rash"},
           {"lidocaine", "possible lidocaine allergy"},
           {"lidocaine", "suspected lidocaine allergy"},
           {"lidocaine", "? lidocaine allergy"},
           {"lidocaine", "allergy to lidocaine although tolerated latex"},
           {"lidocaine", "no latex allergy except lidocaine"},
           {"lidocaine", "no reactions aside from lidocaine"},
           {"lidocaine", "no reactions apart from lidocaine"},
           {"EMLA", "NKDA, EMLA rash"},
           {"Lidoderm", "no latex issues, Lidoderm - hives"},
       }) {
    const MentionContext c = Read(term, s);
    EXPECT_EQ(c.negation, Negation::kAffirmed) << s;
    EXPECT_EQ(c.experiencer, Experiencer::kPatient) << s;
    EXPECT_NE(c.temporality, Temporality::kHypothetical) << s;
    EXPECT_GE(KeptMentions(s), 1) << s;
  }
}

TEST_F(BundledContextTest, ProbableNegationIsPossible) {
  for (const std::string s :
       {"Lidocaine allergy unlikely per allergist", "doubt lidocaine allergy",
        "low suspicion for lidocaine allergy",
        "lidocaine allergy is not likely"}) {
    EXPECT_EQ(Read("lidocaine", s).negation, Negation::kPossible) << s;
    EXPECT_EQ(KeptMentions(s), 1) << s;
  }
}

TEST_F(BundledContextTest, OtherExperiencer) {
  for (const std::string s :
       {"Family history: mother allergic to lidocaine",
        "family history of lidocaine allergy",
        "his daughter reacts to lidocaine", "FHx lidocaine allergy"}) {
    EXPECT_EQ(Read("lidocaine", s).experiencer, Experiencer::kOther) << s;
    EXPECT_EQ(KeptMentions(s), 0) << s;
  }
  EXPECT_EQ(Read("lidocaine", "lidocaine allergy").experiencer,
            Experiencer::kPatient);
}

TEST_F(BundledContextTest, Temporality) {
  for (const auto& [term, s] : std::vector<std::pair<std::string, std::string>>{
           {"lidocaine", "if a rash develops after lidocaine"},
           {"eczema", "return should symptoms of eczema appear"},
           {"lidocaine", "in case of reaction to lidocaine"},
       }) {
    EXPECT_EQ(Read(term, s).temporality, Temporality::kHypothetical) << s;
  }
  EXPECT_EQ(KeptMentions("if a rash develops after lidocaine"), 0);
  for (const std::string s :
       {"history of lidocaine allergy", "lidocaine allergy as a child"}) {
    EXPECT_EQ(Read("lidocaine", s).temporality, Temporality::kHistorical) << s;
    EXPECT_EQ(KeptMentions(s), 1) << s;
  }
}

TEST_F(BundledContextTest, NewDrugNamesHaveTheirClasses) {
  auto agent_of = [](const std::string& s) -> std::string {
    ConceptMatch m;
    (*kb_)->ClassifyText(s, &m);
    if (m.agents.empty()) return m.generic_anesthetic.empty() ? "" : "generic";
    return (*kb_)->agents()[m.agents[0].index].id;
  };
  for (const std::string s :
       {"lido", "Lidoderm", "Zingo", "Topicaine", "Betacaine"}) {
    EXPECT_EQ(agent_of(s + " rash"), "lidocaine") << s;
  }
  for (const std::string s :
       {"Pliaglis", "Synera", "LET gel", "LET", "LET cream", "LET solution"}) {
    EXPECT_EQ(agent_of(s + " rash"), "lidocaine_tetracaine") << s;
  }
  // The everyday word "let" is no drug name.
  for (const std::string s :
       {"let us know if any rash", "Let the area dry", "let gel rash"}) {
    EXPECT_EQ(agent_of(s), "") << s;
  }
  for (const std::string s :
       {"numbing gel", "numbing spray", "numbing ointment", "topical numbing",
        "dental anesthetic", "caine"}) {
    EXPECT_EQ(agent_of(s + " rash"), "generic") << s;
  }
  const int pliaglis = [] {
    for (size_t i = 0; i < (*kb_)->agents().size(); ++i) {
      if ((*kb_)->agents()[i].id == "lidocaine_tetracaine") return int(i);
    }
    return -1;
  }();
  ASSERT_GE(pliaglis, 0);
  EXPECT_TRUE((*kb_)->agents()[pliaglis].amide);
  EXPECT_TRUE((*kb_)->agents()[pliaglis].ester);
}

TEST_F(BundledContextTest, SummaryListsTheCaseSensitiveTerms) {
  v1::KnowledgeBase summary = (*kb_)->Summary();
  std::vector<std::string> terms;
  for (const auto& t : summary.case_sensitive_terms()) {
    EXPECT_EQ(t.anesthetic_id(), "lidocaine_tetracaine");
    terms.push_back(t.term());
  }
  EXPECT_THAT(terms, ::testing::ElementsAre("LET", "LET gel", "LET cream",
                                            "LET solution"));
}

TEST_F(BundledContextTest, SummaryListsTheContextLists) {
  v1::KnowledgeBase summary = (*kb_)->Summary();
  bool negex = false, cue = false;
  for (const auto& l : summary.context_lists()) {
    EXPECT_FALSE(l.source().empty()) << l.id();
    EXPECT_EQ(l.phrase_count(), l.phrases_size()) << l.id();
    if (l.id() == "negex-negation-forward") {
      negex = l.kind() == "trigger" &&
              l.category() == v1::CONTEXT_CATEGORY_NEGATED &&
              l.direction() == v1::CONTEXT_DIRECTION_FORWARD;
      EXPECT_THAT(l.source(), HasSubstr("Chapman"));
    }
    if (l.kind() == "reaction cue") cue = true;
  }
  EXPECT_TRUE(negex);
  EXPECT_TRUE(cue);
}

// --- Validation of the context lists ---------------------------------------

std::string BundledWith(const std::string& from, const std::string& to) {
  std::string text(BundledKnowledgeBaseText());
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

TEST(ContextValidationTest, MissingContextIsRequired) {
  std::string text(BundledKnowledgeBaseText());
  const size_t a = text.find("context {");
  const size_t b = text.find("\n}\n", a);
  ASSERT_NE(a, std::string::npos);
  text.erase(a, b + 3 - a);
  EXPECT_THAT(KnowledgeBase::FromText(text, "kb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("context: required")));
}

TEST(ContextValidationTest, BadCategoryOrDirection) {
  EXPECT_THAT(KnowledgeBase::FromText(
                  BundledWith("category: CONTEXT_CATEGORY_NEGATED\n",
                              "category: CONTEXT_CATEGORY_UNSPECIFIED\n"),
                  "kb.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("context.triggers[0].category: required")));
  EXPECT_THAT(KnowledgeBase::FromText(
                  BundledWith("direction: CONTEXT_DIRECTION_FORWARD\n", ""),
                  "kb.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("context.triggers[0].direction: required")));
  EXPECT_THAT(KnowledgeBase::FromText(
                  BundledWith("category: CONTEXT_CATEGORY_NEGATED\n",
                              "category: CONTEXT_CATEGORY_SOMETIMES\n"),
                  "kb.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("CONTEXT_CATEGORY_SOMETIMES")));
}

TEST(ContextValidationTest, EmptyAndDuplicatePhrases) {
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("phrases: [\"absence of\"", "phrases: [\"  \""),
          "kb.textproto"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("context.triggers[0].phrases[0]: empty phrase")));
  EXPECT_THAT(KnowledgeBase::FromText(
                  BundledWith("phrases: [\"absence of\"", "phrases: [\"p.o.\""),
                  "kb.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"p.o.\" holds a sentence end")));
  auto dup = KnowledgeBase::FromText(
      BundledWith("phrases: [\"absence of\"", "phrases: [\"Denies\""),
      "kb.textproto");
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("duplicate CONTEXT_CATEGORY_NEGATED "
                                      "forward trigger \"denies\"")));
  EXPECT_THAT(std::string(dup.status().message()),
              ::testing::MatchesRegex("kb.textproto:[0-9]+:[0-9]+: .*"));
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("phrases: [\"no increase\"", "phrases: [\"no\""),
          "kb.textproto"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("\"no\" is both a trigger and a pseudo-trigger")));
  EXPECT_THAT(
      KnowledgeBase::FromText(BundledWith("id: \"negex-negation-backward\"",
                                          "id: \"negex-negation-forward\""),
                              "kb.textproto"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("duplicate context list id")));
}

TEST(ContextValidationTest, SourceAndPhrasesRequired) {
  std::string text = BundledWith(
      "  reaction_cues {\n    id: \"needlecheck-reaction-cues\"\n",
      "  reaction_cues {\n    id: \"empty-cues\"\n    source: \"\"\n"
      "    phrases: []\n  }\n  reaction_cues {\n"
      "    id: \"needlecheck-reaction-cues\"\n");
  auto kb = KnowledgeBase::FromText(text, "kb");
  ASSERT_THAT(kb, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(kb.status().message()),
              HasSubstr("reaction_cues[0].phrases: at least one phrase"));
  EXPECT_THAT(std::string(kb.status().message()),
              HasSubstr("reaction_cues[0].source: required"));
}

// A file written for the former fixed-window negation block (no context
// lists) is rejected, not read without negation.
TEST(ContextValidationTest, AnOldNegationBlockDoesNotReplaceContext) {
  std::string text(BundledKnowledgeBaseText());
  const size_t a = text.find("context {");
  const size_t b = text.find("\n}\n", a);
  ASSERT_NE(a, std::string::npos);
  text.replace(a, b + 3 - a,
               "negation {\n  pre_triggers: [\"no\"]\n  window_words: 6\n}\n");
  EXPECT_THAT(KnowledgeBase::FromText(text, "kb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("context: required")));
}

}  // namespace
}  // namespace needlecheck::kb
