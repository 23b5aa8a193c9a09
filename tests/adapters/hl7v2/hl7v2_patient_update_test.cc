// ADT messages -> patient facts and the stored record
// (adapters/hl7v2/mapping/patient_update.h), over the hand-written
// dermatology messages in tests/testdata/hl7v2 and inline edge cases.
#include <string>
#include <vector>

#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/patient_update.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/hl7v2/hl7v2_mapping_testing.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::hl7v2::testing::ParseOrFail;
using ::needlecheck::hl7v2::testing::TestMessage;
using ::needlecheck::testing::IsOk;
using ::testing::ElementsAre;

PatientUpdate ReadOrFail(const std::string& bytes) {
  absl::StatusOr<PatientUpdate> u = ReadPatientUpdate(ParseOrFail(bytes));
  EXPECT_THAT(u.status(), IsOk());
  return u.ok() ? *std::move(u) : PatientUpdate();
}

Hl7ErrorDetail ErrorOf(const std::string& bytes) {
  absl::StatusOr<PatientUpdate> u = ReadPatientUpdate(ParseOrFail(bytes));
  EXPECT_FALSE(u.ok());
  return Hl7ErrorOf(u.status());
}

constexpr char kMsh[] = "MSH|^~\\&|A|B|C|D|20261101||ADT^A08|M1|P|2.5.1\r";

TEST(ReadPatientUpdateTest, DermatologyAdmission) {
  const PatientUpdate u = ReadOrFail(TestMessage("derm_adt_a04.hl7"));
  ASSERT_EQ(u.identifiers.size(), 2u);
  EXPECT_EQ(u.identifiers[0].id, "100234");
  EXPECT_EQ(u.identifiers[0].authority, "SKINCLINIC&1.2.3.4&ISO");
  EXPECT_EQ(u.identifiers[0].type, "MR");
  EXPECT_EQ(u.identifiers[1].Key(), "PAYER|P-778");
  const v1::PatientRecord& r = u.facts;
  EXPECT_EQ(r.patient_id(), "");
  EXPECT_EQ(r.birth_date(), "1988-08-18");
  EXPECT_EQ(r.fitzpatrick_skin_type(), 4);
  EXPECT_TRUE(u.replaces_allergies);
  EXPECT_TRUE(u.replaces_conditions);
  EXPECT_FALSE(r.no_known_allergies());
  // The patient-level note is not about allergies: not mapped, counted.
  EXPECT_EQ(u.unmapped_notes, 1);

  ASSERT_EQ(r.allergies_size(), 2);
  const v1::Allergy& lido = r.allergies(0);
  EXPECT_EQ(lido.id(), "AL1-1");
  EXPECT_EQ(lido.substance().text(), "Lidocaine cream - hives");
  EXPECT_EQ(lido.substance().codings_size(), 0);
  EXPECT_EQ(lido.clinical_status(), "active");
  EXPECT_EQ(lido.recorded_date(), "2024-03-05");
  EXPECT_THAT(lido.reactions(), ElementsAre("hives", "itching"));
  EXPECT_THAT(lido.notes(),
              ElementsAre("Reaction after topical numbing before a laser "
                          "session"));
  EXPECT_EQ(r.allergies(1).substance().text(), "No reaction to EMLA");
  EXPECT_EQ(r.allergies(1).notes_size(), 0);

  ASSERT_EQ(r.conditions_size(), 3);
  const char* const codes[] = {"L20.9", "L70.0", "L71.9"};
  for (int i = 0; i < 3; ++i) {
    const v1::Condition& c = r.conditions(i);
    ASSERT_EQ(c.code().codings_size(), 1);
    EXPECT_EQ(c.code().codings(0).system(),
              "http://hl7.org/fhir/sid/icd-10-cm");
    EXPECT_EQ(c.code().codings(0).code(), codes[i]);
    EXPECT_EQ(c.clinical_status(), "active");
  }
  EXPECT_EQ(r.conditions(0).onset(), "2025-01-02");
  EXPECT_EQ(r.conditions(0).code().text(), "Atopic dermatitis, unspecified");

  ASSERT_EQ(r.procedures_size(), 1);
  const v1::Procedure& p = r.procedures(0);
  EXPECT_EQ(p.id(), "DERM0001/PR1-1");
  EXPECT_EQ(p.code().text(), "Microneedling - full face");
  EXPECT_EQ(p.performed(), "2026-10-20T10:30:00+01:00");
  EXPECT_EQ(p.status(), "completed");
  EXPECT_THAT(p.areas(), ElementsAre(v1::TREATMENT_AREA_FULL_FACE));
  EXPECT_EQ(p.needle_depth_mm(), 0);  // past depths are not read

  ASSERT_EQ(r.observations_size(), 1);
  EXPECT_EQ(r.observations(0).code().codings(0).code(), "66555-4");
  EXPECT_EQ(r.observations(0).code().codings(0).system(), "http://loinc.org");
  EXPECT_EQ(r.observations(0).effective(), "2026-10-25");
}

