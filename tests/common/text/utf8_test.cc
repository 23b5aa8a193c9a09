// Utf8SequenceLength and IsValidUtf8: RFC 3629 well-formedness, and the
// length of the maximal ill-formed start each writer skips or replaces.
#include "common/text/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace needlecheck::text {
namespace {

TEST(Utf8Test, WellFormedSequencesHaveTheirLength) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1);
  EXPECT_EQ(Utf8SequenceLength(std::string(1, '\0'), 0), 1);
  EXPECT_EQ(Utf8SequenceLength("\x7F", 0), 1);
  EXPECT_EQ(Utf8SequenceLength("\xC3\xAF", 0), 2);          // U+00EF
  EXPECT_EQ(Utf8SequenceLength("\xE2\x80\x93", 0), 3);      // U+2013
  EXPECT_EQ(Utf8SequenceLength("\xED\x9F\xBF", 0), 3);      // U+D7FF
  EXPECT_EQ(Utf8SequenceLength("\xEE\x80\x80", 0), 3);      // U+E000
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80", 0), 4);  // U+1F600
  EXPECT_EQ(Utf8SequenceLength("\xF4\x8F\xBF\xBF", 0), 4);  // U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("x\xC3\xAFy", 1), 2);
}

TEST(Utf8Test, IllFormedStartsGiveTheBytesToSkip) {
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), -1);      // a lone continuation
  EXPECT_EQ(Utf8SequenceLength("\xC0\xAF", 0), -1);  // overlong lead
  EXPECT_EQ(Utf8SequenceLength("\xC1\xBF", 0), -1);
  EXPECT_EQ(Utf8SequenceLength("\xF5\x80\x80\x80", 0), -1);  // > U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xFF", 0), -1);
  EXPECT_EQ(Utf8SequenceLength("\xE0\x80\x80", 0), -1);      // overlong
  EXPECT_EQ(Utf8SequenceLength("\xED\xA0\x80", 0), -1);      // a surrogate
  EXPECT_EQ(Utf8SequenceLength("\xF0\x80\x80\x80", 0), -1);  // overlong
  EXPECT_EQ(Utf8SequenceLength("\xF4\x90\x80\x80", 0), -1);  // > U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xC3", 0), -1);  // truncated at the end
  EXPECT_EQ(Utf8SequenceLength("\xE2\x80", 0), -2);
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98", 0), -3);
  EXPECT_EQ(Utf8SequenceLength("\xE2\x80x", 0), -2);  // broken by ASCII
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\xC3\xAF", 0), -2);
}

TEST(Utf8Test, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Lidoca\xC3\xAFne \xE2\x80\x93 \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
  for (const char* bad :
       {"\xEF", "Lidoca\xEFne", "\xC3", "\xC0\xAF", "\xED\xA0\x80",
        "\xF4\x90\x80\x80", "\xFF", "\xE2\x80", "ok\x80"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace needlecheck::text
