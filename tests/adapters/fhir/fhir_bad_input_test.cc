// Untrusted input: malformed and truncated JSON, wrong types, impossible
// dates, deep nesting and oversized input give INVALID_ARGUMENT (or
// RESOURCE_EXHAUSTED for size) naming the resource and the JSON path; never a
// crash. Fields the adapter does not read are not validated.
#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/planned_session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/fhir/fhir_test_util.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::fhir {
namespace {

using ::needlecheck::fhir::testing::ReadFile;
using ::needlecheck::fhir::testing::TestdataDir;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Status Check(const std::string& json) {
  return ExtractFromJson(json, ExtractOptions()).status();
}

TEST(FhirBadInputTest, MalformedJson) {
  for (const char* json :
       {"", "{", "}", "[1,2", "{\"resourceType\":}", "{\"a\":1,}", "nul",
        "{\"resourceType\":\"Patient\"} x", "\xff\xfe{}",
        "{\"id\":\"\xc3\x28\"}"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(Check(json), StatusIs(absl::StatusCode::kInvalidArgument,
                                      StartsWith("malformed JSON")));
  }
}

TEST(FhirBadInputTest, NotAnObject) {
  EXPECT_THAT(Check("[]"), StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("expected a JSON object")));
  EXPECT_THAT(Check("42"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Check(R"({"patient": 5})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.patient: expected a FHIR resource or "
                                 "Bundle, got a number")));
  EXPECT_THAT(Check(R"({"hook":"patient-view","prefetch":[]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.prefetch: expected an object")));
}

