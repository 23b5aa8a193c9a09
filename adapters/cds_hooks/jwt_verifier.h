// JWT verification for CDS Hooks 2.0 "Trusting CDS Clients": the EHR signs a
// JWT with its private key and sends it as `Authorization: Bearer <JWT>` on
// every call; the service checks it against public keys configured out of
// band: a JWK Set file (keys trusted for every trusted issuer) and/or JWK
// Set URLs, each tied to one issuer (jwks_cache.h; a URL's keys verify only
// tokens whose `iss` is that issuer).
//
// What Verify() checks, in order (any failure is UNAUTHENTICATED with a
// message for the log; the message never contains the token):
//   1. Three base64url segments (no padding), header and payload JSON
//      objects.
//   2. Header: `alg` is ES384 or RS384 (the spec's RECOMMENDED pair; `none`
//      and every symmetric algorithm (HS*) are refused as the spec says, and
//      nothing else is accepted); `typ` is "JWT" (REQUIRED; compared
//      case-insensitively, RFC 7515 4.1.9); `kid` is REQUIRED.
//   3. The payload is a JSON object whose `iss` is in the trusted-issuer
//      list (exact string match). This is checked before any key lookup, so
//      an untrusted `iss` can never make the gateway fetch anything.
//   4. The key: `kid` names a key of the JWK Set file, or else (only when
//      Options::issuer_keys has an entry for this `iss`) a key of that
//      issuer's JWK Set URL, which is fetched again for an unknown kid at
//      most once a minute (jwks_cache.h). Its type must fit `alg` (EC P-384
//      for ES384, RSA of 2048..8192 bits for RS384) and its `alg` member,
//      when present, must be `alg`. An unknown kid is refused.
//   5. `jku` (optional header): never fetched. Keys come only from the
//      configured file and URLs, so a jku cannot introduce a key; it is
//      ignored. (The spec says services SHOULD allow-list jku URLs; pinning
//      the URL per issuer is the stricter form of that.)
//   6. The signature (OpenSSL 3 EVP; ES384 signatures are the 96-byte raw
//      r||s of RFC 7518 3.4, converted to DER for OpenSSL).
//   7. Claims: `aud` (a string or an array of strings) contains one of the
//      expected audiences (the endpoint URL being called); `exp` REQUIRED,
//      not before now - clock_skew; `iat` REQUIRED, not after now +
//      clock_skew; `nbf` (optional, Epic sends it) not after now +
//      clock_skew; exp no more than max_lifetime after now; `jti` REQUIRED,
//      non-empty.
//   8. Replay: a (iss, jti) pair seen before (and not yet expired) is
//      refused. Seen pairs are remembered until their exp + clock_skew.
//      A token is recorded only when every other check passed.
//
// Why OpenSSL directly and not libjwt (Debian 12 has 1.10): libjwt 1.x reads
// PEM keys only (no JWK/JWKS), does not check aud arrays, jti replay or
// typ, and itself calls OpenSSL; the JOSE part we need is small (split,
// base64url, JSON, one EVP_DigestVerify) and is fully tested here.
//
// Thread safety: a JwtVerifier is safe to use from many threads (the replay
// cache is guarded by a mutex; a JwksCache lookup may block the calling
// thread for one bounded fetch). The clock is an argument: no wall-clock
// reads inside.
#ifndef ADAPTERS_CDS_HOOKS_JWT_VERIFIER_H_
#define ADAPTERS_CDS_HOOKS_JWT_VERIFIER_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace needlecheck::cds_hooks {

class JwksCache;

