// ExtractFromJson / ExtractFromNdjsonLine / FhirRecordBuilder: document
// shapes, the field mapping, patient choice, "no known allergy" and the
// Fitzpatrick skin type.
#include "adapters/fhir/fhir_extract.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/arena.h"
#include "gtest/gtest.h"
#include "tests/adapters/fhir/fhir_test_util.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::fhir {
namespace {

using ::needlecheck::fhir::testing::ReadFile;
using ::needlecheck::fhir::testing::TestdataDir;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<FhirExtract> Extract(const std::string& json,
                                    ExtractOptions options = {}) {
  return ExtractFromJson(json, options);
}

std::string Bundle(const std::string& type, const std::string& entries) {
  return absl::StrCat(R"({"resourceType":"Bundle","type":")", type,
                      R"(","entry":[)", entries, "]}");
}

std::string Entry(const std::string& resource) {
  return absl::StrCat(R"({"resource":)", resource, "}");
}

const char kCondition[] =
    R"({"resourceType":"Condition","id":"c1",
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"24079001",
                           "display":"Atopic dermatitis"},
                          {"system":"http://hl7.org/fhir/sid/icd-10-cm",
                           "code":"L20.9"}],
                "text":"Eczema"},
        "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
        "subject":{"reference":"Patient/p1"},
        "onsetDateTime":"2020-02-29"})";

TEST(FhirExtractTest, EveryBundleType) {
  for (const char* type : {"collection", "transaction", "searchset", "batch",
                           "batch-response", "document", "history"}) {
    SCOPED_TRACE(type);
    absl::StatusOr<FhirExtract> got = Extract(Bundle(type, Entry(kCondition)));
    ASSERT_THAT(got, IsOk());
    ASSERT_EQ(got->record.conditions_size(), 1);
    EXPECT_EQ(got->stats.resources, 1);
  }
}

TEST(FhirExtractTest, BatchResponseEntriesWithoutResourceAreSkipped) {
  const std::string json = Bundle(
      "batch-response",
      absl::StrCat(R"({"response":{"status":"404 Not Found"}},)",
                   R"({"resource":)", Bundle("searchset", Entry(kCondition)),
                   R"(,"response":{"status":"200 OK"}})"));
  absl::StatusOr<FhirExtract> got = Extract(json);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.conditions_size(), 1);
  EXPECT_EQ(got->stats.resources, 1);  // Bundles are not counted
}

TEST(FhirExtractTest, ProcedureUsedCodeIsKept) {
  absl::StatusOr<FhirExtract> got = Extract(
      R"({"resourceType":"Procedure","id":"p1","status":"completed",)"
      R"("code":{"text":"Microneedling"},"performedDateTime":"2026-02-01",)"
      R"("usedCode":[{"coding":[{"system":"http://snomed.info/sct",)"
      R"("code":"346553009","display":"EMLA"}],"text":"EMLA cream"}]})");
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->record.procedures_size(), 1);
  ASSERT_EQ(got->record.procedures(0).used_size(), 1);
  EXPECT_EQ(got->record.procedures(0).used(0).text(), "EMLA cream");
  EXPECT_EQ(got->record.procedures(0).used(0).codings(0).code(), "346553009");
}

TEST(FhirExtractTest, ProcedurePerformerAndLocation) {
  absl::StatusOr<FhirExtract> got = Extract(Bundle(
      "collection",
      absl::StrCat(
          // Display first.
          Entry(R"({"resourceType":"Procedure","id":"p1","status":"completed",
              "code":{"text":"Microneedling"},"performedDateTime":"2026-02-01",
              "performer":[{"function":{"text":"Dermatologist"},
                            "actor":{"reference":"Practitioner/prac-1",
                                     "display":"Dr. Ana Ruiz"}},
                           {"actor":{"reference":"Practitioner/prac-2",
                                     "display":"Dr. Ben Okafor"}}],
              "location":{"reference":"Location/clinic-north",
                          "display":"North Clinic"}})"),
          ",",
          // No display: the reference.
          Entry(R"({"resourceType":"Procedure","id":"p2","status":"completed",
              "code":{"text":"Microneedling"},"performedDateTime":"2026-03-01",
              "performer":[{"actor":{"reference":"Practitioner/prac-3"}}],
              "location":{"reference":"Location/clinic-south"}})"),
          ",",
          // performer[0] without an actor: the first that names someone.
          Entry(R"({"resourceType":"Procedure","id":"p3","status":"completed",
              "code":{"text":"Microneedling"},"performedDateTime":"2026-04-01",
              "performer":[null,{"function":{"text":"Nurse"}},
                           {"actor":{"display":"Nurse Kim"}}]})"),
          ",",
          // Neither.
          Entry(R"({"resourceType":"Procedure","id":"p4","status":"completed",
              "code":{"text":"Microneedling"},"performedDateTime":"2026-05-01"})"))));
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->record.procedures_size(), 4);
  EXPECT_EQ(got->record.procedures(0).performer(), "Dr. Ana Ruiz");
  EXPECT_EQ(got->record.procedures(0).location(), "North Clinic");
  EXPECT_EQ(got->record.procedures(1).performer(), "Practitioner/prac-3");
  EXPECT_EQ(got->record.procedures(1).location(), "Location/clinic-south");
  EXPECT_EQ(got->record.procedures(2).performer(), "Nurse Kim");
  EXPECT_EQ(got->record.procedures(2).location(), "");
  EXPECT_EQ(got->record.procedures(3).performer(), "");
  EXPECT_EQ(got->record.procedures(3).location(), "");
}

