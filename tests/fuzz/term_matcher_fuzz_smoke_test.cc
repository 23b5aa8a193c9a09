// Runs the term_matcher_fuzz entry point on a few thousand deterministic
// inputs (seeds, word soups, random bytes and seeded mutations), so that
// ctest exercises the fuzz invariants on every compiler. An invariant
// violation aborts the test binary with the offending input in hex.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
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

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  // Uniform in [0, n); n > 0. Modulo keeps it identical on every platform.
  size_t Below(size_t n) { return static_cast<size_t>(rng_() % n); }

  std::string RandomBytes() {
    static const char kAlphabet[] =
        "abcdeilnoprtxyzAEILMN .;!\n\r-/,?0123456789";
    std::string s(Below(300), '\0');
    for (char& c : s) {
      c = Below(2) == 0 ? kAlphabet[Below(sizeof(kAlphabet) - 1)]
                        : static_cast<char>(Below(256));
    }
    return s;
  }

  std::string WordSoup() {
    std::string s;
    const size_t n = 1 + Below(40);
    for (size_t i = 0; i < n; ++i) {
      const char* sep = kSeparators[Below(std::size(kSeparators))];
      s.append(sep, sep[0] == '\0' && Below(4) == 0 ? 1 : std::strlen(sep));
      s += kWords[Below(std::size(kWords))];
    }
    return s;
  }

  std::string Mutate(std::string s) {
    const size_t n = 1 + Below(8);
    for (size_t i = 0; i < n; ++i) {
      const size_t pos = s.empty() ? 0 : Below(s.size() + 1);
      switch (Below(8)) {
        case 0:  // flip a byte
          if (pos < s.size())
            s[pos] = static_cast<char>(s[pos] ^ (1 << Below(8)));
          break;
        case 1:  // insert a byte
          s.insert(s.begin() + pos, static_cast<char>(Below(256)));
          break;
        case 2:  // delete a byte
          if (pos < s.size()) s.erase(pos, 1);
          break;
        case 3:  // swap adjacent bytes
          if (pos + 1 < s.size()) std::swap(s[pos], s[pos + 1]);
          break;
        case 4:  // flip ASCII case
          if (pos < s.size()) s[pos] = static_cast<char>(s[pos] ^ 0x20);
          break;
        case 5:  // insert a separator
          s.insert(pos, kSeparators[Below(std::size(kSeparators))]);
          break;
        case 6:  // duplicate a chunk
          if (pos < s.size()) {
            s.insert(pos, s.substr(pos, 1 + Below(16)));
          }
          break;
        default:  // insert a vocabulary word
          s.insert(pos, kWords[Below(std::size(kWords))]);
          break;
      }
      if (s.size() > 4096) s.resize(4096);
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

TEST(TermMatcherFuzzSmokeTest, Seeds) {
  for (const std::string& seed : Seeds()) EXPECT_EQ(RunInput(seed), 0);
}

TEST(TermMatcherFuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(TermMatcherFuzzSmokeTest, RandomBytes) {
  Generator gen(20240601);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(RunInput(gen.RandomBytes()), 0);
}

TEST(TermMatcherFuzzSmokeTest, WordSoups) {
  Generator gen(7);
  for (int i = 0; i < 1500; ++i) ASSERT_EQ(RunInput(gen.WordSoup()), 0);
}

TEST(TermMatcherFuzzSmokeTest, MutatedSeeds) {
  Generator gen(42);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 1500; ++i) {
    std::string input = seeds[gen.Below(seeds.size())];
    if (gen.Below(4) == 0) input += seeds[gen.Below(seeds.size())];
    ASSERT_EQ(RunInput(gen.Mutate(std::move(input))), 0);
  }
}

}  // namespace
