// Fuzz target for the CDS Hooks server's HTTP/1.1 request parser
// (adapters/cds_hooks/http_request_parser.h), which reads every byte a
// client sends. Invariants: no crash, no sanitizer report; feeding the
// input whole or cut at input-derived points gives the same outcome (state,
// error status, bytes consumed, request); consumption never exceeds the
// input; a complete request's body is within the limit; every error is one
// of the documented statuses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "adapters/cds_hooks/http_request_parser.h"

namespace {

using needlecheck::cds_hooks::HttpParserLimits;
using needlecheck::cds_hooks::HttpRequestParser;

HttpParserLimits Limits() {
  HttpParserLimits limits;
  limits.max_header_bytes = 512;
  limits.max_headers = 8;
  limits.max_body_bytes = 256;
  return limits;
}

// Feeds `input` in pieces whose lengths come from `step` (0: whole).
size_t FeedInPieces(HttpRequestParser& p, absl::string_view input,
                    size_t step) {
  size_t used = 0;
  size_t at = 0;
  while (at < input.size() &&
         p.state() == HttpRequestParser::State::kNeedMore) {
    const size_t n =
        step == 0 ? input.size() - at : std::min(input.size() - at, step);
    const size_t took = p.Feed(input.substr(at, n));
    if (took > n) std::abort();
    used += took;
    if (took < n) break;  // a request ended inside this piece
    at += n;
  }
  return used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  HttpRequestParser whole(Limits());
  const size_t used = FeedInPieces(whole, input, 0);
  if (used > size) std::abort();
  const size_t step = size == 0 ? 1 : 1 + data[0] % 7;
  HttpRequestParser pieces(Limits());
  const size_t used_pieces = FeedInPieces(pieces, input, step);
  if (whole.state() != pieces.state()) std::abort();
  switch (whole.state()) {
    case HttpRequestParser::State::kComplete:
      if (used != used_pieces) std::abort();
      if (whole.request().body != pieces.request().body ||
          whole.request().path != pieces.request().path ||
          whole.request().method != pieces.request().method ||
          whole.request().headers != pieces.request().headers ||
          whole.keep_alive() != pieces.keep_alive()) {
        std::abort();
      }
      if (whole.request().body.size() > Limits().max_body_bytes) std::abort();
      if (whole.request().method.empty() || whole.request().path.empty()) {
        std::abort();
      }
      break;
    case HttpRequestParser::State::kError: {
      const int s = whole.error_status();
      if (s != pieces.error_status() || whole.error_message().empty()) {
        std::abort();
      }
      if (s != 400 && s != 413 && s != 431 && s != 501 && s != 505) {
        std::abort();
      }
      break;
    }
    case HttpRequestParser::State::kNeedMore:
      if (used != size || used_pieces != size) std::abort();
      break;
  }
  // A parser is reusable after Reset().
  whole.Reset();
  if (whole.started() || whole.state() != HttpRequestParser::State::kNeedMore) {
    std::abort();
  }
  return 0;
}