TEST(FhirExtractTest, MedicationAdministrationIsAMedicationGivenThen) {
  absl::StatusOr<FhirExtract> got = Extract(Bundle(
      "collection",
      absl::StrCat(
          Entry(R"j({"resourceType":"MedicationAdministration","id":"ma1",
              "status":"completed",
              "medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct",
                  "code":"346553009",
                  "display":"Product containing lidocaine and prilocaine (medicinal product)"}],
                  "text":"EMLA cream"},
              "subject":{"reference":"Patient/p1"},
              "effectiveDateTime":"2026-02-01T09:30:00+01:00"})j"),
          ",", Entry(R"({"resourceType":"MedicationAdministration","id":"ma2",
              "status":"in-progress",
              "medicationReference":{"reference":"Medication/m9",
                                     "display":"Heparin 5000 units"},
              "subject":{"reference":"Patient/p1"},
              "effectivePeriod":{"start":"2026-02-03T08:00:00Z"}})"),
          ",", Entry(R"({"resourceType":"MedicationAdministration","id":"ma3",
              "status":"stopped",
              "medicationCodeableConcept":{"text":"Lidocaine 4% cream"},
              "subject":{"reference":"Patient/p1"},
              "effectivePeriod":{"start":"2026-02-04T08:00:00Z",
                                 "end":"2026-02-04T08:40:00Z"}})"))));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->stats.skipped_by_type.count("MedicationAdministration"), 0u);
  EXPECT_EQ(got->stats.by_type.at("MedicationAdministration"), 3);
  EXPECT_EQ(got->record.patient_id(), "p1");
  ASSERT_EQ(got->record.medications_size(), 3);
  const v1::Medication& emla = got->record.medications(0);
  EXPECT_EQ(emla.id(), "ma1");
  EXPECT_EQ(emla.code().text(), "EMLA cream");
  ASSERT_EQ(emla.code().codings_size(), 1);
  EXPECT_EQ(emla.code().codings(0).code(), "346553009");
  EXPECT_EQ(emla.status(), "completed");
  // effectiveDateTime: given that day, so it starts and ends then.
  EXPECT_EQ(emla.start(), "2026-02-01T09:30:00+01:00");
  EXPECT_EQ(emla.end(), "2026-02-01T09:30:00+01:00");
  const v1::Medication& heparin = got->record.medications(1);
  EXPECT_EQ(heparin.code().text(), "Heparin 5000 units");
  EXPECT_EQ(heparin.status(), "active");  // in-progress
  EXPECT_EQ(heparin.start(), "2026-02-03T08:00:00Z");
  EXPECT_EQ(heparin.end(), "");
  const v1::Medication& lido = got->record.medications(2);
  EXPECT_EQ(lido.status(), "stopped");
  EXPECT_EQ(lido.start(), "2026-02-04T08:00:00Z");
  EXPECT_EQ(lido.end(), "2026-02-04T08:40:00Z");
}

