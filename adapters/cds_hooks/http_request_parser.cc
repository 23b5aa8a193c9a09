#include "adapters/cds_hooks/http_request_parser.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/net/percent_encoding.h"

namespace needlecheck::cds_hooks {

namespace {

// A chunk-size line ("1a2b;ext=x") longer than this is refused.
constexpr size_t kMaxChunkLine = 1024;

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// True when the comma-separated list `value` holds `token`
// (case-insensitive).
bool HasToken(absl::string_view value, absl::string_view token) {
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    if (absl::EqualsIgnoreCase(TrimOws(part), token)) return true;
  }
  return false;
}

}  // namespace

void HttpRequestParser::Reset() {
  state_ = State::kNeedMore;
  phase_ = Phase::kHead;
  started_ = false;
  head_.clear();
  scanned_ = 0;
  header_lines_ = 0;
  remaining_ = 0;
  keep_alive_ = true;
  expects_continue_ = false;
  request_ = ParsedHttpRequest();
  error_status_ = 0;
  error_message_.clear();
}

bool HttpRequestParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  return false;
}

void HttpRequestParser::Complete() {
  phase_ = Phase::kDone;
  state_ = State::kComplete;
}

size_t HttpRequestParser::Feed(absl::string_view data) {
  size_t used = 0;
  while (used < data.size() && state_ == State::kNeedMore) {
    const absl::string_view rest = data.substr(used);
    switch (phase_) {
      case Phase::kHead:
        used += FeedHead(rest);
        break;
      case Phase::kBodyLength:
      case Phase::kChunkData: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(remaining_, static_cast<uint64_t>(rest.size())));
        request_.body.append(rest.data(), n);
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) {
          if (phase_ == Phase::kBodyLength) {
            Complete();
          } else {
            phase_ = Phase::kChunkDataEnd;
            head_.clear();
          }
        }
        break;
      }
      case Phase::kChunkSize:
      case Phase::kChunkDataEnd:
        used += FeedChunkLine(rest);
        break;
      case Phase::kTrailers:
        used += FeedTrailers(rest);
        break;
      case Phase::kDone:
        return used;
    }
  }
  return used;
}

size_t HttpRequestParser::FeedHead(absl::string_view data) {
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    started_ = true;
    if (head_.empty() && (c == '\r' || c == '\n')) {
      // Empty lines before the request line (RFC 9112 section 2.2).
      if (++scanned_ > limits_.max_header_bytes) {
        Fail(400, "too many empty lines before the request line");
        return i + 1;
      }
      continue;
    }
    head_.push_back(c);
    if (head_.size() > limits_.max_header_bytes) {
      Fail(431, absl::StrCat("request header larger than ",
                             limits_.max_header_bytes, " bytes"));
      return i + 1;
    }
    const size_t n = head_.size();
    if (c == '\n' &&
        ((n >= 2 && head_[n - 2] == '\n') ||
         (n >= 3 && head_[n - 2] == '\r' && head_[n - 3] == '\n'))) {
      ParseHead();
      return i + 1;
    }
  }
  return data.size();
}

bool HttpRequestParser::ParseHead() {
  std::vector<absl::string_view> lines = absl::StrSplit(head_, '\n');
  // The head ends with an empty line, so the split ends with two empty
  // pieces (the last line's and the one after its '\n').
  bool first = true;
  for (absl::string_view line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != absl::string_view::npos) {
      return Fail(400, "bare CR in the request header");
    }
    if (first) {
      if (!ParseRequestLine(line)) return false;
      first = false;
      continue;
    }
    if (line.empty()) break;
    if (!ParseHeaderLine(line)) return false;
  }
  return FinishHead();
}

bool HttpRequestParser::ParseRequestLine(absl::string_view line) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 =
      sp1 == absl::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos ||
      line.find(' ', sp2 + 1) != absl::string_view::npos) {
    return Fail(400, "malformed request line");
  }
  const absl::string_view method = line.substr(0, sp1);
  absl::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const absl::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "malformed request method");
  if (target.empty()) return Fail(400, "empty request target");
  for (char c : target) {
    if (c < 0x21 || c > 0x7e) return Fail(400, "malformed request target");
  }
  if (version == "HTTP/1.1") {
    request_.http11 = true;
  } else if (version == "HTTP/1.0") {
    request_.http11 = false;
  } else if (version.size() == 8 && absl::StartsWith(version, "HTTP/") &&
             absl::ascii_isdigit(version[5]) && version[6] == '.' &&
             absl::ascii_isdigit(version[7])) {
    return Fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
  } else {
    return Fail(400, "malformed HTTP version");
  }
  // Absolute form: keep the path.
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWithIgnoreCase(target, scheme)) {
      target.remove_prefix(scheme.size());
      const size_t slash = target.find('/');
      target = slash == absl::string_view::npos ? absl::string_view("/")
                                                : target.substr(slash);
      break;
    }
  }
  if (target.front() != '/' && target != "*") {
    return Fail(400, "malformed request target");
  }
  const absl::string_view path = target.substr(0, target.find('?'));
  if (!net::PercentDecodeStrict(path, &request_.path)) {
    return Fail(400, "malformed percent-encoding in the request path");
  }
  request_.method = std::string(method);
  return true;
}

