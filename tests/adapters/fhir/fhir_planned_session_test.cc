// PlannedSessionFromHookContext / PlannedSessionFromHookRequest on the
// hand-made hook fixtures in tests/testdata/fhir/ and inline contexts.
#include <string>

#include "absl/strings/str_cat.h"
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<PlannedSessionExtract> FromFixture(const char* name,
                                                  SessionOptions options = {}) {
  const std::string json = ReadFile(TestdataDir() / name);
  EXPECT_FALSE(json.empty()) << name;
  return PlannedSessionFromHookRequest(json, options);
}

absl::StatusOr<PlannedSessionExtract> FromContext(const std::string& context,
                                                  SessionOptions options = {}) {
  return PlannedSessionFromHookContext(context, options);
}

TEST(FhirPlannedSessionTest, PeriorbitalWithDepthExtension) {
  absl::StatusOr<PlannedSessionExtract> got =
      FromFixture("order-sign-periorbital-depth.json");
  ASSERT_THAT(got, IsOk());
  const v1::PlannedSession& s = got->session;
  EXPECT_EQ(s.date(), "2026-12-01T09:30:00+01:00");
  ASSERT_EQ(s.areas_size(), 1);
  EXPECT_EQ(s.areas(0).area(), v1::TREATMENT_AREA_PERIORBITAL);
  EXPECT_DOUBLE_EQ(s.areas(0).needle_depth_mm(), 0.5);
  EXPECT_FALSE(s.has_anesthetic());
  EXPECT_THAT(got->sources, ElementsAre("ServiceRequest/sr-eyes"));
  EXPECT_EQ(got->date_source, "ServiceRequest/sr-eyes.occurrenceDateTime");
  EXPECT_EQ(got->stats.by_type.at("ServiceRequest"), 1);
}

TEST(FhirPlannedSessionTest, TwoOrdersThreeAreas) {
  absl::StatusOr<PlannedSessionExtract> got =
      FromFixture("order-select-two-areas.json");
  ASSERT_THAT(got, IsOk());
  const v1::PlannedSession& s = got->session;
  // occurrencePeriod.start of the first order; the second names the same day.
  EXPECT_EQ(s.date(), "2026-11-20");
  EXPECT_EQ(got->date_source, "ServiceRequest/sr-face.occurrencePeriod.start");
  ASSERT_EQ(s.areas_size(), 3);
  EXPECT_EQ(s.areas(0).area(), v1::TREATMENT_AREA_CHEEKS);  // SNOMED 60819002
  EXPECT_DOUBLE_EQ(s.areas(0).needle_depth_mm(), 1.0);      // orderDetail text
  EXPECT_EQ(s.areas(1).area(), v1::TREATMENT_AREA_FOREHEAD);
  EXPECT_DOUBLE_EQ(s.areas(1).needle_depth_mm(), 1.0);
  EXPECT_EQ(s.areas(2).area(), v1::TREATMENT_AREA_NECK);
  EXPECT_DOUBLE_EQ(s.areas(2).needle_depth_mm(), 0.0);  // not stated
  EXPECT_THAT(got->sources,
              ElementsAre("ServiceRequest/sr-face", "ServiceRequest/sr-neck"));
}

TEST(FhirPlannedSessionTest, TextFallbackDepthInNote) {
  absl::StatusOr<PlannedSessionExtract> got =
      FromFixture("order-sign-text-depth.json");
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->session.areas_size(), 1);
  EXPECT_EQ(got->session.areas(0).area(), v1::TREATMENT_AREA_PERIORBITAL);
  EXPECT_DOUBLE_EQ(got->session.areas(0).needle_depth_mm(), 0.75);
  EXPECT_EQ(got->session.date(), "2026-10-05");
}

TEST(FhirPlannedSessionTest, DraftEmlaIsTheAnesthetic) {
  absl::StatusOr<PlannedSessionExtract> got =
      FromFixture("order-sign-emla.json");
  ASSERT_THAT(got, IsOk());
  const v1::PlannedSession& s = got->session;
  ASSERT_EQ(s.areas_size(), 1);
  EXPECT_EQ(s.areas(0).area(), v1::TREATMENT_AREA_FULL_FACE);
  ASSERT_TRUE(s.has_anesthetic());
  EXPECT_EQ(s.anesthetic().text(), "EMLA cream");
  ASSERT_EQ(s.anesthetic().codings_size(), 1);
  EXPECT_EQ(s.anesthetic().codings(0).system(), "http://snomed.info/sct");
  EXPECT_EQ(s.anesthetic().codings(0).code(), "346553009");
  EXPECT_EQ(s.anesthetic().codings(0).display(),
            "Product containing lidocaine and prilocaine (medicinal product)");
  EXPECT_THAT(got->sources, ElementsAre("ServiceRequest/sr-fullface",
                                        "MedicationRequest/mr-emla"));
}

