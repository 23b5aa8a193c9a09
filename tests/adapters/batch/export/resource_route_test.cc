// Routing one resource to its patient: every reference form, and malformed
// lines of many kinds (errors, never crashes, no values in messages).
#include "adapters/batch/export/resource_route.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/fhir/fhir_extract.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A resource of `type` whose `member` is `value` (raw JSON).
std::string With(const std::string& type, const std::string& member,
                 const std::string& value) {
  return absl::StrCat(R"({"resourceType":")", type, R"(","id":"r1",")", member,
                      R"(":)", value, "}");
}

std::string Ref(const std::string& reference) {
  return absl::StrCat(R"({"reference":")", reference, R"("})");
}

RouteResult RouteOk(const std::string& json,
                    const UrnPatientMap* urns = nullptr) {
  absl::StatusOr<RouteResult> r = RouteResource(json, RouteOptions(), urns);
  EXPECT_THAT(r, IsOk()) << json;
  return r.ok() ? *r : RouteResult();
}

TEST(ResourceRouteTest, PatientIsItsOwnPatient) {
  RouteResult r = RouteOk(
      R"({"resourceType":"Patient","id":"p-1.x","birthDate":"1990-01-01"})");
  EXPECT_EQ(r.resource_type, "Patient");
  EXPECT_EQ(r.id, "p-1.x");
  EXPECT_EQ(r.patient_id, "p-1.x");
  EXPECT_EQ(r.link, PatientLink::kSelf);
  EXPECT_STREQ(r.field, "id");
}

TEST(ResourceRouteTest, EveryPatientMember) {
  for (const auto& [type, member] :
       std::vector<std::pair<std::string, std::string>>{
           {"Condition", "subject"},
           {"Immunization", "patient"},
           {"Coverage", "beneficiary"},
           {"ResearchSubject", "individual"}}) {
    RouteResult r = RouteOk(With(type, member, Ref("Patient/123")));
    EXPECT_EQ(r.resource_type, type);
    EXPECT_EQ(r.id, "r1");
    EXPECT_EQ(r.patient_id, "123") << member;
    EXPECT_EQ(r.link, PatientLink::kReference);
    EXPECT_EQ(std::string(r.field), member);
  }
}

TEST(ResourceRouteTest, FirstPresentMemberInPriorityOrder) {
  // subject beats patient wherever it stands in the object.
  RouteResult r = RouteOk(
      R"({"patient":{"reference":"Patient/b"},"resourceType":"Claim","subject":{"reference":"Patient/a"}})");
  EXPECT_EQ(r.patient_id, "a");
  EXPECT_STREQ(r.field, "subject");
  // null counts as absent.
  r = RouteOk(
      R"({"resourceType":"Claim","subject":null,"patient":{"reference":"Patient/b"}})");
  EXPECT_EQ(r.patient_id, "b");
  // The first present member decides, even when it names no patient.
  r = RouteOk(
      R"({"resourceType":"Observation","subject":{"reference":"Group/g"},"patient":{"reference":"Patient/b"}})");
  EXPECT_EQ(r.patient_id, "");
  EXPECT_EQ(r.link, PatientLink::kOtherType);
}

TEST(ResourceRouteTest, ReferenceForms) {
  struct Case {
    std::string reference;
    std::string patient;
    PatientLink link;
  };
  const std::vector<Case> cases = {
      {"Patient/123", "123", PatientLink::kReference},
      {"Patient/123/_history/2", "123", PatientLink::kReference},
      {"https://fhir.example.org/r4/Patient/abc", "abc",
       PatientLink::kReference},
      {"https://fhir.example.org/r4/Patient/abc/_history/7", "abc",
       PatientLink::kReference},
      {"http://x/Patient/A.b-9", "A.b-9", PatientLink::kReference},
      {"#p1", "", PatientLink::kContained},
      {"urn:uuid:58c297c4-d684-4677-8024-01131d93835e", "",
       PatientLink::kUnresolvedUrn},
      {"Group/1", "", PatientLink::kOtherType},
      {"https://x/fhir/Location/2", "", PatientLink::kOtherType},
      {"Patient?identifier=http://mrn|123", "", PatientLink::kUnrecognized},
      {"123", "", PatientLink::kUnrecognized},
      {"", "", PatientLink::kUnrecognized},
      {"patient/123", "", PatientLink::kUnrecognized},
  };
  for (const Case& c : cases) {
    RouteResult r = RouteOk(With("Condition", "subject", Ref(c.reference)));
    EXPECT_EQ(r.patient_id, c.patient) << c.reference;
    EXPECT_EQ(r.link, c.link) << c.reference << ": " << PatientLinkName(r.link);
    EXPECT_STREQ(r.field, "subject");
  }
}

