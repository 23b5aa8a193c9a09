#include "service/kb/knowledge_base.h"

#include <openssl/evp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::kb {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

std::string Bundled() { return std::string(BundledKnowledgeBaseText()); }

// Replaces exactly one occurrence of `from` in the bundled file.
std::string BundledWith(const std::string& from, const std::string& to) {
  std::string text = Bundled();
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

int LineOf(const std::string& text, const std::string& needle) {
  size_t pos = text.find(needle);
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

// The digest in the summary (logged, and in responses) is the SHA-256 of the
// file's bytes in lowercase hex, as sha256sum writes it.
TEST(KnowledgeBaseTest, Sha256IsLowercaseHexOfTheText) {
  const std::string text = Bundled();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(
      EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr),
      1);
  std::string expected;
  for (unsigned int i = 0; i < len; ++i) {
    char two[3];
    std::snprintf(two, sizeof(two), "%02x", digest[i]);
    expected += two;
  }
  auto kb = KnowledgeBase::FromText(text, "test");
  ASSERT_THAT(kb, IsOk());
  EXPECT_EQ((*kb)->Summary().sha256(), expected);
  EXPECT_THAT((*kb)->Summary().sha256(), MatchesRegex("[0-9a-f]{64}"));
}

TEST(KnowledgeBaseTest, BundledLoadsWithEveryRuleOfTheSpecification) {
  auto kb = LoadBundledKnowledgeBase();
  ASSERT_THAT(kb, IsOk());
  v1::KnowledgeBase summary = (*kb)->Summary();
  EXPECT_EQ(summary.version(), "2026.11.1");
  EXPECT_EQ(summary.source(), "bundled");
  EXPECT_THAT(summary.sha256(), SizeIs(64));
  std::vector<std::string> ids;
  for (const auto& r : summary.rules()) ids.push_back(r.id());
  EXPECT_THAT(
      ids, ::testing::UnorderedElementsAre(
               "MN-CI-ACNE", "MN-CI-ECZEMA", "MN-CI-ROSACEA", "MN-CI-INFECTION",
               "MN-CI-SKIN-OTHER", "MN-HSV-HISTORY", "MN-PIH-RISK",
               "MN-ALLERGY-ANESTHETIC", "MN-ALLERGY-PRODUCT",
               "MN-ALLERGY-UNDOCUMENTED", "MN-FREQ-INTERVAL",
               "MN-FREQ-MAINTENANCE", "MN-EYE-DEPTH", "MN-EYE-DEPTH-MISSING",
               "MN-ISOTRETINOIN", "MN-ANTICOAGULANT", "MN-HEALING", "MN-KELOID",
               "MN-PREGNANCY", "MN-SKIN-TYPE-MISSING"));
  for (const auto& r : summary.rules()) {
    EXPECT_TRUE(r.enabled()) << r.id();
    EXPECT_FALSE(r.citation().empty()) << r.id();
  }
  EXPECT_EQ(summary.thresholds().min_interval_days(), 28);
  EXPECT_EQ(summary.anesthetic_count(), 8);
  bool found_eczema = false;
  for (const auto& vs : summary.value_sets()) {
    if (vs.id() == "eczema") {
      found_eczema = true;
      EXPECT_EQ(vs.code_count(), 5);
      EXPECT_GT(vs.term_count(), 3);
    }
  }
  EXPECT_TRUE(found_eczema);
}

TEST(KnowledgeBaseTest, ClassifiesByCodeThenText) {
  auto kb = LoadBundledKnowledgeBase();
  ASSERT_THAT(kb, IsOk());
  v1::Concept coded;
  auto* coding = coded.add_codings();
  coding->set_system("http://snomed.info/sct");
  coding->set_code("24079001");
  coded.set_text("something else entirely");
  ConceptMatch m;
  (*kb)->ClassifyConcept(coded, &m);
  EXPECT_TRUE(m.coded);
  ASSERT_NE(m.FindValueSet((*kb)->FindValueSet("eczema")), nullptr);
  EXPECT_EQ(m.FindValueSet((*kb)->FindValueSet("eczema"))->EvidenceText(),
            "http://snomed.info/sct|24079001");

  v1::Concept text_only;
  text_only.set_text("Active acne on chin");
  (*kb)->ClassifyConcept(text_only, &m);
  EXPECT_FALSE(m.coded);
  const ConceptMatch::Hit* acne = m.FindValueSet((*kb)->FindValueSet("acne"));
  ASSERT_NE(acne, nullptr);
  EXPECT_EQ(acne->span, "Active acne");

  v1::Concept scars;
  scars.set_text("Acne scars");
  (*kb)->ClassifyConcept(scars, &m);
  EXPECT_EQ(m.FindValueSet((*kb)->FindValueSet("acne")), nullptr);
}

// Every hit of `m` as "list index span context" (spans by value), in order.
std::vector<std::string> HitsOf(const ConceptMatch& m) {
  std::vector<std::string> out;
  auto add = [&](const char* list, const ConceptMatch::Hit& h) {
    out.push_back(
        absl::StrCat(list, " ", h.index, " '", h.span, "' ",
                     text::NegationName(h.context.negation), " ",
                     text::TemporalityName(h.context.temporality), " ",
                     text::ExperiencerName(h.context.experiencer), " ",
                     h.context.resolved, " ", h.coding != nullptr));
  };
  for (const auto& h : m.value_sets) add("vs", h);
  for (const auto& h : m.agents) add("agent", h);
  for (const auto& h : m.generic_anesthetic) add("generic", h);
  return out;
}

TEST(KnowledgeBaseTest, TextCacheGivesTheSameReadingsAsNone) {
  auto kb = LoadBundledKnowledgeBase();
  ASSERT_THAT(kb, IsOk());
  const std::vector<std::string> texts = {
      "Rash and swelling after EMLA cream before a laser session in 2022.",
      "Denies allergy to lidocaine; dental blocks in 2021 without reaction.",
      "No latex allergy, lidocaine causes hives",
      "history of acne, active rosacea on cheeks",
      "mother allergic to benzocaine",
      "if a rash develops after lidocaine",
      "lidocaine allergy unlikely",
      "Microneedling (SkinPen), acne scars",
      "nothing to see here",
      ""};
  TextClassificationCache cache;
  // Misses, then hits; each round on fresh copies of the texts (the spans
  // must point into the text passed, not into the cached one).
  for (int round = 0; round < 2; ++round) {
    for (const std::string& original : texts) {
      const std::string t = original;
      ConceptMatch plain, cached;
      (*kb)->ClassifyText(t, &plain);
      (*kb)->ClassifyText(t, &cached, &cache);
      EXPECT_EQ(HitsOf(cached), HitsOf(plain)) << t;
      for (const auto& h : cached.value_sets) {
        EXPECT_TRUE(h.span.data() >= t.data() &&
                    h.span.data() + h.span.size() <= t.data() + t.size());
      }
    }
  }
  EXPECT_EQ(cache.size(), texts.size() - 1);  // the empty text is not kept

  v1::Concept concept;
  concept.set_text("Active acne on chin");
  ConceptMatch plain, cached;
  (*kb)->ClassifyConcept(concept, &plain);
  (*kb)->ClassifyConcept(concept, &cached, &cache);
  (*kb)->ClassifyConcept(concept, &cached, &cache);
  EXPECT_EQ(HitsOf(cached), HitsOf(plain));
}

// A text mention is read in its context only when its sentence holds the
// first word of some trigger; the others read affirmed, recent, patient.
// Every mention kept must read exactly as the context reader reads it on
// its own, with every trigger and pseudo-trigger of the bundled knowledge
// base placed around mentions in sentences of several shapes.
TEST(KnowledgeBaseTest, TextMentionsReadAsTheContextReaderReadsThem) {
  auto kb = LoadBundledKnowledgeBase();
  ASSERT_THAT(kb, IsOk());
  const KnowledgeBase& k = **kb;
  std::vector<std::string> phrases = {"", "nothing here"};
  const v1::ContextDefinition& c = k.definition().context();
  for (const auto& list : c.triggers()) {
    phrases.insert(phrases.end(), list.phrases().begin(), list.phrases().end());
  }
  for (const auto& list : c.pseudo_triggers()) {
    phrases.insert(phrases.end(), list.phrases().begin(), list.phrases().end());
  }
  const std::vector<std::string> frames = {
      "$ lidocaine.",
      "Lidocaine $.",
      "EMLA cream; $ acne",
      "$. Rash after benzocaine",
      "acne, $ hives after lidocaine",
      "Microneedling $: acne scars",
      "$ rosacea but active acne",
      "2) $ tetracaine 3) procaine",
      "history of acne\n$ keloid",
      "no latex allergy, $ lidocaine causes hives",
  };
  int checked = 0, not_plain = 0;
  for (const std::string& phrase : phrases) {
    for (const std::string& frame : frames) {
      const std::string t = absl::StrReplaceAll(frame, {{"$", phrase}});
      ConceptMatch m;
      k.ClassifyText(t, &m);
      auto check = [&](const ConceptMatch::Hit& h) {
        const size_t begin = static_cast<size_t>(h.span.data() - t.data());
        const text::MentionContext direct =
            k.context_classifier().Classify(t, begin, begin + h.span.size());
        EXPECT_TRUE(h.context == direct) << t << " / " << h.span;
        ++checked;
        not_plain += h.context == text::MentionContext() ? 0 : 1;
      };
      for (const ConceptMatch::Hit& h : m.value_sets) check(h);
      for (const ConceptMatch::Hit& h : m.agents) check(h);
      for (const ConceptMatch::Hit& h : m.generic_anesthetic) check(h);
    }
  }
  EXPECT_GT(checked, 2000);
  EXPECT_GT(not_plain, 200);
}

// A trigger with no word cannot be watched for, so a knowledge base that has
// one reads every mention in its context.
TEST(KnowledgeBaseTest, TriggerWithoutAWordHasEveryMentionRead) {
  auto kb = KnowledgeBase::FromText(BundledWith("context {\n", R"kb(context {
  triggers {
    id: "test-punctuation-negation"
    category: CONTEXT_CATEGORY_NEGATED
    direction: CONTEXT_DIRECTION_BACKWARD
    source: "test"
    phrases: ["(-)"]
  }
)kb"),
                                    "kb.textproto");
  ASSERT_THAT(kb, IsOk());
  ConceptMatch negated, affirmed;
  (*kb)->ClassifyText("EMLA cream (-)", &negated);
  EXPECT_TRUE(negated.Empty()) << HitsOf(negated)[0];
  (*kb)->ClassifyText("EMLA cream (+)", &affirmed);
  EXPECT_THAT(affirmed.agents, SizeIs(1));
}

TEST(KnowledgeBaseTest, TextCacheIsBoundedAndFollowsTheKnowledgeBase) {
  auto kb = LoadBundledKnowledgeBase();
  ASSERT_THAT(kb, IsOk());
  // 160 bytes in all: texts up to 10 bytes are kept.
  TextClassificationCache cache(160);
  ConceptMatch m;
  (*kb)->ClassifyText("a text longer than ten bytes: lidocaine", &m, &cache);
  EXPECT_EQ(cache.size(), 0u);
  for (int i = 0; i < 40; ++i) {
    (*kb)->ClassifyText(absl::StrCat("acne ", i), &m, &cache);
    EXPECT_LE(cache.size(), 160u / 6);
  }
  EXPECT_GT(cache.size(), 0u);

  // Another knowledge base (different content, so another SHA-256): the
  // cache starts over and reads with the new one.
  auto other = KnowledgeBase::FromText(
      BundledWith("version: \"2026.11.1\"", "version: \"other\""), "other");
  ASSERT_THAT(other, IsOk());
  TextClassificationCache shared;
  ConceptMatch a, b;
  (*kb)->ClassifyText("acne", &a, &shared);
  EXPECT_EQ(shared.size(), 1u);
  (*other)->ClassifyText("lidocaine", &b, &shared);
  EXPECT_EQ(shared.size(), 1u);  // emptied, then "lidocaine"
  EXPECT_EQ(HitsOf(b), [&] {
    ConceptMatch plain;
    (*other)->ClassifyText("lidocaine", &plain);
    return HitsOf(plain);
  }());
}

TEST(KnowledgeBaseTest, SyntaxErrorNamesLineAndColumn) {
  std::string text =
      BundledWith("min_interval_days: 28", "min_interval_days: \"x\"");
  auto kb = KnowledgeBase::FromText(text, "kb.textproto");
  EXPECT_THAT(
      kb,
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(absl::StrCat(
                   "kb.textproto:", LineOf(text, "min_interval_days"), ":"))));
}

