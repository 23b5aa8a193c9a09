// Tests of the integration-test helper itself, on /bin/sh.
#include "tests/testing/server_process.h"

#include <signal.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::testing {
namespace {

using ::testing::HasSubstr;

TEST(ServerProcessTest, FindsPortAndExitCode) {
  auto process = ServerProcess::Start(
      "/bin/sh",
      {"-c", "echo 'x listening on 127.0.0.1:4321'; read x; exit 3"});
  ASSERT_THAT(process, IsOk());
  EXPECT_EQ((*process)->port(), 4321);
  EXPECT_EQ((*process)->address(), "127.0.0.1:4321");
  // stdin is /dev/null, so `read` returns and the shell exits 3.
  auto code = (*process)->WaitForExit();
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 3);
}

TEST(ServerProcessTest, ReportsSignalExit) {
  auto process = ServerProcess::Start(
      "/bin/sh",
      {"-c", "echo 'listening on [::1]:99' >&2; while :; do sleep 1; done"});
  ASSERT_THAT(process, IsOk());
  EXPECT_EQ((*process)->port(), 99);
  ASSERT_THAT((*process)->Signal(SIGTERM), IsOk());
  auto code = (*process)->WaitForExit();
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 128 + SIGTERM);
}

TEST(ServerProcessTest, ExitBeforeReadyIsAnError) {
  auto process = ServerProcess::Start("/bin/sh", {"-c", "echo boom; exit 1"});
  EXPECT_THAT(process, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("boom")));
}

TEST(ServerProcessTest, MissingBinary) {
  EXPECT_THAT(ServerProcess::Start("/nonexistent/binary", {}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ServerProcessTest, WaitForOutput) {
  auto process = ServerProcess::Start(
      "/bin/sh", {"-c", "echo 'listening on h:1'; echo second; exit 0"});
  ASSERT_THAT(process, IsOk());
  EXPECT_TRUE((*process)->WaitForOutput("second"));
  EXPECT_FALSE((*process)->WaitForOutput("never printed", 0, absl::Seconds(5)));
}

}  // namespace
}  // namespace needlecheck::testing