TEST(ResourceRouteTest, UrnReferencesResolveThroughTheMap) {
  UrnPatientMap urns;
  urns["urn:uuid:58c297c4-d684-4677-8024-01131d93835e"] = "patient-7";
  const std::string json =
      With("Procedure", "subject",
           Ref("urn:uuid:58c297c4-d684-4677-8024-01131d93835e"));
  RouteResult r = RouteOk(json, &urns);
  EXPECT_EQ(r.patient_id, "patient-7");
  EXPECT_EQ(r.link, PatientLink::kUrn);
  r = RouteOk(With("Procedure", "subject", Ref("urn:uuid:other")), &urns);
  EXPECT_EQ(r.patient_id, "");
  EXPECT_EQ(r.link, PatientLink::kUnresolvedUrn);
}

TEST(ResourceRouteTest, NoPatient) {
  RouteResult r = RouteOk(R"({"resourceType":"Organization","id":"o"})");
  EXPECT_EQ(r.patient_id, "");
  EXPECT_EQ(r.link, PatientLink::kNone);
  EXPECT_STREQ(r.field, "");
  r = RouteOk(With("Condition", "subject",
                   R"({"identifier":{"value":"mrn"},"display":"Someone"})"));
  EXPECT_EQ(r.link, PatientLink::kNoReference);
  r = RouteOk(With("Condition", "subject", R"({"reference":null})"));
  EXPECT_EQ(r.link, PatientLink::kNoReference);
  // No id is fine for a non-Patient.
  r = RouteOk(
      R"({"resourceType":"Condition","subject":{"reference":"Patient/1"}})");
  EXPECT_EQ(r.id, "");
  EXPECT_EQ(r.patient_id, "1");
}

TEST(ResourceRouteTest, ArraysOfReferences) {
  RouteResult r = RouteOk(With(
      "Contract", "subject",
      R"([{"reference":"Group/1"},{"display":"x"},{"reference":"Patient/9"}])"));
  EXPECT_EQ(r.patient_id, "9");
  EXPECT_EQ(r.link, PatientLink::kReference);
  r = RouteOk(With("Contract", "subject", R"([{"reference":"Group/1"}])"));
  EXPECT_EQ(r.patient_id, "");
  EXPECT_EQ(r.link, PatientLink::kOtherType);
  r = RouteOk(With("Contract", "subject", "[]"));
  EXPECT_EQ(r.link, PatientLink::kNoReference);
}

TEST(ResourceRouteTest, AppointmentParticipants) {
  RouteResult r = RouteOk(
      R"({"resourceType":"Appointment","id":"a","participant":[{"actor":{"reference":"Practitioner/d"}},{"actor":{"reference":"Patient/p"}}]})");
  EXPECT_EQ(r.patient_id, "p");
  EXPECT_STREQ(r.field, "participant.actor");
  // Odd shapes are ignored, not errors.
  r = RouteOk(
      R"({"resourceType":"Appointment","id":"a","participant":[5,{"actor":"x"},{"actor":{"reference":"Patient/bad id"}}]})");
  EXPECT_EQ(r.patient_id, "");
  EXPECT_EQ(r.link, PatientLink::kNone);
}

struct BadCase {
  std::string json;
  std::string message;
};

