// Every rule of docs/clinical-rules.md, positive and negative, against the
// bundled knowledge base. Records are written as text-format protos.
#include "service/engine/engine.h"

#include <deque>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/kb/knowledge_base.h"

namespace needlecheck::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using v1::Alert;

constexpr char kSnomed[] = "http://snomed.info/sct";

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto kb = kb::LoadBundledKnowledgeBase();
    ASSERT_TRUE(kb.ok()) << kb.status();
    Kb() = *kb;
  }
  static std::shared_ptr<const kb::KnowledgeBase>& Kb() {
    static auto* kb =
        new std::shared_ptr<const kb::KnowledgeBase>();  // never destroyed
    return *kb;
  }

  std::deque<std::vector<Alert>> results_;

  // Screens `record` (text format; NKA and skin type II are added unless the
  // text sets them) for a session on `date` with `session_extra`.
  // The result stays valid for the whole test (pointers from Find too).
  const std::vector<Alert>& Screen(const std::string& record_text,
                                   const std::string& date = "2026-12-01",
                                   const std::string& session_extra = "",
                                   bool documented = true) {
    v1::PatientRecord record;
    std::string text = record_text;
    if (documented) {
      if (text.find("no_known_allergies") == std::string::npos &&
          text.find("allergies") == std::string::npos) {
        text += "\nno_known_allergies: true";
      }
      if (text.find("fitzpatrick_skin_type") == std::string::npos) {
        text += "\nfitzpatrick_skin_type: 2";
      }
    }
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &record))
        << text;
    v1::PlannedSession session;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        "date: \"" + date + "\"\n" + session_extra, &session));
    auto day = ParseFhirDay(date);
    EXPECT_TRUE(day.ok());
    results_.push_back(EvaluateAsOf(*Kb(), record, session, *day));
    // The same alerts with an EvaluationCache, whether it has seen these
    // texts (second call) or not, and after it served every earlier test.
    const std::string expected = Serialized(results_.back());
    EXPECT_EQ(Serialized(EvaluateAsOf(*Kb(), record, session, *day, &Cache())),
              expected);
    EXPECT_EQ(Serialized(EvaluateAsOf(*Kb(), record, session, *day, &Cache())),
              expected);
    // And appended, in place, to a response on an arena that already holds
    // an alert.
    google::protobuf::Arena arena;
    auto* response =
        google::protobuf::Arena::CreateMessage<v1::ScreenResponse>(&arena);
    response->add_alerts()->set_rule_id("ALREADY-THERE");
    EvaluateAsOf(*Kb(), record, session, *day, &Cache(),
                 response->mutable_alerts());
    EXPECT_EQ(response->alerts(0).rule_id(), "ALREADY-THERE");
    EXPECT_EQ(Serialized(std::vector<Alert>(response->alerts().begin() + 1,
                                            response->alerts().end())),
              expected);
    return results_.back();
  }

  // One cache for the whole suite, as a server thread keeps one.
  static EvaluationCache& Cache() {
    static auto* cache = new EvaluationCache();  // never destroyed
    return *cache;
  }
  static std::string Serialized(const std::vector<Alert>& alerts) {
    std::string out;
    for (const Alert& a : alerts) {
      std::string text;
      google::protobuf::TextFormat::PrintToString(a, &text);
      out += text + "--\n";
    }
    return out;
  }

  static const Alert* Find(const std::vector<Alert>& alerts,
                           const std::string& id) {
    for (const Alert& a : alerts) {
      if (a.rule_id() == id) return &a;
    }
    return nullptr;
  }
  static std::vector<std::string> Ids(const std::vector<Alert>& alerts) {
    std::vector<std::string> ids;
    for (const Alert& a : alerts) ids.push_back(a.rule_id());
    return ids;
  }

  static std::string Condition(
      const std::string& id, const std::string& concept,
      const std::string& extra = "clinical_status: \"active\"") {
    return "conditions { id: \"" + id + "\" code { " + concept + " } " + extra +
           " }\n";
  }
  static std::string Snomed(const std::string& code,
                            const std::string& display = "") {
    return std::string("codings { system: \"") + kSnomed + "\" code: \"" +
           code + "\" display: \"" + display + "\" }";
  }
};

// --- A clean record --------------------------------------------------------

TEST_F(EngineTest, CleanRecordHasNoAlerts) {
  EXPECT_THAT(Screen(""), ::testing::IsEmpty());
}

// --- MN-CI-ACNE --------------------------------------------------------------

TEST_F(EngineTest, AcneActiveByCodeFiresCritical) {
  auto alerts =
      Screen(Condition("c1", Snomed("11381005", "Acne vulgaris (disorder)")));
  const Alert* a = Find(alerts, "MN-CI-ACNE");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(a->category(), "contraindication");
  ASSERT_EQ(a->evidence_size(), 1);
  EXPECT_EQ(a->evidence(0).entry_id(), "c1");
  EXPECT_EQ(a->evidence(0).matched_text(),
            "http://snomed.info/sct|11381005 Acne vulgaris (disorder)");
  EXPECT_FALSE(a->override_reasons().empty());
  EXPECT_LE(a->summary().size(), 140u);
  EXPECT_FALSE(a->citation().empty());
}

TEST_F(EngineTest, AcneByTextFiresWithTheExactSpan) {
  auto alerts = Screen(Condition("c1", "text: \"Pt has active ACNE on chin\""));
  const Alert* a = Find(alerts, "MN-CI-ACNE");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->evidence(0).matched_text(), "active ACNE");
}

TEST_F(EngineTest, AcneScarsNeverFireAcne) {
  EXPECT_EQ(Find(Screen(Condition("c1", "text: \"Acne scars\"")), "MN-CI-ACNE"),
            nullptr);
  EXPECT_EQ(
      Find(Screen(Condition("c1", "text: \"atrophic acne scarring, cheeks\"")),
           "MN-CI-ACNE"),
      nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", "text: \"Post-acne scarring\"")),
                 "MN-CI-ACNE"),
            nullptr);
}

TEST_F(EngineTest, RetractedOrResolvedAcneNeverFires) {
  const std::string acne = Snomed("11381005");
  EXPECT_EQ(
      Find(Screen(Condition(
               "c1", acne,
               "clinical_status: \"active\" verification_status: \"refuted\"")),
           "MN-CI-ACNE"),
      nullptr);
  EXPECT_EQ(
      Find(Screen(Condition("c1", acne,
                            "clinical_status: \"active\" verification_status: "
                            "\"entered-in-error\"")),
           "MN-CI-ACNE"),
      nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", acne, "clinical_status: \"resolved\"")),
                 "MN-CI-ACNE"),
            nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", acne, "clinical_status: \"inactive\"")),
                 "MN-CI-ACNE"),
            nullptr);
}

