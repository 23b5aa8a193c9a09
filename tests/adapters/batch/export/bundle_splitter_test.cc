// Splitting a Bundle (or a lone resource) into routed, minified resources.
#include "adapters/batch/export/bundle_splitter.h"

#include <zlib.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/resource_fragment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kTransaction[] = R"({
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {"fullUrl": "urn:uuid:0a", "resource": {"resourceType": "Organization", "id": "org"}},
    {"fullUrl": "urn:uuid:11", "resource": {"resourceType": "Patient", "id": "p1"},
     "request": {"method": "POST", "url": "Patient"}},
    {"fullUrl": "urn:uuid:22", "resource": {"resourceType": "Condition", "id": "c1",
      "subject": {"reference": "urn:uuid:11"}, "onsetDateTime": "2020-01-01",
      "x": 1.50}},
    {"request": {"method": "DELETE", "url": "Condition/old"}},
    {"resource": {"resourceType": "Bundle", "type": "collection", "entry": [
      {"resource": {"resourceType": "Observation", "id": "o1",
        "subject": {"reference": "urn:uuid:11"}}},
      {"resource": {"resourceType": "Procedure", "id": "pr1",
        "subject": {"reference": "Patient/p1"}}}
    ]}},
    5,
    {"resource": "Condition/9"},
    {"resource": {"id": "no-type", "subject": {"reference": "Patient/p1"}}},
    {"resource": {"resourceType": "Immunization", "id": "i1",
      "patient": {"reference": "urn:uuid:unknown"}}}
  ]
})";

std::vector<BundleEntry> SplitOk(absl::string_view json,
                                 BundleStats* stats = nullptr) {
  std::vector<BundleEntry> entries;
  absl::StatusOr<BundleStats> s =
      SplitBundle(json, BundleOptions(), [&](const BundleEntry& e) {
        entries.push_back(e);
        return absl::OkStatus();
      });
  EXPECT_THAT(s, IsOk());
  if (s.ok() && stats != nullptr) *stats = *s;
  return entries;
}

TEST(BundleSplitterTest, TransactionBundle) {
  BundleStats stats;
  std::vector<BundleEntry> e = SplitOk(kTransaction, &stats);
  ASSERT_THAT(e, SizeIs(9));
  for (size_t i = 0; i < e.size(); ++i) EXPECT_EQ(e[i].index, int64_t(i + 1));

  EXPECT_THAT(e[0].status, IsOk());
  EXPECT_EQ(e[0].route.resource_type, "Organization");
  EXPECT_EQ(e[0].route.patient_id, "");
  EXPECT_EQ(e[0].path, "$.entry[0].resource");
  EXPECT_EQ(e[0].json, R"({"resourceType":"Organization","id":"org"})");

  EXPECT_EQ(e[1].route.resource_type, "Patient");
  EXPECT_EQ(e[1].route.patient_id, "p1");

  // urn:uuid resolved to Patient.id, not to the uuid.
  EXPECT_EQ(e[2].route.resource_type, "Condition");
  EXPECT_EQ(e[2].route.patient_id, "p1");
  EXPECT_EQ(e[2].route.link, PatientLink::kUrn);
  EXPECT_EQ(
      e[2].json,
      R"({"resourceType":"Condition","id":"c1","subject":{"reference":"urn:uuid:11"},"onsetDateTime":"2020-01-01","x":1.5})");

  // The DELETE entry has no resource: counted, not yielded. The nested
  // Bundle is read through.
  EXPECT_EQ(e[3].route.resource_type, "Observation");
  EXPECT_EQ(e[3].route.patient_id, "p1");
  EXPECT_EQ(e[3].path, "$.entry[4].resource.entry[0].resource");
  EXPECT_EQ(e[4].route.resource_type, "Procedure");
  EXPECT_EQ(e[4].route.patient_id, "p1");
  EXPECT_EQ(e[4].route.link, PatientLink::kReference);

  EXPECT_THAT(e[5].status, StatusIs(absl::StatusCode::kInvalidArgument,
                                    "entry is not an object"));
  EXPECT_EQ(e[5].path, "$.entry[5]");
  EXPECT_THAT(e[6].status, StatusIs(absl::StatusCode::kInvalidArgument,
                                    "resource is not an object"));
  EXPECT_EQ(e[6].path, "$.entry[6].resource");
  EXPECT_THAT(e[7].status,
              StatusIs(absl::StatusCode::kInvalidArgument, "no resourceType"));
  EXPECT_FALSE(e[7].json.empty());

  EXPECT_THAT(e[8].status, IsOk());
  EXPECT_EQ(e[8].route.patient_id, "");
  EXPECT_EQ(e[8].route.link, PatientLink::kUnresolvedUrn);

  EXPECT_EQ(stats.entries, 9);
  EXPECT_EQ(stats.errors, 3);
  EXPECT_EQ(stats.without_resource, 1);
  EXPECT_EQ(stats.nested_bundles, 1);
}

