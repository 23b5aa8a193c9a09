// Runs the screen_request_fuzz entry point on a bounded, deterministic set of
// inputs: the seed corpus (tests/fuzz/corpus/screen_request_fuzz) in wire
// format, text format and proto JSON, random bytes and seeded mutations of
// the seeds, so that ctest exercises the fuzz invariants on every compiler.
// An invariant violation aborts the test binary with the offending input in
// hex. Also checks that the corpus is what the fuzzer needs: the .binpb
// files are the wire form of the .textproto of the same name (a
// NAME.record.binpb the wire form of its record alone), and the valid seeds
// pass validation and reach the engine.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/calendar/fhir_date.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/engine/engine.h"
#include "service/engine/input_validation.h"
#include "service/kb/knowledge_base.h"
#include "tests/fuzz/smoke_input_generator.h"
#include "tests/testing/read_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using ::needlecheck::testing::ReadFile;
using ::needlecheck::v1::ScreenRequest;

int RunInput(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                                input.size());
}

const std::filesystem::path& CorpusDir() {
  static const std::filesystem::path dir =
      std::filesystem::path(NEEDLECHECK_FUZZ_CORPUS_DIR) /
      "screen_request_fuzz";
  return dir;
}

// The corpus's textproto seeds, by file stem, sorted.
std::vector<std::pair<std::string, ScreenRequest>> TextSeeds() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(CorpusDir(), ec)) {
    if (e.path().extension() == ".textproto") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::pair<std::string, ScreenRequest>> out;
  for (const auto& f : files) {
    ScreenRequest request;
    EXPECT_TRUE(
        google::protobuf::TextFormat::ParseFromString(ReadFile(f), &request))
        << f;
    out.emplace_back(f.stem().string(), std::move(request));
  }
  return out;
}

std::string ToJson(const needlecheck::v1::PatientRecord& record) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(record, &json).ok());
  return json;
}

// Every form of every seed: the corpus files as they are, the wire forms and
// the record in proto JSON.
const std::vector<std::string>& Seeds() {
  static const std::vector<std::string> seeds = [] {
    std::vector<std::string> s;
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(CorpusDir(), ec)) {
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) s.push_back(ReadFile(f));
    for (const auto& [name, request] : TextSeeds()) {
      s.push_back(ToJson(request.record()));
    }
    s.push_back(ReadFile(std::filesystem::path(NEEDLECHECK_FUZZ_CORPUS_DIR) /
                         ".." / ".." / ".." / "deploy" / "examples" /
                         "record.json"));
    return s;
  }();
  return seeds;
}

const char* const kTokens[] = {
    "\x0a",
    "\x12",
    "\x1a",
    "\x22",
    "\x2a",
    "\x31",
    "\x08",
    "\x10\x07",
    "\x18\x63",
    "\x00",
    "\xff\x7f",
    "record",
    "session",
    "date",
    "areas",
    "area: 99",
    "needle_depth_mm: 1e308",
    "onset: \"2026-02-29\"",
    "\"2026\"",
    "\"2026-13\"",
    "\"\"",
    "\"2026-11-30T24:00:00Z\"",
    "-0",
    "nan",
    "inf",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"areas\"",
    "null",
    "\"onset\"",
    "lidocaine",
    "microneedling",
    "EMLA",
    "no ",
    " but ",
    "TREATMENT_AREA_PERIORBITAL",
};

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using Edit = SmokeInputGenerator::Edit;

TEST(ScreenRequestFuzzSmokeTest, CorpusWireFilesMatchTheirTextproto) {
  const auto seeds = TextSeeds();
  ASSERT_GE(seeds.size(), 5u);
  for (const auto& [name, request] : seeds) {
    EXPECT_EQ(ReadFile(CorpusDir() / (name + ".binpb")),
              request.SerializeAsString())
        << name;
    const std::filesystem::path record_file =
        CorpusDir() / (name + ".record.binpb");
    if (std::filesystem::exists(record_file)) {
      EXPECT_EQ(ReadFile(record_file), request.record().SerializeAsString())
          << name;
    }
  }
}

TEST(ScreenRequestFuzzSmokeTest, ValidSeedsReachTheEngine) {
  auto kb = needlecheck::kb::LoadBundledKnowledgeBase();
  ASSERT_TRUE(kb.ok()) << kb.status();
  const double max_depth = (*kb)->thresholds().max_needle_depth_mm();
  int valid = 0;
  for (const auto& [name, request] : TextSeeds()) {
    if (name == "invalid_fields") {
      EXPECT_GE(needlecheck::engine::ValidateScreenInput(
                    request.record(), request.session(), max_depth)
                    .size(),
                12u);
      continue;
    }
    if (!request.has_session()) continue;
    EXPECT_TRUE(needlecheck::engine::ValidateScreenInput(
                    request.record(), request.session(), max_depth)
                    .empty())
        << name;
    auto day = needlecheck::ParseFhirDay(request.session().date());
    ASSERT_TRUE(day.ok()) << name;
    if (name == "full_record") {
      EXPECT_GE(needlecheck::engine::EvaluateAsOf(**kb, request.record(),
                                                  request.session(), *day)
                    .size(),
                5u);
    }
    ++valid;
  }
  EXPECT_EQ(valid, 3);
}

TEST(ScreenRequestFuzzSmokeTest, Seeds) {
  for (const std::string& seed : Seeds()) EXPECT_EQ(RunInput(seed), 0);
}

TEST(ScreenRequestFuzzSmokeTest, NullEmptyInput) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
}

TEST(ScreenRequestFuzzSmokeTest, RandomBytes) {
  SmokeInputGenerator gen(20261206, kTokens);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(RunInput(gen.RandomBytes(256)), 0);
}

TEST(ScreenRequestFuzzSmokeTest, TokenSoups) {
  SmokeInputGenerator gen(11, kTokens);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(RunInput(gen.TokenSoup(30)), 0);
}

TEST(ScreenRequestFuzzSmokeTest, MutatedSeeds) {
  // Byte edits break the wire format's lengths and varints; token edits
  // splice field keys, names and values into every form.
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/6,
      {Edit::kFlipBit, Edit::kFlipBit, Edit::kInsertByte, Edit::kDeleteByte,
       Edit::kDeleteChunk, Edit::kSwapBytes, Edit::kTruncate,
       Edit::kDuplicateChunk, Edit::kReplaceQuoted, Edit::kInsertToken},
      /*max_delete=*/32,
      /*max_duplicate=*/64,
      /*max_size=*/8192};
  SmokeInputGenerator gen(4242, kTokens);
  const std::vector<std::string>& seeds = Seeds();
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(RunInput(gen.Mutate(seeds[gen.Below(seeds.size())], options)), 0);
  }
}

}  // namespace
