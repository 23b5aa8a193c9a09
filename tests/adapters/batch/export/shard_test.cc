// --shard K/N: a stable split of patients (pinned values), roughly even,
// and strict parsing; --shard_count=N with JOB_COMPLETION_INDEX.
#include "adapters/batch/export/shard.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

// Values computed independently (a Python transcription of the algorithm
// documented in shard.h). If these change, every sharded export re-shards.
TEST(ShardTest, PinnedValues) {
  struct Pin {
    const char* id;
    uint64_t hash;
    uint32_t mod4, mod16, mod1024;
  };
  const Pin pins[] = {
      {"", 17280346270528514342ull, 2, 6, 294},
      {"a", 9413272369427828315ull, 3, 11, 603},
      {"123", 5929581787153895448ull, 0, 8, 24},
      {"129c6ac7-8d06-89de-ad63-0204a93e76c3", 1673124843251081342ull, 2, 14,
       126},
      {"58c297c4-d684-4677-8024-01131d93835e", 17851243317570714735ull, 3, 15,
       111},
      {"patient-1", 17965295137022616579ull, 3, 3, 3},
  };
  for (const Pin& p : pins) {
    EXPECT_EQ(PatientHash(p.id), p.hash) << p.id;
    EXPECT_EQ(ShardOf(p.id, 4), p.mod4) << p.id;
    EXPECT_EQ(ShardOf(p.id, 16), p.mod16) << p.id;
    EXPECT_EQ(ShardOf(p.id, 1024), p.mod1024) << p.id;
  }
  EXPECT_EQ(ShardOf("anything", 1), 0u);
  EXPECT_EQ(ShardOf("anything", 0), 0u);
}

// Counts per shard over 10,000 ids stay within 15% of the mean.
void ExpectEven(const std::vector<std::string>& ids, uint32_t n) {
  std::vector<int> counts(n, 0);
  for (const std::string& id : ids) ++counts[ShardOf(id, n)];
  const double mean = static_cast<double>(ids.size()) / n;
  for (uint32_t k = 0; k < n; ++k) {
    EXPECT_NEAR(counts[k], mean, 0.15 * mean) << "shard " << k << " of " << n;
  }
}

TEST(ShardTest, RoughlyEvenOverTenThousandIds) {
  std::vector<std::string> sequential;
  std::vector<std::string> uuids;
  uint64_t x = 88172645463325252ull;  // xorshift64: a fixed id stream
  for (int i = 0; i < 10000; ++i) {
    sequential.push_back(absl::StrCat(i));
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    const uint64_t a = next();
    const uint64_t b = next();
    uuids.push_back(absl::StrFormat(
        "%08x-%04x-%04x-%04x-%012x", static_cast<uint32_t>(a >> 32),
        static_cast<uint32_t>(a >> 16) & 0xffff,
        static_cast<uint32_t>(a) & 0xffff, static_cast<uint32_t>(b >> 48),
        b & 0xffffffffffffull));
  }
  for (uint32_t n : {2u, 3u, 4u, 7u, 8u, 16u}) {
    ExpectEven(sequential, n);
    ExpectEven(uuids, n);
  }
}

TEST(ShardTest, EveryIdIsInExactlyOneShard) {
  for (uint32_t n : {1u, 3u, 8u}) {
    for (int i = 0; i < 200; ++i) {
      const std::string id = absl::StrCat("p", i);
      int in = 0;
      for (uint32_t k = 1; k <= n; ++k) {
        if (ShardSpec{k, n}.Contains(id)) ++in;
      }
      EXPECT_EQ(in, 1) << id;
    }
  }
}

