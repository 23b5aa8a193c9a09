#include "adapters/fhir/patient_reference.h"

#include "absl/strings/match.h"

namespace needlecheck::fhir {

PatientReference ParsePatientReference(absl::string_view ref) {
  PatientReference out;
  if (!ref.empty() && ref[0] == '#') {
    out.form = ReferenceForm::kContained;
    return out;
  }
  if (absl::StartsWith(ref, "urn:")) {
    out.form = ReferenceForm::kUrn;
    return out;
  }
  if (const size_t h = ref.find("/_history/"); h != absl::string_view::npos) {
    ref = ref.substr(0, h);
  }
  const size_t slash = ref.rfind('/');
  if (slash == absl::string_view::npos ||
      ref.find_first_of("?#") != absl::string_view::npos) {
    return out;
  }
  absl::string_view type = ref.substr(0, slash);
  if (const size_t s = type.rfind('/'); s != absl::string_view::npos) {
    type = type.substr(s + 1);
  }
  if (type != "Patient") {
    if (IsResourceTypeName(type)) out.form = ReferenceForm::kOtherType;
    return out;
  }
  out.form = ReferenceForm::kPatient;
  out.patient_id = ref.substr(slash + 1);
  return out;
}

bool IsFhirId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

bool IsResourceTypeName(absl::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'A' || s[0] > 'Z') return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

}  // namespace needlecheck::fhir
