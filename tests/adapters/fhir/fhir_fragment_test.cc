// Mapping a resource once into a fragment (resource_fragment.h) and merging
// fragments gives what reading the resource's JSON text gives: the same
// record, planned candidates, stats and per-resource errors.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/resource_fragment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/adapters/fhir/fhir_test_util.h"
#include "tests/testing/shared_corpus.h"

namespace needlecheck::fhir {
namespace {

using ::needlecheck::v1::Condition;

using ::testing::HasSubstr;

// Every resource of a document (Bundle entries, prefetch values), as the
// batch reader sees them: its tree element.
void Resources(const simdjson::dom::element& e,
               std::vector<simdjson::dom::element>* out) {
  simdjson::dom::object obj;
  if (e.get_object().get(obj) == simdjson::SUCCESS) {
    std::string_view type;
    if (obj["resourceType"].get_string().get(type) == simdjson::SUCCESS &&
        type != "Bundle") {
      out->push_back(e);
      return;
    }
    for (auto kv : obj) Resources(kv.value, out);
    return;
  }
  simdjson::dom::array arr;
  if (e.get_array().get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : arr) Resources(item, out);
  }
}

// Everything an extract holds, as text.
std::string Describe(const absl::StatusOr<FhirExtract>& x) {
  if (!x.ok()) return x.status().ToString();
  std::string out = x->record.SerializeAsString();
  for (const PlannedArea& a : x->planned.areas) {
    absl::StrAppend(&out, "|area ", a.source, " ", a.date);
    for (const auto& plan : a.areas) absl::StrAppend(&out, plan.DebugString());
  }
  for (const PlannedAnesthetic& a : x->planned.anesthetics) {
    absl::StrAppend(&out, "|anesthetic ", a.source, a.anesthetic.DebugString());
  }
  for (const PlannedAppointment& a : x->planned.appointments) {
    absl::StrAppend(&out, "|appointment ", a.source, " ", a.start, " ",
                    a.status, a.microneedling ? " mn" : "");
  }
  absl::StrAppend(&out, "|stats ", x->stats.resources, " ",
                  x->stats.other_patient, " ", x->stats.null_prefetch);
  for (const auto& [k, v] : x->stats.by_type) absl::StrAppend(&out, k, v);
  for (const auto& [k, v] : x->stats.skipped_by_type) {
    absl::StrAppend(&out, "skip", k, v);
  }
  return out;
}

// Reads `resources` both ways with `options`; expects the same per-resource
// statuses and the same extract; and the same statuses and record, byte for
// byte serialized, from FragmentRecordWriter.
void ExpectSameBothWays(const std::vector<simdjson::dom::element>& resources,
                        const ExtractOptions& options) {
  FhirRecordBuilder by_text(options);
  FhirRecordBuilder by_fragment(options);
  FragmentRecordWriter writer;
  writer.Restart(options);
  // The writer keeps views of the fragments until FinishRecord.
  std::vector<std::string> fragments;
  fragments.reserve(resources.size());
  simdjson::dom::parser parser;
  for (const simdjson::dom::element& resource : resources) {
    const std::string text = simdjson::to_string(resource);
    std::string& fragment = fragments.emplace_back();
    MapResourceFragment(resource, &fragment);
    // What AddFragment reads is not JSON: it cannot be parsing it again.
    simdjson::dom::element ignored;
    EXPECT_NE(parser.parse(fragment).get(ignored), simdjson::SUCCESS);
    const absl::Status a = by_text.AddNdjsonLine(text);
    const absl::Status b = by_fragment.AddFragment(fragment);
    EXPECT_EQ(a, b) << "resource " << text.substr(0, 80);
    EXPECT_EQ(writer.Add(fragment), b) << "resource " << text.substr(0, 80);
  }
  absl::StatusOr<FhirExtract> extract = by_fragment.Finish();
  EXPECT_EQ(Describe(by_text.Finish()), Describe(extract));
  std::string record = "kept";  // FinishRecord appends
  const absl::Status written = writer.FinishRecord(&record);
  if (extract.ok()) {
    ASSERT_TRUE(written.ok()) << written;
    EXPECT_EQ(record, "kept" + extract->record.SerializeAsString());
  } else {
    EXPECT_EQ(written, extract.status());
  }
  // Empty afterwards: the same options give the empty record.
  std::string empty;
  ASSERT_TRUE(writer.FinishRecord(&empty).ok());
  FhirRecordBuilder none(options);
  absl::StatusOr<FhirExtract> nothing = none.Finish();
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(empty, nothing->record.SerializeAsString());
}

TEST(FhirFragmentTest, TestdataDocumentsMapTheSameAsTheirText) {
  int documents = 0;
  for (const auto& path : testing::FilesIn(testing::TestdataDir(), ".json")) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const std::string json = testing::ReadFile(path);
    ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << path;
    std::vector<simdjson::dom::element> resources;
    Resources(root, &resources);
    ASSERT_FALSE(resources.empty()) << path;
    ExtractOptions options;
    options.as_of_date = "2026-12-01";
    SCOPED_TRACE(path.string());
    ExpectSameBothWays(resources, options);
    ++documents;
  }
  EXPECT_GT(documents, 3);
}

