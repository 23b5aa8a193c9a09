// HttpRequestParser: an incremental, strict HTTP/1.1 request parser for the
// CDS Hooks server (http_server.cc). Pure: no sockets, threads or clock; it
// faces untrusted bytes (fuzz target tests/fuzz/http_request_parser_fuzz.cc).
//
// Use: Feed() bytes as they arrive; it consumes at most one request and
// returns how many bytes it took (the rest belong to the next, pipelined,
// request). state() then says kNeedMore, kComplete (request() is ready) or
// kError (error_status()/error_message() say what to answer; the connection
// must be closed after that answer). Reset() starts the next request.
//
// What it accepts (RFC 9112, strictly; anything else is an error):
//   request line   METHOD SP request-target SP HTTP/1.0|HTTP/1.1, the target
//                  in origin form ("/path?query"), absolute form
//                  ("http://host/path", the path kept) or "*"
//   header lines   token ":" OWS value OWS; no obs-fold, no whitespace before
//                  the colon, no control characters but HTAB in values
//   line ends      CRLF, or a bare LF; empty lines before the request line
//                  are skipped
//   body           Content-Length (digits only; repeated only with the same
//                  value) or Transfer-Encoding: chunked (HTTP/1.1 only;
//                  chunk extensions ignored, trailers read and dropped);
//                  both together are refused (request smuggling)
// Errors: 400 malformed; 413 body over max_body_bytes (known from
// Content-Length before any body byte is read, or as chunks arrive); 431 the
// head (request line + headers, or the trailers) over max_header_bytes or
// more than max_headers lines; 501 a transfer coding other than chunked;
// 505 an HTTP version other than 1.0/1.1.
//
// The request: method as sent, path percent-decoded without the query
// string, header names lower-cased (a repeated header keeps its first value;
// Content-Length must agree), the body. keep_alive() follows the version and
// the Connection header; expects_continue() is true for
// "Expect: 100-continue" on an HTTP/1.1 request with a body.
//
// Thread safety: none; one parser per connection.
#ifndef ADAPTERS_CDS_HOOKS_HTTP_REQUEST_PARSER_H_
#define ADAPTERS_CDS_HOOKS_HTTP_REQUEST_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::cds_hooks {

struct HttpParserLimits {
  // Request line plus headers (and, separately, chunked trailers), bytes.
  // Default 32 KiB.
  size_t max_header_bytes = size_t{32} << 10;
  // Header lines. Default 100.
  int max_headers = 100;
  // Body bytes after de-chunking. Default 16 MiB.
  size_t max_body_bytes = size_t{16} << 20;
};

struct ParsedHttpRequest {
  std::string method;
  std::string path;  // percent-decoded, without the query string
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool http11 = true;  // HTTP/1.1 (false: HTTP/1.0)
};

class HttpRequestParser {
 public:
  enum class State { kNeedMore, kComplete, kError };

  explicit HttpRequestParser(HttpParserLimits limits) : limits_(limits) {}

  // Consumes bytes of the current request from `data`; returns how many.
  // Consumes nothing once the state is kComplete or kError.
  size_t Feed(absl::string_view data);

  State state() const { return state_; }
  // Any byte of this request seen (including skipped empty lines).
  bool started() const { return started_; }
  // Request line and headers read; the body (if any) may still be pending.
  bool head_complete() const { return phase_ > Phase::kHead; }
  // Valid once head_complete().
  bool keep_alive() const { return keep_alive_; }
  bool expects_continue() const { return expects_continue_; }
  // The request (valid when kComplete; may be moved from).
  ParsedHttpRequest& request() { return request_; }
  // Valid when kError: 400, 413, 431, 501 or 505, and what was wrong (no
  // request bytes are quoted).
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  // Forgets the current request; the next Feed() starts a new one.
  void Reset();

 private:
  enum class Phase {
    kHead,
    kBodyLength,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kDone
  };

  size_t FeedHead(absl::string_view data);
  size_t FeedChunkLine(absl::string_view data);
  size_t FeedTrailers(absl::string_view data);
  bool ParseHead();
  bool ParseRequestLine(absl::string_view line);
  bool ParseHeaderLine(absl::string_view line);
  bool FinishHead();
  bool Fail(int status, std::string message);
  void Complete();

  const HttpParserLimits limits_;
  State state_ = State::kNeedMore;
  Phase phase_ = Phase::kHead;
  bool started_ = false;
  std::string head_;    // the head (or a chunk-size line, or trailers) so far
  size_t scanned_ = 0;  // empty-line bytes before the request line, or
                        // trailer bytes read
  int header_lines_ = 0;
  uint64_t remaining_ = 0;  // body bytes (kBodyLength) or chunk bytes left
  bool keep_alive_ = true;
  bool expects_continue_ = false;
  ParsedHttpRequest request_;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_HTTP_REQUEST_PARSER_H_
