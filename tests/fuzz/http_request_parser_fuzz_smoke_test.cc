// Runs the http_request_parser_fuzz entry point over inline requests
// (simple, chunked, pipelined, malformed) and seeded mutations of them:
// bounded and deterministic, so ctest exercises the fuzz invariants on
// every compiler.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/smoke_input_generator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using ::needlecheck::fuzz_testing::SmokeInputGenerator;
using Edit = SmokeInputGenerator::Edit;

void RunInput(const std::string& input) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(
                reinterpret_cast<const uint8_t*>(input.data()), input.size()),
            0);
}

const std::vector<std::string>& Seeds() {
  static const std::vector<std::string> seeds = {
      "",
      "GET / HTTP/1.1\r\n\r\n",
      "\r\nGET /cds-services?x=1 HTTP/1.1\r\nHost: t\r\nX: a\t b\r\n\r\n",
      "POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\":[1]}",
      "POST /x HTTP/1.1\nTransfer-Encoding: chunked\n\n5;e=1\nhello\n"
      "0\nT: 1\n\n",
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.0\r\n\r\n",
      "GET http://host/a%20b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n"
      "\r\nx",
      "GET / HTTP/2.0\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
      "\r\n",
  };
  return seeds;
}

TEST(HttpRequestParserFuzzSmokeTest, Seeds) {
  for (const std::string& seed : Seeds()) RunInput(seed);
}

TEST(HttpRequestParserFuzzSmokeTest, MutatedSeeds) {
  static const char* const kTokens[] = {"\r\n",
                                        "\n",
                                        "\r\n\r\n",
                                        ": ",
                                        " ",
                                        "HTTP/1.1",
                                        "HTTP/1.0",
                                        "Content-Length: ",
                                        "0",
                                        "ffff",
                                        "Transfer-Encoding: chunked",
                                        ";",
                                        "%",
                                        "%2F",
                                        "Connection: close",
                                        "Expect: 100-continue",
                                        "\t",
                                        "\x01"};
  const SmokeInputGenerator::MutateOptions options = {
      /*max_edits=*/6,
      {Edit::kInsertToken, Edit::kInsertToken, Edit::kInsertByte,
       Edit::kDeleteChunk, Edit::kFlipBit, Edit::kTruncate,
       Edit::kDuplicateChunk, Edit::kSwapBytes},
      /*max_delete=*/16,
      /*max_duplicate=*/600,
      /*max_size=*/4096};
  SmokeInputGenerator gen(20261206, kTokens);
  for (int i = 0; i < 100000; ++i) {
    RunInput(gen.Mutate(Seeds()[gen.Below(Seeds().size())], options));
  }
}

}  // namespace
