// The JSON writer of the service's answers writes what nlohmann's ordered
// dump (the library the cards were written with before) writes for the same
// values: the escapes, UTF-8 kept, invalid UTF-8 replaced by U+FFFD the same
// way, commas and nesting.
#include "adapters/common/json_writer.h"

#include <cstdint>
#include <cstring>
#include <limits>
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

// Writes `value` through `w`, member by member, in its order.
void WriteValue(const Json& value, JsonWriter& w) {
  switch (value.type()) {
    case Json::value_t::object:
      w.BeginObject();
      for (const auto& [key, member] : value.items()) {
        w.Key(key);
        WriteValue(member, w);
      }
      w.EndObject();
      break;
    case Json::value_t::array:
      w.BeginArray();
      for (const Json& element : value) WriteValue(element, w);
      w.EndArray();
      break;
    case Json::value_t::string:
      w.String(value.get<std::string>());
      break;
    case Json::value_t::boolean:
      w.Bool(value.get<bool>());
      break;
    case Json::value_t::number_integer:
      w.Int(value.get<int64_t>());
      break;
    case Json::value_t::number_unsigned:
      w.Uint(value.get<uint64_t>());
      break;
    default:
      ASSERT_TRUE(value.is_null()) << value.type_name();
      w.Null();
  }
}

// A random value of depth <= `depth`: containers (often empty), integers
// at the ends of their ranges, strings with escapes and bad UTF-8.
Json RandomValue(std::mt19937& random, int depth) {
  const int kind = static_cast<int>(random() % (depth > 0 ? 8 : 6));
  switch (kind) {
    case 0:
      return nullptr;
    case 1:
      return random() % 2 == 0;
    case 2: {
      const int64_t ints[] = {0,
                              -1,
                              7,
                              std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max(),
                              static_cast<int64_t>(random())};
      return ints[random() % 6];
    }
    case 3: {
      const uint64_t uints[] = {0, 42, std::numeric_limits<uint64_t>::max(),
                                uint64_t{1} << 63};
      return uints[random() % 4];
    }
    case 4:
    case 5: {
      const std::string strings[] = {"",
                                     "x",
                                     "tab\there \"q\"",
                                     "caf\xC3\xA9",
                                     "bad \xFF",
                                     std::string("nul\0", 4)};
      return strings[random() % 6];
    }
    case 6: {
      Json object = Json::object();
      const int n = static_cast<int>(random() % 4);
      for (int i = 0; i < n; ++i) {
        object[std::string(1, static_cast<char>('a' + random() % 6)) +
               (random() % 3 == 0 ? "\xE2\x80" : "")] =
            RandomValue(random, depth - 1);
      }
      return object;
    }
    default: {
      Json array = Json::array();
      const int n = static_cast<int>(random() % 4);
      for (int i = 0; i < n; ++i)
        array.push_back(RandomValue(random, depth - 1));
      return array;
    }
  }
}

TEST(JsonWriterTest, PrettyAndCompactLayoutsAreNlohmanns) {
  std::mt19937 random(2);
  for (int n = 0; n < 5000; ++n) {
    const Json value = RandomValue(random, 4);
    for (int indent : {-1, 0, 2, 4}) {
      JsonWriter w(indent);
      WriteValue(value, w);
      ASSERT_EQ(std::move(w).Text(),
                value.dump(indent, ' ', false, Json::error_handler_t::replace))
          << "indent " << indent;
    }
  }
}

TEST(JsonWriterTest, DoublesAreWrittenAsNlohmannDumpsThem) {
  std::vector<double> cases = {0.0,
                               -0.0,
                               1.0,
                               -1.5,
                               0.1,
                               1e-5,
                               1e-4,
                               123456789012345.0,
                               1234567890123456.0,
                               1e15,
                               1e16,
                               1e+20,
                               5e-324,
                               1.7976931348623157e308,
                               std::numeric_limits<double>::quiet_NaN(),
                               std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity()};
  std::mt19937_64 random(5);
  for (int n = 0; n < 200000; ++n) {
    const uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    cases.push_back(d);
    cases.push_back(static_cast<double>(random() % 100000) / 10.0);
  }
  for (double d : cases) {
    std::string written;
    AppendJsonDouble(d, &written);
    ASSERT_EQ(written, Dumped(Json(d))) << Dumped(Json(d));
  }
  JsonWriter w;
  w.BeginArray();
  w.Double(2.5);
  w.Double(3.0);
  w.EndArray();
  EXPECT_EQ(std::move(w).Text(), "[2.5,3.0]");
}

TEST(JsonWriterTest, PrettyEmptyContainersStayOnTheirLine) {
  JsonWriter w(2);
  w.BeginObject();
  w.Key("files");
  w.BeginArray();
  w.EndArray();
  w.Key("shard");
  w.BeginObject();
  w.EndObject();
  w.Key("n");
  w.Int(-5);
  w.EndObject();
  EXPECT_EQ(std::move(w).Text(),
            "{\n  \"files\": [],\n  \"shard\": {},\n  \"n\": -5\n}");
}

}  // namespace
}  // namespace needlecheck::adapters
