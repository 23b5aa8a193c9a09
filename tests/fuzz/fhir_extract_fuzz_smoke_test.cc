// Runs the fhir_extract_fuzz entry point on a bounded, deterministic set of
// inputs (the FHIR fixtures, inline seeds, JSON-token soups, random bytes and
// seeded mutations of the fixtures), so that ctest exercises the fuzz
// invariants on every compiler. An invariant violation aborts the test
// binary with the offending input in hex.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/smoke_input_generator.h"
#include "tests/testing/read_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int RunInput(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                                input.size());
}

using ::needlecheck::testing::ReadFile;

const std::vector<std::string>& Seeds() {
  static const std::vector<std::string> seeds = [] {
    std::vector<std::string> s{
        "",
        "{}",
        "[]",
        "null",
        R"({"resourceType":"Patient","id":"p","birthDate":"1990-01-01"})",
        R"({"resourceType":"Condition","id":"c","onsetDateTime":"2026-02-30"})",
        R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"66555-4"}]},"valueInteger":4,"effectiveDateTime":"2026"}}]}}]})",
        R"({"draftOrders":[{"resourceType":"ServiceRequest","id":"s","status":"draft","code":{"text":"Microneedling"},"bodySite":[{"text":"Under-eye"}],"note":[{"text":"needle depth 0.5 mm"}]}]})",
        R"({"appointments":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Appointment","id":"a","description":"dermapen","start":"2026-12-01T10:00:00Z"}}]}})",
        R"({"resourceType":"Procedure","id":"p","code":{"text":"RF microneedling"},"extension":[{"url":"urn:needlecheck:fhir:needle-depth","valueQuantity":{"value":1e308,"unit":"cm"}}]})",
        R"({"resourceType":"AllergyIntolerance","code":{"text":"NKDA"},"reaction":[{"manifestation":[{"text":"hives"}],"substance":{"text":"EMLA"}}]})",
        R"({"hook":"patient-view","prefetch":{"a":null,"b":{"resourceType":"OperationOutcome"}}})",
        "{\"resourceType\":\"Patient\",\"id\":\"\xff\xfe\"}",
        "{\"resourceType\":\"Condition\",\"id\":\"\\u0000\\n\",\"code\":5}",
    };
    const std::filesystem::path testdata = NEEDLECHECK_FHIR_TESTDATA_DIR;
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(testdata, ec)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) s.push_back(ReadFile(f));
    return s;
  }();
  return seeds;
}

const char* const kTokens[] = {
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "5",
    "-1",
    "0.5",
    "1e400",
    "\"\"",
    "\"x\"",
    "\"2026-02-30\"",
    "\"2026-12-01\"",
    "\"resourceType\"",
    "\"Bundle\"",
    "\"Condition\"",
    "\"entry\"",
    "\"resource\"",
    "\"code\"",
    "\"coding\"",
    "\"text\"",
    "\"Microneedling\"",
    "\"draftOrders\"",
    "\"bodySite\"",
    "\"urn:needlecheck:fhir:needle-depth\"",
    "\"valueQuantity\"",
    "\"unit\"",
    "\"in\"",
    "\"extension\"",
    "\"status\"",
    "\"draft\"",
    "\"subject\"",
    "\"reference\"",
    "\"Patient/1\"",
    "\"Patient\"",
    "\"id\"",
    "\"prefetch\"",
    "\"hook\"",
};

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using Edit = SmokeInputGenerator::Edit;

TEST(FhirExtractFuzzSmokeTest, Seeds) {
  ASSERT_GE(Seeds().size(), 14u + 6u);  // inline seeds + the fixtures
  for (const std::string& seed : Seeds()) EXPECT_EQ(RunInput(seed), 0);
}

TEST(FhirExtractFuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(FhirExtractFuzzSmokeTest, DeepNesting) {
  EXPECT_EQ(RunInput(std::string(100000, '[')), 0);
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "{\"a\":";
  EXPECT_EQ(RunInput(deep), 0);
}

TEST(FhirExtractFuzzSmokeTest, RandomBytes) {
  SmokeInputGenerator gen(20261201, kTokens);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(RunInput(gen.RandomBytes(200)), 0);
}

TEST(FhirExtractFuzzSmokeTest, TokenSoups) {
  SmokeInputGenerator gen(3, kTokens);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(RunInput(gen.TokenSoup(60)), 0);
}

TEST(FhirExtractFuzzSmokeTest, MutatedSeeds) {
  // Up to 6 edits, a token insertion twice as likely as each other kind;
  // the result is cut at 64 KiB.
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/6,
      {Edit::kFlipBit, Edit::kDeleteChunk, Edit::kTruncate,
       Edit::kDuplicateChunk, Edit::kReplaceQuoted, Edit::kInsertToken,
       Edit::kInsertToken},
      /*max_delete=*/32,
      /*max_duplicate=*/64,
      /*max_size=*/65536};
  SmokeInputGenerator gen(42, kTokens);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 4000; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(seeds[gen.Below(seeds.size())], options)), 0);
  }
}

}  // namespace
