#include "adapters/cds_hooks/http_request_parser.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::cds_hooks {
namespace {

using ::testing::HasSubstr;
using State = HttpRequestParser::State;

HttpParserLimits Limits() {
  HttpParserLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_headers = 10;
  limits.max_body_bytes = 100;
  return limits;
}

// Feeds `text` whole, or one byte at a time; returns the bytes consumed.
size_t FeedAll(HttpRequestParser& p, const std::string& text, bool bytewise) {
  if (!bytewise) return p.Feed(text);
  size_t used = 0;
  for (char c : text) {
    if (p.state() != State::kNeedMore) break;
    used += p.Feed(std::string(1, c));
  }
  return used;
}

class HttpRequestParserTest : public ::testing::TestWithParam<bool> {};

TEST_P(HttpRequestParserTest, SimpleGet) {
  HttpRequestParser p(Limits());
  const std::string text =
      "\r\nGET /cds-services%2Dx/a?x=1 HTTP/1.1\r\nHost: t\r\n"
      "X-Two:  a b \t\r\nHOST: second\r\n\r\n";
  EXPECT_EQ(FeedAll(p, text, GetParam()), text.size());
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.request().method, "GET");
  EXPECT_EQ(p.request().path, "/cds-services-x/a");
  EXPECT_EQ(p.request().headers.at("host"), "t");  // the first one wins
  EXPECT_EQ(p.request().headers.at("x-two"), "a b");
  EXPECT_TRUE(p.keep_alive());
  EXPECT_TRUE(p.request().body.empty());
}

TEST_P(HttpRequestParserTest, ContentLengthBodyAndPipelining) {
  HttpRequestParser p(Limits());
  const std::string first =
      "POST /x HTTP/1.1\nContent-Length: 5\nExpect: 100-Continue\n\nhello";
  const std::string second = "GET /y HTTP/1.0\r\n\r\n";
  const std::string text = first + second;
  if (GetParam()) {
    EXPECT_EQ(FeedAll(p, text, true), first.size());
  } else {
    EXPECT_EQ(p.Feed(text), first.size());
  }
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.request().body, "hello");
  EXPECT_TRUE(p.expects_continue());
  p.Reset();
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.Feed(second), second.size());
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_FALSE(p.request().http11);
  EXPECT_FALSE(p.keep_alive());
}

TEST_P(HttpRequestParserTest, ChunkedBody) {
  HttpRequestParser p(Limits());
  const std::string text =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n"
      "Connection: close\r\n\r\n"
      "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\n"
      "Trailer-Field: x\r\n\r\nNEXT";
  EXPECT_EQ(FeedAll(p, text, GetParam()), text.size() - 4);
  ASSERT_EQ(p.state(), State::kComplete) << p.error_message();
  EXPECT_EQ(p.request().body, "hello 0123456789");
  EXPECT_FALSE(p.keep_alive());
}

TEST_P(HttpRequestParserTest, Http10KeepAlive) {
  HttpRequestParser p(Limits());
  FeedAll(p, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", GetParam());
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_TRUE(p.keep_alive());
}

struct ErrorCase {
  std::string text;
  int status;
  std::string message;
};

TEST_P(HttpRequestParserTest, Errors) {
  const std::vector<ErrorCase> cases = {
      {"GET /\r\n\r\n", 400, "request line"},
      {"GET  / HTTP/1.1\r\n\r\n", 400, "request line"},
      {"G(T / HTTP/1.1\r\n\r\n", 400, "method"},
      {"GET x HTTP/1.1\r\n\r\n", 400, "target"},
      {"GET /a%zz HTTP/1.1\r\n\r\n", 400, "percent"},
      {"GET /a%00 HTTP/1.1\r\n\r\n", 400, "percent"},
      {"GET / HTTP/2.0\r\n\r\n", 505, "HTTP/1.1"},
      {"GET / HTTX/1.1\r\n\r\n", 400, "version"},
      {"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, "header field"},
      {"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400, "folding"},
      {"GET / HTTP/1.1\r\nX: a\x01"
       "b\r\n\r\n",
       400, "control"},
      {"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, "bare CR"},
      {"GET / HTTP/1.1\r\nX: " + std::string(1100, 'a') + "\r\n\r\n", 431,
       "larger than 1024"},
      {"GET / HTTP/1.1\r\n"
       "A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\n"
       "I: 1\r\nJ: 1\r\nK: 1\r\n\r\n",
       431, "more than 10"},
      {"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413, "larger"},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
       "Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
       "conflicting"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
       "chunked"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       501, "chunked"},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "HTTP/1.0"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
       "Content-Length: 3\r\n\r\n",
       400, "both"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n", 400,
       "chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "ffffffffffffffff\r\n",
       400, "chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413,
       "larger"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "32\r\n" +
           std::string(50, 'a') + "\r\n33\r\n",
       413, "larger"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "1\r\nab\r\n",
       400, "longer than its size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\nbad trailer\r\n\r\n",
       400, "trailer"},
      {std::string(1100, '\n'), 400, "empty lines"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 80));
    HttpRequestParser p(Limits());
    FeedAll(p, c.text, GetParam());
    ASSERT_EQ(p.state(), State::kError);
    EXPECT_EQ(p.error_status(), c.status);
    EXPECT_THAT(p.error_message(), HasSubstr(c.message));
    EXPECT_EQ(p.Feed("more"), 0u);
  }
}

TEST_P(HttpRequestParserTest, IncompleteStaysNeedMore) {
  HttpRequestParser p(Limits());
  EXPECT_FALSE(p.started());
  FeedAll(p, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", GetParam());
  EXPECT_EQ(p.state(), State::kNeedMore);
  EXPECT_TRUE(p.started());
  EXPECT_TRUE(p.head_complete());
}

INSTANTIATE_TEST_SUITE_P(WholeAndBytewise, HttpRequestParserTest,
                         ::testing::Bool());

}  // namespace
}  // namespace needlecheck::cds_hooks