TEST(ApplyPatientUpdateTest, SnapshotsReplaceAndOmissionsKeep) {
  v1::PatientRecord stored;
  stored.set_patient_id("p-1");
  ApplyPatientUpdate(ReadOrFail(TestMessage("derm_adt_a04.hl7")), &stored);
  EXPECT_EQ(stored.patient_id(), "p-1");
  EXPECT_EQ(stored.allergies_size(), 2);
  EXPECT_EQ(stored.conditions_size(), 3);
  EXPECT_EQ(stored.procedures_size(), 1);
  // The A08: no AL1 (allergies kept, the allergy note added), two DG1
  // (the condition list replaced).
  const PatientUpdate a08 = ReadOrFail(TestMessage("derm_adt_a08.hl7"));
  EXPECT_FALSE(a08.replaces_allergies);
  EXPECT_TRUE(a08.replaces_conditions);
  ApplyPatientUpdate(a08, &stored);
  ASSERT_EQ(stored.allergies_size(), 3);
  EXPECT_EQ(stored.allergies(2).substance().text(),
            "Patient reports an allergy to chlorhexidine wipes");
  ASSERT_EQ(stored.conditions_size(), 2);
  EXPECT_EQ(stored.conditions(0).code().codings(0).code(), "L70.0");
  EXPECT_EQ(stored.procedures_size(), 1);
  EXPECT_EQ(stored.fitzpatrick_skin_type(), 4);
  EXPECT_EQ(stored.birth_date(), "1988-08-18");
  // Applying the same messages again changes nothing.
  const v1::PatientRecord before = stored;
  ApplyPatientUpdate(ReadOrFail(TestMessage("derm_adt_a08.hl7")), &stored);
  EXPECT_EQ(stored.SerializeAsString(), before.SerializeAsString());
  // The A04 again, as a resend with another control id: the procedure is
  // not added twice.
  std::string resend = TestMessage("derm_adt_a04.hl7");
  resend.replace(resend.find("DERM0001"), 8, "DERM0099");
  ApplyPatientUpdate(ReadOrFail(resend), &stored);
  EXPECT_EQ(stored.procedures_size(), 1);
  EXPECT_EQ(stored.allergies_size(), 2);  // the AL1 snapshot again
}