TEST(FhirExtractTest, MedicationAdministrationStatuses) {
  // FHIR R4 MedicationAdministration.status -> Medication.status; the engine
  // counts no "not-taken" or "entered-in-error" medication.
  const struct {
    const char* fhir;
    const char* record;
  } kCases[] = {{"in-progress", "active"},
                {"not-done", "not-taken"},
                {"on-hold", "on-hold"},
                {"completed", "completed"},
                {"entered-in-error", "entered-in-error"},
                {"stopped", "stopped"},
                {"unknown", "unknown"}};
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.fhir);
    absl::StatusOr<FhirExtract> got = ExtractFromNdjsonLine(
        absl::StrCat(R"({"resourceType":"MedicationAdministration","id":"ma",)",
                     R"("status":")", c.fhir,
                     R"(","medicationCodeableConcept":{"text":"EMLA cream"},)",
                     R"("subject":{"reference":"Patient/p1"},)",
                     R"("effectiveDateTime":"2026-02-01"})"),
        ExtractOptions());
    ASSERT_THAT(got, IsOk());
    ASSERT_EQ(got->record.medications_size(), 1);
    EXPECT_EQ(got->record.medications(0).status(), c.record);
    EXPECT_EQ(got->record.patient_id(), "p1");
  }
}

TEST(FhirExtractTest, MedicationAdministrationOfAnotherPatientIsLeftOut) {
  absl::StatusOr<FhirExtract> got =
      Extract(Bundle("collection",
                     R"({"resource":{"resourceType":"Patient","id":"p1"}},
         {"resource":{"resourceType":"MedicationAdministration","id":"ma1",
            "status":"completed","medicationCodeableConcept":{"text":"EMLA"},
            "subject":{"reference":"Patient/p2"},
            "effectiveDateTime":"2026-02-01"}})"));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.medications_size(), 0);
  EXPECT_EQ(got->stats.other_patient, 1);
}

TEST(FhirExtractTest, SingleResource) {
  absl::StatusOr<FhirExtract> got = Extract(kCondition);
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->record.conditions_size(), 1);
  const v1::Condition& c = got->record.conditions(0);
  EXPECT_EQ(c.id(), "c1");
  ASSERT_EQ(c.code().codings_size(), 2);
  EXPECT_EQ(c.code().codings(0).system(), "http://snomed.info/sct");
  EXPECT_EQ(c.code().codings(0).code(), "24079001");
  EXPECT_EQ(c.code().codings(0).display(), "Atopic dermatitis");
  EXPECT_EQ(c.code().codings(1).code(), "L20.9");
  EXPECT_EQ(c.code().text(), "Eczema");
  EXPECT_EQ(c.clinical_status(), "active");
  EXPECT_EQ(c.verification_status(), "");
  EXPECT_EQ(c.onset(), "2020-02-29");
  // No Patient resource: the patient the subject names.
  EXPECT_EQ(got->record.patient_id(), "p1");
}