TEST(FhirBadInputTest, TruncatedCorpusFixtureAtEveryTenthByte) {
  const std::string json =
      ReadFile(TestdataDir() / "patient-view-prefetch.json");
  ASSERT_FALSE(json.empty());
  ASSERT_THAT(Check(json), IsOk());
  // Every proper prefix ends inside the top-level object: malformed.
  for (size_t n = 0; n + 2 < json.size(); n += 10) {
    EXPECT_THAT(Check(json.substr(0, n)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "prefix of " << n << " bytes";
  }
}

struct WrongType {
  const char* resource;
  const char* want;  // expected message part
};

TEST(FhirBadInputTest, WrongTypesNameResourceAndPath) {
  const WrongType kCases[] = {
      {R"({"resourceType":"Condition","id":"abc","code":5})",
       "Condition/abc: $.code: expected an object, got a number"},
      {R"({"resourceType":"Condition","id":"abc","code":{"coding":{"code":"x"}}})",
       "Condition/abc: $.code.coding: expected an array, got an object"},
      {R"({"resourceType":"Condition","id":"abc","code":{"coding":[{"code":1}]}})",
       "Condition/abc: $.code.coding[0].code: expected a string, got a number"},
      {R"({"resourceType":"Condition","id":"abc","code":{"coding":["x"]}})",
       "Condition/abc: $.code.coding[0]: expected an object, got a string"},
      {R"({"resourceType":"Condition","id":"abc","clinicalStatus":"active"})",
       "Condition/abc: $.clinicalStatus: expected a CodeableConcept object "
       "(FHIR R4), got a string (the FHIR STU3 shape)"},
      {R"({"resourceType":"Condition","id":"abc","onsetPeriod":{"start":true}})",
       "Condition/abc: $.onsetPeriod.start: expected a string, got a boolean"},
      {R"({"resourceType":"AllergyIntolerance","id":"x","note":"x"})",
       "AllergyIntolerance/x: $.note: expected an array, got a string"},
      {R"({"resourceType":"AllergyIntolerance","id":"x","note":[{"text":["a"]}]})",
       "AllergyIntolerance/x: $.note[0].text: expected a string, got an array"},
      {R"({"resourceType":"AllergyIntolerance","id":"x","reaction":[{"manifestation":{"text":"hives"}}]})",
       "AllergyIntolerance/x: $.reaction[0].manifestation: expected an array"},
      {R"({"resourceType":"AllergyIntolerance","id":"x","patient":"Patient/1"})",
       "AllergyIntolerance/x: $.patient: expected an object, got a string"},
      {R"({"resourceType":"MedicationRequest","id":"m","status":["active"]})",
       "MedicationRequest/m: $.status: expected a string, got an array"},
      {R"({"resourceType":"MedicationRequest","id":"m","dispenseRequest":{"validityPeriod":[]}})",
       "MedicationRequest/m: $.dispenseRequest.validityPeriod: expected an "
       "object, got an array"},
      {R"({"resourceType":"MedicationStatement","id":"m","medicationCodeableConcept":"aspirin"})",
       "MedicationStatement/m: $.medicationCodeableConcept: expected an "
       "object"},
      {R"({"resourceType":"Procedure","id":"p","bodySite":{"text":"face"}})",
       "Procedure/p: $.bodySite: expected an array, got an object"},
      {R"({"resourceType":"Procedure","id":"p","performer":{"actor":{}}})",
       "Procedure/p: $.performer: expected an array, got an object"},
      {R"({"resourceType":"Procedure","id":"p","performer":["Dr. X"]})",
       "Procedure/p: $.performer[0]: expected an object, got a string"},
      {R"({"resourceType":"Procedure","id":"p","performer":[{"actor":"Practitioner/1"}]})",
       "Procedure/p: $.performer[0].actor: expected an object, got a string"},
      {R"({"resourceType":"Procedure","id":"p","performer":[{"actor":{"display":1}}]})",
       "Procedure/p: $.performer[0].actor.display: expected a string, got a "
       "number"},
      {R"({"resourceType":"Procedure","id":"p","performer":[{"actor":{"display":"A"}},{"actor":{"reference":[]}}]})",
       "Procedure/p: $.performer[1].actor.reference: expected a string, got "
       "an array"},
      {R"({"resourceType":"Procedure","id":"p","location":"North Clinic"})",
       "Procedure/p: $.location: expected an object, got a string"},
      {R"({"resourceType":"Procedure","id":"p","location":{"reference":5}})",
       "Procedure/p: $.location.reference: expected a string, got a number"},
      {R"({"resourceType":"MedicationAdministration","id":"ma","status":1})",
       "MedicationAdministration/ma: $.status: expected a string, got a "
       "number"},
      {R"({"resourceType":"MedicationAdministration","id":"ma","medicationCodeableConcept":[]})",
       "MedicationAdministration/ma: $.medicationCodeableConcept: expected an "
       "object, got an array"},
      {R"({"resourceType":"MedicationAdministration","id":"ma","medicationReference":{"display":true}})",
       "MedicationAdministration/ma: $.medicationReference.display: expected "
       "a string, got a boolean"},
      {R"({"resourceType":"MedicationAdministration","id":"ma","effectivePeriod":{"end":3}})",
       "MedicationAdministration/ma: $.effectivePeriod.end: expected a "
       "string, got a number"},
      {R"({"resourceType":"MedicationAdministration","id":"ma","effectiveDateTime":"2026-02-30"})",
       "MedicationAdministration/ma: $.effectiveDateTime: the date does not "
       "exist"},
      {R"({"resourceType":"MedicationAdministration","id":"ma","subject":"Patient/1"})",
       "MedicationAdministration/ma: $.subject: expected an object, got a "
       "string"},
      {R"({"resourceType":"Procedure","id":"p","extension":[{"url":7}]})",
       "Procedure/p: $.extension[0].url: expected a string, got a number"},
      {R"({"resourceType":"Observation","id":"o","valueInteger":"4"})",
       "Observation/o: $.valueInteger: expected an integer, got a string"},
      {R"({"resourceType":"Observation","id":"o","valueInteger":4.5})",
       "Observation/o: $.valueInteger: expected an integer, got a number"},
      {R"({"resourceType":"Observation","id":"o","valueQuantity":{"value":"1"}})",
       "Observation/o: $.valueQuantity.value: expected a number, got a string"},
      {R"({"resourceType":"Patient","id":"p","birthDate":19900101})",
       "Patient/p: $.birthDate: expected a string, got a number"},
      {R"({"resourceType":"ServiceRequest","id":"s","orderDetail":[{"text":1}]})",
       "ServiceRequest/s: $.orderDetail[0].text: expected a string"},
      {R"({"resourceType":"Appointment","id":"a","description":{}})",
       "Appointment/a: $.description: expected a string, got an object"},
      {R"({"resourceType":5})",
       "resource at $: $.resourceType: expected a string, got a number"},
      {R"({"resourceType":"Condition","id":7})",
       "Condition at $: $.id: expected a string, got a number"},
  };
  for (const WrongType& c : kCases) {
    SCOPED_TRACE(c.resource);
    EXPECT_THAT(Check(c.resource), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr(c.want)));
  }
}

TEST(FhirBadInputTest, ErrorsInsideBundlesNameTheEntry) {
  EXPECT_THAT(
      Check(
          R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"p"}},
               {"resource":{"resourceType":"Condition","onsetDateTime":"2026-02-30"}}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("Condition at $.entry[1].resource: $.onsetDateTime: "
                         "the date does not exist")));
  EXPECT_THAT(
      Check(
          R"({"prefetch":{"conditions":{"resourceType":"Bundle","entry":[{"resource":{"id":"x"}}]}}})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("resource at $.prefetch.conditions.entry[0].resource: "
                         "$.resourceType: missing")));
  EXPECT_THAT(Check(R"({"resourceType":"Bundle","entry":{}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Bundle at $: $.entry: expected an array")));
  EXPECT_THAT(Check(R"({"resourceType":"Bundle","entry":[{"resource":[]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.entry[0].resource: expected an object")));
}