TEST(ApplyPatientUpdateTest, A60AllergyDeltas) {
  v1::PatientRecord stored;
  ApplyPatientUpdate(ReadOrFail(TestMessage("derm_adt_a04.hl7")), &stored);
  const PatientUpdate a60 = ReadOrFail(TestMessage("derm_adt_a60.hl7"));
  EXPECT_FALSE(a60.replaces_allergies);
  ASSERT_EQ(a60.allergy_actions.size(), 2u);
  EXPECT_EQ(a60.allergy_actions[0].kind, AllergyAction::Kind::kAdd);
  EXPECT_EQ(a60.allergy_actions[0].unique_id, "ALG-7001");
  const v1::Allergy& added = a60.allergy_actions[0].allergy;
  EXPECT_EQ(added.substance().codings(0).code(), "6387");
  EXPECT_EQ(added.verification_status(), "confirmed");
  EXPECT_EQ(added.recorded_date(), "2026-11-01");
  EXPECT_THAT(added.reactions(), ElementsAre("swelling", "hives"));
  EXPECT_EQ(a60.allergy_actions[1].kind, AllergyAction::Kind::kDelete);
  ApplyPatientUpdate(a60, &stored);
  ASSERT_EQ(stored.allergies_size(), 2);
  EXPECT_EQ(stored.allergies(0).substance().text(), "Lidocaine cream - hives");
  EXPECT_EQ(stored.allergies(1).id(), "ALG-7001");
  // Resent: the add finds its own entry by unique id (no duplicate).
  ApplyPatientUpdate(a60, &stored);
  EXPECT_EQ(stored.allergies_size(), 2);
  // An update by unique id replaces; X keeps; D by code removes.
  const std::string update =
      std::string(kMsh) +
      "PID|1||100234^^^H^MR\r"
      "IAM|1|DA|6387^Lidocaine^RXNORM|SV|anaphylaxis|U|ALG-7001\r"
      "IAM|2|DA|^Latex|||X\r";
  ApplyPatientUpdate(ReadOrFail(update), &stored);
  ASSERT_EQ(stored.allergies_size(), 3);
  EXPECT_THAT(stored.allergies(1).reactions(), ElementsAre("anaphylaxis"));
  EXPECT_EQ(stored.allergies(2).substance().text(), "Latex");
  ApplyPatientUpdate(
      ReadOrFail(std::string(kMsh) + "PID|1||100234^^^H^MR\r"
                                     "IAM|1|DA|6387^LIDO^RXN|||D\r"),
      &stored);
  ASSERT_EQ(stored.allergies_size(), 2);
  EXPECT_EQ(stored.allergies(1).substance().text(), "Latex");
}

// Actions that give one unique id to two allergens, in one message: the
// entries they name collapse into one, so a resent message leaves the list
// it left the first time (found by the hl7v2 fuzzer: EMLA added under two
// ids, then the second id moved to another substance).
TEST(ApplyPatientUpdateTest, ActionsNamingOneAllergyTwiceAreIdempotent) {
  const PatientUpdate update = ReadOrFail(std::string(kMsh) +
                                          "PID|1||100234^^^H^MR\r"
                                          "IAM|1|DA|^EMLA|||A|ALG-1\r"
                                          "IAM|2|DA|^EMLA|||A|ALG-2\r"
                                          "IAM|3|DA|^Latex|||A|ALG-2\r");
  v1::PatientRecord once;
  ApplyPatientUpdate(update, &once);
  ASSERT_EQ(once.allergies_size(), 1);
  EXPECT_EQ(once.allergies(0).id(), "ALG-2");
  EXPECT_EQ(once.allergies(0).substance().text(), "Latex");
  v1::PatientRecord twice = once;
  ApplyPatientUpdate(update, &twice);
  EXPECT_EQ(twice.SerializeAsString(), once.SerializeAsString())
      << twice.DebugString();
  // An update naming two stored entries (one by id, one by allergen) keeps
  // one of them, updated.
  v1::PatientRecord stored;
  v1::Allergy* by_id = stored.add_allergies();
  by_id->set_id("ALG-9");
  by_id->mutable_substance()->set_text("Benzocaine");
  stored.add_allergies()->mutable_substance()->set_text("Tetracaine");
  ApplyPatientUpdate(
      ReadOrFail(std::string(kMsh) + "PID|1||100234^^^H^MR\r"
                                     "IAM|1|DA|^Tetracaine|SV||U|ALG-9\r"),
      &stored);
  ASSERT_EQ(stored.allergies_size(), 1) << stored.DebugString();
  EXPECT_EQ(stored.allergies(0).id(), "ALG-9");
  EXPECT_EQ(stored.allergies(0).substance().text(), "Tetracaine");
}

