// PgSafeText: NUL and every byte that does not start well-formed UTF-8
// becomes one U+FFFD each; well-formed text passes unchanged.
#include <string>

#include "common/postgres/pg_conn.h"
#include "gtest/gtest.h"

namespace needlecheck::postgres {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

TEST(PgSafeTextTest, WellFormedTextIsUnchanged) {
  EXPECT_EQ(PgSafeText(""), "");
  EXPECT_EQ(PgSafeText("Lidoca\xC3\xAFne \xE2\x80\x93 \xF0\x9F\x98\x80\t\n"),
            "Lidoca\xC3\xAFne \xE2\x80\x93 \xF0\x9F\x98\x80\t\n");
}

TEST(PgSafeTextTest, NulBecomesAReplacementCharacter) {
  EXPECT_EQ(PgSafeText(std::string("a\0b", 3)), std::string("a") + kFffd + "b");
}

TEST(PgSafeTextTest, EachBadByteBecomesOneReplacementCharacter) {
  const std::string r = kFffd;
  EXPECT_EQ(PgSafeText("Lidoca\xEFne"), "Lidoca" + r + "ne");
  // A broken three-byte sequence: its two bytes, one each.
  EXPECT_EQ(PgSafeText("\xE2\x80x"), r + r + "x");
  // Truncated at the end.
  EXPECT_EQ(PgSafeText("ok\xF0\x9F\x98"), "ok" + r + r + r);
  // Overlong, surrogate, beyond U+10FFFF, a lone continuation byte.
  EXPECT_EQ(PgSafeText("\xC0\xAF"), r + r);
  EXPECT_EQ(PgSafeText("\xED\xA0\x80"), r + r + r);
  EXPECT_EQ(PgSafeText("\xF4\x90\x80\x80"), r + r + r + r);
  EXPECT_EQ(PgSafeText("\x80\xC3\xAF"), r + "\xC3\xAF");
}

}  // namespace
}  // namespace needlecheck::postgres