std::vector<BadCase> BadCases() {
  const std::string deep_array =
      std::string(100000, '[') + std::string(100000, ']');
  std::string deep_resource = R"({"resourceType":"Basic","id":"b","x":)";
  for (int i = 0; i < 1000; ++i) deep_resource += R"({"a":)";
  deep_resource += "1";
  for (int i = 0; i < 1000; ++i) deep_resource += "}";
  deep_resource += "}";
  return {
      {"", "empty (no JSON)"},
      {"  \t ", "empty (no JSON)"},
      {"{", "malformed JSON ("},
      {R"({"resourceType":"Condition","id":"c","subject":{"reference":"Patient/1"})",
       "malformed JSON ("},
      {R"({"resourceType":"Condition","id":"c",)", "malformed JSON ("},
      {R"({"resourceType":"Condition","id":"c","code":{tru}})",
       "malformed JSON ("},
      {R"({"resourceType":"Patient","id":"1"} {"resourceType":"Patient","id":"2"})",
       "malformed JSON ("},
      {R"({"resourceType":"Patient","id":"1"} x)", "malformed JSON ("},
      {"{\"resourceType\":\"Patient\",\"id\":\"\xff\xfe\"}",
       "malformed JSON (UTF8_ERROR)"},
      {"{\"resourceType\":\"Patient\",\"id\":\"a\x01\"}", "malformed JSON ("},
      {std::string("{\"resourceType\":\"Pat\0ient\"}", 26), "malformed JSON ("},
      {R"({"resourceType":"Observation","valueQuantity":{"value":1e999}})",
       "malformed JSON (NUMBER_ERROR)"},
      {deep_array, "nesting deeper than 64 levels"},
      {std::string(100000, '['), "malformed JSON ("},  // never closed
      {deep_resource, "nesting deeper than 64 levels"},
      {"[]", "top level is not an object (an array)"},
      {"[{\"resourceType\":\"Patient\",\"id\":\"1\"}]",
       "top level is not an object (an array)"},
      {"5", "top level is not an object (a number)"},
      {"\"Patient\"", "top level is not an object (a string)"},
      {"null", "top level is not an object (null)"},
      {"{}", "no resourceType"},
      {R"({"id":"1","subject":{"reference":"Patient/1"}})", "no resourceType"},
      {R"({"resourceType":5,"id":"1"})", "resourceType is not a string"},
      {R"({"resourceType":null,"id":"1"})", "resourceType is not a string"},
      {R"({"resourceType":"patient","id":"1"})",
       "resourceType is not a resource type name"},
      {R"({"resourceType":"Pat ient","id":"1"})",
       "resourceType is not a resource type name"},
      {R"({"resourceType":"","id":"1"})",
       "resourceType is not a resource type name"},
      {R"({"resourceType":"Condition","id":5})", "id is not a string"},
      {R"({"resourceType":"Condition","id":"a/b"})",
       "id is not a valid FHIR id"},
      {R"({"resourceType":"Condition","id":""})", "id is not a valid FHIR id"},
      {absl::StrCat(R"({"resourceType":"Condition","id":")",
                    std::string(65, 'a'), "\"}"),
       "id is not a valid FHIR id"},
      {R"({"resourceType":"Patient"})", "Patient without id"},
      {R"({"resourceType":"Patient","id":null})", "Patient without id"},
      {R"({"resourceType":"Condition","subject":"Patient/1"})",
       "subject is not an object"},
      {R"({"resourceType":"Condition","subject":[5]})",
       "subject[] is not an object"},
      {R"({"resourceType":"Claim","patient":{"reference":5}})",
       "patient.reference is not a string"},
      {R"({"resourceType":"Condition","subject":{"reference":"Patient/"}})",
       "subject.reference names a Patient with an invalid id"},
      {R"({"resourceType":"Condition","subject":{"reference":"Patient/a b"}})",
       "subject.reference names a Patient with an invalid id"},
      {R"({"resourceType":"Coverage","beneficiary":{"reference":"https://x/Patient/\u00e9"}})",
       "beneficiary.reference names a Patient with an invalid id"},
  };
}

TEST(ResourceRouteTest, MalformedLinesAreErrors) {
  ResourceRouter router;
  for (const BadCase& c : BadCases()) {
    RouteResult r;
    absl::Status s = router.Route(c.json, &r);
    EXPECT_THAT(
        s, StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(c.message)))
        << c.json.substr(0, 200);
  }
}

