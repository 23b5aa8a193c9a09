// Runs the cds_hooks_request_fuzz entry point over the official CDS Hooks
// examples (when the shared corpus is beside the repository), inline seeds,
// and seeded mutations of them: bounded and deterministic, so ctest
// exercises the fuzz invariants on every compiler.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

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
  std::mt19937 rng(20261124);
  const std::vector<std::string> seeds = Seeds();
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 4) {
        case 0:  // insert a byte
          s.insert(s.begin() + pos, static_cast<char>(rng() % 256));
          break;
        case 1:  // delete a span
          if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 16);
          break;
        case 2:  // flip a byte
          if (!s.empty())
            s[pos % s.size()] ^= static_cast<char>(1 << (rng() % 8));
          break;
        default:  // truncate
          s.resize(pos);
          break;
      }
    }
    RunInput(s);
  }
}

}  // namespace