TEST(FhirExtractTest, PrefetchFixtureMapsEveryField) {
  ExtractOptions options;
  options.as_of_date = "2026-12-01";
  absl::StatusOr<FhirExtract> got =
      Extract(ReadFile(TestdataDir() / "patient-view-prefetch.json"), options);
  ASSERT_THAT(got, IsOk());
  const v1::PatientRecord& r = got->record;
  EXPECT_EQ(r.patient_id(), "pat-9");
  EXPECT_EQ(r.birth_date(), "1990-06-15");

  ASSERT_EQ(r.conditions_size(), 2);
  EXPECT_EQ(r.conditions(0).code().codings_size(), 2);
  EXPECT_EQ(r.conditions(0).code().text(), "Eczema, flexural");
  EXPECT_EQ(r.conditions(0).clinical_status(), "resolved");
  EXPECT_EQ(r.conditions(0).verification_status(), "confirmed");
  EXPECT_EQ(r.conditions(0).onset(), "2026-01");         // onsetPeriod.start
  EXPECT_EQ(r.conditions(0).abatement(), "2026-03-10");  // abatementPeriod.end
  EXPECT_EQ(r.conditions(1).onset(), "");                // onsetString ignored
  EXPECT_EQ(r.conditions(1).clinical_status(), "inactive");

  ASSERT_EQ(r.allergies_size(), 2);
  EXPECT_TRUE(r.no_known_allergies());
  EXPECT_EQ(r.allergies(0).substance().text(), "NKDA");
  EXPECT_EQ(r.allergies(0).recorded_date(), "2024-02-02");
  const v1::Allergy& cream = r.allergies(1);
  EXPECT_EQ(cream.clinical_status(), "active");
  EXPECT_EQ(cream.recorded_date(), "2025-05-05");  // onsetDateTime fallback
  EXPECT_THAT(cream.notes(),
              ElementsAre("Rash after lidocaine cream at another clinic"));
  EXPECT_THAT(cream.reactions(),
              ElementsAre("Hives on both cheeks within an hour", "Hives",
                          "Urticaria", "Lidocaine"));

  ASSERT_EQ(r.observations_size(), 3);  // the entered-in-error one is left out
  EXPECT_EQ(r.observations(0).id(), "o-fitz-old");
  EXPECT_EQ(r.observations(0).value().codings(0).code(), "403222003");
  EXPECT_EQ(r.observations(1).value().text(), "Type IV");
  EXPECT_EQ(r.observations(1).effective(), "2026-06-01T10:00:00Z");
  EXPECT_EQ(r.observations(2).effective(), "2026-10-01T08:00:00.000Z");
  EXPECT_EQ(r.fitzpatrick_skin_type(), 4);

  ASSERT_EQ(r.procedures_size(), 2);
  const v1::Procedure& mn = r.procedures(0);
  EXPECT_EQ(mn.performed(), "2026-11-11T10:00:00+01:00");
  EXPECT_THAT(mn.areas(), ElementsAre(v1::TREATMENT_AREA_CHEEKS,
                                      v1::TREATMENT_AREA_PERIORBITAL));
  EXPECT_DOUBLE_EQ(mn.needle_depth_mm(), 1.0);  // 0.1 cm
  EXPECT_EQ(r.procedures(1).performed(), "2026-09-01");
  EXPECT_TRUE(r.procedures(1).areas().empty());
  EXPECT_DOUBLE_EQ(r.procedures(1).needle_depth_mm(), 0.25);  // note text

  ASSERT_EQ(r.medications_size(), 2);
  EXPECT_EQ(r.medications(0).status(), "completed");
  EXPECT_EQ(r.medications(0).start(), "2025-01-01");
  EXPECT_EQ(r.medications(0).end(), "2026-08-31");
  EXPECT_EQ(r.medications(1).code().text(), "Warfarin 5 mg tablet");
  EXPECT_EQ(r.medications(1).start(), "2026-02-02");
  EXPECT_EQ(r.medications(1).end(), "2027-02-01");

  EXPECT_EQ(got->stats.null_prefetch, 1);
  EXPECT_EQ(got->stats.skipped_by_type.at("OperationOutcome"), 1);
  EXPECT_EQ(got->stats.resources, 14);
}

TEST(FhirExtractTest, FitzpatrickIsTheLatestAsOfTheDate) {
  const std::string json =
      ReadFile(TestdataDir() / "patient-view-prefetch.json");
  ExtractOptions options;
  options.as_of_date = "2025-01-01";  // before the Type IV observation
  absl::StatusOr<FhirExtract> got = Extract(json, options);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.fitzpatrick_skin_type(), 2);
  options.as_of_date = "2023-12-31";  // before both
  got = Extract(json, options);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.fitzpatrick_skin_type(), 0);
  options.as_of_date = "";  // all of them
  got = Extract(json, options);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.fitzpatrick_skin_type(), 4);
  options.as_of_date = "2026-02-30";
  EXPECT_THAT(Extract(json, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("as_of_date: the date does not exist")));
}

std::string Fitz(const std::string& id, const std::string& date,
                 const std::string& value) {
  return absl::StrCat(
      R"({"resourceType":"Observation","id":")", id,
      R"(","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"66555-4"}]},"effectiveDateTime":")",
      date, R"(",)", value, "}");
}

TEST(FhirExtractTest, FitzpatrickValueForms) {
  struct Case {
    std::string value;
    int want;
  };
  const Case kCases[] = {
      {R"("valueInteger":5)", 5},
      {R"("valueInteger":7)", 0},
      {R"("valueString":"VI")", 6},
      {R"("valueString":"Fitzpatrick skin type 3")", 3},
      {R"("valueString":"III-IV")", 0},
      {R"("valueQuantity":{"value":2})", 2},
      {R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"403236008"}]})",
       6},
      {R"j("valueCodeableConcept":{"text":"Skin phototype I (always burn, never tan)"})j",
       1},
      {R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"403221005"},{"system":"http://snomed.info/sct","code":"403236008"}]})",
       0},  // conflicting codes: unclear
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.value);
    absl::StatusOr<FhirExtract> got = Extract(Fitz("f", "2026-01-01", c.value));
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->record.fitzpatrick_skin_type(), c.want);
    EXPECT_EQ(got->record.observations_size(), 1);
  }
}

