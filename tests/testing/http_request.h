// Http(): one HTTP/1.1 request on a new connection with libcurl, for tests
// of the HTTP servers (the CDS Hooks gateway, /metrics). Test-only.
//
// Contract
// - Sends `method` to `url` with `Content-Type: application/json` plus
//   `headers` ("Name: value"); POST sends `body`.
// - Waits at most 60 s. TLS certificates are not verified (tests use
//   self-signed ones; tests of verification use their own client).
// - Returns the status (0 when no answer), the body, the raw response
//   header block and libcurl's result code. Needs curl_global_init() once
//   per process before threads start (a test suite's SetUpTestSuite).
#ifndef TESTS_TESTING_HTTP_REQUEST_H_
#define TESTS_TESTING_HTTP_REQUEST_H_

#include <curl/curl.h>

#include <string>
#include <vector>

namespace needlecheck::testing {

struct HttpResult {
  long status = 0;
  std::string body;
  std::string headers;
  CURLcode code = CURLE_OK;
};

HttpResult Http(const std::string& method, const std::string& url,
                const std::string& body = "",
                const std::vector<std::string>& headers = {});

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_HTTP_REQUEST_H_