TEST(ReadPatientUpdateTest, NoKnownAllergies) {
  for (const char* al1 :
       {"AL1|1|DA|NKA", "AL1|1|DA|^No known allergies",
        "AL1|1||716186003^No known allergy^SCT", "AL1|1|DA|NKDA"}) {
    const PatientUpdate u =
        ReadOrFail(std::string(kMsh) + "PID|1||7^^^H^MR\r" + al1 + "\r");
    EXPECT_TRUE(u.facts.no_known_allergies()) << al1;
    EXPECT_TRUE(u.replaces_allergies) << al1;
    EXPECT_EQ(u.facts.allergies_size(), 1) << al1;  // kept, as FHIR does
  }
  v1::PatientRecord stored;
  stored.add_allergies()->mutable_substance()->set_text("latex");
  ApplyPatientUpdate(
      ReadOrFail(std::string(kMsh) + "PID|1||7^^^H^MR\rAL1|1|DA|NKA\r"),
      &stored);
  EXPECT_TRUE(stored.no_known_allergies());
  ASSERT_EQ(stored.allergies_size(), 1);
  EXPECT_EQ(stored.allergies(0).substance().text(), "NKA");
}

TEST(ReadPatientUpdateTest, ObservationsAndMedications) {
  const PatientUpdate u = ReadOrFail(
      std::string(kMsh) +
      "PID|1||7^^^H^MR\r"
      "OBX|1|ST|^Fitzpatrick skin type||Type II||||||F|||20260105\r"
      "OBX|2|NM|8867-4^Heart rate^LN||72|/min|||||F\r"
      "OBX|3|ST|^Fitzpatrick skin type||V||||||W\r"
      "OBX|4|ST|^Fitzpatrick skin type||unclear||||||F\r"
      "RXE|^^^20260101|6387^Lidocaine^RXNORM\r"
      "RXA|0|1|20260201|20260201|1191^Aspirin^RXNORM|1||||||||||||||RE\r");
  EXPECT_EQ(u.facts.fitzpatrick_skin_type(), 2);  // OBX-11 W left out
  ASSERT_EQ(u.facts.observations_size(), 3);
  EXPECT_EQ(u.facts.observations(1).value().text(), "72 /min");
  ASSERT_EQ(u.facts.medications_size(), 2);
  EXPECT_EQ(u.facts.medications(0).start(), "2026-01-01");
  EXPECT_EQ(u.facts.medications(0).status(), "active");
  EXPECT_EQ(u.facts.medications(1).status(), "not-taken");
  EXPECT_EQ(u.facts.medications(1).id(), "M1/RXA-1");
}

// The parser's segment limit (2000) of observations: read and applied twice
// (the second time every entry is a duplicate) without quadratic copying.
TEST(ApplyPatientUpdateTest, ManyEntries) {
  std::string m = std::string(kMsh) + "PID|1||7^^^H^MR\r";
  for (int i = 0; i < 1990; ++i) {
    m += "OBX|" + std::to_string(i) + "|NM|8867-4^Heart rate^LN||" +
         std::to_string(i) + "|/min|||||F|||20260101\r";
  }
  const PatientUpdate u = ReadOrFail(m);
  ASSERT_EQ(u.facts.observations_size(), 1990);
  v1::PatientRecord stored;
  ApplyPatientUpdate(u, &stored);
  std::string resend = m;
  resend.replace(resend.find("|M1|"), 4, "|M2|");  // other control id
  ApplyPatientUpdate(ReadOrFail(resend), &stored);
  EXPECT_EQ(stored.observations_size(), 1990);
}

