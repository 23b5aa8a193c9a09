#include "service/engine/input_validation.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::engine {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

auto Violation(const std::string& field, const std::string& text) {
  return AllOf(Field(&FieldViolation::field, field),
               Field(&FieldViolation::description, HasSubstr(text)));
}

TEST(InputValidationTest, ValidInputHasNoViolations) {
  v1::PatientRecord record;
  record.add_conditions()->set_onset("2020");
  v1::PlannedSession session;
  session.set_date("2026-12-01");
  auto* area = session.add_areas();
  area->set_area(v1::TREATMENT_AREA_PERIORBITAL);
  area->set_needle_depth_mm(0.5);
  EXPECT_THAT(ValidateScreenInput(record, session, 3.5), IsEmpty());
}

TEST(InputValidationTest, EveryProblemIsNamed) {
  v1::PatientRecord record;
  record.add_conditions()->set_onset("2026-02-30");
  record.add_medications()->set_end("yesterday");
  auto* p = record.add_procedures();
  p->add_areas(static_cast<v1::TreatmentArea>(99));
  p->set_performed("2026-13");
  record.set_fitzpatrick_skin_type(7);
  v1::PlannedSession session;
  auto* a = session.add_areas();
  a->set_area(static_cast<v1::TreatmentArea>(42));
  a->set_needle_depth_mm(4.0);
  session.add_areas()->set_needle_depth_mm(-1);
  session.add_areas()->set_needle_depth_mm(
      std::numeric_limits<double>::quiet_NaN());
  auto v = ValidateScreenInput(record, session, 3.5);
  EXPECT_THAT(v, Contains(Violation("session.date", "required")));
  EXPECT_THAT(v, Contains(Violation("session.areas[0].area",
                                    "unknown TreatmentArea value 42")));
  EXPECT_THAT(v, Contains(Violation("session.areas[0].needle_depth_mm",
                                    "out of range")));
  EXPECT_THAT(v, Contains(Violation("session.areas[1].needle_depth_mm",
                                    "out of range")));
  EXPECT_THAT(v, Contains(Violation("session.areas[2].needle_depth_mm",
                                    "out of range")));
  EXPECT_THAT(
      v, Contains(Violation("record.conditions[0].onset", "does not exist")));
  EXPECT_THAT(
      v, Contains(Violation("record.medications[0].end", "not a FHIR date")));
  EXPECT_THAT(v, Contains(Violation("record.procedures[0].areas[0]", "99")));
  EXPECT_THAT(
      v, Contains(Violation("record.procedures[0].performed", "month 13")));
  EXPECT_THAT(v, Contains(Violation("record.fitzpatrick_skin_type", "1-6")));
}

TEST(InputValidationTest, SessionDateMustBeAFullDay) {
  v1::PlannedSession session;
  session.set_date("2026-12");
  auto v = ValidateScreenInput(v1::PatientRecord(), session, 3.5);
  EXPECT_THAT(v, Contains(Violation("session.date", "full date")));
}

}  // namespace
}  // namespace needlecheck::engine
