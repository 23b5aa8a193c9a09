// --shard K/N: a stable split of patients (pinned values), roughly even,
// and strict parsing.
#include "adapters/batch/shard.h"

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

}  // namespace
}  // namespace needlecheck::batch
