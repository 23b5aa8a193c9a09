// Audits of past sessions: as-of semantics and every verdict.
#include "service/engine/audit.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace needlecheck::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;
using v1::AuditFinding;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kb = kb::LoadBundledKnowledgeBase();
    ASSERT_TRUE(kb.ok()) << kb.status();
    kb_ = *kb;
  }

  std::vector<AuditFinding> Audit(const std::string& text) {
    v1::PatientRecord record;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        "patient_id: \"pat-1\" no_known_allergies: true "
        "fitzpatrick_skin_type: 2\n" +
            text,
        &record));
    return AuditRecord(*kb_, record);
  }

  static std::string Session(const std::string& id, const std::string& date,
                             const std::string& extra = "") {
    return "procedures { id: \"" + id +
           "\" code { text: \"Microneedling\" } status: \"completed\" "
           "performed: \"" +
           date + "\" " + extra + " }\n";
  }

  static std::vector<v1::AuditVerdict> Verdicts(
      const std::vector<AuditFinding>& findings) {
    std::vector<v1::AuditVerdict> out;
    for (const auto& f : findings) out.push_back(f.verdict());
    return out;
  }

  std::shared_ptr<const kb::KnowledgeBase> kb_;
};

TEST_F(AuditTest, EverySessionIsAuditedAsOfItsOwnDate) {
  auto findings =
      Audit(Session("p1", "2026-01-10") + Session("p2", "2026-03-01") +
            "procedures { id: \"x\" code { text: \"Chemical peel\" } "
            "status: \"completed\" performed: \"2026-02-01\" }");
  ASSERT_THAT(findings, SizeIs(2));
  EXPECT_EQ(findings[0].patient_id(), "pat-1");
  EXPECT_EQ(findings[0].session().procedure_id(), "p1");
  EXPECT_EQ(findings[0].session().date(), "2026-01-10");
  EXPECT_EQ(findings[1].session().procedure_id(), "p2");
  EXPECT_THAT(Verdicts(findings),
              ElementsAre(v1::AUDIT_VERDICT_CLEAR, v1::AUDIT_VERDICT_CLEAR));
}