TEST(FhirExtractTest, NoKnownAllergyForms) {
  auto allergy = [](const std::string& code, const std::string& extra = "") {
    return absl::StrCat(
        R"({"resourceType":"AllergyIntolerance","id":"a","code":)", code, extra,
        "}");
  };
  const char* const kYes[] = {
      R"({"text":"No Known Allergies"})",
      R"({"text":"NKA"})",
      R"({"text":"nkda"})",
      R"({"text":"No known drug allergies"})",
      R"j({"coding":[{"system":"http://snomed.info/sct","code":"716186003","display":"No known allergy (situation)"}]})j",
      R"({"coding":[{"system":"http://snomed.info/sct","code":"409137002"}]})",
      R"j({"coding":[{"system":"urn:local","code":"X","display":"No known drug allergy (situation)"}]})j",
  };
  for (const char* code : kYes) {
    SCOPED_TRACE(code);
    absl::StatusOr<FhirExtract> got = Extract(allergy(code));
    ASSERT_THAT(got, IsOk());
    EXPECT_TRUE(got->record.no_known_allergies());
    EXPECT_EQ(got->record.allergies_size(), 1);  // the entry is kept
  }
  const char* const kNo[] = {
      R"({"text":"Lidocaine"})",
      R"({"text":"No known latex allergy"})",
      R"({"text":"NKDA but hives after EMLA"})",
      R"({"coding":[{"system":"urn:local","code":"716186003"}]})",
  };
  for (const char* code : kNo) {
    SCOPED_TRACE(code);
    absl::StatusOr<FhirExtract> got = Extract(allergy(code));
    ASSERT_THAT(got, IsOk());
    EXPECT_FALSE(got->record.no_known_allergies());
  }
  // A refuted NKA statement states nothing.
  absl::StatusOr<FhirExtract> got = Extract(
      allergy(R"({"text":"NKA"})",
              R"(,"verificationStatus":{"coding":[{"code":"refuted"}]})"));
  ASSERT_THAT(got, IsOk());
  EXPECT_FALSE(got->record.no_known_allergies());
}

TEST(FhirExtractTest, PatientChoice) {
  const std::string two = Bundle(
      "collection",
      absl::StrCat(
          R"({"fullUrl":"urn:uuid:aaa","resource":{"resourceType":"Patient","id":"a","birthDate":"1980"}},)",
          R"({"fullUrl":"urn:uuid:bbb","resource":{"resourceType":"Patient","id":"b","birthDate":"1990-01-02"}},)",
          R"({"resource":{"resourceType":"Condition","id":"ca","subject":{"reference":"urn:uuid:aaa"}}},)",
          R"({"resource":{"resourceType":"Condition","id":"cb","subject":{"reference":"Patient/b"}}},)",
          R"({"resource":{"resourceType":"Condition","id":"cb2","subject":{"reference":"https://x.org/fhir/Patient/b/_history/3"}}},)",
          R"({"resource":{"resourceType":"Condition","id":"none"}})"));
  EXPECT_THAT(Extract(two), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("2 Patient resources")));
  ExtractOptions options;
  options.patient_id = "b";
  absl::StatusOr<FhirExtract> got = Extract(two, options);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.patient_id(), "b");
  EXPECT_EQ(got->record.birth_date(), "1990-01-02");
  ASSERT_EQ(got->record.conditions_size(), 3);
  EXPECT_EQ(got->record.conditions(0).id(), "cb");
  EXPECT_EQ(got->record.conditions(1).id(), "cb2");
  EXPECT_EQ(got->record.conditions(2).id(), "none");
  EXPECT_EQ(got->stats.other_patient, 1);
  options.patient_id = "zzz";
  EXPECT_THAT(Extract(two, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not among the 2 Patient")));

  // No Patient resource, references to two patients.
  const std::string refs = Bundle(
      "searchset",
      R"({"resource":{"resourceType":"Condition","id":"x","subject":{"reference":"Patient/1"}}},
         {"resource":{"resourceType":"Condition","id":"y","subject":{"reference":"Patient/2"}}})");
  EXPECT_THAT(Extract(refs), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("2 different patients")));
  options.patient_id = "2";
  got = Extract(refs, options);
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->record.conditions_size(), 1);
  EXPECT_EQ(got->record.conditions(0).id(), "y");
}