// The shared corpus: real bundles and Bulk Data NDJSON (every resource,
// every line), read both ways.
TEST(FhirFragmentTest, CorpusResourcesMapTheSameAsTheirText) {
  auto corpus = [](const char* name) {
    return ::needlecheck::testing::SharedCorpusDir(NEEDLECHECK_SHARED_DIR,
                                                   name);
  };
  if (!std::filesystem::exists(corpus("fhir-r4-bundles"))) {
    GTEST_SKIP() << "no shared corpus";
  }
  int64_t count = 0;
  for (const char* sub : {"fhir-r4-bundles", "fhir-r4-bulk-ndjson"}) {
    for (const char* ext : {".json", ".ndjson"}) {
      for (const auto& path : testing::FilesIn(corpus(sub), ext)) {
        const std::string data = testing::ReadFile(path);
        simdjson::dom::parser parser;
        std::vector<simdjson::dom::element> resources;
        simdjson::dom::document_stream stream;
        if (parser.parse_many(data).get(stream) != simdjson::SUCCESS) continue;
        // One tree per document: read each document's resources before the
        // next is parsed.
        for (auto doc : stream) {
          simdjson::dom::element root;
          if (doc.get(root) != simdjson::SUCCESS) break;
          resources.clear();
          Resources(root, &resources);
          SCOPED_TRACE(path.string());
          ExpectSameBothWays(resources, ExtractOptions());
          count += static_cast<int64_t>(resources.size());
        }
      }
    }
  }
  EXPECT_GT(count, 1000);
}

constexpr const char* kResources[] = {
    R"({"resourceType":"Patient","id":"p1","birthDate":"1980-02-29"})",
    R"({"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"text":"Keloid"},"onsetDateTime":"2020-01-01"})",
    R"({"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p1"},"onsetDateTime":"2021-02-30"})",
    R"({"resourceType":"AllergyIntolerance","id":"a1","patient":{"reference":"Patient/p1"},"code":{"text":"NKDA"}})",
    R"({"resourceType":"AllergyIntolerance","id":"a2","patient":{"reference":"Patient/p1"},"note":"x"})",
    R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"66555-4"}]},"valueInteger":4,"effectiveDateTime":"2025-03-01"})",
    R"({"resourceType":"Observation","id":"o2","subject":{"reference":"Patient/p1"},"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"66555-4"}]},"valueString":"Type II","effectiveDateTime":"2027-03-01"})",
    R"({"resourceType":"Observation","id":"o3","subject":{"reference":"Patient/p2"},"status":"final","code":{"text":"x"},"valueQuantity":{"value":0.5,"unit":"mm"}})",
    R"({"resourceType":"MedicationRequest","id":"m1","subject":{"reference":"Patient/p1"},"status":"draft","medicationCodeableConcept":{"text":"EMLA cream"},"authoredOn":"2026-11-30"})",
    R"({"resourceType":"MedicationAdministration","id":"m2","subject":{"reference":"Patient/p1"},"status":"not-done","medicationCodeableConcept":{"text":"lidocaine"},"effectiveDateTime":"2026-01-02"})",
    R"({"resourceType":"Procedure","id":"s1","subject":{"reference":"Patient/p1"},"status":"preparation","code":{"text":"microneedling"},"bodySite":[{"text":"face"}],"extension":[{"url":"urn:needlecheck:fhir:needle-depth","valueQuantity":{"value":0.05,"unit":"cm"}}]})",
    R"({"resourceType":"Procedure","id":"s2","subject":{"reference":"Patient/p1"},"status":"completed","code":{"text":"microneedling"},"extension":[{"url":"urn:needlecheck:fhir:needle-depth","valueQuantity":{"value":1,"unit":"inch"}}]})",
    R"({"resourceType":"ServiceRequest","id":"r1","subject":{"reference":"urn:uuid:abc"},"status":"draft","code":{"text":"microneedling"},"occurrenceDateTime":"2026-12-01","note":[{"text":"needle depth 1.5 mm"}]})",
    R"({"resourceType":"Appointment","id":"ap1","status":"proposed","start":"2026-12-01T10:00:00Z","serviceType":[{"text":"Microneedling"}]})",
    R"({"resourceType":"Organization","id":"org1"})",
    R"({"resourceType":"MedicationStatement","id":"ms1","subject":{"reference":"Patient/p1"},"status":"active","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"6064"}]},"effectivePeriod":{"start":"2026-01-01","end":"2026-13-01"}})",
};