TEST(FhirPlannedSessionTest, AppointmentOnly) {
  absl::StatusOr<PlannedSessionExtract> got =
      FromFixture("appointment-book-microneedling.json");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->session.date(), "2027-01-15T11:00:00+00:00");
  EXPECT_EQ(got->session.areas_size(), 0);  // unknown areas
  EXPECT_EQ(got->date_source, "Appointment/apt-mn.start");
  EXPECT_THAT(got->sources, ElementsAre("Appointment/apt-mn"));
}

TEST(FhirPlannedSessionTest, NoMicroneedlingOrderIsNotFound) {
  EXPECT_THAT(FromFixture("order-select-no-microneedling.json"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no microneedling session in this context")));
  EXPECT_THAT(FromContext(R"({"userId":"Practitioner/1","patientId":"2"})"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(FhirPlannedSessionTest, AppointmentGivesTheDateOfUndatedOrders) {
  const std::string context = R"({
    "draftOrders": {"resourceType":"Bundle","entry":[
      {"resource":{"resourceType":"ServiceRequest","id":"s","status":"draft",
                   "code":{"text":"Micro-Needling"},
                   "bodySite":[{"text":"Decolletage"},{"text":"Scalp"}]}}]},
    "appointments": [
      {"resourceType":"Appointment","id":"x","status":"cancelled","start":"2026-01-01T09:00:00Z"},
      {"resourceType":"Appointment","id":"a","status":"proposed","start":"2026-12-09T09:00:00Z"}]
  })";
  absl::StatusOr<PlannedSessionExtract> got = FromContext(context);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->session.date(), "2026-12-09T09:00:00Z");
  EXPECT_EQ(got->date_source, "Appointment/a.start");
  ASSERT_EQ(got->session.areas_size(), 2);
  EXPECT_EQ(got->session.areas(0).area(), v1::TREATMENT_AREA_DECOLLETAGE);
  EXPECT_EQ(got->session.areas(1).area(), v1::TREATMENT_AREA_SCALP);
}

TEST(FhirPlannedSessionTest, DefaultDateAndMissingDate) {
  const std::string context =
      R"({"draftOrders":{"resourceType":"Bundle","entry":[
      {"resource":{"resourceType":"ServiceRequest","id":"s","status":"draft",
                   "code":{"text":"Dermaroller"}}}]}})";
  EXPECT_THAT(FromContext(context), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("has no date")));
  SessionOptions options;
  options.default_date = "2026-12-24";
  absl::StatusOr<PlannedSessionExtract> got = FromContext(context, options);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->session.date(), "2026-12-24");
  EXPECT_EQ(got->date_source, "default_date");
  ASSERT_EQ(got->session.areas_size(), 1);
  EXPECT_EQ(got->session.areas(0).area(), v1::TREATMENT_AREA_UNSPECIFIED);
  options.default_date = "2026-12";
  EXPECT_THAT(FromContext(context, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not name a full day")));
}

TEST(FhirPlannedSessionTest, OrdersOnDifferentDays) {
  const std::string context =
      R"({"draftOrders":{"resourceType":"Bundle","entry":[
      {"resource":{"resourceType":"ServiceRequest","id":"a","status":"draft",
                   "code":{"text":"Microneedling"},"occurrenceDateTime":"2026-12-01"}},
      {"resource":{"resourceType":"ServiceRequest","id":"b","status":"draft",
                   "code":{"text":"Microneedling"},"occurrenceDateTime":"2026-12-02T08:00:00Z"}},
      {"resource":{"resourceType":"ServiceRequest","id":"c","status":"draft",
                   "code":{"text":"Microneedling"},"occurrenceDateTime":"2026-12-01T18:00:00-05:00"}}]}})";
  EXPECT_THAT(FromContext(context),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("name different days: ServiceRequest/a."
                                 "occurrenceDateTime and "
                                 "ServiceRequest/b.occurrenceDateTime")));
}