TEST(KnowledgeBaseTest, UnknownFieldIsRejected) {
  std::string text = BundledWith("min_interval_days: 28",
                                 "min_interval_days: 28\n  max_sessions: 3");
  EXPECT_THAT(
      KnowledgeBase::FromText(text, "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_sessions")));
}

TEST(KnowledgeBaseTest, UnknownValueSetReferenceNamesTheField) {
  std::string text = BundledWith("value_set: \"rosacea\" temporal",
                                 "value_set: \"rosacea2\" temporal");
  auto kb = KnowledgeBase::FromText(text, "kb.textproto");
  ASSERT_THAT(kb, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string msg(kb.status().message());
  EXPECT_THAT(msg, HasSubstr("unknown value set \"rosacea2\""));
  EXPECT_THAT(msg, HasSubstr(".criteria[0].value_set"));
  EXPECT_THAT(msg, HasSubstr(absl::StrCat(
                       "kb.textproto:", LineOf(text, "rosacea2"), ":")));
}

TEST(KnowledgeBaseTest, BadCodesAreRejected) {
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("code: \"24079001\"", "code: \"2407X001\""), "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("is not a SNOMED CT concept id")));
  EXPECT_THAT(
      KnowledgeBase::FromText(BundledWith("code: \"L20.9\"", "code: \"l20-9\""),
                              "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ICD-10-CM")));
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("display: \"Acne vulgaris (disorder)\" source: \"GPS\"",
                      "display: \"Acne vulgaris (disorder)\""),
          "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("codes[0].source: required")));
}