TEST(FhirBadInputTest, ImpossibleAndMalformedDates) {
  struct Case {
    const char* field;
    const char* value;
    const char* want;
  };
  const Case kCases[] = {
      {"onsetDateTime", "2026-02-30", "the date does not exist"},
      {"onsetDateTime", "2025-02-29", "the date does not exist"},
      {"onsetDateTime", "2026-04-31T10:00:00Z", "does not exist"},
      {"onsetDateTime", "2026-13-01", "(month out of range)"},
      {"onsetDateTime", "2026-00", "(month out of range)"},
      {"onsetDateTime", "2026-01-32", "(day out of range)"},
      {"onsetDateTime", "2026-1-5", "is not a FHIR date or dateTime"},
      {"onsetDateTime", "26-01-05", "is not a FHIR date or dateTime"},
      {"onsetDateTime", "2026-01-05T25:00:00Z", "time out of range"},
      {"onsetDateTime", "2026-01-05T10:00", "time must be Thh:mm:ss"},
      {"onsetDateTime", "2026-01-05T10:00:00", "time zone required"},
      {"onsetDateTime", "2026-01-05T10:00:00+15:00", "time zone out of range"},
      {"onsetDateTime", "2026-01-05T10:00:00Zx", "trailing characters"},
      {"onsetDateTime", "2026-01-05 ", "is not a FHIR date or dateTime"},
      {"onsetDateTime", "", "empty"},
      {"abatementDateTime", "yesterday", "is not a FHIR date"},
      {"abatementDateTime", "0000-01-01", "(year)"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(absl::StrCat(c.field, "=", c.value));
    const std::string json =
        absl::StrCat(R"({"resourceType":"Condition","id":"abc",")", c.field,
                     R"(":")", c.value, R"("})");
    EXPECT_THAT(
        Check(json),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr(absl::StrCat("Condition/abc: $.", c.field, ": "))));
    EXPECT_THAT(Check(json), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr(c.want)));
  }
  // Valid forms.
  for (const char* value :
       {"2026", "2026-02", "2024-02-29", "2026-11-23T10:00:00Z",
        "2026-11-23T10:00:00.123+01:00", "2026-11-23T23:59:60-14:00"}) {
    SCOPED_TRACE(value);
    EXPECT_THAT(
        Check(absl::StrCat(R"({"resourceType":"Condition","onsetDateTime":")",
                           value, R"("})")),
        IsOk());
  }
}

TEST(FhirBadInputTest, FieldsNotReadAreNotValidated) {
  EXPECT_THAT(
      Check(R"({"resourceType":"Condition","id":"c","recordedDate":"2026-02-30",
               "onsetString":5,"encounter":"x","stage":7})"),
      IsOk());
  EXPECT_THAT(
      Check(R"({"resourceType":"Encounter","period":{"start":"2026-02-30"}})"),
      IsOk());
}