TEST(FhirExtractTest, MedicationStatementDateTimeAndRequestAuthoredOn) {
  absl::StatusOr<FhirExtract> got = Extract(Bundle(
      "collection",
      absl::StrCat(
          Entry(
              R"({"resourceType":"MedicationStatement","id":"ms","status":"active",
                    "medicationCodeableConcept":{"text":"Aspirin 81 mg"},
                    "effectiveDateTime":"2026-03-01T08:00:00-05:00"})"),
          ",",
          Entry(
              R"({"resourceType":"MedicationRequest","id":"mr","status":"stopped",
                    "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"855332"}]},
                    "authoredOn":"2019-11-27T02:11:45-05:00"})"))));
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->record.medications_size(), 2);
  EXPECT_EQ(got->record.medications(0).start(), "2026-03-01T08:00:00-05:00");
  EXPECT_EQ(got->record.medications(0).end(), "");
  EXPECT_EQ(got->record.medications(1).start(), "2019-11-27T02:11:45-05:00");
  EXPECT_EQ(got->record.medications(1).status(), "stopped");
}

TEST(FhirExtractTest, DraftOrdersInABundleAreCandidates) {
  absl::StatusOr<FhirExtract> got = Extract(Bundle(
      "collection",
      absl::StrCat(
          Entry(R"({"resourceType":"ServiceRequest","id":"sr","status":"draft",
                    "code":{"text":"Microneedling"},"bodySite":[{"text":"Neck"}],
                    "occurrenceDateTime":"2026-12-01"})"),
          ",",
          Entry(
              R"({"resourceType":"ServiceRequest","id":"done","status":"completed",
                    "code":{"text":"Microneedling"}})"),
          ",",
          Entry(
              R"({"resourceType":"Procedure","id":"prep","status":"preparation",
                    "code":{"text":"Collagen induction therapy"}})"),
          ",",
          Entry(
              R"({"resourceType":"MedicationRequest","id":"emla","status":"draft",
                    "medicationCodeableConcept":{"text":"EMLA 5% cream"}})"),
          ",",
          Entry(R"({"resourceType":"Appointment","id":"ap","status":"booked",
                    "start":"2026-12-01T09:00:00Z","description":"Micro-needling"})"))));
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->planned.areas.size(), 2u);
  EXPECT_EQ(got->planned.areas[0].source, "ServiceRequest/sr");
  EXPECT_EQ(got->planned.areas[0].date, "2026-12-01");
  ASSERT_EQ(got->planned.areas[0].areas.size(), 1u);
  EXPECT_EQ(got->planned.areas[0].areas[0].area(), v1::TREATMENT_AREA_NECK);
  EXPECT_EQ(got->planned.areas[1].source, "Procedure/prep");
  EXPECT_EQ(got->planned.areas[1].areas[0].area(),
            v1::TREATMENT_AREA_UNSPECIFIED);
  ASSERT_EQ(got->planned.anesthetics.size(), 1u);
  EXPECT_EQ(got->planned.anesthetics[0].anesthetic.text(), "EMLA 5% cream");
  ASSERT_EQ(got->planned.appointments.size(), 1u);
  EXPECT_TRUE(got->planned.appointments[0].microneedling);
  // The Procedure in preparation is also a procedure of the record (the
  // engine does not count preparation as a session).
  EXPECT_EQ(got->record.procedures_size(), 1);
  EXPECT_EQ(got->record.medications_size(), 1);
}

