#include "service/server/log.h"

#include <string>

#include "gtest/gtest.h"

namespace needlecheck::server {
namespace {

TEST(LogTest, FormatsKeyValuePairs) {
  EXPECT_EQ(
      FormatLogLine("2026-11-23T10:00:00.000Z", LogLevel::kInfo, "kb_loaded",
                    {{"version", "2026.11.1"}, {"rules", 18}}),
      "ts=2026-11-23T10:00:00.000Z level=info event=kb_loaded "
      "version=2026.11.1 rules=18");
}

TEST(LogTest, QuotesAndEscapesAwkwardValues) {
  EXPECT_EQ(
      FormatLogLine("t", LogLevel::kError, "x",
                    {{"error", "kb.textproto:3:1: bad \"x\""},
                     {"empty", ""},
                     {"newline", "a\nb"},
                     {"eq", "a=b"}}),
      "ts=t level=error event=x error=\"kb.textproto:3:1: bad \\\"x\\\"\" "
      "empty=\"\" newline=\"a\\nb\" eq=\"a=b\"");
}

TEST(LogTest, LevelsAreNamed) {
  EXPECT_EQ(FormatLogLine("t", LogLevel::kWarning, "e", {}),
            "ts=t level=warning event=e");
}

TEST(LogTest, RequestIdHashIsTheStartOfItsSha256) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223...
  EXPECT_EQ(RequestIdHash("abc"), "ba7816bf8f01cfea");
  EXPECT_EQ(RequestIdHash(""), "");
  EXPECT_EQ(RequestIdHash(std::string(1 << 20, 'x')).size(), 16u);
}

}  // namespace
}  // namespace needlecheck::server
