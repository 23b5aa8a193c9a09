// Percent-encoding: the gateway's metadata encoder and needlecheckd's
// decoder are inverses; the strict decoder refuses what an HTTP path must
// not carry; hex digits in either case.
#include "common/net/percent_encoding.h"

#include <string>

#include "gtest/gtest.h"

namespace needlecheck::net {
namespace {

TEST(HexDigitValueTest, BothCasesAndNothingElse) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  for (char c : std::string("gG/:@` \x80"))
    EXPECT_EQ(HexDigitValue(c), -1) << c;
}

TEST(PercentEncodeUnprintableTest, EscapesWhatMetadataCannotCarry) {
  EXPECT_EQ(PercentEncodeUnprintable("https://idp.example/realms/a"),
            "https://idp.example/realms/a");
  EXPECT_EQ(PercentEncodeUnprintable("Dr. Ana\xC3\xAF 100%\n"),
            "Dr.%20Ana%C3%AF%20100%25%0A");
  EXPECT_EQ(PercentEncodeUnprintable(std::string("\0\x7F", 2)), "%00%7F");
}

// RFC 3986: only the unreserved characters stay as they are; the rest,
// '%' and every non-ASCII byte included, becomes upper-case "%XX".
TEST(PercentEncodeReservedTest, KeepsOnlyTheUnreservedSet) {
  EXPECT_EQ(PercentEncodeReserved("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncodeReserved("a b/c?d=e&f#g%h+i"),
            "a%20b%2Fc%3Fd%3De%26f%23g%25h%2Bi");
  EXPECT_EQ(PercentEncodeReserved("Ana\xC3\xAF!*'()"),
            "Ana%C3%AF%21%2A%27%28%29");
  EXPECT_EQ(PercentEncodeReserved(std::string("\0\x7F\xFF", 3)), "%00%7F%FF");
  EXPECT_EQ(PercentEncodeReserved(""), "");
  EXPECT_EQ(PercentDecodeLenient(PercentEncodeReserved("x y/\xC3\xA9")),
            "x y/\xC3\xA9");
}

TEST(PercentDecodeLenientTest, DecodesEscapesAndKeepsMalformedOnes) {
  EXPECT_EQ(PercentDecodeLenient("client%20one%C3%A9"), "client one\xC3\xA9");
  EXPECT_EQ(PercentDecodeLenient("%c3%a9"), "\xC3\xA9");
  EXPECT_EQ(PercentDecodeLenient("100%"), "100%");
  EXPECT_EQ(PercentDecodeLenient("%zz%4"), "%zz%4");
}

TEST(PercentDecodeLenientTest, UndoesTheEncoder) {
  const std::string values[] = {"", "plain", "a b%c\xFF\x01",
                                std::string("nul\0inside", 10), "%41"};
  for (const std::string& value : values) {
    EXPECT_EQ(PercentDecodeLenient(PercentEncodeUnprintable(value)), value);
  }
}

TEST(PercentDecodeStrictTest, RefusesMalformedEscapesAndNul) {
  std::string out;
  EXPECT_TRUE(PercentDecodeStrict("/cds-services/a%2Fb%20c", &out));
  EXPECT_EQ(out, "/cds-services/a/b c");
  for (const char* bad : {"/a%", "/a%4", "/a%zz", "/a%00b"}) {
    EXPECT_FALSE(PercentDecodeStrict(bad, &out)) << bad;
  }
}

}  // namespace
}  // namespace needlecheck::net