TEST(FhirPlannedSessionTest, OrderStatusesInDraftOrders) {
  auto context = [](const std::string& status) {
    return absl::StrCat(
        R"({"draftOrders":[{"resourceType":"ServiceRequest","id":"s","status":")",
        status,
        R"(","code":{"text":"Microneedling"},"occurrenceDateTime":"2026-12-01"}]})");
  };
  for (const char* live : {"draft", "active", "on-hold"}) {
    EXPECT_THAT(FromContext(context(live)), IsOk()) << live;
  }
  for (const char* dead : {"revoked", "completed", "entered-in-error"}) {
    EXPECT_THAT(FromContext(context(dead)),
                StatusIs(absl::StatusCode::kNotFound))
        << dead;
  }
  // A Procedure counts in preparation only.
  const std::string proc =
      R"({"draftOrders":[{"resourceType":"Procedure","id":"p","status":"preparation",
      "code":{"text":"RF Microneedling"},"performedDateTime":"2026-12-01",
      "bodySite":[{"text":"Back"}],"note":[{"text":"depth 2mm"}]}]})";
  absl::StatusOr<PlannedSessionExtract> got = FromContext(proc);
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->session.areas_size(), 1);
  EXPECT_EQ(got->session.areas(0).area(), v1::TREATMENT_AREA_BACK);
  EXPECT_DOUBLE_EQ(got->session.areas(0).needle_depth_mm(), 2.0);
  EXPECT_EQ(got->date_source, "Procedure/p.performedDateTime");
}

TEST(FhirPlannedSessionTest, SeveralAnestheticsAreMerged) {
  const std::string context = R"({"draftOrders":[
      {"resourceType":"ServiceRequest","id":"s","status":"draft","code":{"text":"Microneedling"},
       "occurrenceDateTime":"2026-12-01","bodySite":[{"text":"Cheeks"}]},
      {"resourceType":"MedicationRequest","id":"m1","status":"draft",
       "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"6387","display":"Lidocaine"}]}},
      {"resourceType":"MedicationRequest","id":"m2","status":"draft",
       "medicationCodeableConcept":{"text":"Tetracaine gel"}},
      {"resourceType":"MedicationRequest","id":"m3","status":"cancelled",
       "medicationCodeableConcept":{"text":"Benzocaine"}}]})";
  absl::StatusOr<PlannedSessionExtract> got = FromContext(context);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->session.anesthetic().text(), "Lidocaine + Tetracaine gel");
  ASSERT_EQ(got->session.anesthetic().codings_size(), 1);
  EXPECT_EQ(got->session.anesthetic().codings(0).code(), "6387");
}

TEST(FhirPlannedSessionTest, BadContexts) {
  EXPECT_THAT(FromContext("[]"), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("expected an object")));
  EXPECT_THAT(FromContext(R"({"draftOrders":"x"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.draftOrders: expected a FHIR resource or "
                                 "Bundle (or an array of resources)")));
  EXPECT_THAT(
      FromContext(R"({"draftOrders":[5]})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("$.draftOrders[0]: expected a FHIR resource")));
  EXPECT_THAT(
      FromContext(R"({"draftOrders":[{"resourceType":"ServiceRequest","id":"s",
                     "code":{"text":"Microneedling"},"occurrenceDateTime":"2026-02-30"}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("ServiceRequest/s: $.occurrenceDateTime: "
                         "the date does not exist")));
  EXPECT_THAT(
      FromContext(R"({"draftOrders":[{"resourceType":"ServiceRequest","id":"s",
                     "code":{"text":"Microneedling"},"occurrenceDateTime":"2026-12-01",
                     "extension":[{"url":"urn:needlecheck:fhir:needle-depth",
                                   "valueQuantity":{"value":1,"unit":"inch"}}]}]})"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("ServiceRequest/s: $.extension[0].valueQuantity.unit")));
  EXPECT_THAT(PlannedSessionFromHookRequest(R"({"hook":"order-sign"})",
                                            SessionOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.context: missing")));
  EXPECT_THAT(
      PlannedSessionFromHookRequest(R"({"context":[]})", SessionOptions()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("$.context: expected an object")));
  EXPECT_THAT(FromContext("{\"draftOrders\":"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("malformed JSON")));
}

}  // namespace
}  // namespace needlecheck::fhir