bool HttpRequestParser::ParseHeaderLine(absl::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    return Fail(400, "obsolete header line folding");
  }
  if (++header_lines_ > limits_.max_headers) {
    return Fail(431, absl::StrCat("more than ", limits_.max_headers,
                                  " request header fields"));
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
    return Fail(400, "malformed request header field");
  }
  const absl::string_view value = TrimOws(line.substr(colon + 1));
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return Fail(400, "control character in a request header value");
    }
  }
  const std::string name = absl::AsciiStrToLower(line.substr(0, colon));
  auto [it, inserted] = request_.headers.emplace(name, std::string(value));
  if (!inserted) {
    if (name == "content-length" && it->second != value) {
      return Fail(400, "conflicting Content-Length headers");
    }
    if (name == "transfer-encoding") absl::StrAppend(&it->second, ", ", value);
  }
  return true;
}

bool HttpRequestParser::FinishHead() {
  const auto& headers = request_.headers;
  const auto connection = headers.find("connection");
  if (request_.http11) {
    keep_alive_ =
        connection == headers.end() || !HasToken(connection->second, "close");
  } else {
    keep_alive_ = connection != headers.end() &&
                  HasToken(connection->second, "keep-alive");
  }
  const auto te = headers.find("transfer-encoding");
  const auto cl = headers.find("content-length");
  bool body = false;
  if (te != headers.end()) {
    if (!request_.http11) {
      return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    if (cl != headers.end()) {
      return Fail(400, "both Transfer-Encoding and Content-Length");
    }
    if (!absl::EqualsIgnoreCase(te->second, "chunked")) {
      return Fail(501, "only the chunked transfer coding is supported");
    }
    phase_ = Phase::kChunkSize;
    head_.clear();
    body = true;
  } else if (cl != headers.end()) {
    const std::string& v = cl->second;
    if (v.empty() || v.size() > 19)
      return Fail(400, "malformed Content-Length");
    uint64_t length = 0;
    for (char c : v) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return Fail(400, "malformed Content-Length");
      }
      length = length * 10 + static_cast<uint64_t>(c - '0');
    }
    if (length > limits_.max_body_bytes) {
      return Fail(413, absl::StrCat("request body of ", length,
                                    " bytes is larger than the limit of ",
                                    limits_.max_body_bytes));
    }
    if (length > 0) {
      phase_ = Phase::kBodyLength;
      remaining_ = length;
      // Reserved up to 1 MiB: a Content-Length alone must not allocate.
      request_.body.reserve(
          static_cast<size_t>(std::min<uint64_t>(length, uint64_t{1} << 20)));
      body = true;
    }
  }
  const auto expect = headers.find("expect");
  expects_continue_ = body && request_.http11 && expect != headers.end() &&
                      absl::EqualsIgnoreCase(expect->second, "100-continue");
  if (!body) Complete();
  return true;
}

size_t HttpRequestParser::FeedChunkLine(absl::string_view data) {
  const size_t newline = data.find('\n');
  const size_t take =
      newline == absl::string_view::npos ? data.size() : newline + 1;
  head_.append(data.data(), take);
  if (head_.size() > kMaxChunkLine) {
    Fail(400, "chunk-size line too long");
    return take;
  }
  if (newline == absl::string_view::npos) return take;
  absl::string_view line = head_;
  line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (phase_ == Phase::kChunkDataEnd) {
    if (!line.empty()) Fail(400, "chunk data longer than its size");
    phase_ = Phase::kChunkSize;
    head_.clear();
    return take;
  }
  uint64_t size = 0;
  size_t digits = 0;
  while (digits < line.size() && net::HexDigitValue(line[digits]) >= 0) {
    if (digits == 15) {
      Fail(400, "chunk size too large");
      return take;
    }
    size = size * 16 + static_cast<uint64_t>(net::HexDigitValue(line[digits]));
    ++digits;
  }
  const absl::string_view ext = TrimOws(line.substr(digits));
  if (digits == 0 || (!ext.empty() && ext.front() != ';')) {
    Fail(400, "malformed chunk size");
    return take;
  }
  head_.clear();
  if (size == 0) {
    phase_ = Phase::kTrailers;
    scanned_ = 0;
    return take;
  }
  if (size > limits_.max_body_bytes - request_.body.size()) {
    Fail(413, absl::StrCat("chunked request body larger than the limit of ",
                           limits_.max_body_bytes, " bytes"));
    return take;
  }
  phase_ = Phase::kChunkData;
  remaining_ = size;
  return take;
}

size_t HttpRequestParser::FeedTrailers(absl::string_view data) {
  // Trailer fields are dropped; only their size is bounded.
  const size_t newline = data.find('\n');
  const size_t take =
      newline == absl::string_view::npos ? data.size() : newline + 1;
  head_.append(data.data(), take);
  scanned_ += take;
  if (scanned_ > limits_.max_header_bytes) {
    Fail(431, "request trailers too large");
    return take;
  }
  if (newline == absl::string_view::npos) return take;
  absl::string_view line = head_;
  line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    Complete();
  } else if (line.front() == ' ' || line.front() == '\t' ||
             line.find(':') == absl::string_view::npos ||
             !IsToken(line.substr(0, line.find(':')))) {
    Fail(400, "malformed trailer field");
  }
  head_.clear();
  return take;
}

}  // namespace needlecheck::cds_hooks