TEST(FhirBadInputTest, DeepNesting) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "[";
  EXPECT_THAT(Check(deep), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string nested = R"({"resourceType":"Condition","extension":)";
  for (int i = 0; i < 70; ++i) nested += R"({"a":)";
  nested += "1";
  for (int i = 0; i < 70; ++i) nested += "}";
  nested += "}";
  EXPECT_THAT(Check(nested), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("deeper than 64 levels")));
  ExtractOptions options;
  options.max_depth = 128;
  EXPECT_THAT(ExtractFromJson(nested, options), IsOk());
}

TEST(FhirBadInputTest, SizeLimit) {
  ExtractOptions options;
  options.max_input_bytes = 64;
  const std::string json =
      R"({"resourceType":"Condition","id":"a-rather-long-identifier-value"})";
  ASSERT_GT(json.size(), 64u);
  EXPECT_THAT(ExtractFromJson(json, options),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("exceeds the limit of 64 bytes")));
  SessionOptions session;
  session.max_input_bytes = 10;
  EXPECT_THAT(PlannedSessionFromHookContext(json, session),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(FhirBadInputTest, UntrustedStringsInMessagesAreBounded) {
  const std::string long_id(5000, 'x');
  absl::Status st = Check(absl::StrCat(R"({"resourceType":"Condition","id":")",
                                       long_id, R"(\n","code":5})"));
  EXPECT_THAT(st, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_LT(st.message().size(), 300u);
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
}

// Errors reach logs, errors.ndjson and HTTP answers: they name the JSON path
// and the problem, never a field's value (which may be patient data).
TEST(FhirBadInputTest, ErrorsNeverQuoteFieldValues) {
  constexpr char kCanary[] = "CANARY-PHI-1234";
  const std::string bad_records[] = {
      absl::StrCat(R"({"resourceType":"Condition","id":"c","onsetDateTime":")",
                   kCanary, R"("})"),
      absl::StrCat(R"({"resourceType":"Patient","id":"p","birthDate":"1990-)",
                   kCanary, R"("})"),
      R"({"resourceType":"Condition","id":"c","onsetDateTime":"1234-02-30"})",
      absl::StrCat(
          R"({"resourceType":"Procedure","id":"p","extension":[{"url":)"
          R"("urn:needlecheck:fhir:needle-depth","valueQuantity":{"value":1,)"
          R"("unit":")",
          kCanary, R"("}}]})"),
      R"({"resourceType":"Procedure","id":"p","extension":[{"url":)"
      R"("urn:needlecheck:fhir:needle-depth","valueQuantity":{"value":1234,)"
      R"("unit":"mm"}}]})",
  };
  for (const std::string& json : bad_records) {
    SCOPED_TRACE(json);
    const absl::Status status = Check(json);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(status.message()), HasSubstr(": $."));
    EXPECT_THAT(std::string(status.message()),
                ::testing::Not(HasSubstr("CANARY")));
    EXPECT_THAT(std::string(status.message()),
                ::testing::Not(HasSubstr("1234")));
  }
  ExtractOptions options;
  options.patient_id = kCanary;
  const absl::Status other_patient =
      ExtractFromJson(R"({"resourceType":"Patient","id":"p"})", options)
          .status();
  EXPECT_THAT(other_patient, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(other_patient.message()),
              ::testing::Not(HasSubstr("CANARY")));

  // The planned session: a date that is no full day, orders on two days.
  const std::string partial = absl::StrCat(
      R"({"draftOrders":{"resourceType":"ServiceRequest","id":"a",)"
      R"("status":"draft","code":{"text":"Microneedling"},)"
      R"("occurrenceDateTime":"1234-05"}})");
  const std::string two_days = absl::StrCat(
      R"({"draftOrders":{"resourceType":"Bundle","entry":[)"
      R"({"resource":{"resourceType":"ServiceRequest","id":"a","status":)"
      R"("draft","code":{"text":"Microneedling"},"occurrenceDateTime":)"
      R"("1234-05-06"}},)"
      R"({"resource":{"resourceType":"ServiceRequest","id":"b","status":)"
      R"("draft","code":{"text":"Microneedling"},"occurrenceDateTime":)"
      R"("1234-05-07"}}]}})");
  for (const std::string& context : {partial, two_days}) {
    SCOPED_TRACE(context);
    const absl::Status status =
        PlannedSessionFromHookContext(context, SessionOptions()).status();
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(status.message()),
                ::testing::Not(HasSubstr("1234")));
  }
}

}  // namespace
}  // namespace needlecheck::fhir