TEST(ResourceRouteTest, MessagesQuoteNoValues) {
  const std::string secret = "SECRETVALUE";
  for (
      const std::string& json : {
          absl::StrCat(R"({"resourceType":"Condition","id":")", secret,
                       R"( x"})"),
          absl::StrCat(
              R"({"resourceType":"Condition","subject":{"reference":"Patient/)",
              secret, R"( x"}})"),
          absl::StrCat(R"({"resourceType":")", secret, R"( "})"),
          absl::StrCat(R"({"resourceType":"Condition","id":")", secret,
                       "\xff\"}"),
          absl::StrCat(R"({"resourceType":"Condition","id":")", secret),
      }) {
    absl::StatusOr<RouteResult> r = RouteResource(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("SECRET")));
  }
}

TEST(ResourceRouteTest, EveryTruncationOfALineIsAnError) {
  const std::string line =
      R"({"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"24079001","display":"Atopic dermatitis"}]},"onsetDateTime":"2020-01-01T00:00:00Z","x":[1,2.5,true,false,null]})";
  ASSERT_EQ(RouteOk(line).patient_id, "p1");
  ResourceRouter router;
  RouteResult r;
  for (size_t n = 0; n < line.size(); ++n) {
    EXPECT_THAT(router.Route(line.substr(0, n), &r),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << n;
  }
}

TEST(ResourceRouteTest, SizeLimit) {
  RouteOptions options;
  options.max_bytes = 100;
  const std::string json =
      With("Condition", "subject", Ref("Patient/" + std::string(60, 'p')));
  ASSERT_GT(json.size(), 100u);
  EXPECT_THAT(
      RouteResource(json, options),
      StatusIs(absl::StatusCode::kInvalidArgument, "larger than 100 bytes"));
  options.max_bytes = json.size();
  EXPECT_THAT(RouteResource(json, options), IsOk());
}

TEST(ResourceRouteTest, RouterIsReusableAndResultsDoNotLeak) {
  ResourceRouter router;
  RouteResult r;
  const std::string big = absl::StrCat(
      R"({"resourceType":"Observation","id":"o","subject":{"reference":"Patient/big"},"note":[{"text":")",
      std::string(1 << 20, 'n'), R"("}]})");
  ASSERT_THAT(router.Route(big, &r), IsOk());
  EXPECT_EQ(r.patient_id, "big");
  ASSERT_THAT(router.Route(R"({"resourceType":"Organization"})", &r), IsOk());
  EXPECT_EQ(r.resource_type, "Organization");
  EXPECT_EQ(r.id, "");
  EXPECT_EQ(r.patient_id, "");
  EXPECT_EQ(r.link, PatientLink::kNone);
  EXPECT_THAT(router.Route("{", &r), Not(IsOk()));
  ASSERT_THAT(router.Route(With("Condition", "subject", Ref("Patient/z")), &r),
              IsOk());
  EXPECT_EQ(r.patient_id, "z");
}

TEST(ResourceRouteTest, PaddedInputGivesTheSameResult) {
  // A line inside a larger buffer, as NdjsonLineReader hands it out.
  const std::string line = With("Condition", "subject", Ref("Patient/pad"));
  const std::string buffer = line + "\n" + std::string(64, ' ');
  ResourceRouter router;
  RouteResult r;
  ASSERT_THAT(
      router.RoutePadded(absl::string_view(buffer.data(), line.size()), &r),
      IsOk());
  EXPECT_EQ(r.patient_id, "pad");
  // The bytes after the view are not part of the JSON.
  const std::string cut = R"({"resourceType":"Patient","id":"1")" +
                          std::string("}") + std::string(64, ' ');
  EXPECT_THAT(
      router.RoutePadded(absl::string_view(cut.data(), cut.size() - 65), &r),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("malformed JSON")));
}

