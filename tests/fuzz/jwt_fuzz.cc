// Fuzz target for the CDS Hooks gateway's JWT side
// (adapters/cds_hooks/jwt_verifier.h, jwks_cache.h), which faces the bearer
// token of every call and the answer of every JWK Set URL. The input is
// "JWKS\nTOKEN" (no newline: all JWKS, and the token is the whole input
// too). Each input goes to:
//   1. JwkSet::FromJson(JWKS part) and JwkSet::FromJson(whole input);
//   2. Verify(TOKEN part) by a verifier holding the fixed keys of
//      jwt_fuzz_keys.h (so the seeds' real signatures reach the claims);
//   3. when the JWKS part parses: Verify(TOKEN) by a verifier whose only
//      keys are that set, served through a JwksCache (the --jwks_url path).
// Invariants (a violation prints a message and aborts):
//   - no crash, no sanitizer report, no exception;
//   - FromJson: OK or INVALID_ARGUMENT; on OK at most 100 entries
//     (size() + skipped()); messages are printable ASCII (they are logged);
//   - Verify: OK or UNAUTHENTICATED; messages are printable ASCII and never
//     hold a token longer than any kid could be; on OK, iss is the trusted
//     issuer, jti is non-empty and alg is ES384 or RS384;
//   - the cache fetches at most once for all the lookups of one input (one
//     `now`).
//
// Built as a libFuzzer binary with clang and -DNEEDLECHECK_FUZZ=ON; always
// linked into jwt_fuzz_smoke_test so ctest exercises it on gcc.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/cds_hooks/jwks_cache.h"
#include "adapters/cds_hooks/jwt_verifier.h"
#include "tests/fuzz/jwt_fuzz_keys.h"

namespace {

using needlecheck::cds_hooks::JwksCache;
using needlecheck::cds_hooks::JwkSet;
using needlecheck::cds_hooks::JwtClaims;
using needlecheck::cds_hooks::JwtVerifier;
namespace keys = needlecheck::fuzz_testing;

[[noreturn]] void Fail(const char* what, absl::string_view detail) {
  std::fprintf(stderr, "jwt_fuzz invariant broken: %s: %.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void CheckPrintable(const absl::Status& status) {
  for (char c : status.message()) {
    if (c < 0x20 || c > 0x7e) Fail("non-printable message", status.message());
  }
}

void CheckSet(const absl::StatusOr<std::shared_ptr<const JwkSet>>& set) {
  if (set.ok()) {
    if (*set == nullptr || (*set)->size() < 0 || (*set)->skipped() < 0 ||
        (*set)->size() + (*set)->skipped() > JwkSet::kMaxKeys) {
      Fail("JwkSet sizes", "");
    }
    return;
  }
  if (set.status().code() != absl::StatusCode::kInvalidArgument) {
    Fail("FromJson status", set.status().ToString());
  }
  CheckPrintable(set.status());
}

void CheckVerify(const absl::StatusOr<JwtClaims>& claims,
                 absl::string_view token) {
  if (claims.ok()) {
    if (claims->iss != keys::kJwtFuzzIssuer || claims->jti.empty() ||
        (claims->alg != "ES384" && claims->alg != "RS384")) {
      Fail("accepted claims", claims->iss);
    }
    return;
  }
  if (claims.status().code() != absl::StatusCode::kUnauthenticated) {
    Fail("Verify status", claims.status().ToString());
  }
  CheckPrintable(claims.status());
  // A kid (at most 256 bytes) may be quoted; the token never.
  if (token.size() > 256 &&
      absl::StrContains(claims.status().message(), token)) {
    Fail("token in message", claims.status().message());
  }
}

const std::shared_ptr<const JwkSet>& FixedKeys() {
  static const auto* keys_set = [] {
    auto parsed = JwkSet::FromJson(keys::kJwtFuzzJwks);
    if (!parsed.ok() || (*parsed)->size() != 2) Fail("fixed keys", "");
    return new std::shared_ptr<const JwkSet>(*parsed);
  }();
  return *keys_set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const absl::string_view jwks_part = input.substr(0, newline);
  const absl::string_view token =
      newline == absl::string_view::npos ? input : input.substr(newline + 1);
  const absl::Time now = absl::FromUnixSeconds(keys::kJwtFuzzNow);
  const std::vector<std::string> audiences = {keys::kJwtFuzzAudience};

  const absl::StatusOr<std::shared_ptr<const JwkSet>> set =
      JwkSet::FromJson(jwks_part);
  CheckSet(set);
  if (newline != absl::string_view::npos) CheckSet(JwkSet::FromJson(input));

  JwtVerifier::Options options;
  options.trusted_issuers = {keys::kJwtFuzzIssuer};
  JwtVerifier fixed(FixedKeys(), options);
  CheckVerify(fixed.Verify(token, audiences, now), token);

  if (set.ok()) {
    const std::string document(jwks_part);
    int fetches = 0;
    auto cache = std::make_shared<JwksCache>(
        [&]() -> absl::StatusOr<std::string> {
          ++fetches;
          return document;
        },
        JwksCache::Options());
    options.issuer_keys[keys::kJwtFuzzIssuer] = cache;
    JwtVerifier remote(nullptr, options);
    CheckVerify(remote.Verify(token, audiences, now), token);
    // Again: same jti (replay) or same unknown kid; never a second fetch.
    CheckVerify(remote.Verify(token, audiences, now), token);
    if (fetches > 1) Fail("fetches", "more than one at one instant");
  }
  return 0;
}
