#include "adapters/cds_hooks/fhir_server_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace needlecheck::cds_hooks {

namespace {

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("URL refused: ", why));
}

bool IsHex(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c));
}

// A DNS name: labels of [a-z0-9-], not starting or ending with '-'.
bool IsHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
            absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-')) {
        return false;
      }
    }
  }
  return true;
}

absl::Status ParseHost(absl::string_view authority, HttpUrl* url) {
  absl::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Bad("unclosed IPv6 literal");
    const std::string literal(authority.substr(1, close - 1));
    in6_addr address;
    if (inet_pton(AF_INET6, literal.c_str(), &address) != 1) {
      return Bad("malformed IPv6 literal");
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &address, text, sizeof(text));
    url->host = text;
    absl::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Bad("junk after the IPv6 literal");
      has_port = true;
      port_text = rest.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    absl::string_view host = authority.substr(0, colon);
    if (colon != absl::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    url->host = absl::AsciiStrToLower(host);
    if (!IsHostName(url->host)) return Bad("malformed host");
    // Digits in the last label make resolvers (and libcurl) read the name
    // as an IPv4 address in one of its many spellings (127.1, 0x7f.1,
    // 2130706433): only the dotted-quad form is taken.
    const absl::string_view last =
        absl::string_view(url->host).substr(url->host.rfind('.') + 1);
    if (!last.empty() &&
        absl::ascii_isdigit(static_cast<unsigned char>(last.front()))) {
      in_addr address;
      if (inet_pton(AF_INET, url->host.c_str(), &address) != 1) {
        return Bad("an IPv4 address must be written as a dotted quad");
      }
    }
  }
  url->port = url->scheme == "https" ? 443 : 80;
  if (has_port) {
    int port = 0;
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(),
                     [](char c) {
                       return absl::ascii_isdigit(
                           static_cast<unsigned char>(c));
                     }) ||
        !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
      return Bad("malformed port");
    }
    url->port = port;
  }
  return absl::OkStatus();
}

absl::Status CheckPath(absl::string_view path) {
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') continue;
    if (i + 2 >= path.size() || !IsHex(path[i + 1]) || !IsHex(path[i + 2])) {
      return Bad("malformed percent escape in the path");
    }
    const std::string escape = absl::AsciiStrToLower(path.substr(i + 1, 2));
    if (escape == "2f" || escape == "5c" || escape == "00") {
      return Bad("encoded slash, backslash or NUL in the path");
    }
  }
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    std::string decoded = absl::AsciiStrToLower(segment);
    while (true) {
      const size_t at = decoded.find("%2e");
      if (at == std::string::npos) break;
      decoded.replace(at, 3, ".");
    }
    if (decoded == "." || decoded == "..") return Bad("dot segment in path");
  }
  return absl::OkStatus();
}

}  // namespace

std::string HttpUrl::Canonical() const {
  const bool default_port =
      (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out =
      absl::StrCat(scheme, "://", ipv6 ? "[" : "", host, ipv6 ? "]" : "");
  if (!default_port) absl::StrAppend(&out, ":", port);
  absl::StrAppend(&out, path);
  if (has_query) absl::StrAppend(&out, "?", query);
  return out;
}

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view text) {
  if (text.size() > 8192) return Bad("longer than 8192 bytes");
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return Bad("space, control or non-ASCII byte");
    }
    if (c == '\\') return Bad("backslash");
    if (c == '#') return Bad("fragment");
  }
  HttpUrl url;
  const size_t colon = text.find("://");
  if (colon == absl::string_view::npos) return Bad("not absolute");
  url.scheme = absl::AsciiStrToLower(text.substr(0, colon));
  if (url.scheme != "http" && url.scheme != "https") {
    return Bad("scheme is not http or https");
  }
  absl::string_view rest = text.substr(colon + 3);
  const size_t authority_end = rest.find_first_of("/?");
  const absl::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != absl::string_view::npos) return Bad("userinfo");
  if (authority.find('%') != absl::string_view::npos) {
    return Bad("percent sign in the host");
  }
  if (authority.empty()) return Bad("no host");
  absl::Status host = ParseHost(authority, &url);
  if (!host.ok()) return host;
  rest = authority_end == absl::string_view::npos ? absl::string_view()
                                                  : rest.substr(authority_end);
  const size_t question = rest.find('?');
  url.path = std::string(rest.substr(0, question));
  if (question != absl::string_view::npos) {
    url.has_query = true;
    url.query = std::string(rest.substr(question + 1));
  }
  absl::Status path = CheckPath(url.path);
  if (!path.ok()) return path;
  return url;
}

bool IsLoopbackLiteral(absl::string_view host) {
  const std::string h(host);
  in_addr v4;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

bool UrlHasPrefix(const HttpUrl& url, const HttpUrl& prefix) {
  if (url.scheme != prefix.scheme || url.host != prefix.host ||
      url.port != prefix.port) {
    return false;
  }
  absl::string_view base = prefix.path;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.empty()) return true;
  const absl::string_view path = url.path;
  return path == base ||
         (absl::StartsWith(path, base) && path[base.size()] == '/');
}

absl::StatusOr<FhirServerPolicy> FhirServerPolicy::Create(
    const std::vector<std::string>& prefixes, bool allow_insecure_loopback) {
  FhirServerPolicy policy;
  policy.allow_insecure_loopback_ = allow_insecure_loopback;
  for (const std::string& text : prefixes) {
    if (text.empty()) continue;
    absl::StatusOr<HttpUrl> prefix = ParseHttpUrl(text);
    if (!prefix.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "FHIR server prefix \"", text, "\": ", prefix.status().message()));
    }
    if (prefix->has_query) {
      return absl::InvalidArgumentError(absl::StrCat(
          "FHIR server prefix \"", text, "\": a prefix holds no query"));
    }
    if (prefix->scheme == "http" &&
        (!allow_insecure_loopback || !IsLoopbackLiteral(prefix->host))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "FHIR server prefix \"", text,
          "\": must be https (http only to a loopback address, with the "
          "insecure loopback test flag)"));
    }
    policy.prefixes_.push_back(*std::move(prefix));
  }
  return policy;
}

absl::Status FhirServerPolicy::Check(const HttpUrl& url) const {
  if (url.scheme != "https" &&
      !(allow_insecure_loopback_ && IsLoopbackLiteral(url.host))) {
    return absl::PermissionDeniedError("scheme is not https");
  }
  if (prefixes_.empty()) {
    return absl::PermissionDeniedError("no FHIR server is allowed");
  }
  for (const HttpUrl& prefix : prefixes_) {
    if (UrlHasPrefix(url, prefix)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError("not under an allowed prefix");
}

}  // namespace needlecheck::cds_hooks
