#include "service/engine/input_validation.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/calendar/fhir_date.h"

namespace needlecheck::engine {
namespace {

class Checker {
 public:
  explicit Checker(std::vector<FieldViolation>* out) : out_(out) {}

  void Date(const std::string& field, const std::string& value) {
    if (value.empty()) return;
    absl::StatusOr<FhirDate> date = ParseFhirDate(value);
    if (!date.ok()) Add(field, std::string(date.status().message()));
  }

  void Areas(const std::string& field,
             const google::protobuf::RepeatedField<int>& areas) {
    for (int i = 0; i < areas.size(); ++i) {
      Area(absl::StrCat(field, "[", i, "]"), areas[i]);
    }
  }

  void Area(const std::string& field, int area) {
    if (!v1::TreatmentArea_IsValid(area)) {
      Add(field, absl::StrCat("unknown TreatmentArea value ", area));
    }
  }

  void Depth(const std::string& field, double mm, double max_mm) {
    if (!std::isfinite(mm) || mm < 0 || mm > max_mm) {
      Add(field,
          absl::StrCat(
              "needle depth ", mm,
              " mm is out of range: give 0 (not stated) or more than 0 up to ",
              max_mm, " mm"));
    }
  }

  void Add(std::string field, std::string description) {
    out_->push_back({std::move(field), std::move(description)});
  }

 private:
  std::vector<FieldViolation>* out_;
};

}  // namespace

std::vector<FieldViolation> ValidateRecord(const v1::PatientRecord& record,
                                           double max_needle_depth_mm) {
  std::vector<FieldViolation> out;
  Checker check(&out);
  check.Date("record.birth_date", record.birth_date());
  if (record.fitzpatrick_skin_type() < 0 ||
      record.fitzpatrick_skin_type() > 6) {
    check.Add("record.fitzpatrick_skin_type",
              absl::StrCat("must be 1-6, or 0 when unknown; got ",
                           record.fitzpatrick_skin_type()));
  }
  for (int i = 0; i < record.conditions_size(); ++i) {
    const auto& c = record.conditions(i);
    const std::string f = absl::StrCat("record.conditions[", i, "]");
    check.Date(f + ".onset", c.onset());
    check.Date(f + ".abatement", c.abatement());
  }
  for (int i = 0; i < record.allergies_size(); ++i) {
    check.Date(absl::StrCat("record.allergies[", i, "].recorded_date"),
               record.allergies(i).recorded_date());
  }
  for (int i = 0; i < record.medications_size(); ++i) {
    const auto& m = record.medications(i);
    const std::string f = absl::StrCat("record.medications[", i, "]");
    check.Date(f + ".start", m.start());
    check.Date(f + ".end", m.end());
  }
  for (int i = 0; i < record.procedures_size(); ++i) {
    const auto& p = record.procedures(i);
    const std::string f = absl::StrCat("record.procedures[", i, "]");
    check.Date(f + ".performed", p.performed());
    check.Areas(f + ".areas", p.areas());
    check.Depth(f + ".needle_depth_mm", p.needle_depth_mm(),
                max_needle_depth_mm);
  }
  for (int i = 0; i < record.observations_size(); ++i) {
    check.Date(absl::StrCat("record.observations[", i, "].effective"),
               record.observations(i).effective());
  }
  return out;
}

std::vector<FieldViolation> ValidateScreenInput(
    const v1::PatientRecord& record, const v1::PlannedSession& session,
    double max_needle_depth_mm) {
  std::vector<FieldViolation> out;
  Checker check(&out);
  if (session.date().empty()) {
    check.Add("session.date",
              "required: the planned session date (YYYY-MM-DD)");
  } else {
    absl::StatusOr<DayNumber> day = ParseFhirDay(session.date());
    if (!day.ok())
      check.Add("session.date", std::string(day.status().message()));
  }
  for (int i = 0; i < session.areas_size(); ++i) {
    const std::string f = absl::StrCat("session.areas[", i, "]");
    check.Area(f + ".area", session.areas(i).area());
    check.Depth(f + ".needle_depth_mm", session.areas(i).needle_depth_mm(),
                max_needle_depth_mm);
  }
  std::vector<FieldViolation> record_violations =
      ValidateRecord(record, max_needle_depth_mm);
  out.insert(out.end(), record_violations.begin(), record_violations.end());
  return out;
}

}  // namespace needlecheck::engine
