// LogDigest: the first 16 hex digits of SHA-256, for any input.
#include "common/logging/log_digest.h"

#include <string>

#include "gtest/gtest.h"

namespace needlecheck::logging {
namespace {

TEST(LogDigestTest, IsTheStartOfTheSha256InLowerCaseHex) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223...
  EXPECT_EQ(LogDigest("abc"), "ba7816bf8f01cfea");
  // SHA-256("") = e3b0c44298fc1c149afbf4c8996fb924...
  EXPECT_EQ(LogDigest(""), "e3b0c44298fc1c14");
}

TEST(LogDigestTest, NeverCarriesTheBytesItWasGiven) {
  const std::string hostile = "Patient/123\n event=forged level=error \"";
  const std::string digest = LogDigest(hostile);
  ASSERT_EQ(digest.size(), 16u);
  EXPECT_EQ(digest.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(LogDigest(std::string(1 << 20, 'x')).size(), 16u);
  EXPECT_NE(LogDigest("a"), LogDigest("b"));
  EXPECT_EQ(LogDigest(hostile), digest);  // stable: operators can correlate
}

}  // namespace
}  // namespace needlecheck::logging
