// Er7Escape / Er7Unescape (adapters/hl7v2/er7_escape.h).
#include <string>

#include "adapters/hl7v2/er7_escape.h"
#include "gtest/gtest.h"

namespace needlecheck::hl7v2 {
namespace {

TEST(Er7EscapeTest, DecodesDelimiterEscapes) {
  const Er7Delimiters d;
  EXPECT_EQ(Er7Unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", d), "a|b^c&d~e\\f");
}

TEST(Er7EscapeTest, DecodesHexAndLineBreak) {
  const Er7Delimiters d;
  EXPECT_EQ(Er7Unescape("x\\X0D0A\\y", d), "x\r\ny");
  EXPECT_EQ(Er7Unescape("\\X4c69\\", d), "Li");
  EXPECT_EQ(Er7Unescape("line1\\.br\\line2", d), "line1\nline2");
  EXPECT_EQ(Er7Unescape("\\H\\bold\\N\\", d), "bold");
}

TEST(Er7EscapeTest, KeepsUnknownAndMalformedSequencesVerbatim) {
  const Er7Delimiters d;
  EXPECT_EQ(Er7Unescape("\\Cxxyy\\", d), "\\Cxxyy\\");
  EXPECT_EQ(Er7Unescape("\\.sp5\\", d), "\\.sp5\\");
  EXPECT_EQ(Er7Unescape("\\XZZ\\", d), "\\XZZ\\");
  EXPECT_EQ(Er7Unescape("\\X123\\", d), "\\X123\\");
  EXPECT_EQ(Er7Unescape("open \\F", d), "open \\F");
  EXPECT_EQ(Er7Unescape("\\P\\", d), "\\P\\");  // no truncation declared
  EXPECT_EQ(Er7Unescape("", d), "");
}

TEST(Er7EscapeTest, UsesTheDeclaredCharacters) {
  Er7Delimiters d;
  d.field = '!';
  d.component = '$';
  d.escape = '/';
  d.truncation = '#';
  EXPECT_EQ(Er7Unescape("/F//S//P//E/", d), "!$#/");
  EXPECT_EQ(Er7Escape("!$#/|", d), "/F//S//P//E/|");
}

TEST(Er7EscapeTest, EscapeEncodesDelimitersAndControls) {
  const Er7Delimiters d;
  EXPECT_EQ(Er7Escape("a|b^c&d~e\\f", d), "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f");
  EXPECT_EQ(Er7Escape("x\ry\nz\x0B\x1C", d), "x\\X0D\\y\\X0A\\z\\X0B\\\\X1C\\");
  EXPECT_EQ(Er7Escape(std::string("\0", 1), d), "\\X00\\");
}

TEST(Er7EscapeTest, RoundTrip) {
  const Er7Delimiters d;
  const std::string text = "lidocaine | 4% ^ cream & hives ~ \\ \r\n\t end";
  EXPECT_EQ(Er7Unescape(Er7Escape(text, d), d), text);
}

TEST(Er7EscapeTest, NoEscapeCharacterBlanksDelimiters) {
  Er7Delimiters d;
  d.escape = '\0';
  d.subcomponent = '\0';
  EXPECT_EQ(Er7Escape("a|b\rc", d), "a b c");
  EXPECT_EQ(Er7Unescape("a\\F\\", d), "a\\F\\");
}

TEST(Er7EscapeTest, EncodingCharacters) {
  Er7Delimiters d;
  EXPECT_EQ(d.EncodingCharacters(), "^~\\&");
  d.truncation = '#';
  EXPECT_EQ(d.EncodingCharacters(), "^~\\&#");
  EXPECT_TRUE(d.IsDelimiter('#'));
  EXPECT_FALSE(d.IsDelimiter('a'));
}

}  // namespace
}  // namespace needlecheck::hl7v2
