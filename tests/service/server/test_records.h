// Small screening requests shared by the server tests.
#ifndef TESTS_SERVICE_SERVER_TEST_RECORDS_H_
#define TESTS_SERVICE_SERVER_TEST_RECORDS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"
#include "needlecheck/v1/screening.pb.h"

namespace needlecheck::server::testing {

// A patient with active atopic dermatitis (SNOMED 24079001), documented
// allergies (none known) and skin type II, planned for a full-face session:
// fires MN-CI-ECZEMA (CRITICAL).
inline needlecheck::v1::ScreenRequest EczemaRequest(absl::string_view id) {
  needlecheck::v1::ScreenRequest request;
  const std::string text = absl::StrCat(
      R"pb(
        request_id: ")pb",
      id, R"pb("
               record {
                 patient_id: "PATIENT-SECRET-0001"
                 birth_date: "1990-04-02"
                 fitzpatrick_skin_type: 2
                 no_known_allergies: true
                 conditions {
                   id: "cond-eczema-1"
                   code {
                     codings {
                       system: "http://snomed.info/sct"
                       code: "24079001"
                       display: "Atopic dermatitis"
                     }
                     text: "Atopic dermatitis, flare on cheeks"
                   }
                   clinical_status: "active"
                   verification_status: "confirmed"
                   onset: "2026-01-10"
                 }
               }
               session {
                 date: "2026-12-01"
                 areas { area: TREATMENT_AREA_FULL_FACE needle_depth_mm: 1.0 }
               }
      )pb");
  google::protobuf::TextFormat::ParseFromString(text, &request);
  return request;
}

}  // namespace needlecheck::server::testing

#endif  // TESTS_SERVICE_SERVER_TEST_RECORDS_H_
