#include "common/ids/uuid.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::ids {
namespace {

using ::testing::HasSubstr;

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

}  // namespace
}  // namespace needlecheck::ids