TEST_F(EngineTest, ConditionWithOnsetAfterTheSessionDoesNotFire) {
  auto alerts =
      Screen(Condition("c1", Snomed("11381005"),
                       "clinical_status: \"active\" onset: \"2026-12-02\""),
             "2026-12-01");
  EXPECT_EQ(Find(alerts, "MN-CI-ACNE"), nullptr);
  alerts =
      Screen(Condition("c1", Snomed("11381005"),
                       "clinical_status: \"active\" onset: \"2026-12-01\""),
             "2026-12-01");
  EXPECT_NE(Find(alerts, "MN-CI-ACNE"), nullptr);
}

// --- MN-CI-ECZEMA
// --------------------------------------------------------------

TEST_F(EngineTest, EczemaActiveFires) {
  auto alerts = Screen(
      Condition("c1", Snomed("24079001", "Atopic dermatitis (disorder)")));
  const Alert* a = Find(alerts, "MN-CI-ECZEMA");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_THAT(a->detail(), HasSubstr("Atopic dermatitis"));
}

TEST_F(EngineTest, EczemaResolvedLaterWasActiveOnAnEarlierSession) {
  // Onset January, resolved in March: active on a February session.
  const std::string eczema =
      Condition("c1", Snomed("43116000"),
                "clinical_status: \"resolved\" onset: \"2026-01-10\" "
                "abatement: \"2026-03-15\"");
  EXPECT_NE(Find(Screen(eczema, "2026-02-10"), "MN-CI-ECZEMA"), nullptr);
  EXPECT_EQ(Find(Screen(eczema, "2026-03-15"), "MN-CI-ECZEMA"), nullptr);
  EXPECT_EQ(Find(Screen(eczema, "2026-04-01"), "MN-CI-ECZEMA"), nullptr);
  EXPECT_EQ(Find(Screen(eczema, "2026-01-09"), "MN-CI-ECZEMA"), nullptr);
}

TEST_F(EngineTest, NegatedEczemaTextDoesNotFire) {
  EXPECT_EQ(
      Find(Screen(Condition("c1", "text: \"No eczema\"")), "MN-CI-ECZEMA"),
      nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", "text: \"Family history of eczema\"")),
                 "MN-CI-ECZEMA"),
            nullptr);
}

// --- MN-CI-ROSACEA
// ---------------------------------------------------------------

TEST_F(EngineTest, RosaceaFiresAndNotAcne) {
  auto alerts = Screen(Condition("c1", "text: \"Acne rosacea\""));
  EXPECT_NE(Find(alerts, "MN-CI-ROSACEA"), nullptr);
  EXPECT_EQ(Find(alerts, "MN-CI-ACNE"), nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", Snomed("398909004"),
                                  "clinical_status: \"remission\"")),
                 "MN-CI-ROSACEA"),
            nullptr);
}

// --- MN-CI-INFECTION
// -----------------------------------------------------------

TEST_F(EngineTest, SkinInfectionsFireCritical) {
  for (const std::string& concept :
       {Snomed("48277006"), Snomed("128045006"), Snomed("1475003"),
        Snomed("57019003"), std::string("text: \"cold sore upper lip\""),
        std::string("text: \"Impetigo\"")}) {
    const Alert* a = Find(Screen(Condition("c1", concept)), "MN-CI-INFECTION");
    ASSERT_NE(a, nullptr) << concept;
    EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  }
  EXPECT_EQ(Find(Screen(Condition("c1", "text: \"Herpes zoster\"")),
                 "MN-CI-INFECTION"),
            nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", Snomed("48277006"),
                                  "clinical_status: \"resolved\"")),
                 "MN-CI-INFECTION"),
            nullptr);
}

// --- MN-CI-SKIN-OTHER
// -------------------------------------------------------------

TEST_F(EngineTest, PsoriasisWoundSunburnWarnAndSkinCancerIsCritical) {
  const Alert* a =
      Find(Screen(Condition("c1", Snomed("9014002"))), "MN-CI-SKIN-OTHER");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  EXPECT_THAT(a->summary(), HasSubstr("active psoriasis"));
  a = Find(Screen(Condition("c1", "text: \"Sunburn, face\"")),
           "MN-CI-SKIN-OTHER");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  a = Find(Screen(Condition(
               "c1", Snomed("370247008", "Facial laceration (disorder)"))),
           "MN-CI-SKIN-OTHER");
  ASSERT_NE(a, nullptr);
  auto alerts =
      Screen(Condition("c1", Snomed("9014002")) +
             Condition("c2", Snomed("93655004", "Malignant melanoma of skin")));
  a = Find(alerts, "MN-CI-SKIN-OTHER");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(a->evidence_size(), 2);
  EXPECT_FALSE(a->override_reasons().empty());
  // A burn that healed years ago is not an open wound now.
  EXPECT_EQ(Find(Screen(Condition(
                     "c1", Snomed("403190006"),
                     "clinical_status: \"resolved\" onset: \"2015-02-21\" "
                     "abatement: \"2015-03-28\"")),
                 "MN-CI-SKIN-OTHER"),
            nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", "text: \"History of melanoma\"")),
                 "MN-CI-SKIN-OTHER"),
            nullptr);
}

// --- MN-HSV-HISTORY
// --------------------------------------------------------------

TEST_F(EngineTest, HsvHistoryWarnsOnlyForPerioralOrFullFace) {
  const std::string hsv = Condition("c1", Snomed("1475003"),
                                    "clinical_status: \"resolved\" onset: "
                                    "\"2020-05-01\" abatement: \"2020-05-20\"");
  const Alert* a =
      Find(Screen(hsv, "2026-12-01", "areas { area: TREATMENT_AREA_PERIORAL }"),
           "MN-HSV-HISTORY");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  ASSERT_FALSE(a->suggestions().empty());
  EXPECT_THAT(a->suggestions(0).text(), HasSubstr("antiviral"));
  EXPECT_NE(Find(Screen(hsv, "2026-12-01",
                        "areas { area: TREATMENT_AREA_FULL_FACE }"),
                 "MN-HSV-HISTORY"),
            nullptr);
  EXPECT_EQ(
      Find(Screen(hsv, "2026-12-01", "areas { area: TREATMENT_AREA_BACK }"),
           "MN-HSV-HISTORY"),
      nullptr);
  EXPECT_EQ(Find(Screen(hsv, "2026-12-01", ""), "MN-HSV-HISTORY"), nullptr);
  // Active HSV is an infection (critical), not a history.
  auto alerts = Screen(Condition("c1", Snomed("1475003")), "2026-12-01",
                       "areas { area: TREATMENT_AREA_PERIORAL }");
  EXPECT_EQ(Find(alerts, "MN-HSV-HISTORY"), nullptr);
  EXPECT_NE(Find(alerts, "MN-CI-INFECTION"), nullptr);
}