TEST(ResourceRouteTest, IdsAndLinkNames) {
  EXPECT_TRUE(IsFhirId("a"));
  EXPECT_TRUE(IsFhirId(std::string(64, '9')));
  EXPECT_TRUE(IsFhirId("58c297c4-d684-4677-8024-01131d93835e"));
  EXPECT_FALSE(IsFhirId(""));
  EXPECT_FALSE(IsFhirId(std::string(65, '9')));
  EXPECT_FALSE(IsFhirId("a_b"));
  EXPECT_FALSE(IsFhirId("a/b"));
  EXPECT_STREQ(PatientLinkName(PatientLink::kUnresolvedUrn), "unresolved-urn");
  EXPECT_STREQ(PatientLinkName(PatientLink::kSelf), "self");
}

}  // namespace
// The router groups a resource under the patient its reference names, and
// the FHIR extractor, reading that patient's resources, keeps a resource
// only if its reference names the same patient: both read references by one
// rule (adapters/fhir/patient_reference.h), so they agree on every form,
// including the odd ones where two hand-written rules once differed.
TEST(ResourceRouteTest, TheRouterAndTheExtractorNameTheSamePatient) {
  const char* const kReferences[] = {
      "Patient/p1",
      "Patient/p1/_history/3",
      "https://fhir.example.org/r4/Patient/p1",
      "https://fhir.example.org/r4/Patient/p1/_history/2",
      "Patient/B/Patient/A",
      "https://fhir.example.org/Patient/Patient/A",
      "Patient/p1/extra",
      "Group/g1",
      "#c1",
      "urn:uuid:6a1e3b52-04a1-4d8c-9f3e-111111111111",
      "Patient?identifier=x",
      "p1",
  };
  for (const char* reference : kReferences) {
    const std::string line = absl::StrCat(
        R"({"resourceType":"Condition","id":"c","subject":{"reference":")",
        reference, R"("},"code":{"text":"Eczema"}})");
    absl::StatusOr<RouteResult> route = RouteResource(line);
    ASSERT_THAT(route.status(), IsOk()) << reference;
    absl::StatusOr<fhir::FhirExtract> extract =
        fhir::ExtractFromNdjsonLine(line, fhir::ExtractOptions());
    ASSERT_THAT(extract.status(), IsOk()) << reference;
    EXPECT_EQ(route->patient_id, extract->record.patient_id()) << reference;
    // Read as the routed patient's resource, it is kept (not "another
    // patient's").
    if (route->patient_id.empty()) continue;
    fhir::ExtractOptions options;
    options.patient_id = route->patient_id;
    extract = fhir::ExtractFromNdjsonLine(line, options);
    ASSERT_THAT(extract.status(), IsOk()) << reference;
    EXPECT_EQ(extract->record.conditions_size(), 1) << reference;
    EXPECT_EQ(extract->stats.other_patient, 0) << reference;
  }
}

}  // namespace needlecheck::batch

namespace needlecheck::batch {
namespace {

// The batch path parses each resource once: the router's parse is what the
// FHIR adapter maps (MapRouted), and the record is then built from the
// mapped fragments without parsing anything (a fragment is not JSON). The
// record, and each resource's error, are those of reading the lines' text.
TEST(ResourceRouteTest, OneParsePerResourceRoutesAndMaps) {
  const std::vector<std::string> lines = {
      R"({"resourceType":"Patient","id":"p1","birthDate":"1980-01-01"})",
      R"({"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"text":"Keloid"}})",
      R"({"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p1"},"onsetDateTime":"2021-02-30"})",
      R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"66555-4"}]},"valueInteger":3})",
  };
  ResourceRouter router;
  fhir::ExtractOptions options;
  options.patient_id = "p1";
  fhir::FhirRecordBuilder from_fragments(options);
  fhir::FhirRecordBuilder from_text(options);
  for (const std::string& line : lines) {
    RouteResult route;
    ASSERT_TRUE(router.Route(line, &route).ok());
    EXPECT_EQ(route.patient_id, "p1");
    std::string fragment;
    router.MapRouted(&fragment);
    EXPECT_FALSE(RouteResource(fragment).ok());  // not JSON
    EXPECT_EQ(from_fragments.AddFragment(fragment),
              from_text.AddNdjsonLine(line));
  }
  EXPECT_EQ(router.parses(), static_cast<int64_t>(lines.size()));
  absl::StatusOr<fhir::FhirExtract> a = from_fragments.Finish();
  absl::StatusOr<fhir::FhirExtract> b = from_text.Finish();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->record.SerializeAsString(), b->record.SerializeAsString());
  EXPECT_EQ(a->record.conditions_size(), 1);
  EXPECT_EQ(a->record.fitzpatrick_skin_type(), 3);
}

}  // namespace
}  // namespace needlecheck::batch
