#include "common/ids/uuid.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::ids {
namespace {

using ::testing::HasSubstr;

TEST(FillRandomBytesTest, FillsEveryByteFromTheCsprng) {
  // Two 32-byte draws: equal, or one all zeros, only if the CSPRNG is broken
  // (a chance of 2^-256).
  uint8_t first[32] = {};
  uint8_t second[32] = {};
  ASSERT_TRUE(FillRandomBytes(first, sizeof(first)).ok());
  ASSERT_TRUE(FillRandomBytes(second, sizeof(second)).ok());
  EXPECT_NE(std::string(first, first + 32), std::string(second, second + 32));
  EXPECT_NE(std::string(first, first + 32), std::string(32, '\0'));
  EXPECT_TRUE(FillRandomBytes(first, 0).ok());
}

TEST(NewUuidV4Test, IsAVersion4UuidAndUnique) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<std::string> uuid = NewUuidV4();
    ASSERT_TRUE(uuid.ok()) << uuid.status();
    const std::string& id = *uuid;
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[13], '-');
    EXPECT_EQ(id[18], '-');
    EXPECT_EQ(id[23], '-');
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_THAT(std::string("89ab"), HasSubstr(std::string(1, id[19]))) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos);
    EXPECT_TRUE(seen.insert(id).second) << "repeated id " << id;
  }
}

// The Unix milliseconds in the first 48 bits of a version 7 id.
int64_t IdMillis(const std::string& id) {
  const std::string hex = id.substr(0, 8) + id.substr(9, 4);
  return static_cast<int64_t>(std::stoull(hex, nullptr, 16));
}

std::string NewV7() {
  absl::StatusOr<std::vector<std::string>> ids = NewUuidV7s(1, absl::Now());
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? ids->front() : std::string(36, '0');
}

TEST(NewUuidV7sTest, IsAVersion7UuidAndUnique) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewV7();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[13], '-');
    EXPECT_EQ(id[18], '-');
    EXPECT_EQ(id[23], '-');
    EXPECT_EQ(id[14], '7') << id;
    EXPECT_THAT(std::string("89ab"), HasSubstr(std::string(1, id[19]))) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos);
    EXPECT_TRUE(seen.insert(id).second) << "repeated id " << id;
  }
}

TEST(NewUuidV7sTest, CarriesTheIssueTimeAndSortsByIt) {
  const int64_t before = absl::ToUnixMillis(absl::Now());
  const std::string first = NewV7();
  const int64_t after = absl::ToUnixMillis(absl::Now());
  EXPECT_GE(IdMillis(first), before) << first;
  EXPECT_LE(IdMillis(first), after) << first;
  // Ids of a later millisecond sort after it, as text too (the ledgers'
  // indexes compare the text).
  std::string later = NewV7();
  for (int i = 0; i < 100000 && IdMillis(later) == IdMillis(first); ++i) {
    later = NewV7();
  }
  ASSERT_GT(IdMillis(later), IdMillis(first));
  EXPECT_LT(first, later);

  const absl::Time t = absl::FromUnixMillis(1796000000123);
  absl::StatusOr<std::vector<std::string>> batch = NewUuidV7s(4, t);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 4u);
  absl::flat_hash_set<std::string> distinct(batch->begin(), batch->end());
  EXPECT_EQ(distinct.size(), 4u);
  for (const std::string& id : *batch) {
    EXPECT_EQ(IdMillis(id), 1796000000123) << id;
    EXPECT_EQ(id[14], '7') << id;
  }
  absl::StatusOr<std::vector<std::string>> none = NewUuidV7s(0, t);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace needlecheck::ids
