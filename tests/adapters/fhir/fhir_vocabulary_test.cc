// The adapter's word lists and code tables (adapters/fhir/vocabulary.h).
#include <string>
#include <vector>

#include "adapters/fhir/vocabulary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::fhir {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::Concept Text(const std::string& text) {
  v1::Concept c;
  c.set_text(text);
  return c;
}

v1::Concept Code(const std::string& system, const std::string& code,
                 const std::string& display = "") {
  v1::Concept c;
  v1::Coding* x = c.add_codings();
  x->set_system(system);
  x->set_code(code);
  x->set_display(display);
  return c;
}

constexpr char kSnomed[] = "http://snomed.info/sct";

TEST(FhirVocabularyTest, Microneedling) {
  for (const char* yes :
       {"Microneedling", "MICRO-NEEDLING", "micro needling", "RF microneedling",
        "Radiofrequency micro-needling", "Collagen Induction Therapy",
        "percutaneous collagen induction", "Dermapen", "derma pen",
        "Derma-Roller", "dermaroller at home", "SkinPen session",
        "Micorneedling", "microneedle therapy"}) {
    EXPECT_TRUE(MentionsMicroneedling(yes)) << yes;
  }
  for (const char* no : {"", "Chemical peel", "Dermabrasion", "Micro peel",
                         "needling", "collagen supplement", "Pen injection"}) {
    EXPECT_FALSE(MentionsMicroneedling(no)) << no;
  }
  EXPECT_TRUE(ConceptMentionsMicroneedling(
      Code("urn:local", "1", "RF Micro-Needling")));
  EXPECT_FALSE(
      ConceptMentionsMicroneedling(Code("urn:local", "microneedling")));
}

TEST(FhirVocabularyTest, TopicalAnesthetics) {
  for (const char* yes :
       {"EMLA cream", "lidocaine 4% cream", "LMX4", "LMX 5", "Lignocaine",
        "BLT cream", "Benzocaine/lidocaine/tetracaine", "Ametop gel",
        "numbing cream", "Topical anaesthetic", "local anesthetic",
        "anesthetic cream", "Pliaglis (lidocaine and tetracaine)",
        "mepivacaine"}) {
    EXPECT_TRUE(IsTopicalAnesthetic(Text(yes))) << yes;
  }
  for (const char* no : {"Doxycycline 100 mg", "General anesthetic",
                         "Hydrocortisone cream", "caine", "Aspirin"}) {
    EXPECT_FALSE(IsTopicalAnesthetic(Text(no))) << no;
  }
  EXPECT_TRUE(IsTopicalAnesthetic(
      Code("http://www.nlm.nih.gov/research/umls/rxnorm", "6387")));
  EXPECT_TRUE(IsTopicalAnesthetic(Code(kSnomed, "346553009")));
  EXPECT_FALSE(IsTopicalAnesthetic(Code("urn:other", "6387")));
}

TEST(FhirVocabularyTest, BodySiteCodes) {
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "89545001", "Face")),
              ElementsAre(v1::TREATMENT_AREA_FULL_FACE));
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "371398005")),
              ElementsAre(v1::TREATMENT_AREA_PERIORBITAL));
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "110488009")),
              ElementsAre(v1::TREATMENT_AREA_PERIORAL));
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "41695006")),
              ElementsAre(v1::TREATMENT_AREA_SCALP));
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "85562004")),
              ElementsAre(v1::TREATMENT_AREA_HANDS));
  // The code wins over a display that says something else.
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "77568009", "Neck")),
              ElementsAre(v1::TREATMENT_AREA_BACK));
  // Unknown code, no text: a known area outside the list.
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "123456")),
              ElementsAre(v1::TREATMENT_AREA_OTHER));
  // Unknown code with a display we read.
  EXPECT_THAT(AreasFromBodySite(Code(kSnomed, "123456", "Left cheek")),
              ElementsAre(v1::TREATMENT_AREA_CHEEKS));
  EXPECT_THAT(AreasFromBodySite(v1::Concept()), IsEmpty());
}