TEST_F(AuditTest, IntervalViolationComesFirstAndNeverFromItselfOrTheSameDay) {
  auto findings =
      Audit(Session("p1", "2026-01-10", "areas: TREATMENT_AREA_CHEEKS") +
            Session("p2", "2026-01-30", "areas: TREATMENT_AREA_FULL_FACE") +
            Session("p3", "2026-01-30", "areas: TREATMENT_AREA_FULL_FACE") +
            "conditions { id: \"c1\" code { codings { system: "
            "\"http://snomed.info/sct\" code: \"24079001\" } } "
            "clinical_status: \"active\" onset: \"2026-01-20\" }");
  ASSERT_THAT(findings, SizeIs(3));
  // p1: nothing before it, no eczema yet.
  EXPECT_EQ(findings[0].verdict(), v1::AUDIT_VERDICT_CLEAR);
  // p2 and p3: 20 days after p1 on an overlapping area; p2 and p3 (same day)
  // are not each other's previous session. The interval verdict wins over
  // the eczema (critical).
  EXPECT_EQ(findings[1].verdict(), v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  EXPECT_EQ(findings[2].verdict(), v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  bool interval_evidence_is_p1 = false;
  for (const auto& alert : findings[1].alerts()) {
    if (alert.rule_id() == "MN-FREQ-INTERVAL") {
      ASSERT_EQ(alert.evidence_size(), 1);
      interval_evidence_is_p1 = alert.evidence(0).entry_id() == "p1";
    }
  }
  EXPECT_TRUE(interval_evidence_is_p1);
}

TEST_F(AuditTest, ConditionResolvedBeforeTheSessionDoesNotCount) {
  const std::string eczema =
      "conditions { id: \"c1\" code { codings { system: "
      "\"http://snomed.info/sct\" code: \"24079001\" } } "
      "clinical_status: \"resolved\" onset: \"2025-06-01\" abatement: "
      "\"2025-12-01\" }\n";
  auto findings =
      Audit(eczema + Session("p1", "2025-10-01") + Session("p2", "2026-02-01"));
  EXPECT_THAT(Verdicts(findings),
              ElementsAre(v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL,
                          v1::AUDIT_VERDICT_CLEAR));
}

TEST_F(AuditTest, AllergyRecordedAfterTheSessionDoesNotCountAgainstIt) {
  const std::string allergy =
      "allergies { id: \"a1\" substance { text: \"Other\" } clinical_status: "
      "\"active\" recorded_date: \"2026-03-01\" notes: \"rash after lidocaine "
      "cream\" }\n";
  auto findings = Audit(
      allergy + Session("p1", "2026-02-01", "used { text: \"EMLA cream\" }") +
      Session("p2", "2026-04-01", "used { text: \"EMLA cream\" }"));
  ASSERT_THAT(findings, SizeIs(2));
  EXPECT_EQ(findings[0].verdict(), v1::AUDIT_VERDICT_CLEAR);
  EXPECT_EQ(findings[0].session().anesthetic().text(), "EMLA cream");
  // EMLA contains lidocaine: critical once the allergy was on record.
  EXPECT_EQ(findings[1].verdict(), v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL);
}

TEST_F(AuditTest, AnestheticFromAMedicationThatDay) {
  const std::string record =
      "allergies { id: \"a1\" substance { text: \"tetracaine\" } "
      "clinical_status: \"active\" recorded_date: \"2025-01-01\" }\n"
      "medications { id: \"m1\" code { text: \"Benzocaine 20% gel\" } status: "
      "\"completed\" start: \"2026-02-01\" }\n" +
      Session("p1", "2026-02-01");
  auto findings = Audit(record);
  ASSERT_THAT(findings, SizeIs(1));
  EXPECT_EQ(findings[0].session().anesthetic().text(), "Benzocaine 20% gel");
  // Ester allergy, ester used.
  EXPECT_EQ(findings[0].verdict(), v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL);
}

// A FHIR MedicationAdministration as adapters/fhir maps it: status as given,
// start = end = effectiveDateTime (it was given that day).
TEST_F(AuditTest, AdministrationOnTheSessionDayIsTheAnesthetic) {
  const std::string record =
      "allergies { id: \"a1\" substance { codings { system: "
      "\"http://www.nlm.nih.gov/research/umls/rxnorm\" code: \"6387\" } "
      "text: \"Lidocaine\" } clinical_status: \"active\" recorded_date: "
      "\"2026-01-15\" }\n"
      "medications { id: \"madm-1\" code { text: \"EMLA cream\" } status: "
      "\"completed\" start: \"2026-02-01T09:30:00+01:00\" end: "
      "\"2026-02-01T09:30:00+01:00\" }\n" +
      Session("p1", "2026-02-01T10:00:00+01:00") + Session("p2", "2026-04-01");
  auto findings = Audit(record);
  ASSERT_THAT(findings, SizeIs(2));
  EXPECT_EQ(findings[0].session().anesthetic().text(), "EMLA cream");
  const v1::Alert* allergy = nullptr;
  for (const auto& alert : findings[0].alerts()) {
    if (alert.rule_id() == "MN-ALLERGY-ANESTHETIC") allergy = &alert;
  }
  ASSERT_NE(allergy, nullptr);
  // EMLA contains lidocaine, and the allergy was on record that day.
  EXPECT_EQ(allergy->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(findings[0].verdict(), v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL);
  // Two months later nothing was given that day: no anesthetic known, so
  // the allergy is only a warning.
  EXPECT_EQ(findings[1].session().anesthetic().ByteSizeLong(), 0u);
  EXPECT_EQ(findings[1].verdict(), v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING);
}

TEST_F(AuditTest, AdministrationRecordedBeforeTheAllergyIsClear) {
  const std::string record =
      "allergies { id: \"a1\" substance { text: \"Lidocaine\" } "
      "clinical_status: \"active\" recorded_date: \"2026-03-01\" }\n"
      "medications { id: \"madm-1\" code { text: \"EMLA cream\" } status: "
      "\"completed\" start: \"2026-02-01\" end: \"2026-02-01\" }\n" +
      Session("p1", "2026-02-01");
  auto findings = Audit(record);
  ASSERT_THAT(findings, SizeIs(1));
  EXPECT_EQ(findings[0].session().anesthetic().text(), "EMLA cream");
  EXPECT_EQ(findings[0].verdict(), v1::AUDIT_VERDICT_CLEAR);
}

TEST_F(AuditTest, AnAdministrationNotGivenIsNotTheAnesthetic) {
  // adapters/fhir maps MedicationAdministration "not-done" to "not-taken".
  for (const char* status : {"not-taken", "entered-in-error"}) {
    const std::string record =
        "allergies { id: \"a1\" substance { text: \"Lidocaine\" } "
        "clinical_status: \"active\" recorded_date: \"2026-01-01\" }\n"
        "medications { id: \"madm-1\" code { text: \"EMLA cream\" } "
        "status: \"" +
        std::string(status) +
        "\" start: \"2026-02-01\" end: \"2026-02-01\" }\n" +
        Session("p1", "2026-02-01");
    auto findings = Audit(record);
    ASSERT_THAT(findings, SizeIs(1)) << status;
    EXPECT_EQ(findings[0].session().anesthetic().ByteSizeLong(), 0u) << status;
    EXPECT_EQ(findings[0].verdict(), v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING)
        << status;
  }
}

TEST_F(AuditTest, PerformerAndLocationAreCopied) {
  auto findings =
      Audit(Session("p1", "2026-02-01",
                    "performer: \"Dr. Ana Ruiz\" location: \"North Clinic\"") +
            Session("p2", "2026-04-01"));
  ASSERT_THAT(findings, SizeIs(2));
  EXPECT_EQ(findings[0].session().performer(), "Dr. Ana Ruiz");
  EXPECT_EQ(findings[0].session().location(), "North Clinic");
  EXPECT_EQ(findings[1].session().performer(), "");
  EXPECT_EQ(findings[1].session().location(), "");
}

TEST_F(AuditTest, DaysSincePreviousSessionIsUnsetForAFirstSession) {
  auto findings = Audit(Session("p1", "2026-02-01"));
  ASSERT_THAT(findings, SizeIs(1));
  EXPECT_FALSE(findings[0].session().has_days_since_previous_session());
}

TEST_F(AuditTest, DaysSincePreviousSessionOnTheSameArea) {
  auto findings =
      Audit(Session("p1", "2026-02-01", "areas: TREATMENT_AREA_CHEEKS") +
            Session("p2", "2026-02-16", "areas: TREATMENT_AREA_CHEEKS") +
            Session("p3", "2026-04-16", "areas: TREATMENT_AREA_FULL_FACE"));
  ASSERT_THAT(findings, SizeIs(3));
  EXPECT_FALSE(findings[0].session().has_days_since_previous_session());
  ASSERT_TRUE(findings[1].session().has_days_since_previous_session());
  EXPECT_EQ(findings[1].session().days_since_previous_session(), 15);
  EXPECT_EQ(findings[1].verdict(), v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  // Set beyond the 28 days too (full face overlaps cheeks): 59 days after
  // the latest, not the first.
  ASSERT_TRUE(findings[2].session().has_days_since_previous_session());
  EXPECT_EQ(findings[2].session().days_since_previous_session(), 59);
  EXPECT_EQ(findings[2].verdict(), v1::AUDIT_VERDICT_CLEAR);
}

TEST_F(AuditTest, DaysSincePreviousSessionIgnoresOtherAreasAndTheSameDay) {
  auto findings =
      Audit(Session("p1", "2026-02-01", "areas: TREATMENT_AREA_BACK") +
            Session("p2", "2026-02-10", "areas: TREATMENT_AREA_FULL_FACE") +
            Session("p3", "2026-02-10", "areas: TREATMENT_AREA_FULL_FACE") +
            Session("p4", "2026-02-20", "areas: TREATMENT_AREA_BACK"));
  ASSERT_THAT(findings, SizeIs(4));
  // The back is not previous for the face, and p2 and p3 (same day) are
  // not each other's previous session.
  EXPECT_FALSE(findings[1].session().has_days_since_previous_session());
  EXPECT_FALSE(findings[2].session().has_days_since_previous_session());
  // The back, 19 days after the back (the face sessions in between do not
  // overlap it).
  ASSERT_TRUE(findings[3].session().has_days_since_previous_session());
  EXPECT_EQ(findings[3].session().days_since_previous_session(), 19);
}

TEST_F(AuditTest, DaysSincePreviousSessionUsesTheIntervalRuleDefinitions) {
  // A session without areas overlaps everything; a partial date counts as
  // its last possible day; a not-done procedure is no session.
  auto findings =
      Audit(Session("p1", "2026-01", "areas: TREATMENT_AREA_NECK") +
            "procedures { id: \"x\" code { text: \"Microneedling\" } status: "
            "\"not-done\" performed: \"2026-02-05\" }\n" +
            Session("p2", "2026-02-10"));
  ASSERT_THAT(findings, SizeIs(2));
  EXPECT_EQ(findings[0].session().date(), "2026-01-31");
  ASSERT_TRUE(findings[1].session().has_days_since_previous_session());
  EXPECT_EQ(findings[1].session().days_since_previous_session(), 10);
  EXPECT_EQ(findings[1].verdict(), v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
}

TEST_F(AuditTest, WarningVerdictAndInfoIsClear) {
  auto warfarin = Audit(
      "medications { id: \"m1\" code { text: \"Warfarin 5 mg\" } status: "
      "\"active\" start: \"2025-01-01\" }\n" +
      Session("p1", "2026-02-01"));
  EXPECT_THAT(Verdicts(warfarin),
              ElementsAre(v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING));
  auto eye =
      Audit(Session("p1", "2026-02-01",
                    "areas: TREATMENT_AREA_PERIORBITAL needle_depth_mm: 1.0"));
  EXPECT_THAT(Verdicts(eye),
              ElementsAre(v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING));
  // Only an INFO alert (periorbital without a depth): clear.
  auto info =
      Audit(Session("p1", "2026-02-01", "areas: TREATMENT_AREA_PERIORBITAL"));
  ASSERT_THAT(info, SizeIs(1));
  EXPECT_EQ(info[0].verdict(), v1::AUDIT_VERDICT_CLEAR);
  EXPECT_GT(info[0].alerts_size(), 0);
}

TEST_F(AuditTest, NotPerformedOrUndatedProceduresAreNotSessions) {
  auto findings = Audit(
      "procedures { id: \"p1\" code { text: \"Microneedling\" } status: "
      "\"not-done\" performed: \"2026-01-01\" }\n"
      "procedures { id: \"p2\" code { text: \"Microneedling\" } status: "
      "\"entered-in-error\" performed: \"2026-01-01\" }\n"
      "procedures { id: \"p3\" code { text: \"Microneedling\" } status: "
      "\"completed\" }\n");
  EXPECT_THAT(findings, SizeIs(0));
}

TEST_F(AuditTest, CountAuditedSessionsCountsWhatAuditRecordAudits) {
  v1::PatientRecord record;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      Session("s1", "2026-01-01") + Session("s2", "2026-03-01") +
          "procedures { id: \"p1\" code { text: \"Microneedling\" } status: "
          "\"not-done\" performed: \"2026-01-01\" }\n"
          "procedures { id: \"p2\" code { text: \"Appendectomy\" } status: "
          "\"completed\" performed: \"2020-01-01\" }\n",
      &record));
  EXPECT_EQ(CountAuditedSessions(*kb_, record), 2);
  EXPECT_THAT(AuditRecord(*kb_, record), SizeIs(2));
}

TEST(VerdictForTest, FirstThatApplies) {
  v1::Alert interval, critical, warning, info;
  interval.set_rule_id("MN-FREQ-INTERVAL");
  interval.set_severity(v1::SEVERITY_CRITICAL);
  critical.set_rule_id("MN-CI-ACNE");
  critical.set_severity(v1::SEVERITY_CRITICAL);
  warning.set_rule_id("MN-KELOID");
  warning.set_severity(v1::SEVERITY_WARNING);
  info.set_rule_id("MN-SKIN-TYPE-MISSING");
  info.set_severity(v1::SEVERITY_INFO);
  EXPECT_EQ(VerdictFor({critical, interval}, "MN-FREQ-INTERVAL"),
            v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  EXPECT_EQ(VerdictFor({warning, critical}, "MN-FREQ-INTERVAL"),
            v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL);
  EXPECT_EQ(VerdictFor({info, warning}, "MN-FREQ-INTERVAL"),
            v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING);
  EXPECT_EQ(VerdictFor({info}, "MN-FREQ-INTERVAL"), v1::AUDIT_VERDICT_CLEAR);
  EXPECT_EQ(VerdictFor({}, "MN-FREQ-INTERVAL"), v1::AUDIT_VERDICT_CLEAR);
}

}  // namespace
}  // namespace needlecheck::engine
