// What the screening engine makes of the mapping: the hand-written
// dermatology messages (tests/testdata/hl7v2) mapped and applied the way
// the listener does (ADT -> stored record, booking -> record + planned
// session), validated and evaluated by the engine in-process with the
// bundled knowledge base. Checks that HL7 v2 feeds reach the rules the way
// FHIR data does: free-text allergies and their negations, ICD-10-CM
// diagnoses, the past session for spacing, the Fitzpatrick type.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "adapters/hl7v2/mapping/booking.h"
#include "adapters/hl7v2/mapping/patient_update.h"
#include "adapters/hl7v2/mapping/session_matcher.h"
#include "common/calendar/fhir_date.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/engine/engine.h"
#include "service/engine/input_validation.h"
#include "service/kb/knowledge_base.h"
#include "tests/adapters/hl7v2/hl7v2_mapping_testing.h"
#include "tests/testing/read_file.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::hl7v2::testing::ParseOrFail;
using ::needlecheck::hl7v2::testing::TestMessage;
using ::needlecheck::testing::IsOk;

class MappingEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kb = kb::LoadBundledKnowledgeBase();
    ASSERT_THAT(kb.status(), IsOk());
    kb_ = *kb;
    auto matcher = SessionMatcher::Create(kb_->definition());
    ASSERT_THAT(matcher.status(), IsOk());
    matcher_ = std::make_unique<SessionMatcher>(*std::move(matcher));
  }

  void ApplyAdt(const std::string& name) {
    auto u = ReadPatientUpdate(ParseOrFail(TestMessage(name)));
    ASSERT_THAT(u.status(), IsOk()) << name;
    ApplyPatientUpdate(*u, &stored_);
  }

  // rule id -> severity of the alerts for booking `name` on the stored
  // record (plus the booking's own patient facts).
  std::map<std::string, v1::Severity> Screen(const std::string& name,
                                             std::vector<v1::Alert>* out) {
    auto b = ReadBooking(ParseOrFail(TestMessage(name)), *matcher_);
    EXPECT_THAT(b.status(), IsOk());
    if (!b.ok()) return {};
    EXPECT_TRUE(b->screen);
    v1::PatientRecord record = stored_;
    ApplyPatientUpdate(b->patient, &record);
    const auto violations = engine::ValidateScreenInput(
        record, b->session,
        kb_->definition().thresholds().max_needle_depth_mm());
    for (const auto& v : violations) {
      ADD_FAILURE() << v.field << ": " << v.description;
    }
    auto day = ParseFhirDay(b->session.date());
    EXPECT_THAT(day.status(), IsOk());
    *out = engine::EvaluateAsOf(*kb_, record, b->session, *day);
    std::map<std::string, v1::Severity> by_rule;
    for (const v1::Alert& a : *out) by_rule[a.rule_id()] = a.severity();
    return by_rule;
  }

  std::shared_ptr<const kb::KnowledgeBase> kb_;
  std::unique_ptr<SessionMatcher> matcher_;
  v1::PatientRecord stored_;
};

TEST_F(MappingEngineTest, AdmissionThenMicroneedlingBooking20DaysLater) {
  ApplyAdt("derm_adt_a04.hl7");
  std::vector<v1::Alert> alerts;
  const auto by_rule = Screen("derm_siu_s12.hl7", &alerts);
  // 2026-10-20 session, 2026-11-09 booking: 20 days.
  EXPECT_EQ(by_rule.count("MN-FREQ-INTERVAL"), 1u);
  EXPECT_EQ(by_rule.at("MN-FREQ-INTERVAL"), v1::SEVERITY_CRITICAL);
  // "Lidocaine cream - hives" against planned EMLA (lidocaine+prilocaine).
  ASSERT_EQ(by_rule.count("MN-ALLERGY-ANESTHETIC"), 1u);
  EXPECT_EQ(by_rule.at("MN-ALLERGY-ANESTHETIC"), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(by_rule.count("MN-CI-ACNE"), 1u);     // L70.0
  EXPECT_EQ(by_rule.count("MN-CI-ECZEMA"), 1u);   // L20.9
  EXPECT_EQ(by_rule.count("MN-CI-ROSACEA"), 1u);  // L71.9
  EXPECT_EQ(by_rule.count("MN-PIH-RISK"), 1u);    // Fitzpatrick IV
  EXPECT_EQ(by_rule.count("MN-SKIN-TYPE-MISSING"), 0u);
  EXPECT_EQ(by_rule.count("MN-ALLERGY-UNDOCUMENTED"), 0u);
  // The negated "No reaction to EMLA" is never evidence.
  for (const v1::Alert& a : alerts) {
    for (const v1::Evidence& e : a.evidence()) {
      EXPECT_NE(e.entry_id(), "AL1-2") << a.rule_id();
    }
  }
}

TEST_F(MappingEngineTest, UpdatesDeltasAndOrders) {
  ApplyAdt("derm_adt_a04.hl7");
  ApplyAdt("derm_adt_a08.hl7");  // atopic dermatitis no longer listed
  ApplyAdt("derm_adt_a60.hl7");  // + coded lidocaine allergy
  std::vector<v1::Alert> alerts;
  auto by_rule = Screen("derm_orm_o01.hl7", &alerts);
  EXPECT_EQ(by_rule.count("MN-CI-ECZEMA"), 0u);
  EXPECT_EQ(by_rule.count("MN-CI-ACNE"), 1u);
  // Periorbital at 0.75 mm: deeper than the eye maximum.
  EXPECT_EQ(by_rule.count("MN-EYE-DEPTH"), 1u);
  // No anesthetic planned in the order: the allergy still warns.
  ASSERT_EQ(by_rule.count("MN-ALLERGY-ANESTHETIC"), 1u);
  EXPECT_EQ(by_rule.at("MN-ALLERGY-ANESTHETIC"), v1::SEVERITY_WARNING);
  // The chlorhexidine note of the A08 reaches the product-allergy rule.
  EXPECT_EQ(by_rule.count("MN-ALLERGY-PRODUCT"), 1u);
}

// Every message the mapping accepts, from the shared corpus and the
// hand-written ones, gives a record (and a screened booking a session) that
// needlecheckd's input validation accepts: dates, areas, depths.
TEST_F(MappingEngineTest, EveryMappedMessagePassesTheServiceValidation) {
  std::vector<std::filesystem::path> files =
      testing::Hl7Files(testing::SharedCorpusDir());
  for (const auto& f : testing::Hl7Files(testing::TestdataDir())) {
    files.push_back(f);
  }
  ASSERT_GE(files.size(), 7u);
  const double max_depth = kb_->definition().thresholds().max_needle_depth_mm();
  int screened = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    auto m = Er7Message::Parse(::needlecheck::testing::ReadFile(path.string()));
    if (!m.ok()) continue;
    v1::PatientRecord record;
    auto u = ReadPatientUpdate(*m);
    if (u.ok()) ApplyPatientUpdate(*u, &record);
    for (const auto& v : engine::ValidateRecord(record, max_depth)) {
      ADD_FAILURE() << v.field << ": " << v.description;
    }
    auto b = ReadBooking(*m, *matcher_);
    if (!b.ok() || !b->screen) continue;
    ++screened;
    ApplyPatientUpdate(b->patient, &record);
    for (const auto& v :
         engine::ValidateScreenInput(record, b->session, max_depth)) {
      ADD_FAILURE() << v.field << ": " << v.description;
    }
  }
  EXPECT_GE(screened, 2);
}

}  // namespace
}  // namespace needlecheck::hl7v2