std::vector<simdjson::dom::element> ParseAll(
    std::vector<simdjson::dom::parser>* parsers) {
  std::vector<simdjson::dom::element> out;
  parsers->resize(std::size(kResources));
  for (size_t i = 0; i < std::size(kResources); ++i) {
    simdjson::dom::element e;
    EXPECT_EQ((*parsers)[i].parse(std::string(kResources[i])).get(e),
              simdjson::SUCCESS)
        << i;
    out.push_back(e);
  }
  return out;
}

// Mapped entries, rejected resources (impossible dates, wrong types,
// unknown units), Fitzpatrick and planned candidates, other patients,
// skipped types: all as reading the text.
TEST(FhirFragmentTest, EveryMappingAndErrorIsTheSameAsFromText) {
  std::vector<simdjson::dom::parser> parsers;
  const std::vector<simdjson::dom::element> resources = ParseAll(&parsers);
  ExtractOptions options;
  options.patient_id = "p1";
  options.as_of_date = "2026-12-01";
  ExpectSameBothWays(resources, options);
  // No patient given (one Patient resource: chosen), and a cap that the
  // resources exceed.
  ExpectSameBothWays(resources, ExtractOptions());
  ExtractOptions capped;
  capped.max_resources = 5;
  ExpectSameBothWays(resources, capped);
}

TEST(FhirFragmentTest, ErrorsComeBackUnchangedAndTheSourceIsKept) {
  std::vector<simdjson::dom::parser> parsers;
  const std::vector<simdjson::dom::element> resources = ParseAll(&parsers);
  std::string fragment;
  MapResourceFragment(resources[2], &fragment);  // Condition c2, Feb 30
  FhirRecordBuilder builder{ExtractOptions()};
  const absl::Status status = builder.AddFragment(fragment);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("Condition/c2: $.onsetDateTime"));
  absl::StatusOr<FragmentSource> source = ReadFragmentSource(fragment);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(source->resource_type, "Condition");
  EXPECT_EQ(source->id, "c2");
}

TEST(FhirFragmentTest, ACorruptFragmentIsDataLoss) {
  std::vector<simdjson::dom::parser> parsers;
  const std::vector<simdjson::dom::element> resources = ParseAll(&parsers);
  std::string fragment;
  MapResourceFragment(resources[1], &fragment);
  FhirRecordBuilder builder{ExtractOptions()};
  for (size_t cut = 0; cut < fragment.size(); ++cut) {
    const absl::Status s = builder.AddFragment(fragment.substr(0, cut));
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << cut;
  }
  EXPECT_EQ(builder.AddFragment(fragment + "x").code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(builder.AddFragment(fragment).ok());
  FragmentRecordWriter writer;
  writer.Restart(ExtractOptions());
  for (size_t cut = 0; cut < fragment.size(); ++cut) {
    const std::string part = fragment.substr(0, cut);
    EXPECT_EQ(writer.Add(part).code(), absl::StatusCode::kDataLoss) << cut;
  }
  const std::string longer = fragment + "x";
  EXPECT_EQ(writer.Add(longer).code(), absl::StatusCode::kDataLoss);
  // A mapped entry whose bytes are not a message (a field tag of 0 where
  // the Condition starts) is DATA_LOSS too, though the fragment's layout
  // decodes: the writer copies entries without parsing them.
  std::string damaged = fragment;
  const std::string condition = [&] {
    Condition c;
    c.set_id("c1");
    return c.SerializeAsString();
  }();
  const size_t at = damaged.find(condition.substr(0, 4));
  ASSERT_NE(at, std::string::npos);
  damaged[at] = '\0';
  EXPECT_EQ(writer.Add(damaged).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(builder.AddFragment(damaged).code(), absl::StatusCode::kDataLoss);
  std::string record;
  ASSERT_TRUE(writer.FinishRecord(&record).ok());
  EXPECT_EQ(record, "");  // nothing of the damaged fragments stayed
  EXPECT_FALSE(ReadFragmentSource("\xff").ok());
}

}  // namespace
}  // namespace needlecheck::fhir