// An entry's tree element maps as its minified text reads (the audit maps
// the element, parsing the bundle once); with keep_json off the text is not
// made at all.
TEST(BundleSplitterTest, EntriesMapFromTheTreeAsFromTheirText) {
  for (bool keep_json : {true, false}) {
    BundleOptions options;
    options.keep_json = keep_json;
    fhir::FhirRecordBuilder from_tree{fhir::ExtractOptions()};
    fhir::FhirRecordBuilder from_text{fhir::ExtractOptions()};
    int mapped = 0;
    absl::StatusOr<BundleStats> stats =
        SplitBundle(kTransaction, options, [&](const BundleEntry& e) {
          if (!e.status.ok()) return absl::OkStatus();
          EXPECT_EQ(e.json.empty(), !keep_json);
          std::string fragment;
          fhir::MapResourceFragment(e.resource, &fragment);
          const absl::Status a = from_tree.AddFragment(fragment);
          if (keep_json) EXPECT_EQ(a, from_text.AddNdjsonLine(e.json));
          ++mapped;
          return absl::OkStatus();
        });
    ASSERT_THAT(stats, IsOk());
    EXPECT_EQ(mapped, 6);
    absl::StatusOr<fhir::FhirExtract> a = from_tree.Finish();
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(a->record.patient_id(), "p1");
    EXPECT_EQ(a->record.conditions_size(), 1);
    if (keep_json) {
      absl::StatusOr<fhir::FhirExtract> b = from_text.Finish();
      ASSERT_THAT(b, IsOk());
      EXPECT_EQ(a->record.SerializeAsString(), b->record.SerializeAsString());
    }
  }
}

TEST(BundleSplitterTest, LoneResource) {
  std::vector<BundleEntry> e = SplitOk(
      R"( {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/7"}} )");
  ASSERT_THAT(e, SizeIs(1));
  EXPECT_EQ(e[0].index, 1);
  EXPECT_EQ(e[0].path, "$");
  EXPECT_EQ(e[0].route.patient_id, "7");
  EXPECT_EQ(
      e[0].json,
      R"({"resourceType":"Condition","id":"c","subject":{"reference":"Patient/7"}})");
  // A lone resource with a routing error is an entry error.
  e = SplitOk(R"({"resourceType": "Patient"})");
  ASSERT_THAT(e, SizeIs(1));
  EXPECT_THAT(e[0].status, StatusIs(absl::StatusCode::kInvalidArgument,
                                    "Patient without id"));
}

TEST(BundleSplitterTest, EmptyBundles) {
  EXPECT_THAT(SplitOk(R"({"resourceType":"Bundle"})"), SizeIs(0));
  EXPECT_THAT(SplitOk(R"({"resourceType":"Bundle","entry":[]})"), SizeIs(0));
  EXPECT_THAT(SplitOk(R"({"resourceType":"Bundle","entry":null})"), SizeIs(0));
  std::vector<BundleEntry> e = SplitOk(
      R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Bundle","entry":{}}}]})");
  ASSERT_THAT(e, SizeIs(1));
  EXPECT_THAT(e[0].status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "entry of a nested Bundle is not an array"));
}

