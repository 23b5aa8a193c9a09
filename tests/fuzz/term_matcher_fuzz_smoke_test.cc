// Runs the term_matcher_fuzz entry point on a few thousand deterministic
// inputs (seeds, word soups, random bytes and seeded mutations), so that
// ctest exercises the fuzz invariants on every compiler. An invariant
// violation aborts the test binary with the offending input in hex.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/smoke_input_generator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int RunInput(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                                input.size());
}

const std::vector<std::string>& Seeds() {
  static const std::vector<std::string>* const seeds =
      new std::vector<std::string>{
          "",
          ".",
          "allergic to numbing cream",
          "EMLA - hives",
          "rash after lidocaine cream",
          "NKDA",
          "denies allergy to lidocaine",
          "no reaction to prilocaine in 2023",
          "possible lidocaine allergy",
          "? lidocaine",
          "no rash with EMLA but hives after benzocaine",
          "Microneedling, micro-needling, Micro Needling, Dermapen, derma-pen",
          "Micorneedling 0.5 mm; RF microneedling x3",
          "Acne scars",
          "active acne; old acne scars",
          "mepivacaine",
          "Pt: Lidocaine-allergy",
          "lidocane lidocaien emle emla",
          "lidocaine/prilocaine (EMLA) tolerated",
          "negative for keloid; family history of hypertrophic scar",
          "no known allergies apart from tetracaine\r\nnovocain ruled out",
          std::string("\0lidocaine\0\xff\xfe no\x80 EMLA\xc3", 23),
          "a a a a a a a a no a but a yet a",
          "percutaneous collagen induction therapy session, percutaneous "
          "collageninduction therapysession",
      };
  return *seeds;
}

const char* const kWords[] = {
    "lidocaine", "lidocane", "lidocaien",  "LIDOCAINE",     "prilocaine",
    "EMLA",      "emle",     "benzocaine", "mepivacaine",   "caine",
    "ine",       "micro",    "needling",   "microneedling", "Micorneedling",
    "derma",     "pen",      "dermapen",   "acne",          "scars",
    "scar",      "keloid",   "family",     "history",       "numbing",
    "cream",     "BLT",      "no",         "not",           "denies",
    "negative",  "for",      "known",      "nkda",          "denied",
    "ruled",     "out",      "tolerated",  "but",           "however",
    "apart",     "from",     "yet",        "possible",      "a",
    "0",         "5",        "mm",         "2023",          "allergy",
    "rash",      "hives",    "x",          "\xc3\xa9",      "\xff",
};

const char* const kSeparators[] = {" ",  "  ", ", ",   ". ", ".",  ";",
                                   "!",  "\n", "\r\n", "-",  "/",  " (",
                                   ") ", "?",  "",     "\t", "\0", " - "};

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using Edit = SmokeInputGenerator::Edit;

TEST(TermMatcherFuzzSmokeTest, Seeds) {
  for (const std::string& seed : Seeds()) EXPECT_EQ(RunInput(seed), 0);
}

TEST(TermMatcherFuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(TermMatcherFuzzSmokeTest, RandomBytes) {
  // Half the bytes from this alphabet, half random.
  static const char kAlphabet[] = "abcdeilnoprtxyzAEILMN .;!\n\r-/,?0123456789";
  SmokeInputGenerator gen(20240601, kWords, kSeparators);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(RunInput(gen.RandomBytes(300, kAlphabet)), 0);
  }
}

TEST(TermMatcherFuzzSmokeTest, WordSoups) {
  // Each word after a separator.
  SmokeInputGenerator gen(7, kWords, kSeparators);
  for (int i = 0; i < 1500; ++i) ASSERT_EQ(RunInput(gen.TokenSoup(40)), 0);
}

TEST(TermMatcherFuzzSmokeTest, MutatedSeeds) {
  // Up to 8 byte-level and word-level edits, each kind equally likely; the
  // result is cut at 4 KiB.
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/8,
      {Edit::kFlipBit, Edit::kInsertByte, Edit::kDeleteByte, Edit::kSwapBytes,
       Edit::kFlipCase, Edit::kInsertSeparator, Edit::kDuplicateChunk,
       Edit::kInsertToken},
      /*max_delete=*/0,  // no kDeleteChunk
      /*max_duplicate=*/16,
      /*max_size=*/4096};
  SmokeInputGenerator gen(42, kWords, kSeparators);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 1500; ++i) {
    std::string input = seeds[gen.Below(seeds.size())];
    if (gen.Below(4) == 0) input += seeds[gen.Below(seeds.size())];
    ASSERT_EQ(RunInput(gen.Mutate(std::move(input), options)), 0);
  }
}

}  // namespace