TEST(KnowledgeBaseTest, BadThresholdsAreRejected) {
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("min_interval_days: 28", "min_interval_days: 0"), "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("thresholds.min_interval_days: must be 1 to 365")));
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("eye_max_depth_mm: 0.5", "eye_max_depth_mm: 0.1"), "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("eye_max_depth_mm")));
}

TEST(KnowledgeBaseTest, StructuralProblemsAreRejected) {
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("terms: [\"positive\", \"detected\", \"pos\"]", ""),
          "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("value set \"positive_result\" is empty")));
  EXPECT_THAT(KnowledgeBase::FromText(
                  BundledWith("id: \"MN-KELOID\"", "id: \"MN-CI-ACNE\""), "kb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate rule id \"MN-CI-ACNE\"")));
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith(
              "override_reasons: [\"Previous session did not treat this "
              "area\", "
              "\"Previous session was aborted or very superficial\", \"Record "
              "date is wrong\"]",
              ""),
          "kb"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("a rule that can be CRITICAL needs override reasons")));
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("summary: \"History of keloid or hypertrophic scarring\"",
                      "summary: \"" + std::string(141, 'x') + "\""),
          "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("longer than 140 characters")));
  EXPECT_THAT(
      KnowledgeBase::FromText(
          BundledWith("summary: \"History of keloid or hypertrophic scarring\"",
                      "summary: \"History of {keloids}\""),
          "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("unknown placeholder {keloids}")));
  EXPECT_THAT(KnowledgeBase::FromText(
                  BundledWith("components: [\"lidocaine\", \"prilocaine\"]",
                              "components: [\"lidocaine\", \"mepivacaine\"]"),
                  "kb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown anesthetic \"mepivacaine\"")));
  // A case-sensitive term needs a capital, and must not also be a
  // case-insensitive term (which would match the everyday word anyway).
  EXPECT_THAT(
      KnowledgeBase::FromText(BundledWith("case_sensitive_terms: [\"LET\",",
                                          "case_sensitive_terms: [\"let\","),
                              "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("case_sensitive_terms[0]: case-sensitive term "
                         "\"let\" has no capital letter: put it in terms")));
  EXPECT_THAT(
      KnowledgeBase::FromText(BundledWith("terms: [\"pliaglis\",",
                                          "terms: [\"let gel\", \"pliaglis\","),
                              "kb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("\"LET gel\" is also in terms")));
  EXPECT_THAT(KnowledgeBase::FromText("", "empty.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("version: required")));
}

TEST(KnowledgeBaseTest, ReportsEveryProblemAtOnce) {
  std::string text =
      BundledWith("min_interval_days: 28", "min_interval_days: 0");
  size_t pos = text.find("value_set: \"rosacea\" temporal");
  text.replace(pos, 20, "value_set: \"nope\" ");
  auto kb = KnowledgeBase::FromText(text, "kb");
  ASSERT_FALSE(kb.ok());
  EXPECT_THAT(std::string(kb.status().message()),
              HasSubstr("min_interval_days"));
  EXPECT_THAT(std::string(kb.status().message()), HasSubstr("\"nope\""));
}

TEST(KnowledgeBaseTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadKnowledgeBaseFile("/nonexistent/kb.textproto"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace needlecheck::kb
