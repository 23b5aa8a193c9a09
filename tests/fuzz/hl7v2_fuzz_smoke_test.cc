// Runs the hl7v2_fuzz entry point on a bounded, deterministic set of inputs
// (the seeds in corpus/hl7v2_fuzz, the dermatology messages in
// tests/testdata/hl7v2, the shared corpus's HL7 v2 messages when present,
// random bytes, token soups and seeded mutations), so that ctest exercises the
// fuzz invariants on every compiler. A broken invariant aborts the test binary.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/smoke_input_generator.h"
#include "tests/testing/read_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using ::needlecheck::testing::ReadFile;
using Edit = SmokeInputGenerator::Edit;

int RunInput(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                                input.size());
}

void AddFiles(const std::filesystem::path& dir, std::vector<std::string>* out) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) out->push_back(ReadFile(f.string()));
}

const std::vector<std::string>& Seeds() {
  static const std::vector<std::string> seeds = [] {
    std::vector<std::string> s{
        "", "MSH", "MSH|", "MSH|^~\\&|", "\x0B\x1C\x0D", "\x0BMSH|^\x1C\x0D"};
    AddFiles(NEEDLECHECK_HL7V2_FUZZ_CORPUS_DIR, &s);
    AddFiles(NEEDLECHECK_HL7V2_TESTDATA_DIR, &s);
    AddFiles(std::filesystem::path(NEEDLECHECK_SHARED_DIR) / "corpus" / "hl7v2",
             &s);
    return s;
  }();
  return seeds;
}

const char* const kTokens[] = {
    "\x0B",
    "\x1C\x0D",
    "\x1C",
    "MSH|^~\\&|",
    "MSH|^~\\&#|",
    "\r",
    "\n",
    "\r\n",
    "\xEF\xBB\xBF",
    "|",
    "^",
    "~",
    "&",
    "\\",
    "\\F\\",
    "\\S\\",
    "\\X0D0A\\",
    "\\.br\\",
    "\\H\\",
    "\\P\\",
    "PID|1||",
    "AL1|1|DA|",
    "DG1|1||",
    "ADT^A01",
    "|2.3",
    "|2.8",
    "SIU^S12",
    "ZZZ|",
    "\\X",
    "MSH",
    "AIS|1|A|^Microneedling - full face|",
    "IAM|1|DA|^EMLA|||A|",
    "MRG|",
    "ORC|CA|",
    "OBR|1|||^Dermapen|",
    "NTE|1||needle depth 0.5 mm",
    "20261109100000+0100",
    "|ADT^A60|",
    "|ADT^A40|",
    "|ORM^O01|",
    "TQ1|||||||",
};

TEST(Hl7v2FuzzSmokeTest, Seeds) {
  // inline + corpus/hl7v2_fuzz + tests/testdata/hl7v2
  ASSERT_GE(Seeds().size(), 6u + 7u + 7u);
  for (const std::string& seed : Seeds()) EXPECT_EQ(RunInput(seed), 0);
}

TEST(Hl7v2FuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(Hl7v2FuzzSmokeTest, LargeInputs) {
  EXPECT_EQ(RunInput("\x0B" + std::string(100000, 'x') + "\x1C\x0D"), 0);
  std::string many = "MSH|^~\\&|A\r";
  for (int i = 0; i < 5000; ++i) many += "PID|1|2|3\r";
  EXPECT_EQ(RunInput(many), 0);
  EXPECT_EQ(RunInput("MSH|^~\\&|" + std::string(70000, '|')), 0);
}

TEST(Hl7v2FuzzSmokeTest, RandomBytes) {
  SmokeInputGenerator gen(20261206, kTokens);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(RunInput(gen.RandomBytes(200)), 0);
}

TEST(Hl7v2FuzzSmokeTest, TokenSoups) {
  SmokeInputGenerator gen(7, kTokens);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(RunInput(gen.TokenSoup(60)), 0);
}

TEST(Hl7v2FuzzSmokeTest, MutatedSeeds) {
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/6,
      {Edit::kFlipBit, Edit::kInsertByte, Edit::kDeleteChunk, Edit::kTruncate,
       Edit::kDuplicateChunk, Edit::kInsertToken, Edit::kInsertToken},
      /*max_delete=*/32,
      /*max_duplicate=*/64,
      /*max_size=*/16384};
  SmokeInputGenerator gen(12, kTokens);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 4000; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(seeds[gen.Below(seeds.size())], options)), 0);
  }
}

}  // namespace