TEST(ShardTest, ParseShardSpec) {
  absl::StatusOr<ShardSpec> s = ParseShardSpec("2/4");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->index, 2u);
  EXPECT_EQ(s->count, 4u);
  EXPECT_THAT(ParseShardSpec("1/1"), IsOk());
  EXPECT_THAT(ParseShardSpec("4/4"), IsOk());
  EXPECT_THAT(ParseShardSpec("1024/1024"), IsOk());
  EXPECT_THAT(ParseShardSpec("007/10"), IsOk());
  for (const char* bad :
       {"", "2", "/", "2/", "/4", "a/b", "+1/2", "-1/2", " 1/2", "1/2 ", "1//2",
        "1/2/3", "1.0/2", "99999999999/1", "1/99999999999"}) {
    EXPECT_THAT(ParseShardSpec(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("\"", bad, "\""))))
        << bad;
  }
  EXPECT_THAT(ParseShardSpec("0/4"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("K must be between 1 and N")));
  EXPECT_THAT(ParseShardSpec("5/4"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("K must be between 1 and N")));
  EXPECT_THAT(ParseShardSpec("1/0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("N must be between 1 and 1024")));
  EXPECT_THAT(ParseShardSpec("1/1025"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("N must be between 1 and 1024")));
}

// Index i of --shard_count=N is the shard --shard (i+1)/N: the same
// patients.
TEST(ShardTest, ShardCountTakesTheJobCompletionIndex) {
  for (int64_t n : {1, 3, 1024}) {
    for (int64_t i : {int64_t{0}, n / 2, n - 1}) {
      const std::string index = absl::StrCat(i);
      absl::StatusOr<ShardSpec> from_env = ResolveShard("", n, index.c_str());
      ASSERT_THAT(from_env, IsOk()) << i << " of " << n;
      absl::StatusOr<ShardSpec> from_flag =
          ParseShardSpec(absl::StrCat(i + 1, "/", n));
      ASSERT_THAT(from_flag, IsOk());
      EXPECT_EQ(from_env->index, from_flag->index);
      EXPECT_EQ(from_env->count, from_flag->count);
      for (int p = 0; p < 100; ++p) {
        const std::string id = absl::StrCat("p", p);
        EXPECT_EQ(from_env->Contains(id), from_flag->Contains(id)) << id;
      }
    }
  }
}

TEST(ShardTest, ResolveShardWithoutShardCount) {
  absl::StatusOr<ShardSpec> all = ResolveShard("", 0, "2");
  ASSERT_THAT(all, IsOk());  // the variable is not read without the flag
  EXPECT_EQ(all->index, 1u);
  EXPECT_EQ(all->count, 1u);
  absl::StatusOr<ShardSpec> flag = ResolveShard("2/4", 0, nullptr);
  ASSERT_THAT(flag, IsOk());
  EXPECT_EQ(flag->index, 2u);
  EXPECT_EQ(flag->count, 4u);
  EXPECT_THAT(ResolveShard("5/4", 0, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("K must be between 1 and N")));
}

TEST(ShardTest, ResolveShardErrorsNameTheFlagOrVariable) {
  EXPECT_THAT(ResolveShard("1/3", 3, "0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--shard and --shard_count exclude")));
  EXPECT_THAT(ResolveShard("", 3, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("JOB_COMPLETION_INDEX")));
  for (const char* bad :
       {"", "x", "-1", "+1", " 1", "1 ", "1.0", "0x1", "99999999999"}) {
    EXPECT_THAT(
        ResolveShard("", 3, bad),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr(absl::StrCat("JOB_COMPLETION_INDEX=\"", bad, "\""))))
        << bad;
  }
  EXPECT_THAT(ResolveShard("", 3, "3"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("JOB_COMPLETION_INDEX=3: must be below "
                                 "--shard_count=3")));
  for (int64_t n : {int64_t{-1}, int64_t{1025}, int64_t{1} << 40}) {
    EXPECT_THAT(ResolveShard("", n, "0"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("--shard_count=" + absl::StrCat(n) +
                                   ": must be between 1 and 1024")))
        << n;
  }
}

}  // namespace
}  // namespace needlecheck::batch
