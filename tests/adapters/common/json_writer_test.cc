// The JSON writer of the service's answers writes what nlohmann's ordered
// dump (the library the cards were written with before) writes for the same
// values: the escapes, UTF-8 kept, invalid UTF-8 replaced by U+FFFD the same
// way, commas and nesting.
#include "adapters/common/json_writer.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace needlecheck::adapters {
namespace {

using Json = nlohmann::ordered_json;

std::string Dumped(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Written(const std::string& s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(JsonWriterTest, StringsAreEscapedAsNlohmannDumpsThem) {
  const std::vector<std::string> cases = {
      "",
      "plain",
      "quote \" backslash \\ slash /",
      std::string("nul \0 and \x01 \x1f \x7f", 20),
      "\b\f\n\r\t",
      "caf\xC3\xA9 \xE2\x80\xA6 \xF0\x9F\x98\x80",
      "lone continuation \x80 here",
      "overlong \xC0\xAF",
      "surrogate \xED\xA0\x80",
      "too high \xF4\x90\x80\x80",
      "cut \xE2\x80",
      "cut at end \xF0\x9F\x98",
      "bad second \xE2\x41\x42",
      "\xFF\xFE",
      "\xC3"};
  for (const std::string& s : cases) {
    EXPECT_EQ(Written(s), Dumped(Json(s))) << Dumped(Json(s));
  }
}

TEST(JsonWriterTest, RandomBytesAreWrittenAsNlohmannDumpsThem) {
  std::mt19937 random(13);
  // Bytes drawn mostly from the interesting ranges: ASCII controls,
  // continuation bytes, lead bytes.
  const std::string alphabet =
      std::string("a\"\\\x01\x1f\x7f", 6) +
      "\x80\xBF\xC2\xDF\xE0\xED\xEF\xF0\xF4\xF5\xA0\x9F\x90\x8F\xC0\xFF";
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const int length = static_cast<int>(random() % 8);
    for (int i = 0; i < length; ++i)
      s.push_back(alphabet[random() % alphabet.size()]);
    ASSERT_EQ(Written(s), Dumped(Json(s)));
  }
}

TEST(JsonWriterTest, ContainersGetTheirCommas) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.String("x");
  w.Bool(true);
  w.BeginObject();
  w.EndObject();
  w.Raw("[1,2]");
  w.EndArray();
  w.Key("b");
  w.Bool(false);
  w.EndObject();
  EXPECT_EQ(std::move(w).Text(), R"({"a":["x",true,{},[1,2]],"b":false})");
}

TEST(JsonWriterTest, ElementsAreWrittenAsParsed) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  const std::string text =
      R"({"n":0.5,"i":-3,"big":18446744073709551615,"s":"a\u0001b","e":[],"o":{"x":null}})";
  ASSERT_EQ(parser.parse(text).get(e), simdjson::SUCCESS);
  JsonWriter w;
  w.Element(e);
  const std::string written = std::move(w).Text();
  EXPECT_EQ(written, Dumped(Json::parse(text)));
}

}  // namespace
}  // namespace needlecheck::adapters