TEST(ReadPatientUpdateTest, Latin1TextBecomesUtf8) {
  // Not valid UTF-8 (a Latin-1 sender that declares nothing).
  PatientUpdate u = ReadOrFail(std::string(kMsh) +
                               "PID|1||M\xFCller-7^^^H\xF4pital^MR\r"
                               "AL1|1|DA|Lidoca\xEFne - \xE9ruption\r");
  EXPECT_EQ(u.identifiers[0].id, "M\xC3\xBCller-7");
  EXPECT_EQ(u.identifiers[0].authority, "H\xC3\xB4pital");
  EXPECT_EQ(u.facts.allergies(0).substance().text(),
            "Lidoca\xC3\xAFne - \xC3\xA9ruption");
  // Valid UTF-8 stays as it is.
  u = ReadOrFail(std::string(kMsh) + "PID|1||7\rAL1|1|DA|Lidoca\xC3\xAFne\r");
  EXPECT_EQ(u.facts.allergies(0).substance().text(), "Lidoca\xC3\xAFne");
}

TEST(ReadPatientUpdateTest, PatientAllergyNoteIsNeverLost) {
  const PatientUpdate u =
      ReadOrFail(std::string(kMsh) +
                 "PID|1||7^^^H^MR\rNTE|1||Allergic to benzocaine (rash)\r"
                 "PV1|1|O\rNTE|1||Wheelchair access\r"
                 "AL1|1|DA|Latex\r");
  ASSERT_EQ(u.facts.allergies_size(), 2);
  EXPECT_EQ(u.facts.allergies(0).substance().text(),
            "Allergic to benzocaine (rash)");
  EXPECT_EQ(u.unmapped_notes, 1);
}

TEST(ReadPatientUpdateTest, DiagnosisTypeAndAction) {
  const PatientUpdate u = ReadOrFail(
      std::string(kMsh) +
      "PID|1||7^^^H^MR\r"
      "DG1|1||L20.9^Atopic dermatitis^I10||20250102|W\r"
      "DG1|2||L70.0^Acne vulgaris^I10||20250102|F||||||||||||||DX-9|D\r"
      "DG1|3|||Rosacea\r");
  ASSERT_EQ(u.facts.conditions_size(), 2);
  EXPECT_EQ(u.facts.conditions(0).verification_status(), "provisional");
  EXPECT_EQ(u.facts.conditions(1).code().text(), "Rosacea");
  EXPECT_EQ(u.facts.conditions(1).id(), "DG1-3");
}

TEST(ReadPatientUpdateTest, Errors) {
  struct Case {
    std::string body;  // after the MSH
    Hl7ErrorCode code;
    std::string location;
  };
  const Case cases[] = {
      {"EVN|A08\r", Hl7ErrorCode::kRequiredFieldMissing, "PID^1"},
      {"PID|1||^^^H^MR~\r", Hl7ErrorCode::kRequiredFieldMissing, "PID^1^3"},
      {"PID|1||7||N||19880230\r", Hl7ErrorCode::kDataTypeError, "PID^1^7^1^1"},
      {"PID|1||7\rAL1|1|DA|X\rAL1|2|DA|Y|||2024\r"
       "DG1|1||L70.0^Acne^I10||yesterday\r",
       Hl7ErrorCode::kDataTypeError, "DG1^1^5^1^1"},
      {"PID|1||7\rAL1|1|DA|X|||2024133\r", Hl7ErrorCode::kDataTypeError,
       "AL1^1^6^1^1"},
      {"PID|1||7\rIAM|1|DA|X|||\r", Hl7ErrorCode::kRequiredFieldMissing,
       "IAM^1^6"},
      {"PID|1||7\rIAM|1|DA|X|||Q\r", Hl7ErrorCode::kTableValueNotFound,
       "IAM^1^6"},
      {"PID|1||7\rDG1|1|||\r", Hl7ErrorCode::kRequiredFieldMissing, "DG1^1^3"},
      {"PID|1||7\rAL1|1|DA||SV|hives\r", Hl7ErrorCode::kRequiredFieldMissing,
       "AL1^1^3"},
      {"PID|1||7\rIAM|1|DA||||A\r", Hl7ErrorCode::kRequiredFieldMissing,
       "IAM^1^3"},
      {"PID|1||7\rPR1|1|||\r", Hl7ErrorCode::kRequiredFieldMissing, "PR1^1^3"},
      {"PID|1||7\rOBX|1|ST|||4\r", Hl7ErrorCode::kRequiredFieldMissing,
       "OBX^1^3"},
      {"PID|1||7\rRXA|0|1|20260101||\r", Hl7ErrorCode::kRequiredFieldMissing,
       "RXA^1^5"},
  };
  for (const Case& c : cases) {
    const Hl7ErrorDetail e = ErrorOf(std::string(kMsh) + c.body);
    EXPECT_EQ(e.code, c.code) << c.body;
    EXPECT_EQ(e.location.ToString(), c.location) << c.body;
  }
}