// --- MN-PIH-RISK
// -------------------------------------------------------------------

TEST_F(EngineTest, DarkSkinTypeOrPihHistoryWarns) {
  for (int type : {4, 5, 6}) {
    const Alert* a =
        Find(Screen("fitzpatrick_skin_type: " + std::to_string(type)),
             "MN-PIH-RISK");
    ASSERT_NE(a, nullptr) << type;
    EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
    EXPECT_THAT(a->suggestions(0).text(), HasSubstr("sun protection"));
  }
  for (int type : {1, 2, 3}) {
    EXPECT_EQ(Find(Screen("fitzpatrick_skin_type: " + std::to_string(type)),
                   "MN-PIH-RISK"),
              nullptr);
  }
  EXPECT_NE(Find(Screen(Condition("c1", Snomed("238699007"),
                                  "clinical_status: \"resolved\"")),
                 "MN-PIH-RISK"),
            nullptr);
}

TEST_F(EngineTest, SkinTypeFromTheLatestObservation) {
  const std::string obs =
      "fitzpatrick_skin_type: 0\n"
      "observations { id: \"o1\" code { codings { system: \"http://loinc.org\" "
      "code: "
      "\"66555-4\" } } value { text: \"Type II\" } effective: \"2025-01-01\" "
      "}\n"
      "observations { id: \"o2\" code { codings { system: \"http://loinc.org\" "
      "code: "
      "\"66555-4\" } } value { codings { system: \"http://snomed.info/sct\" "
      "code: "
      "\"403235007\" } } effective: \"2026-06-01\" }\n";
  auto alerts = Screen(obs, "2026-12-01");
  const Alert* a = Find(alerts, "MN-PIH-RISK");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->evidence(0).entry_id(), "o2");
  EXPECT_EQ(Find(alerts, "MN-SKIN-TYPE-MISSING"), nullptr);
  // Before the second observation, type II: no PIH risk.
  alerts = Screen(obs, "2026-05-01");
  EXPECT_EQ(Find(alerts, "MN-PIH-RISK"), nullptr);
  EXPECT_EQ(Find(alerts, "MN-SKIN-TYPE-MISSING"), nullptr);
}

// --- MN-ALLERGY-ANESTHETIC
// -----------------------------------------------------

std::string AllergyNote(const std::string& id,
                        const std::string& substance_text,
                        const std::string& note) {
  return "allergies { id: \"" + id + "\" substance { text: \"" +
         substance_text + "\" } clinical_status: \"active\" notes: \"" + note +
         "\" }\n";
}