// The public keys of a JWK Set (RFC 7517): EC P-384 and RSA keys, by kid.
// The parser faces untrusted bytes (a JWK Set URL's answer) and is strict.
//
// Skipped (counted in skipped(), never usable, the rest of the set is
// kept): keys without a kid (or with a kid over 256 bytes or holding bytes
// outside printable ASCII), `use` other than "sig", key types other than
// EC and RSA (e.g. "oct": symmetric keys are never accepted), EC curves
// other than P-384, RSA moduli under 2048 or over 8192 bits, and keys that
// carry private members ("d", "p", "q", "dp", "dq", "qi", "oth", "k"): a
// published private key proves nothing.
//
// Refused (INVALID_ARGUMENT, the whole document; message fit for the log,
// it never holds key material): not JSON, not an object with a "keys"
// array, over 1 MiB or 100 keys, an entry that is not an object, a
// malformed EC P-384 or RSA key (members missing or not base64url, wrong
// coordinate length, point not on the curve, RSA exponent even, 1 or over
// 32 bits), or a kid appearing twice (in any two entries, skipped ones
// included: a token's kid must name one key).
//
// Immutable after creation; thread-safe.
class JwkSet {
 public:
  static constexpr size_t kMaxDocumentBytes = 1 << 20;
  static constexpr int kMaxKeys = 100;

  // Parses a JWK Set document ({"keys": [...]}); see above.
  static absl::StatusOr<std::shared_ptr<const JwkSet>> FromJson(
      absl::string_view json);

  // An empty set (every token is refused). Use FromJson().
  JwkSet();
  ~JwkSet();
  JwkSet(const JwkSet&) = delete;
  JwkSet& operator=(const JwkSet&) = delete;

  // Number of usable keys, and of keys skipped as unsupported.
  int size() const { return static_cast<int>(keys_.size()); }
  int skipped() const { return skipped_; }

  struct Key;
  // The key with this kid, or nullptr.
  const Key* Find(absl::string_view kid) const;

 private:
  std::map<std::string, std::unique_ptr<Key>, std::less<>> keys_;
  int skipped_ = 0;
};

// The claims of a verified token that are safe to log (never the token).
struct JwtClaims {
  std::string iss;
  std::string jti;
  std::string kid;
  std::string alg;
  std::string tenant;  // empty when absent
  std::string sub;     // empty when absent (at most 256 bytes)
  absl::Time exp;
  absl::Time iat;
};

class JwtVerifier {
 public:
  struct Options {
    // Accepted `iss` values, exact match. Required (an empty list refuses
    // every token).
    std::vector<std::string> trusted_issuers;
    // Allowed clock difference for exp, iat and nbf. Default 60 s.
    absl::Duration clock_skew = absl::Seconds(60);
    // Tokens whose exp lies further than this in the future are refused, so
    // that the replay cache stays bounded in time. Default 1 hour (the
    // CDS Hooks best-practice maximum lifetime).
    absl::Duration max_lifetime = absl::Hours(1);
    // iss -> the JWK Set URL whose keys verify that issuer's tokens (after
    // the file's keys). Each iss should also be in trusted_issuers (tokens
    // of other issuers are refused before any lookup). Default none.
    std::map<std::string, std::shared_ptr<JwksCache>> issuer_keys;
  };

  // `keys`: the JWK Set file's keys, trusted for every trusted issuer; may
  // be null when only issuer_keys are used.
  JwtVerifier(std::shared_ptr<const JwkSet> keys, Options options);

  // Verifies `token` (the part after "Bearer ") for a call whose endpoint
  // URL is one of `audiences`, at time `now`. See the top of this file.
  absl::StatusOr<JwtClaims> Verify(absl::string_view token,
                                   const std::vector<std::string>& audiences,
                                   absl::Time now);

  // Number of (iss, jti) pairs remembered (for tests and metrics).
  size_t replay_cache_size() const;

 private:
  std::shared_ptr<const JwkSet> keys_;
  Options options_;
  mutable absl::Mutex mu_;
  // (iss + '\n' + jti) -> forget after this time.
  std::map<std::string, absl::Time> seen_ ABSL_GUARDED_BY(mu_);
  absl::Time next_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_JWT_VERIFIER_H_
