// Runs the cds_hooks_request_fuzz entry point over the official CDS Hooks
// examples (when the shared corpus is beside the repository), inline seeds,
// and seeded mutations of them: bounded and deterministic, so ctest
// exercises the fuzz invariants on every compiler.
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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using Edit = SmokeInputGenerator::Edit;

void RunInput(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
}

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds = {
      "",
      "{}",
      "null",
      R"({"hook":"order-sign","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p","draftOrders":{"resourceType":"Bundle","entry":[]}}})",
      R"({"hook":"patient-view","hookInstance":"x","context":{"userId":"u","patientId":"p"},"prefetch":{"patient":null}})",
      R"({"feedback":[{"card":"c","outcome":"overridden","overrideReason":{"reason":{"system":"s","code":"c"}},"outcomeTimestamp":"2026-11-24T10:00:00Z"}]})",
      R"({"feedback":[{"card":"c","outcome":"accepted","acceptedSuggestions":[{"id":"x"}],"outcomeTimestamp":"bad"}]})",
      R"({"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"http://x/?page=2"}]})",
      R"({"keys":[{"kty":"EC","crv":"P-384","kid":"k","x":"AA","y":"AA"}]})",
      "eyJhbGciOiJFUzM4NCIsImtpZCI6ImsifQ.eyJpc3MiOiJ4In0.AAAA",
      "a.b.c",
      "....",
  };
  const std::filesystem::path corpus =
      std::filesystem::path(NEEDLECHECK_SHARED_DIR) / "corpus" / "cds-hooks";
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(corpus, ec)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    seeds.push_back(out.str());
  }
  return seeds;
}

TEST(CdsHooksRequestFuzzSmokeTest, Seeds) {
  for (const std::string& seed : Seeds()) RunInput(seed);
}

TEST(CdsHooksRequestFuzzSmokeTest, MutatedSeeds) {
  // Up to 8 byte-level edits, each kind equally likely; no size limit.
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/8,
      {Edit::kInsertByte, Edit::kDeleteChunk, Edit::kFlipBit, Edit::kTruncate},
      /*max_delete=*/16,
      /*max_duplicate=*/0,  // no kDuplicateChunk
      /*max_size=*/0};
  SmokeInputGenerator gen(20261124, /*tokens=*/{});
  const std::vector<std::string> seeds = Seeds();
  for (int i = 0; i < 20000; ++i) {
    RunInput(gen.Mutate(seeds[gen.Below(seeds.size())], options));
  }
}

}  // namespace
