// LogLimiter with an injected clock: the first event is logged, then one
// per interval with the count of the events held back in between.
#include "service/server/log_limiter.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace needlecheck::server {
namespace {

TEST(LogLimiterTest, OneLinePerIntervalWithTheCountHeldBack) {
  absl::Time now = absl::UnixEpoch();
  LogLimiter limiter(absl::Seconds(10), [&now] { return now; });
  int64_t held_back = -1;
  EXPECT_TRUE(limiter.ShouldLog(&held_back));
  EXPECT_EQ(held_back, 0);
  for (int i = 0; i < 99; ++i) {
    now += absl::Milliseconds(50);
    EXPECT_FALSE(limiter.ShouldLog(&held_back));
  }
  now = absl::UnixEpoch() + absl::Seconds(10);
  EXPECT_TRUE(limiter.ShouldLog(&held_back));
  EXPECT_EQ(held_back, 99);
  now += absl::Seconds(30);
  EXPECT_TRUE(limiter.ShouldLog(&held_back));
  EXPECT_EQ(held_back, 0);
}

}  // namespace
}  // namespace needlecheck::server