TEST_F(EngineTest, LidocaineAllergyWithLidocainePlannedIsCritical) {
  auto alerts = Screen(AllergyNote("a1", "Lidocaine", "hives"), "2026-12-01",
                       "anesthetic { text: \"lidocaine 4% cream\" }");
  const Alert* a = Find(alerts, "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(a->evidence(0).entry_id(), "a1");
  EXPECT_EQ(a->evidence(0).matched_text(), "Lidocaine");
  EXPECT_FALSE(a->override_reasons().empty());
}

TEST_F(EngineTest, FreeTextNotesFireAndNegationsDoNot) {
  const Alert* a =
      Find(Screen(AllergyNote("a1", "Penicillin", "rash after lidocaine cream"),
                  "2026-12-01", "anesthetic { text: \"EMLA\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);  // EMLA contains lidocaine
  EXPECT_EQ(a->evidence(0).matched_text(), "lidocaine");

  EXPECT_EQ(Find(Screen(AllergyNote("a1", "Penicillin",
                                    "denies allergy to lidocaine"),
                        "2026-12-01", "anesthetic { text: \"lidocaine\" }"),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
  EXPECT_EQ(Find(Screen(AllergyNote("a1", "Penicillin",
                                    "no reaction to prilocaine in 2023"),
                        "2026-12-01", "anesthetic { text: \"EMLA\" }"),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
  EXPECT_EQ(Find(Screen(AllergyNote("a1", "NKDA", "NKDA"), "2026-12-01",
                        "anesthetic { text: \"lidocaine\" }"),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
}

TEST_F(EngineTest, MisspelledLidocaineStillFires) {
  const Alert* a =
      Find(Screen(AllergyNote("a1", "lidocane", "swelling"), "2026-12-01",
                  "anesthetic { text: \"lidocaine\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(a->evidence(0).matched_text(), "lidocane");
}

TEST_F(EngineTest, UncertainMentionFiresAtTheSameSeverity) {
  const Alert* a =
      Find(Screen(AllergyNote("a1", "Unknown", "possible benzocaine allergy"),
                  "2026-12-01", "anesthetic { text: \"benzocaine\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
}

TEST_F(EngineTest, AnestheticClassCrossReactivity) {
  // Ester allergy with a planned ester: critical.
  const Alert* a =
      Find(Screen(AllergyNote("a1", "benzocaine", "anaphylaxis"), "2026-12-01",
                  "anesthetic { text: \"tetracaine gel\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  // Amide allergy with another amide: warning.
  a = Find(Screen(AllergyNote("a1", "prilocaine", "rash"), "2026-12-01",
                  "anesthetic { text: \"lidocaine\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  // Ester allergy with an amide planned: info, and the amide is suggested.
  a = Find(Screen(AllergyNote("a1", "tetracaine", "rash"), "2026-12-01",
                  "anesthetic { text: \"lidocaine\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_INFO);
  EXPECT_THAT(a->suggestions(0).text(), HasSubstr("amide"));
  // Amide allergy with an ester planned: info.
  a = Find(Screen(AllergyNote("a1", "lidocaine", "rash"), "2026-12-01",
                  "anesthetic { text: \"benzocaine\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_INFO);
  // BLT contains lidocaine: critical for a lidocaine allergy.
  a = Find(Screen(AllergyNote("a1", "lidocaine", "rash"), "2026-12-01",
                  "anesthetic { text: \"BLT cream\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
}

TEST_F(EngineTest, UnnamedNumbingCreamOrNoPlanIsWarning) {
  const Alert* a =
      Find(Screen(AllergyNote("a1", "Other", "allergic to numbing cream"),
                  "2026-12-01", "anesthetic { text: \"lidocaine\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(a->evidence(0).matched_text(), "numbing cream");
  a = Find(Screen(AllergyNote("a1", "lidocaine", "hives")),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  EXPECT_THAT(a->summary(), HasSubstr("none planned"));
  // Any other -caine counts as an anesthetic of unknown class.
  a = Find(Screen(AllergyNote("a1", "mepivacaine", "rash"), "2026-12-01",
                  "anesthetic { text: \"lidocaine\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
}

TEST_F(EngineTest, AnestheticAllergyByCodeAndAsCondition) {
  const std::string coded =
      "allergies { id: \"a1\" substance { codings { system: "
      "\"http://www.nlm.nih.gov/research/umls/rxnorm\" code: \"6387\" display: "
      "\"Lidocaine\" } } clinical_status: \"active\" }";
  const Alert* a =
      Find(Screen(coded, "2026-12-01", "anesthetic { text: \"EMLA\" }"),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(a->evidence(0).matched_text(),
            "http://www.nlm.nih.gov/research/umls/rxnorm|6387 Lidocaine");
  // ICD-10-CM Z88.4 as a condition: unknown class, warning.
  a = Find(Screen(Condition(
               "c9",
               "codings { system: \"http://hl7.org/fhir/sid/icd-10-cm\" code: "
               "\"Z88.4\" }")),
           "MN-ALLERGY-ANESTHETIC");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(a->evidence(0).entry_id(), "c9");
}

TEST_F(EngineTest, RefutedInactiveOrLaterAllergiesDoNotFire) {
  const std::string base =
      "allergies { id: \"a1\" substance { text: \"lidocaine\" } ";
  const std::string session = "anesthetic { text: \"lidocaine\" }";
  EXPECT_EQ(Find(Screen(base + "verification_status: \"refuted\" }",
                        "2026-12-01", session),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
  EXPECT_EQ(Find(Screen(base + "verification_status: \"entered-in-error\" }",
                        "2026-12-01", session),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
  EXPECT_EQ(Find(Screen(base + "clinical_status: \"resolved\" }", "2026-12-01",
                        session),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
  EXPECT_EQ(Find(Screen(base + "recorded_date: \"2026-12-05\" }", "2026-12-01",
                        session),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
  EXPECT_NE(Find(Screen(base + "recorded_date: \"2026-11-05\" }", "2026-12-01",
                        session),
                 "MN-ALLERGY-ANESTHETIC"),
            nullptr);
}

// --- MN-ALLERGY-PRODUCT
// -------------------------------------------------------

TEST_F(EngineTest, ProductAllergiesWarn) {
  const Alert* a =
      Find(Screen("allergies { id: \"a1\" substance { codings { system: "
                  "\"http://snomed.info/sct\" code: \"300916003\" display: "
                  "\"Latex allergy\" } } clinical_status: \"active\" }"),
           "MN-ALLERGY-PRODUCT");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  a = Find(Screen(AllergyNote("a1", "Chlorhexidine", "blistering")),
           "MN-ALLERGY-PRODUCT");
  ASSERT_NE(a, nullptr);
  a = Find(
      Screen(AllergyNote("a1", "Other", "contact reaction to nickel earrings")),
      "MN-ALLERGY-PRODUCT");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(Find(Screen(AllergyNote("a1", "Peanut", "no latex allergy")),
                 "MN-ALLERGY-PRODUCT"),
            nullptr);
  EXPECT_EQ(Find(Screen("allergies { id: \"a1\" substance { text: \"latex\" } "
                        "verification_status: \"refuted\" }"),
                 "MN-ALLERGY-PRODUCT"),
            nullptr);
}

// --- MN-ALLERGY-UNDOCUMENTED
// ----------------------------------------------------

TEST_F(EngineTest, UndocumentedAllergyStatusIsInfo) {
  auto alerts = Screen("fitzpatrick_skin_type: 2", "2026-12-01", "",
                       /*documented=*/false);
  const Alert* a = Find(alerts, "MN-ALLERGY-UNDOCUMENTED");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_INFO);
  EXPECT_EQ(Find(Screen("no_known_allergies: true"), "MN-ALLERGY-UNDOCUMENTED"),
            nullptr);
  EXPECT_EQ(
      Find(Screen(AllergyNote("a1", "Peanut", "")), "MN-ALLERGY-UNDOCUMENTED"),
      nullptr);
  // An allergy recorded only after the session did not document anything then.
  EXPECT_NE(Find(Screen("allergies { id: \"a1\" substance { text: \"Peanut\" } "
                        "recorded_date: \"2027-01-01\" }"),
                 "MN-ALLERGY-UNDOCUMENTED"),
            nullptr);
}

// --- MN-FREQ-INTERVAL / MN-FREQ-MAINTENANCE
// ---------------------------------------

std::string Session(const std::string& id, const std::string& date,
                    const std::string& areas = "",
                    const std::string& status = "completed",
                    const std::string& text = "Microneedling") {
  return "procedures { id: \"" + id + "\" code { text: \"" + text +
         "\" } status: \"" + status + "\" performed: \"" + date + "\" " +
         areas + " }\n";
}

TEST_F(EngineTest, TwentySevenDaysFiresTwentyEightDoesNot) {
  // 2026-11-04 + 27 days = 2026-12-01.
  const Alert* a =
      Find(Screen(Session("p1", "2026-11-04")), "MN-FREQ-INTERVAL");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_THAT(a->summary(), HasSubstr("27 days"));
  ASSERT_FALSE(a->suggestions().empty());
  EXPECT_EQ(a->suggestions(0).earliest_date(), "2026-12-02");
  EXPECT_EQ(a->evidence(0).entry_id(), "p1");
  EXPECT_EQ(a->evidence(0).matched_text(), "Microneedling");
  EXPECT_EQ(Find(Screen(Session("p1", "2026-11-03")), "MN-FREQ-INTERVAL"),
            nullptr);
}

TEST_F(EngineTest, MaintenanceWindowNeverAlerts) {
  for (const char* date : {"2026-11-03", "2026-10-21"}) {  // 28 and 41 days
    auto alerts = Screen(Session("p1", date));
    EXPECT_EQ(Find(alerts, "MN-FREQ-MAINTENANCE"), nullptr);
    EXPECT_EQ(Find(alerts, "MN-FREQ-INTERVAL"), nullptr);
  }
}

TEST_F(EngineTest, SessionOnTheBackDoesNotBlockTheFace) {
  const std::string back =
      Session("p1", "2026-11-20", "areas: TREATMENT_AREA_BACK");
  EXPECT_EQ(
      Find(Screen(back, "2026-12-01", "areas { area: TREATMENT_AREA_CHEEKS }"),
           "MN-FREQ-INTERVAL"),
      nullptr);
  EXPECT_NE(
      Find(Screen(back, "2026-12-01", "areas { area: TREATMENT_AREA_BACK }"),
           "MN-FREQ-INTERVAL"),
      nullptr);
}

TEST_F(EngineTest, FullFaceOverlapsFaceSubAreasAndUnknownOverlapsAll) {
  const std::string full_face =
      Session("p1", "2026-11-20", "areas: TREATMENT_AREA_FULL_FACE");
  EXPECT_NE(Find(Screen(full_face, "2026-12-01",
                        "areas { area: TREATMENT_AREA_PERIORBITAL "
                        "needle_depth_mm: 0.3 }"),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  EXPECT_EQ(Find(Screen(full_face, "2026-12-01",
                        "areas { area: TREATMENT_AREA_NECK }"),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  const std::string forehead =
      Session("p1", "2026-11-20", "areas: TREATMENT_AREA_FOREHEAD");
  EXPECT_NE(Find(Screen(forehead, "2026-12-01",
                        "areas { area: TREATMENT_AREA_FULL_FACE }"),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  EXPECT_EQ(Find(Screen(forehead, "2026-12-01",
                        "areas { area: TREATMENT_AREA_CHEEKS }"),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  // Unknown area on either side overlaps everything.
  EXPECT_NE(Find(Screen(Session("p1", "2026-11-20"), "2026-12-01",
                        "areas { area: TREATMENT_AREA_BACK }"),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  EXPECT_NE(Find(Screen(forehead, "2026-12-01", ""), "MN-FREQ-INTERVAL"),
            nullptr);
}

TEST_F(EngineTest, SessionHistoryDefinition) {
  // Not-done and entered-in-error are not sessions.
  EXPECT_EQ(Find(Screen(Session("p1", "2026-11-20", "", "not-done")),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  EXPECT_EQ(Find(Screen(Session("p1", "2026-11-20", "", "entered-in-error")),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  // Synonyms and spelling variants are sessions.
  for (const char* text :
       {"Micro-needling", "Collagen induction therapy", "Dermapen facial",
        "derma roller", "RF microneedling", "Percutaneous collagen induction",
        "SkinPen Microneedling", "Micorneedling"}) {
    EXPECT_NE(Find(Screen(Session("p1", "2026-11-20", "", "completed", text)),
                   "MN-FREQ-INTERVAL"),
              nullptr)
        << text;
  }
  // Other procedures are not.
  EXPECT_EQ(Find(Screen(Session("p1", "2026-11-20", "", "completed",
                                "Chemical peel")),
                 "MN-FREQ-INTERVAL"),
            nullptr);
  // A session after T or on T itself is not a previous session.
  EXPECT_EQ(Find(Screen(Session("p1", "2026-12-01")), "MN-FREQ-INTERVAL"),
            nullptr);
  EXPECT_EQ(Find(Screen(Session("p1", "2026-12-10")), "MN-FREQ-INTERVAL"),
            nullptr);
}

TEST_F(EngineTest, LatestOverlappingSessionSetsTheEarliestDate) {
  const Alert* a =
      Find(Screen(Session("p1", "2026-11-10") + Session("p2", "2026-11-25") +
                  Session("p3", "2026-10-01")),
           "MN-FREQ-INTERVAL");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->suggestions(0).earliest_date(), "2026-12-23");
  EXPECT_EQ(a->evidence_size(), 2);  // p1 and p2 are within 28 days
}

// --- MN-EYE-DEPTH / MN-EYE-DEPTH-MISSING
// -----------------------------------------

TEST_F(EngineTest, PeriorbitalDepth) {
  const Alert* a = Find(
      Screen("", "2026-12-01",
             "areas { area: TREATMENT_AREA_PERIORBITAL needle_depth_mm: 1.0 }"),
      "MN-EYE-DEPTH");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  ASSERT_FALSE(a->suggestions().empty());
  EXPECT_DOUBLE_EQ(a->suggestions(0).min_needle_depth_mm(), 0.25);
  EXPECT_DOUBLE_EQ(a->suggestions(0).max_needle_depth_mm(), 0.5);
  EXPECT_EQ(Find(Screen("", "2026-12-01",
                        "areas { area: TREATMENT_AREA_PERIORBITAL "
                        "needle_depth_mm: 0.5 }"),
                 "MN-EYE-DEPTH"),
            nullptr);
  // Full face at 1.5 mm does not trigger the eye rules.
  auto alerts =
      Screen("", "2026-12-01",
             "areas { area: TREATMENT_AREA_FULL_FACE needle_depth_mm: 1.5 }");
  EXPECT_EQ(Find(alerts, "MN-EYE-DEPTH"), nullptr);
  EXPECT_EQ(Find(alerts, "MN-EYE-DEPTH-MISSING"), nullptr);
  a = Find(
      Screen("", "2026-12-01", "areas { area: TREATMENT_AREA_PERIORBITAL }"),
      "MN-EYE-DEPTH-MISSING");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_INFO);
  EXPECT_THAT(a->summary(), HasSubstr("0.25-0.5 mm"));
}

// --- MN-ISOTRETINOIN
// -----------------------------------------------------------

TEST_F(EngineTest, IsotretinoinActiveOrStoppedWithin180Days) {
  auto med = [](const std::string& extra) {
    return "medications { id: \"m1\" code { codings { system: "
           "\"http://www.nlm.nih.gov/research/umls/rxnorm\" code: \"197844\" } "
           "} " +
           extra + " }";
  };
  const Alert* a = Find(Screen(med("status: \"active\" start: \"2026-06-01\"")),
                        "MN-ISOTRETINOIN");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  // Stopped 179 days before T fires, 180 does not.
  EXPECT_NE(Find(Screen(med("status: \"stopped\" start: \"2025-01-01\" end: "
                            "\"2026-06-05\""),
                        "2026-12-01"),
                 "MN-ISOTRETINOIN"),
            nullptr);
  EXPECT_EQ(Find(Screen(med("status: \"stopped\" start: \"2025-01-01\" end: "
                            "\"2026-06-04\""),
                        "2026-12-01"),
                 "MN-ISOTRETINOIN"),
            nullptr);
  EXPECT_EQ(
      Find(Screen(med("status: \"entered-in-error\" start: \"2026-11-01\"")),
           "MN-ISOTRETINOIN"),
      nullptr);
  EXPECT_EQ(Find(Screen(med("status: \"active\" start: \"2026-12-05\"")),
                 "MN-ISOTRETINOIN"),
            nullptr);
  EXPECT_NE(Find(Screen("medications { id: \"m1\" code { text: \"Accutane "
                        "20mg\" } status: "
                        "\"active\" }"),
                 "MN-ISOTRETINOIN"),
            nullptr);
}

// --- MN-ANTICOAGULANT
// ------------------------------------------------------------

TEST_F(EngineTest, AnticoagulantsWarnAndAspirinIsInfo) {
  const Alert* a = Find(
      Screen("medications { id: \"m1\" code { codings { system: "
             "\"http://www.nlm.nih.gov/research/umls/rxnorm\" code: "
             "\"855332\" display: \"Warfarin Sodium 5 MG Oral Tablet\" } } "
             "status: \"active\" start: \"2020-01-01\" }"),
      "MN-ANTICOAGULANT");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  a = Find(
      Screen("medications { id: \"m1\" code { text: \"Eliquis 5 mg\" } status: "
             "\"active\" }"),
      "MN-ANTICOAGULANT");
  ASSERT_NE(a, nullptr);
  a = Find(Screen("medications { id: \"m1\" code { text: \"Aspirin 81 MG Oral "
                  "Tablet\" } "
                  "status: \"active\" }"),
           "MN-ANTICOAGULANT");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_INFO);
  EXPECT_EQ(
      Find(
          Screen("medications { id: \"m1\" code { text: \"Warfarin\" } status: "
                 "\"stopped\" start: \"2019-01-01\" }"),
          "MN-ANTICOAGULANT"),
      nullptr);
  EXPECT_EQ(
      Find(
          Screen("medications { id: \"m1\" code { text: \"Warfarin\" } status: "
                 "\"active\" start: \"2020-01-01\" end: \"2026-10-01\" }"),
          "MN-ANTICOAGULANT"),
      nullptr);
}

// --- MN-HEALING
// -------------------------------------------------------------------

TEST_F(EngineTest, HealingRiskConditionsAndMedicines) {
  for (const std::string& concept :
       {Snomed("44054006"), Snomed("161665007"), Snomed("86406008"),
        std::string("text: \"Type 2 diabetes mellitus\"")}) {
    const Alert* a = Find(Screen(Condition("c1", concept)), "MN-HEALING");
    ASSERT_NE(a, nullptr) << concept;
    EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  }
  EXPECT_NE(
      Find(Screen("medications { id: \"m1\" code { text: \"Tacrolimus 1 mg\" } "
                  "status: \"active\" }"),
           "MN-HEALING"),
      nullptr);
  EXPECT_EQ(
      Find(Screen(Condition("c1", "text: \"Prediabetes\"")), "MN-HEALING"),
      nullptr);
  EXPECT_EQ(
      Find(Screen(Condition("c1", "text: \"Hair transplant\"")), "MN-HEALING"),
      nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1", Snomed("44054006"),
                                  "clinical_status: \"resolved\"")),
                 "MN-HEALING"),
            nullptr);
}

// --- MN-KELOID
// -------------------------------------------------------------------

TEST_F(EngineTest, KeloidHistoryWarnsEvenWhenInactive) {
  const Alert* a = Find(Screen(Condition("c1", Snomed("33659008"),
                                         "clinical_status: "
                                         "\"inactive\"")),
                        "MN-KELOID");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(Find(Screen(Condition(
                     "c1", Snomed("33659008"),
                     "clinical_status: \"active\" onset: \"2027-01-01\"")),
                 "MN-KELOID"),
            nullptr);
}

// --- MN-PREGNANCY
// -----------------------------------------------------------------

TEST_F(EngineTest, PregnancyByConditionOrStatusObservation) {
  const Alert* a = Find(
      Screen(Condition("c1", Snomed("72892002"),
                       "clinical_status: \"active\" onset: \"2026-09-01\"")),
      "MN-PREGNANCY");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(Find(Screen(Condition(
                     "c1", Snomed("72892002"),
                     "clinical_status: \"resolved\" onset: \"2025-01-01\" "
                     "abatement: \"2025-09-30\"")),
                 "MN-PREGNANCY"),
            nullptr);
  const std::string status_obs =
      "observations { id: \"o1\" code { codings { system: \"http://loinc.org\" "
      "code: "
      "\"82810-3\" } } value { codings { system: \"http://snomed.info/sct\" "
      "code: "
      "\"77386006\" display: \"Pregnant\" } } effective: \"2026-11-01\" }\n";
  EXPECT_NE(Find(Screen(status_obs), "MN-PREGNANCY"), nullptr);
  // A later "not pregnant" status replaces it.
  EXPECT_EQ(
      Find(Screen(
               status_obs +
               "observations { id: \"o2\" code { codings { system: "
               "\"http://loinc.org\" code: \"82810-3\" } } value { text: \"Not "
               "pregnant\" } effective: \"2026-11-20\" }"),
           "MN-PREGNANCY"),
      nullptr);
}

// --- MN-SKIN-TYPE-MISSING
// ---------------------------------------------------------

TEST_F(EngineTest, MissingSkinTypeIsInfo) {
  const Alert* a =
      Find(Screen("fitzpatrick_skin_type: 0"), "MN-SKIN-TYPE-MISSING");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity(), v1::SEVERITY_INFO);
  EXPECT_EQ(Find(Screen("fitzpatrick_skin_type: 3"), "MN-SKIN-TYPE-MISSING"),
            nullptr);
}

// --- Ordering and determinism
// ------------------------------------------------------

TEST_F(EngineTest, OrderIsSeverityThenRuleIdAndDeterministic) {
  const std::string record = Condition("c1", Snomed("24079001")) +
                             Condition("c2", Snomed("11381005")) +
                             "fitzpatrick_skin_type: 0\n" +
                             Session("p1", "2026-11-20") +
                             "medications { id: \"m1\" code { text: "
                             "\"aspirin\" } status: \"active\" }";
  auto alerts = Screen(record, "2026-12-01",
                       "areas { area: TREATMENT_AREA_PERIORBITAL }");
  EXPECT_THAT(Ids(alerts),
              ElementsAre("MN-CI-ACNE", "MN-CI-ECZEMA", "MN-FREQ-INTERVAL",
                          "MN-ANTICOAGULANT", "MN-EYE-DEPTH-MISSING",
                          "MN-SKIN-TYPE-MISSING"));
  for (int i = 0; i < 5; ++i) {
    auto again = Screen(record, "2026-12-01",
                        "areas { area: TREATMENT_AREA_PERIORBITAL }");
    ASSERT_EQ(again.size(), alerts.size());
    for (size_t j = 0; j < again.size(); ++j) {
      EXPECT_EQ(again[j].SerializeAsString(), alerts[j].SerializeAsString());
    }
  }
}

TEST_F(EngineTest, DisabledRulesDoNotFire) {
  std::string text(kb::BundledKnowledgeBaseText());
  const std::string from =
      "id: \"MN-CI-ACNE\"\n  category: \"contraindication\"\n  severity: "
      "SEVERITY_CRITICAL\n  enabled: true";
  size_t pos = text.find(from);
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos + from.size() - 4, 4, "false");
  auto kb = kb::KnowledgeBase::FromText(text, "test");
  ASSERT_TRUE(kb.ok()) << kb.status();
  v1::PatientRecord record;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      Condition("c1", Snomed("11381005")) +
          "no_known_allergies: true fitzpatrick_skin_type: 2",
      &record));
  v1::PlannedSession session;
  session.set_date("2026-12-01");
  EXPECT_TRUE(
      EvaluateAsOf(**kb, record, session, *ParseFhirDay("2026-12-01")).empty());
  // A cache that served the bundled knowledge base serves this one too.
  EXPECT_TRUE(
      EvaluateAsOf(**kb, record, session, *ParseFhirDay("2026-12-01"), &Cache())
          .empty());
  // And back: the bundled one still fires.
  EXPECT_EQ(Ids(EvaluateAsOf(*Kb(), record, session,
                             *ParseFhirDay("2026-12-01"), &Cache())),
            std::vector<std::string>{"MN-CI-ACNE"});
}

// --- Free text read in context (ConText) -----------------------------------

// The severity of MN-ALLERGY-ANESTHETIC for an allergy note, or
// SEVERITY_UNSPECIFIED when it does not fire.
struct AnestheticAlert {
  v1::Severity severity = v1::SEVERITY_UNSPECIFIED;
  std::string matched;
  std::string detail;
};

class EngineContextTest : public EngineTest {
 protected:
  AnestheticAlert Anesthetic(const std::string& note,
                             const std::string& planned = "lidocaine") {
    const Alert* a = Find(
        Screen(
            AllergyNote("a1", "Allergy", note), "2026-12-01",
            planned.empty() ? "" : "anesthetic { text: \"" + planned + "\" }"),
        "MN-ALLERGY-ANESTHETIC");
    AnestheticAlert out;
    if (a == nullptr) return out;
    out.severity = a->severity();
    if (a->evidence_size() > 0) out.matched = a->evidence(0).matched_text();
    out.detail = a->detail();
    return out;
  }
};

TEST_F(EngineContextTest, ACommaThenTheMentionsOwnReactionIsAnAllergy) {
  AnestheticAlert a = Anesthetic("No latex allergy, lidocaine causes hives");
  EXPECT_EQ(a.severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(a.matched, "lidocaine");
  EXPECT_EQ(Anesthetic("NKA; lido -> rash").severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(Anesthetic("no latex issues, lidocaine: hives").severity,
            v1::SEVERITY_CRITICAL);
  EXPECT_EQ(Anesthetic("NKDA, EMLA rash").severity, v1::SEVERITY_CRITICAL);
  // A negated list without its own reaction stays negated.
  EXPECT_EQ(Anesthetic("no hives, swelling or rash after lidocaine").severity,
            v1::SEVERITY_UNSPECIFIED);
}

TEST_F(EngineContextTest, NewNamesForTheSameDrugs) {
  AnestheticAlert lido = Anesthetic("lido -> hives");
  EXPECT_EQ(lido.severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(lido.matched, "lido");
  EXPECT_EQ(Anesthetic("Lidoderm patch - rash").severity,
            v1::SEVERITY_CRITICAL);
  EXPECT_EQ(Anesthetic("Lidoderm patch - rash", "").severity,
            v1::SEVERITY_WARNING);
  AnestheticAlert caine = Anesthetic("caine allergy");
  EXPECT_EQ(caine.severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(caine.matched, "caine");
  EXPECT_EQ(Anesthetic("Zingo - hives").severity, v1::SEVERITY_CRITICAL);
  // Pliaglis (lidocaine + tetracaine) meets an ester plan: critical.
  EXPECT_EQ(Anesthetic("Pliaglis: swelling", "benzocaine").severity,
            v1::SEVERITY_CRITICAL);
  EXPECT_EQ(Anesthetic("numbing spray - rash").severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(Anesthetic("dental anesthetic reaction").severity,
            v1::SEVERITY_WARNING);
}

// "LET" (lidocaine-epinephrine-tetracaine) is a drug only in capitals; the
// everyday word "let" in an allergy note must not raise an alert.
TEST_F(EngineContextTest, LetIsTheDrugOnlyInCapitals) {
  AnestheticAlert let = Anesthetic("LET -> hives");
  EXPECT_EQ(let.severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(let.matched, "LET");
  AnestheticAlert gel = Anesthetic("allergic to LET gel", "benzocaine");
  EXPECT_EQ(gel.severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(gel.matched, "LET gel");
  for (const std::string note :
       {"let us know if any reaction", "Let the area dry",
        "patient let the nurse apply it", "Rash, let the clinic know"}) {
    EXPECT_EQ(Anesthetic(note).severity, v1::SEVERITY_UNSPECIFIED) << note;
    EXPECT_EQ(Anesthetic(note, "").severity, v1::SEVERITY_UNSPECIFIED) << note;
  }
}

TEST_F(EngineContextTest, NegationScopeIsTheClause) {
  EXPECT_EQ(Anesthetic("Denies any history of allergic reaction to lidocaine")
                .severity,
            v1::SEVERITY_UNSPECIFIED);
  EXPECT_EQ(Anesthetic("lidocaine allergy ruled out").severity,
            v1::SEVERITY_UNSPECIFIED);
  EXPECT_EQ(Anesthetic("no latex allergy but lidocaine gives hives").severity,
            v1::SEVERITY_CRITICAL);
}

TEST_F(EngineContextTest, AnotherPersonsAllergyDoesNotFire) {
  EXPECT_EQ(Anesthetic("Family history: mother allergic to lidocaine").severity,
            v1::SEVERITY_UNSPECIFIED);
  EXPECT_EQ(Anesthetic("his daughter reacts to lidocaine").severity,
            v1::SEVERITY_UNSPECIFIED);
}

TEST_F(EngineContextTest, ProbableNegationFiresAtMostWarningAndSaysSo) {
  AnestheticAlert a = Anesthetic("Lidocaine allergy unlikely per allergist");
  EXPECT_EQ(a.severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(a.matched, "Lidocaine");
  EXPECT_THAT(a.detail, HasSubstr("judged unlikely"));
  // Amide vs amide is WARNING anyway; an ester meeting an ester is capped.
  EXPECT_EQ(Anesthetic("benzocaine allergy unlikely", "tetracaine").severity,
            v1::SEVERITY_WARNING);
  // Ester vs amide stays INFO.
  EXPECT_EQ(Anesthetic("benzocaine allergy unlikely", "lidocaine").severity,
            v1::SEVERITY_INFO);
}

TEST_F(EngineContextTest, UncertaintyIsNotProbableNegation) {
  for (const std::string note :
       {"possible lidocaine allergy", "suspected lidocaine allergy",
        "? lidocaine allergy"}) {
    AnestheticAlert a = Anesthetic(note);
    EXPECT_EQ(a.severity, v1::SEVERITY_CRITICAL) << note;
    EXPECT_THAT(a.detail, ::testing::Not(HasSubstr("unlikely"))) << note;
  }
}

TEST_F(EngineContextTest, HypotheticalMentionsDoNotFire) {
  EXPECT_EQ(Anesthetic("if a rash develops after lidocaine, stop").severity,
            v1::SEVERITY_UNSPECIFIED);
  EXPECT_EQ(Anesthetic("in case of reaction to lidocaine call").severity,
            v1::SEVERITY_UNSPECIFIED);
}

TEST_F(EngineContextTest, HistoricalAllergiesStillCountAndSaySo) {
  AnestheticAlert a = Anesthetic("history of lidocaine allergy");
  EXPECT_EQ(a.severity, v1::SEVERITY_CRITICAL);
  EXPECT_THAT(a.detail, HasSubstr("historical"));
  EXPECT_EQ(Anesthetic("lidocaine allergy as a child").severity,
            v1::SEVERITY_CRITICAL);
}

TEST_F(EngineContextTest, AReactionThatResolvedIsStillAnAllergy) {
  AnestheticAlert a = Anesthetic("hives after lidocaine, resolved");
  EXPECT_EQ(a.severity, v1::SEVERITY_CRITICAL);
  EXPECT_THAT(a.detail, HasSubstr("historical"));
  EXPECT_EQ(Anesthetic("lidocaine allergy ruled out, resolved").severity,
            v1::SEVERITY_UNSPECIFIED);
}

TEST_F(EngineContextTest, ResolvedConditionTextIsAHistoryNotActive) {
  const std::string text = Condition("c1", "text: \"cold sores, resolved\"");
  EXPECT_NE(Find(Screen(text, "2026-12-01",
                        "areas { area: TREATMENT_AREA_PERIORAL }"),
                 "MN-HSV-HISTORY"),
            nullptr);
  EXPECT_EQ(Find(Screen(text, "2026-12-01",
                        "areas { area: TREATMENT_AREA_PERIORAL }"),
                 "MN-CI-INFECTION"),
            nullptr);
}

TEST_F(EngineContextTest, HistoricalConditionTextIsNotActive) {
  EXPECT_EQ(
      Find(Screen(Condition("c1", "text: \"history of acne\"")), "MN-CI-ACNE"),
      nullptr);
  EXPECT_NE(
      Find(Screen(Condition("c1", "text: \"active acne\"")), "MN-CI-ACNE"),
      nullptr);
  // The code decides for a coded condition.
  EXPECT_NE(Find(Screen(Condition(
                     "c1", Snomed("11381005") + " text: \"history of acne\"")),
                 "MN-CI-ACNE"),
            nullptr);
}

TEST_F(EngineContextTest, HistoricalConditionTextCountsForHistoryRules) {
  const Alert* hsv =
      Find(Screen(Condition("c1", "text: \"history of cold sores\""),
                  "2026-12-01", "areas { area: TREATMENT_AREA_PERIORAL }"),
           "MN-HSV-HISTORY");
  ASSERT_NE(hsv, nullptr);
  EXPECT_EQ(hsv->evidence(0).matched_text(), "cold sores");
  EXPECT_THAT(hsv->detail(), HasSubstr("historical"));
  // Not an active infection.
  EXPECT_EQ(
      Find(Screen(Condition("c1", "text: \"history of cold sores\""),
                  "2026-12-01", "areas { area: TREATMENT_AREA_PERIORAL }"),
           "MN-CI-INFECTION"),
      nullptr);
  EXPECT_NE(
      Find(Screen(Condition("c1", "text: \"history of keloid\"")), "MN-KELOID"),
      nullptr);
  EXPECT_NE(Find(Screen(Condition("c1",
                                  "text: \"history of postinflammatory "
                                  "hyperpigmentation\"")),
                 "MN-PIH-RISK"),
            nullptr);
}

TEST_F(EngineContextTest, ConditionTextReadInContext) {
  EXPECT_EQ(Find(Screen(Condition("c1", "text: \"mother has eczema\"")),
                 "MN-CI-ECZEMA"),
            nullptr);
  EXPECT_EQ(Find(Screen(Condition("c1",
                                  "text: \"return should symptoms of eczema "
                                  "appear\"")),
                 "MN-CI-ECZEMA"),
            nullptr);
  const Alert* unlikely = Find(
      Screen(Condition("c1", "text: \"eczema unlikely\"")), "MN-CI-ECZEMA");
  ASSERT_NE(unlikely, nullptr);
  EXPECT_EQ(unlikely->severity(), v1::SEVERITY_WARNING);
  EXPECT_THAT(unlikely->detail(), HasSubstr("judged unlikely"));
  const Alert* possible = Find(
      Screen(Condition("c1", "text: \"possible eczema\"")), "MN-CI-ECZEMA");
  ASSERT_NE(possible, nullptr);
  EXPECT_EQ(possible->severity(), v1::SEVERITY_CRITICAL);
}

}  // namespace
}  // namespace needlecheck::engine