TEST(ReadPatientMergesTest, A40PairsAndErrors) {
  absl::StatusOr<std::vector<PatientMerge>> merges =
      ReadPatientMerges(ParseOrFail(TestMessage("derm_adt_a40.hl7")));
  ASSERT_THAT(merges.status(), IsOk());
  ASSERT_EQ(merges->size(), 1u);
  EXPECT_EQ((*merges)[0].surviving[0].id, "100234");
  EXPECT_EQ((*merges)[0].prior[0].id, "100999");
  EXPECT_EQ((*merges)[0].prior[0].authority, "SKINCLINIC&1.2.3.4&ISO");
  const std::string two =
      "MSH|^~\\&|A|B|C|D|20261101||ADT^A40|M2|P|2.5.1\r"
      "PID|1||1^^^H\rMRG|2^^^H\rPID|2||3^^^H\rPD1\rMRG|4^^^H~5^^^H\r";
  merges = ReadPatientMerges(ParseOrFail(two));
  ASSERT_THAT(merges.status(), IsOk());
  ASSERT_EQ(merges->size(), 2u);
  EXPECT_EQ((*merges)[1].prior.size(), 2u);
  absl::StatusOr<std::vector<PatientMerge>> bad = ReadPatientMerges(ParseOrFail(
      "MSH|^~\\&|A|B|C|D|20261101||ADT^A40|M3|P|2.5.1\rPID|1||1\rMRG|\r"));
  EXPECT_EQ(Hl7ErrorOf(bad.status()).location.ToString(), "MRG^1^1");
  bad = ReadPatientMerges(ParseOrFail(
      "MSH|^~\\&|A|B|C|D|20261101||ADT^A40|M3|P|2.5.1\rPID|1||1\r"));
  EXPECT_EQ(Hl7ErrorOf(bad.status()).code, Hl7ErrorCode::kSegmentSequenceError);
}

TEST(MergePatientRecordsTest, UnionWithoutDuplicates) {
  v1::PatientRecord prior, surviving;
  ApplyPatientUpdate(ReadOrFail(TestMessage("derm_adt_a04.hl7")), &prior);
  ApplyPatientUpdate(ReadOrFail(TestMessage("derm_adt_a08.hl7")), &surviving);
  surviving.set_fitzpatrick_skin_type(0);
  surviving.set_no_known_allergies(true);
  MergePatientRecords(prior, &surviving);
  EXPECT_EQ(surviving.allergies_size(), 3);   // 1 note + 2 AL1
  EXPECT_EQ(surviving.conditions_size(), 3);  // L70.0/L71.9 once each
  EXPECT_EQ(surviving.procedures_size(), 1);
  EXPECT_EQ(surviving.fitzpatrick_skin_type(), 4);
  EXPECT_FALSE(surviving.no_known_allergies());
  const v1::PatientRecord once = surviving;
  MergePatientRecords(prior, &surviving);
  EXPECT_EQ(surviving.SerializeAsString(), once.SerializeAsString());
}

}  // namespace
}  // namespace needlecheck::hl7v2
