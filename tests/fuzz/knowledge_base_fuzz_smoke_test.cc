// Runs the knowledge_base_fuzz entry point on a bounded, deterministic set
// of inputs: the bundled knowledge base and the seed corpus
// (tests/fuzz/corpus/knowledge_base_fuzz), random bytes and seeded
// mutations of the seeds (bytes, lines, quoted values), so that ctest
// exercises the fuzz invariants on every compiler. An invariant violation
// aborts the test binary with the offending input in hex. Also checks that
// the corpus is what the fuzzer needs: minimal.textproto loads, and
// broken.textproto does not.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "service/kb/knowledge_base.h"
#include "tests/fuzz/smoke_input_generator.h"
#include "tests/testing/read_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using ::needlecheck::kb::KnowledgeBase;
using ::needlecheck::testing::ReadFile;

int RunInput(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                                input.size());
}

std::string CorpusFile(const std::string& name) {
  return ReadFile(std::filesystem::path(NEEDLECHECK_FUZZ_CORPUS_DIR) /
                  "knowledge_base_fuzz" / name);
}

const std::string& Bundled() {
  static const std::string text(needlecheck::kb::BundledKnowledgeBaseText());
  return text;
}

const char* const kTokens[] = {
    "",
    "x",
    "MN-X",
    "eczema",
    "{findings}",
    "{nope}",
    "\\n",
    "\\x00",
    "\\377",
    "0",
    "-1",
    "1e9",
    "nan",
    "2147483648",
    "RULE_KIND_CRITERIA",
    "SEVERITY_CRITICAL",
    "TEMPORAL_EVER_NOT_ACTIVE",
    "ENTRY_SOURCE_SKIN_TYPE",
    "caine",
    "-caine",
    "no",
    "lidocaine",
    "microneedling",
};

const char* const kSeparators[] = {"\n", " ", "{",  "}", ":", "[", "]",
                                   ",",  "#", "\"", "<", ">", ";"};

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using Edit = SmokeInputGenerator::Edit;

TEST(KnowledgeBaseFuzzSmokeTest, CorpusSeedsLoadAsIntended) {
  EXPECT_TRUE(KnowledgeBase::FromText(Bundled(), "bundled").ok());
  auto minimal = KnowledgeBase::FromText(CorpusFile("minimal.textproto"), "m");
  EXPECT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_FALSE(
      KnowledgeBase::FromText(CorpusFile("broken.textproto"), "b").ok());
}

TEST(KnowledgeBaseFuzzSmokeTest, Seeds) {
  EXPECT_EQ(RunInput(Bundled()), 0);
  EXPECT_EQ(RunInput(CorpusFile("minimal.textproto")), 0);
  EXPECT_EQ(RunInput(CorpusFile("broken.textproto")), 0);
  EXPECT_EQ(RunInput(""), 0);
  EXPECT_EQ(RunInput("version: \"1\""), 0);
}

TEST(KnowledgeBaseFuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(KnowledgeBaseFuzzSmokeTest, RandomBytesAndSoups) {
  SmokeInputGenerator gen(99, kTokens, kSeparators);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(RunInput(gen.RandomBytes(200)), 0);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(RunInput(gen.TokenSoup(40)), 0);
}

// Each case compiles a knowledge base when the edit leaves one valid, so
// the counts stay small.
TEST(KnowledgeBaseFuzzSmokeTest, MutatedMinimal) {
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/3,
      {Edit::kReplaceQuoted, Edit::kReplaceQuoted, Edit::kDeleteChunk,
       Edit::kDuplicateChunk, Edit::kInsertToken, Edit::kInsertSeparator,
       Edit::kFlipBit, Edit::kDeleteByte},
      /*max_delete=*/80,
      /*max_duplicate=*/200,
      /*max_size=*/16384};
  SmokeInputGenerator gen(7, kTokens, kSeparators);
  const std::string minimal = CorpusFile("minimal.textproto");
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(minimal, options)), 0);
  }
}

TEST(KnowledgeBaseFuzzSmokeTest, MutatedBundled) {
  // Quoted values only: most results still parse, so they reach validation
  // and often the compiler.
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/2,
      {Edit::kReplaceQuoted, Edit::kReplaceQuoted, Edit::kReplaceQuoted,
       Edit::kDeleteChunk},
      /*max_delete=*/200,
      /*max_duplicate=*/0,
      /*max_size=*/0};
  SmokeInputGenerator gen(8, kTokens, kSeparators);
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(Bundled(), options)), 0);
  }
}

}  // namespace