TEST(FhirExtractTest, NeedleDepthUnits) {
  auto proc = [](const std::string& quantity) {
    return absl::StrCat(
        R"({"resourceType":"Procedure","id":"p","code":{"text":"Microneedling"},"extension":[{"url":"urn:needlecheck:fhir:needle-depth","valueQuantity":)",
        quantity, "}]}");
  };
  struct Case {
    const char* quantity;
    double want;
  };
  const Case kCases[] = {
      {R"({"value":0.5,"unit":"mm"})", 0.5},
      {R"({"value":0.5})", 0.5},
      {R"({"value":0.15,"unit":"cm"})", 1.5},
      {R"({"value":250,"unit":"um"})", 0.25},
      {R"({"value":750,"unit":"µm"})", 0.75},
      {R"({"value":1,"unit":"millimetres","code":"mm","system":"http://unitsofmeasure.org"})",
       1.0},
      {R"({"value":2,"unit":"Millimeter"})", 2.0},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.quantity);
    absl::StatusOr<FhirExtract> got = Extract(proc(c.quantity));
    ASSERT_THAT(got, IsOk());
    EXPECT_NEAR(got->record.procedures(0).needle_depth_mm(), c.want, 1e-9);
  }
  EXPECT_THAT(
      Extract(proc(R"({"value":0.02,"unit":"in"})")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("Procedure/p: $.extension[0].valueQuantity.unit: "
                         "the unit is not a needle-depth unit")));
  EXPECT_THAT(Extract(proc(R"({"value":1,"code":"[in_i]","unit":"mm"})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.extension[0].valueQuantity.code")));
  EXPECT_THAT(Extract(proc(R"({"value":-1,"unit":"mm"})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("greater than 0")));
  EXPECT_THAT(Extract(proc(R"({"value":1e308,"unit":"cm"})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not plausible")));
  EXPECT_THAT(Extract(proc(R"({"value":150,"unit":"mm"})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the needle depth is not plausible (at most "
                                 "100 mm)")));
  EXPECT_THAT(
      Extract(proc(R"({"unit":"mm"})")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no value")));
  EXPECT_THAT(Extract(proc(R"({"value":"0.5","unit":"mm"})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.extension[0].valueQuantity.value: "
                                 "expected a number, got a string")));
}

TEST(FhirExtractTest, UnknownTypesAreSkippedAndCounted) {
  absl::StatusOr<FhirExtract> got = Extract(Bundle(
      "collection",
      R"({"resource":{"resourceType":"Encounter","id":"e1","period":"not read"}},
         {"resource":{"resourceType":"Encounter","id":"e2"}},
         {"resource":{"resourceType":"Claim","id":"c"}},
         {"resource":{"resourceType":"Patient","id":"p","birthDate":"2000-01-01"}})"));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->stats.resources, 4);
  EXPECT_EQ(got->stats.skipped_by_type.at("Encounter"), 2);
  EXPECT_EQ(got->stats.skipped_by_type.at("Claim"), 1);
  EXPECT_EQ(got->stats.skipped_by_type.count("Patient"), 0u);
  EXPECT_EQ(got->stats.by_type.at("Patient"), 1);
}

TEST(FhirExtractTest, NdjsonLines) {
  absl::StatusOr<FhirExtract> got = ExtractFromNdjsonLine(
      R"({"resourceType":"AllergyIntolerance","id":"a","patient":{"reference":"Patient/42"},"code":{"text":"latex"}})",
      ExtractOptions());
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.patient_id(), "42");
  EXPECT_EQ(got->record.allergies_size(), 1);
  got = ExtractFromNdjsonLine("  \r", ExtractOptions());
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->stats.resources, 0);

  FhirRecordBuilder builder{ExtractOptions()};
  EXPECT_THAT(
      builder.AddNdjson(absl::StrCat(
          R"({"resourceType":"Patient","id":"42"})", "\r\n\n",
          R"({"resourceType":"Condition","id":"c","subject":{"reference":"Patient/42"}})",
          "\n")),
      IsOk());
  EXPECT_THAT(
      builder.AddNdjson(absl::StrCat(
          R"({"resourceType":"Condition","id":"ok"})", "\n",
          R"({"resourceType":"Condition","id":"bad","onsetDateTime":"2026-13-01"})")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("line 2: Condition/bad: $.onsetDateTime:")));
  got = builder.Finish();
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.patient_id(), "42");
  // The first line of the failed call was added; the bad one was not.
  ASSERT_EQ(got->record.conditions_size(), 2);
  EXPECT_EQ(got->record.conditions(1).id(), "ok");
  // Finish empties the builder.
  got = builder.Finish();
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.conditions_size(), 0);
}

TEST(FhirExtractTest, BuilderMergesPrefetchAndFetchedSearches) {
  FhirRecordBuilder builder{ExtractOptions()};
  ASSERT_THAT(builder.AddJson(R"({"patient":{"resourceType":"Patient","id":"p"},
                                  "conditions":null})"),
              IsOk());
  ASSERT_THAT(builder.AddJson(Bundle("searchset", Entry(kCondition))), IsOk());
  // A failed document contributes nothing.
  EXPECT_THAT(
      builder.AddJson(Bundle(
          "searchset",
          absl::StrCat(Entry(kCondition), ",",
                       Entry(R"({"resourceType":"Condition","code":5})")))),
      StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<FhirExtract> got = builder.Finish();
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.patient_id(), "p");
  EXPECT_EQ(got->record.conditions_size(), 0);  // c1 names Patient/p1
  EXPECT_EQ(got->stats.other_patient, 1);
  EXPECT_EQ(got->stats.null_prefetch, 1);
}

