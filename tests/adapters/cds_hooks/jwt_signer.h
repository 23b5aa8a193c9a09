// Test-only: makes EC P-384 and RSA key pairs with OpenSSL, publishes their
// public halves as a JWK Set and signs CDS Hooks JWTs with them, so tests
// exercise the verifier with real signatures and no fixed key material.
#ifndef TESTS_ADAPTERS_CDS_HOOKS_JWT_SIGNER_H_
#define TESTS_ADAPTERS_CDS_HOOKS_JWT_SIGNER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "nlohmann/json.hpp"

namespace needlecheck::cds_hooks::testing {

class TestKey {
 public:
  // kty "EC" (P-384, ES384) or "RSA" (2048 bits, RS384).
  static std::unique_ptr<TestKey> Generate(const std::string& kty,
                                           const std::string& kid);
  ~TestKey();

  const std::string& kid() const { return kid_; }
  // The public JWK ({"kty", "kid", "crv"/"x"/"y" or "n"/"e", "use": "sig"}).
  nlohmann::json PublicJwk() const;
  // Signs "b64(header).b64(payload)" with this key (ES384 or RS384,
  // whatever the key type is) and returns the compact JWS.
  std::string Sign(const nlohmann::json& header,
                   const nlohmann::json& payload) const;
  // The algorithm this key signs with ("ES384" or "RS384").
  std::string alg() const;

 private:
  TestKey() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string kid_;
  std::string kty_;
};

// base64url without padding.
std::string Base64Url(const std::string& bytes);

// A standard CDS Hooks JWT payload.
nlohmann::json Claims(const std::string& iss, const std::string& aud,
                      int64_t iat, int64_t exp, const std::string& jti);

}  // namespace needlecheck::cds_hooks::testing

#endif  // TESTS_ADAPTERS_CDS_HOOKS_JWT_SIGNER_H_