TEST(BundleSplitterTest, DocumentErrors) {
  auto split = [](absl::string_view json) {
    return SplitBundle(json, BundleOptions(),
                       [](const BundleEntry&) { return absl::OkStatus(); });
  };
  EXPECT_THAT(split(R"({"resourceType":"Bundle","entry":[)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("malformed JSON")));
  EXPECT_THAT(split("[]"), StatusIs(absl::StatusCode::kInvalidArgument,
                                    "top level is not an object (an array)"));
  EXPECT_THAT(split(R"({"transactionTime":"2024","output":[]})"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "not a FHIR resource or Bundle (no resourceType)"));
  EXPECT_THAT(split(R"({"resourceType":"Bundle","entry":5})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Bundle entry is not an array"));
  EXPECT_THAT(split(""),
              StatusIs(absl::StatusCode::kInvalidArgument, "empty (no JSON)"));
  std::string deep = R"({"resourceType":"Bundle","entry":[)";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "]}";
  EXPECT_THAT(split(deep), StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("nesting deeper than 64")));
  BundleOptions small;
  small.max_bytes = 10;
  EXPECT_THAT(
      SplitBundle(kTransaction, small,
                  [](const BundleEntry&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kInvalidArgument, "larger than 10 bytes"));
}

TEST(BundleSplitterTest, CallbackErrorStopsTheWalk) {
  int calls = 0;
  absl::StatusOr<BundleStats> s =
      SplitBundle(kTransaction, BundleOptions(), [&](const BundleEntry&) {
        return ++calls == 2 ? absl::CancelledError("stop") : absl::OkStatus();
      });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kCancelled, "stop"));
  EXPECT_EQ(calls, 2);
}

std::vector<std::string> Summaries(const std::string& path,
                                   absl::Status* status) {
  std::vector<std::string> out;
  absl::StatusOr<BundleStats> s =
      SplitBundleFile(path, BundleOptions(), [&](const BundleEntry& e) {
        out.push_back(absl::StrCat(e.index, " ", e.route.resource_type, " ",
                                   e.route.patient_id, " ", e.status.ok()));
        return absl::OkStatus();
      });
  *status = s.status();
  return out;
}

TEST(BundleSplitterFileTest, PlainAndGzipFiles) {
  ScopedTempDir dir;
  const std::string plain = dir.WriteFile("b.json", kTransaction);
  const std::string gz = dir.Path("b.json.gz");
  gzFile f = gzopen(gz.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, kTransaction, sizeof(kTransaction) - 1),
            static_cast<int>(sizeof(kTransaction) - 1));
  gzclose(f);

  absl::Status s1, s2;
  const std::vector<std::string> a = Summaries(plain, &s1);
  const std::vector<std::string> b = Summaries(gz, &s2);
  EXPECT_THAT(s1, IsOk());
  EXPECT_THAT(s2, IsOk());
  EXPECT_THAT(a, SizeIs(9));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a[2], "3 Condition p1 1");
}

TEST(BundleSplitterFileTest, FileErrorsNameThePath) {
  ScopedTempDir dir;
  absl::Status s;
  const std::string missing = dir.Path("missing.json");
  Summaries(missing, &s);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));

  const std::string bad = dir.WriteFile("bad.json", "{\"resourceType\":");
  Summaries(bad, &s);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr(bad + ": malformed JSON")));

  // A truncated gzip bundle.
  const std::string gz = dir.Path("full.json.gz");
  std::string big = R"({"resourceType":"Bundle","entry":[)";
  for (int i = 0; i < 20000; ++i) {
    absl::StrAppend(&big, i ? "," : "",
                    R"({"resource":{"resourceType":"Basic","id":"b)", i,
                    R"("}})");
  }
  big += "]}";
  gzFile f = gzopen(gz.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, big.data(), static_cast<unsigned>(big.size()));
  gzclose(f);
  std::string raw;
  {
    FILE* in = fopen(gz.c_str(), "rb");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) raw.append(buf, n);
    fclose(in);
  }
  const std::string cut =
      dir.WriteFile("cut.json.gz", raw.substr(0, raw.size() / 2));
  Summaries(cut, &s);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss,
                          HasSubstr(cut + ": gzip stream ends early")));
  Summaries(gz, &s);
  EXPECT_THAT(s, IsOk());
}

}  // namespace
}  // namespace needlecheck::batch
