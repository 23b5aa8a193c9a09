#include "tests/adapters/cds_hooks/jwt_signer.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::cds_hooks::testing {

struct TestKey::Impl {
  EVP_PKEY* pkey = nullptr;
  ~Impl() { EVP_PKEY_free(pkey); }
};

TestKey::~TestKey() = default;

std::string Base64Url(const std::string& bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);
  return out;
}

namespace {

std::string BnParam(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return "";
  std::string out(pad > 0 ? pad : BN_num_bytes(bn), '\0');
  if (pad > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  BN_free(bn);
  return out;
}

}  // namespace

std::unique_ptr<TestKey> TestKey::Generate(const std::string& kty,
                                           const std::string& kid) {
  std::unique_ptr<TestKey> key(new TestKey());  // private constructor
  key->impl_ = std::make_unique<Impl>();
  key->kid_ = kid;
  key->kty_ = kty;
  if (kty == "EC") {
    key->impl_->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  } else {
    key->impl_->pkey =
        EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  }
  if (key->impl_->pkey == nullptr) return nullptr;
  return key;
}

std::string TestKey::alg() const { return kty_ == "EC" ? "ES384" : "RS384"; }

nlohmann::json TestKey::PublicJwk() const {
  nlohmann::json jwk = {{"kty", kty_}, {"kid", kid_}, {"use", "sig"}};
  if (kty_ == "EC") {
    jwk["crv"] = "P-384";
    jwk["x"] = Base64Url(BnParam(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 48));
    jwk["y"] = Base64Url(BnParam(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 48));
  } else {
    jwk["n"] = Base64Url(BnParam(impl_->pkey, OSSL_PKEY_PARAM_RSA_N, 0));
    jwk["e"] = Base64Url(BnParam(impl_->pkey, OSSL_PKEY_PARAM_RSA_E, 0));
  }
  return jwk;
}

std::string TestKey::Sign(const nlohmann::json& header,
                          const nlohmann::json& payload) const {
  const std::string input =
      absl::StrCat(Base64Url(header.dump()), ".", Base64Url(payload.dump()));
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  size_t length = 0;
  EVP_DigestSignInit(md, nullptr, EVP_sha384(), nullptr, impl_->pkey);
  EVP_DigestSign(md, nullptr, &length,
                 reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(length, '\0');
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &length,
                 reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  EVP_MD_CTX_free(md);
  sig.resize(length);
  if (kty_ == "EC") {
    // DER -> r||s (48 bytes each).
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ecdsa =
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(96, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa),
                 reinterpret_cast<unsigned char*>(raw.data()), 48);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa),
                 reinterpret_cast<unsigned char*>(raw.data()) + 48, 48);
    ECDSA_SIG_free(ecdsa);
    sig = raw;
  }
  return absl::StrCat(input, ".", Base64Url(sig));
}

nlohmann::json Claims(const std::string& iss, const std::string& aud,
                      int64_t iat, int64_t exp, const std::string& jti) {
  return {{"iss", iss}, {"aud", aud}, {"iat", iat}, {"exp", exp}, {"jti", jti}};
}

}  // namespace needlecheck::cds_hooks::testing
