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
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int RunInput(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                                input.size());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

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

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  size_t Below(size_t n) { return static_cast<size_t>(rng_() % n); }

  std::string RandomBytes() {
    std::string s(Below(200), '\0');
    for (char& c : s) c = static_cast<char>(Below(256));
    return s;
  }

  std::string TokenSoup() {
    std::string s;
    const size_t n = 1 + Below(60);
    for (size_t i = 0; i < n; ++i) s += kTokens[Below(std::size(kTokens))];
    return s;
  }

  std::string Mutate(std::string s) {
    const size_t n = 1 + Below(6);
    for (size_t i = 0; i < n; ++i) {
      const size_t pos = s.empty() ? 0 : Below(s.size() + 1);
      switch (Below(7)) {
        case 0:  // flip a byte
          if (pos < s.size())
            s[pos] = static_cast<char>(s[pos] ^ (1 << Below(8)));
          break;
        case 1:  // delete a chunk
          if (pos < s.size()) s.erase(pos, 1 + Below(32));
          break;
        case 2:  // truncate
          s.resize(pos);
          break;
        case 3:  // duplicate a chunk
          if (pos < s.size()) s.insert(pos, s.substr(pos, 1 + Below(64)));
          break;
        case 4: {  // replace the string after a quote with a token
          const size_t q = s.find('"', pos);
          if (q != std::string::npos) {
            const size_t end = s.find('"', q + 1);
            if (end != std::string::npos) {
              s.replace(q, end - q + 1, kTokens[Below(std::size(kTokens))]);
            }
          }
          break;
        }
        default:  // insert a token
          s.insert(pos, kTokens[Below(std::size(kTokens))]);
          break;
      }
      if (s.size() > 65536) s.resize(65536);
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

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
  Generator gen(20261201);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(RunInput(gen.RandomBytes()), 0);
}

TEST(FhirExtractFuzzSmokeTest, TokenSoups) {
  Generator gen(3);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(RunInput(gen.TokenSoup()), 0);
}

TEST(FhirExtractFuzzSmokeTest, MutatedSeeds) {
  Generator gen(42);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 4000; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(seeds[gen.Below(seeds.size())])), 0);
  }
}

}  // namespace
