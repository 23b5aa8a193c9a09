// Runs the jwt_fuzz entry point on a bounded, deterministic set of inputs
// (the seed corpus jwt_fuzz_corpus/, inline seeds, JSON and JOSE token
// soups, random bytes and seeded mutations), so that ctest exercises the
// fuzz invariants on every compiler. An invariant violation aborts the test
// binary with a message. It also checks that the corpus's signed seeds
// really verify (so the fuzzer starts past the signature check).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapters/cds_hooks/jwt_verifier.h"
#include "gtest/gtest.h"
#include "tests/fuzz/jwt_fuzz_keys.h"
#include "tests/fuzz/smoke_input_generator.h"
#include "tests/testing/read_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace keys = ::needlecheck::fuzz_testing;
using ::needlecheck::cds_hooks::JwkSet;
using ::needlecheck::cds_hooks::JwtVerifier;
using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using ::needlecheck::testing::ReadFile;
using Edit = SmokeInputGenerator::Edit;

int RunInput(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                                input.size());
}

// name -> contents of the seed corpus, sorted by name.
std::vector<std::pair<std::string, std::string>> Corpus() {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e :
       std::filesystem::directory_iterator(NEEDLECHECK_JWT_FUZZ_CORPUS_DIR)) {
    files.emplace_back(e.path().filename().string(), ReadFile(e.path()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

const std::vector<std::string>& Seeds() {
  static const std::vector<std::string> seeds = [] {
    std::vector<std::string> s = {
        "",
        "\n",
        "{}",
        R"({"keys":[]})",
        R"({"keys":[{}]})",
        R"({"keys":[{"kty":"EC","kid":"a","crv":"P-384","x":"","y":""}]})",
        R"({"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]})",
        R"({"keys":[{"kty":"RSA","kid":"r","n":"wA","e":"AAAAAAAB"}]})",
        R"({"keys":[null,1,"x",[]]})",
        "a.b.c",
        "e30.e30.",
        "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImZ1enotZWMifQ.e30.AAAA",
        std::string(keys::kJwtFuzzJwks) + "\n" + std::string(300, 'A') + "." +
            std::string(300, 'B') + "." + std::string(300, 'C'),
    };
    for (const auto& [name, contents] : Corpus()) s.push_back(contents);
    return s;
  }();
  return seeds;
}

const char* const kTokens[] = {
    "{",         "}",       "[",         "]",           ",",
    ":",         "\"",      "null",      "1e999",       "-0",
    "\"kty\"",   "\"EC\"",  "\"RSA\"",   "\"oct\"",     "\"kid\"",
    "\"x\"",     "\"y\"",   "\"n\"",     "\"e\"",       "\"d\"",
    "\"P-384\"", "\"use\"", "\"alg\"",   "\"keys\"",    ".",
    "\n",        "eyJ",     "e30",       "AQAB",        "=",
    "-",         "_",       "\"ES384\"", "\"RS384\"",   "\"iss\"",
    "\"aud\"",   "\"exp\"", "\"jti\"",   "\"fuzz-ec\"", "\"fuzz-rsa\"",
};

TEST(JwtFuzzSmokeTest, CorpusSignedSeedsVerify) {
  auto fixed = JwkSet::FromJson(keys::kJwtFuzzJwks);
  ASSERT_TRUE(fixed.ok());
  int accepted = 0;
  for (const auto& [name, contents] : Corpus()) {
    const size_t newline = contents.find('\n');
    ASSERT_NE(newline, std::string::npos) << name;
    JwtVerifier::Options options;
    options.trusted_issuers = {keys::kJwtFuzzIssuer};
    JwtVerifier verifier(*fixed, options);
    const bool ok =
        verifier
            .Verify(contents.substr(newline + 1), {keys::kJwtFuzzAudience},
                    absl::FromUnixSeconds(keys::kJwtFuzzNow))
            .ok();
    const bool expected = name == "es384_ok" || name == "rs384_ok" ||
                          name == "aud_array" || name == "jwks_mixed" ||
                          name == "jwks_duplicate";
    EXPECT_EQ(ok, expected) << name;
    accepted += ok;
  }
  EXPECT_EQ(accepted, 5);
}

TEST(JwtFuzzSmokeTest, Seeds) {
  ASSERT_GE(Seeds().size(), 13u + 11u);
  for (const std::string& seed : Seeds()) EXPECT_EQ(RunInput(seed), 0);
}

TEST(JwtFuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(JwtFuzzSmokeTest, DeepNestingAndHugeInputs) {
  EXPECT_EQ(RunInput(std::string(100000, '[')), 0);
  EXPECT_EQ(RunInput(R"({"keys":)" + std::string(5000, '[') + "\n" +
                     std::string(5000, '.')),
            0);
  EXPECT_EQ(RunInput(std::string((1 << 20) + 10, ' ') + "{}"), 0);
  std::string many = R"({"keys":[)";
  for (int i = 0; i < 150; ++i) {
    absl::StrAppend(&many, i ? "," : "", R"({"kty":"oct","kid":")", i, "\"}");
  }
  EXPECT_EQ(RunInput(many + "]}"), 0);
}

TEST(JwtFuzzSmokeTest, RandomBytes) {
  SmokeInputGenerator gen(20261206, kTokens);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(RunInput(gen.RandomBytes(200)), 0);
}

TEST(JwtFuzzSmokeTest, TokenSoups) {
  SmokeInputGenerator gen(11, kTokens);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(RunInput(gen.TokenSoup(60)), 0);
}

TEST(JwtFuzzSmokeTest, MutatedSeeds) {
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/4,
      {Edit::kFlipBit, Edit::kDeleteChunk, Edit::kTruncate,
       Edit::kDuplicateChunk, Edit::kReplaceQuoted, Edit::kInsertToken,
       Edit::kFlipCase},
      /*max_delete=*/16,
      /*max_duplicate=*/64,
      /*max_size=*/0};
  SmokeInputGenerator gen(99, kTokens);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(seeds[gen.Below(seeds.size())], options)), 0);
  }
}

}  // namespace
