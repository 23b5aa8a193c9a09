// Fuzz target for the CDS Hooks service's untrusted-input parsers: hook
// request bodies (every service id), feedback bodies, searchset `next`
// links, JWK Sets and bearer tokens. Invariants: no crash, no sanitizer
// report; a parsed request names the hook it was posted to; feedback items
// carry an alert id and an outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/cds_hooks/hook_request.h"
#include "adapters/cds_hooks/jwt_verifier.h"
#include "simdjson.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace needlecheck::cds_hooks;  // NOLINT: fuzz entry point
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  for (absl::string_view service :
       {"microneedling-safety", "microneedling-readiness", "unknown"}) {
    auto request = ParseHookRequest(input, service);
    if (request.ok() && request->hook.empty()) std::abort();
  }
  auto feedback = ParseFeedback(input, "microneedling-safety");
  if (feedback.ok()) {
    for (const auto& item : *feedback) {
      if (item.alert_id().empty() ||
          item.outcome() == needlecheck::v1::FEEDBACK_OUTCOME_UNSPECIFIED) {
        std::abort();
      }
    }
  }
  simdjson::dom::parser parser;
  simdjson::dom::element page;
  if (parser.parse(input.data(), input.size()).get(page) == simdjson::SUCCESS) {
    for (const std::string& link : BundleNextLinks(page)) {
      if (link.empty()) std::abort();
    }
  }
  auto keys = JwkSet::FromJson(input);
  (void)keys;

  // The token path: header and claims parsing, before any key is found.
  static JwtVerifier* const verifier = [] {
    auto empty = JwkSet::FromJson(R"({"keys":[]})");
    if (!empty.ok()) std::abort();
    JwtVerifier::Options options;
    options.trusted_issuers = {"https://ehr.example.org"};
    return new JwtVerifier(*empty, options);  // lives for the process
  }();
  auto claims = verifier->Verify(input, {"https://cds.example.org"},
                                 absl::FromUnixSeconds(1790000000));
  if (claims.ok()) std::abort();  // no key: nothing can verify
  return 0;
}
