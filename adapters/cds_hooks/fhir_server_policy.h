// Which FHIR servers the gateway may contact, and the URL parser that
// decides it. The hook request names `fhirServer` and the client's
// searchset Bundles name `next` pages, so every URL here is untrusted; the
// gateway sends the EHR's bearer token to it. Pure (no I/O, no DNS, no
// clock): inet_pton is the only libc call.
//
// ParseHttpUrl accepts an absolute http(s) URL in a deliberately narrow
// form and returns its parts normalized (scheme and host in lower case,
// explicit port, IPv6 without brackets). It refuses (INVALID_ARGUMENT)
// what could make two parsers disagree about the host or the path:
// userinfo ('@'), fragments, backslashes, spaces and control or non-ASCII
// bytes, percent signs in the host, empty or malformed hosts and labels,
// ports outside 1..65535, dot segments ("/./", "/../", also as %2e) and
// encoded slashes (%2f, %5c) in the path. Canonical() rebuilds the URL from
// the parts; the libcurl client is handed that string, never the caller's.
//
// FhirServerPolicy holds the allowed URL prefixes (`--fhir_server_allow`).
// A URL is allowed when some prefix has the same scheme, host and port and
// its path equals the URL's path or is a whole-segment prefix of it
// ("https://ehr.example.org/fhir" allows ".../fhir" and ".../fhir/Patient/1",
// not ".../fhirx", and "https://ehr.example.org" does not allow
// "https://ehr.example.org.evil.com"). Only https, unless
// allow_insecure_loopback: then http to a literal loopback address
// (127.0.0.0/8, ::1; not the name "localhost") is allowed too, for tests.
// No prefixes: nothing is allowed (the gateway then only uses prefetch).
//
// Thread-safe: immutable after Create().
#ifndef ADAPTERS_CDS_HOOKS_FHIR_SERVER_POLICY_H_
#define ADAPTERS_CDS_HOOKS_FHIR_SERVER_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck::cds_hooks {

struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case; IPv6 without brackets
  int port = 0;        // explicit or the scheme's default
  std::string path;    // "" or starting with '/'
  std::string query;   // after '?', may be empty
  bool has_query = false;

  // scheme://host[:port]path[?query], the port only when not the default.
  std::string Canonical() const;
};

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

// True for a literal 127.0.0.0/8 or ::1 address (no name resolution).
bool IsLoopbackLiteral(absl::string_view host);

// True when `url` lies under `prefix`: same scheme, host and port, and the
// prefix's path (trailing '/' ignored) is the URL's path or a whole-segment
// prefix of it.
bool UrlHasPrefix(const HttpUrl& url, const HttpUrl& prefix);

class FhirServerPolicy {
 public:
  // INVALID_ARGUMENT naming the entry for a prefix that does not parse,
  // holds a query, or is http while !allow_insecure_loopback (or http to a
  // host that is not a loopback literal).
  static absl::StatusOr<FhirServerPolicy> Create(
      const std::vector<std::string>& prefixes, bool allow_insecure_loopback);

  // OK, or PERMISSION_DENIED with a reason fit for the log (it never
  // repeats the URL).
  absl::Status Check(const HttpUrl& url) const;

  bool empty() const { return prefixes_.empty(); }
  bool allow_insecure_loopback() const { return allow_insecure_loopback_; }

 private:
  std::vector<HttpUrl> prefixes_;
  bool allow_insecure_loopback_ = false;
};

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_FHIR_SERVER_POLICY_H_