TEST(FhirVocabularyTest, BodySiteTexts) {
  struct Case {
    const char* text;
    std::vector<v1::TreatmentArea> want;
  };
  const Case kCases[] = {
      {"Periorbital region", {v1::TREATMENT_AREA_PERIORBITAL}},
      {"Under-eye", {v1::TREATMENT_AREA_PERIORBITAL}},
      {"under eyes", {v1::TREATMENT_AREA_PERIORBITAL}},
      {"Full face", {v1::TREATMENT_AREA_FULL_FACE}},
      {"Face", {v1::TREATMENT_AREA_FULL_FACE}},
      {"Skin of face", {v1::TREATMENT_AREA_FULL_FACE}},
      {"Cheeks", {v1::TREATMENT_AREA_CHEEKS}},
      {"Right cheek", {v1::TREATMENT_AREA_CHEEKS}},
      {"Forehead", {v1::TREATMENT_AREA_FOREHEAD}},
      {"Perioral", {v1::TREATMENT_AREA_PERIORAL}},
      {"Upper lip", {v1::TREATMENT_AREA_PERIORAL}},
      {"Skin of perioral region of face", {v1::TREATMENT_AREA_PERIORAL}},
      {"Nose", {v1::TREATMENT_AREA_NOSE}},
      {"Chin", {v1::TREATMENT_AREA_CHIN}},
      {"Neck", {v1::TREATMENT_AREA_NECK}},
      {"Décolletage", {v1::TREATMENT_AREA_DECOLLETAGE}},
      {"Decolletage", {v1::TREATMENT_AREA_DECOLLETAGE}},
      {"Chest", {v1::TREATMENT_AREA_DECOLLETAGE}},
      {"Scalp", {v1::TREATMENT_AREA_SCALP}},
      {"Back", {v1::TREATMENT_AREA_BACK}},
      {"Lower back", {v1::TREATMENT_AREA_BACK}},
      {"Abdomen", {v1::TREATMENT_AREA_ABDOMEN}},
      {"Arms", {v1::TREATMENT_AREA_ARMS}},
      {"Upper arm", {v1::TREATMENT_AREA_ARMS}},
      {"Legs", {v1::TREATMENT_AREA_LEGS}},
      {"Thighs", {v1::TREATMENT_AREA_LEGS}},
      {"Hands", {v1::TREATMENT_AREA_HANDS}},
      {"Back of hands", {v1::TREATMENT_AREA_HANDS}},
      {"Back of the neck", {v1::TREATMENT_AREA_NECK}},
      {"Face and neck",
       {v1::TREATMENT_AREA_FULL_FACE, v1::TREATMENT_AREA_NECK}},
      {"Full face, neck and decolletage",
       {v1::TREATMENT_AREA_FULL_FACE, v1::TREATMENT_AREA_NECK,
        v1::TREATMENT_AREA_DECOLLETAGE}},
      {"Cheeks and forehead",
       {v1::TREATMENT_AREA_FOREHEAD, v1::TREATMENT_AREA_CHEEKS}},
      {"Acne scars on surface of cheek (left)", {v1::TREATMENT_AREA_CHEEKS}},
      {"Left knee", {v1::TREATMENT_AREA_LEGS}},
      {"Buttock", {v1::TREATMENT_AREA_OTHER}},
      {"???", {v1::TREATMENT_AREA_OTHER}},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(AreasFromBodySite(Text(c.text)), c.want) << c.text;
  }
}

TEST(FhirVocabularyTest, NeedleDepthText) {
  struct Case {
    const char* text;
    double want;  // 0: none
  };
  const Case kCases[] = {
      {"needle depth 0.5 mm", 0.5},
      {"Needle depth: 0.5mm", 0.5},
      {"0.5mm depth", 0.5},
      {"1.5 mm needle depth", 1.5},
      {"depth of 0,25 mm", 0.25},
      {"needle length 0.5 mm", 0.5},
      {"Depth = 0.2 cm", 2.0},
      {"depth 500 um", 0.5},
      {"depth 500 µm", 0.5},
      {"Gentle pass; 0.75mm depth, re-check", 0.75},
      {"0.5 mm", 0},
      {"depth unknown", 0},
      {"needle depth 0 mm", 0},
      {"depth 0.5 mmHg", 0},
      {"depth 9999 cm", 0},
      {"", 0},
  };
  for (const Case& c : kCases) {
    std::optional<double> got = NeedleDepthFromText(c.text);
    if (c.want == 0) {
      EXPECT_FALSE(got.has_value()) << c.text;
    } else {
      ASSERT_TRUE(got.has_value()) << c.text;
      EXPECT_NEAR(*got, c.want, 1e-9) << c.text;
    }
  }
}

TEST(FhirVocabularyTest, Units) {
  EXPECT_EQ(MillimetresPerUnit(""), 1.0);
  EXPECT_EQ(MillimetresPerUnit(" MM "), 1.0);
  EXPECT_EQ(MillimetresPerUnit("cm"), 10.0);
  EXPECT_EQ(MillimetresPerUnit("um"), 0.001);
  EXPECT_EQ(MillimetresPerUnit("\xCE\xBCm"), 0.001);
  EXPECT_FALSE(MillimetresPerUnit("in").has_value());
  EXPECT_FALSE(MillimetresPerUnit("m").has_value());
  EXPECT_FALSE(MillimetresPerUnit("mg").has_value());
}

TEST(FhirVocabularyTest, FitzpatrickAndNka) {
  EXPECT_TRUE(IsFitzpatrickObservation(Code("http://loinc.org", "66555-4")));
  EXPECT_TRUE(IsFitzpatrickObservation(Text("Fitzpatrick skin type")));
  EXPECT_FALSE(IsFitzpatrickObservation(Code("http://loinc.org", "82810-3")));
  EXPECT_EQ(FitzpatrickFromValue(Code(kSnomed, "403231003")), 4);
  EXPECT_EQ(FitzpatrickFromValue(Code(kSnomed, "403235007")), 5);
  EXPECT_EQ(FitzpatrickFromValue(Text("Type II")), 2);
  EXPECT_EQ(FitzpatrickFromValue(Text("dark")), 0);
  EXPECT_EQ(FitzpatrickFromValue(Text("type 7")), 0);
  EXPECT_TRUE(IsNoKnownAllergy(Text("No Known Drug Allergies")));
  EXPECT_TRUE(IsNoKnownAllergy(Text("NKA")));
  EXPECT_FALSE(IsNoKnownAllergy(Text("Known allergies")));
}

}  // namespace
}  // namespace needlecheck::fhir
