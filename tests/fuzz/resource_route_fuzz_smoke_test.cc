// Runs the resource_route_fuzz entry point on a bounded, deterministic set
// of inputs (inline seeds, lines of the corpus Bulk Data sample and a small
// Synthea bundle when ../shared is present, JSON-token soups, random bytes
// and seeded mutations), so that ctest exercises the fuzz invariants on
// every compiler. An invariant violation aborts the test binary with the
// offending input in hex.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
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
        R"({"resourceType":"Patient","id":"p1"})",
        R"({"resourceType":"Patient"})",
        R"({"resourceType":"Condition","id":"c","subject":{"reference":"Patient/p1"}})",
        R"({"resourceType":"Condition","subject":{"reference":"https://x/fhir/Patient/p1/_history/3"}})",
        R"({"resourceType":"Claim","patient":{"reference":"urn:uuid:1"}})",
        R"({"resourceType":"Coverage","beneficiary":{"reference":"#p"},"contained":[{"resourceType":"Patient","id":"p"}]})",
        R"({"resourceType":"ResearchSubject","individual":{"identifier":{"value":"x"}}})",
        R"({"resourceType":"Contract","subject":[{"reference":"Group/1"},{"reference":"Patient/2"}]})",
        R"({"resourceType":"Appointment","participant":[{"actor":{"reference":"Patient/a"}}]})",
        R"({"resourceType":"Observation","subject":{"reference":"Patient?identifier=x"}})",
        R"({"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p"}},{"resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:1"}}},{"request":{"method":"DELETE"}},5,{"resource":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Procedure","subject":{"reference":"urn:uuid:1"}}}]}}]})",
        "{\"resourceType\":\"Patient\",\"id\":\"\xff\xfe\"}",
        "{\"resourceType\":\"Condition\",\"id\":\"\\u0000\\n\"}",
        R"({"resourceType":"Observation","valueQuantity":{"value":1e300,"x":-0,"y":18446744073709551615}})",
    };
    const std::filesystem::path corpus =
        std::filesystem::path(NEEDLECHECK_SHARED_DIR) / "corpus";
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(
             corpus / "fhir-r4-bulk-ndjson", ec)) {
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      // The first three lines of each file.
      std::istringstream in(ReadFile(f));
      std::string line;
      for (int i = 0; i < 3 && std::getline(in, line); ++i) s.push_back(line);
    }
    // The smallest Synthea bundle (28 resources).
    const std::string bundle =
        ReadFile(corpus / "fhir-r4-bundles" /
                 "Fannie_Waelchi_8666cd40-7af9-48c6-a1a6-86a161195542.json");
    if (!bundle.empty()) s.push_back(bundle);
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
    "1e999",
    "\"\"",
    "\"x\"",
    "\"resourceType\"",
    "\"Patient\"",
    "\"Condition\"",
    "\"Bundle\"",
    "\"entry\"",
    "\"resource\"",
    "\"fullUrl\"",
    "\"urn:uuid:1\"",
    "\"id\"",
    "\"p1\"",
    "\"subject\"",
    "\"patient\"",
    "\"beneficiary\"",
    "\"individual\"",
    "\"participant\"",
    "\"actor\"",
    "\"Appointment\"",
    "\"reference\"",
    "\"Patient/p1\"",
    "\"Patient/\"",
    "\"#p\"",
    "\"Group/1\"",
    "\"/_history/1\"",
};

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using Edit = SmokeInputGenerator::Edit;

TEST(ResourceRouteFuzzSmokeTest, Seeds) {
  ASSERT_GE(Seeds().size(), 18u);
  if (std::filesystem::is_directory(
          std::filesystem::path(NEEDLECHECK_SHARED_DIR) / "corpus" /
          "fhir-r4-bundles")) {
    ASSERT_EQ(Seeds().size(), 18u + 8 * 3 + 1);  // inline, lines, a bundle
  }
  for (const std::string& seed : Seeds()) EXPECT_EQ(RunInput(seed), 0);
}

TEST(ResourceRouteFuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(ResourceRouteFuzzSmokeTest, DeepNesting) {
  EXPECT_EQ(RunInput(std::string(100000, '[')), 0);
  EXPECT_EQ(RunInput(std::string(5000, '[') + std::string(5000, ']')), 0);
  std::string deep = R"({"resourceType":"Bundle","entry":[)";
  for (int i = 0; i < 1000; ++i) {
    deep += R"({"resource":{"resourceType":"Bundle","entry":[)";
  }
  EXPECT_EQ(RunInput(deep), 0);
}

TEST(ResourceRouteFuzzSmokeTest, RandomBytes) {
  SmokeInputGenerator gen(20261201, kTokens);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(RunInput(gen.RandomBytes(200)), 0);
}

TEST(ResourceRouteFuzzSmokeTest, TokenSoups) {
  SmokeInputGenerator gen(7, kTokens);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(RunInput(gen.TokenSoup(60)), 0);
}

TEST(ResourceRouteFuzzSmokeTest, MutatedSeeds) {
  // Up to 6 edits, each kind equally likely; no size limit.
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/6,
      {Edit::kFlipBit, Edit::kDeleteChunk, Edit::kTruncate,
       Edit::kDuplicateChunk, Edit::kReplaceQuoted, Edit::kInsertToken},
      /*max_delete=*/32,
      /*max_duplicate=*/64,
      /*max_size=*/0};
  SmokeInputGenerator gen(42, kTokens);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(seeds[gen.Below(seeds.size())], options)), 0);
  }
}

}  // namespace