// One builder, restarted for each patient (as a batch reader uses it),
// reads each record as a new builder would: nothing of the previous
// patient, the new options (patient id, limits) in force.
TEST(FhirExtractTest, RestartReadsTheNextRecordAsANewBuilderWould) {
  ExtractOptions first;
  first.patient_id = "p1";
  FhirRecordBuilder builder(first);
  ASSERT_THAT(builder.AddJson(kCondition), IsOk());
  absl::StatusOr<FhirExtract> got = builder.Finish();
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.patient_id(), "p1");
  EXPECT_EQ(got->record.conditions_size(), 1);

  ExtractOptions second;
  second.patient_id = "p2";
  second.max_resources = 1;
  builder.Restart(second);
  ASSERT_THAT(builder.AddJson(kCondition), IsOk());  // p1's: left out
  EXPECT_THAT(builder.AddJson(kCondition),
              StatusIs(absl::StatusCode::kResourceExhausted));
  got = builder.Finish();
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->record.patient_id(), "p2");
  EXPECT_EQ(got->record.conditions_size(), 0);
  EXPECT_EQ(got->stats.other_patient, 1);
  EXPECT_EQ(got->stats.resources, 1);
}

TEST(FhirExtractTest, MaxResources) {
  ExtractOptions options;
  options.max_resources = 2;
  const std::string three = Bundle(
      "collection", absl::StrCat(Entry(kCondition), ",", Entry(kCondition), ",",
                                 Entry(kCondition)));
  EXPECT_THAT(Extract(three, options),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("more than 2 FHIR resources")));
  FhirRecordBuilder builder(options);
  EXPECT_THAT(builder.AddJson(kCondition), IsOk());
  EXPECT_THAT(builder.AddJson(kCondition), IsOk());
  EXPECT_THAT(builder.AddJson(kCondition),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// On an arena (as a CDS Hooks call builds its ScreenRequest), the builder
// gives the same record, every message of it on that arena, for every
// fixture and corpus document.
TEST(FhirRecordBuilderTest, ArenaRecordIsTheHeapRecord) {
  std::vector<std::filesystem::path> files =
      testing::FilesIn(TestdataDir(), ".json");
  // And up to 20 bundles of the shared corpus, when it is there.
  const std::vector<std::filesystem::path> corpus =
      testing::FilesIn(testing::CorpusDir("fhir-r4-bundles"), ".json");
  for (size_t i = 0; i < corpus.size() && i < 20; ++i) {
    files.push_back(corpus[i]);
  }
  ASSERT_GE(files.size(), 5u);
  int compared = 0;
  for (const auto& file : files) {
    JsonDocument document;
    if (!document.Parse(ReadFile(file), size_t{64} << 20, 64).ok()) continue;
    ExtractOptions options;
    FhirRecordBuilder heap_builder(options);
    absl::Status heap_added = heap_builder.AddDocument(document);
    absl::StatusOr<FhirExtract> heap =
        heap_added.ok() ? heap_builder.Finish() : heap_added;

    google::protobuf::Arena arena;
    options.arena = &arena;
    FhirRecordBuilder arena_builder(options);
    auto* record =
        google::protobuf::Arena::CreateMessage<needlecheck::v1::PatientRecord>(
            &arena);
    absl::Status arena_added = arena_builder.AddDocument(document);
    absl::StatusOr<FhirExtract> on_arena =
        arena_added.ok() ? arena_builder.Finish(record) : arena_added;
    ASSERT_EQ(heap.status(), on_arena.status()) << file;
    if (!heap.ok()) continue;
    ++compared;
    EXPECT_EQ(on_arena->record.ByteSizeLong(), 0u) << file;
    std::string heap_bytes, arena_bytes;
    ASSERT_TRUE(heap->record.SerializeToString(&heap_bytes));
    ASSERT_TRUE(record->SerializeToString(&arena_bytes));
    EXPECT_EQ(arena_bytes, heap_bytes) << file;
    for (const auto& c : record->conditions()) {
      EXPECT_EQ(c.GetArena(), &arena) << file;
    }
    for (const auto& m : record->medications()) {
      EXPECT_EQ(m.GetArena(), &arena) << file;
    }
    EXPECT_EQ(heap->stats.resources, on_arena->stats.resources) << file;
    EXPECT_EQ(heap->planned.areas.size(), on_arena->planned.areas.size())
        << file;
  }
  EXPECT_GE(compared, 5);
}

}  // namespace
}  // namespace needlecheck::fhir
