#include "adapters/cds_hooks/jwt_verifier.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/cds_hooks/jwks_cache.h"
#include "simdjson.h"

namespace needlecheck::cds_hooks {

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Unauthenticated(absl::string_view message) {
  return absl::UnauthenticatedError(message);
}

// base64url without padding (RFC 7515 2). Refuses '=' and characters outside
// the alphabet.
bool Base64UrlDecode(absl::string_view in, std::string* out) {
  for (char c : in) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  if (in.size() % 4 == 1) return false;
  return absl::WebSafeBase64Unescape(in, out);
}

// A string member of a JSON object; empty string_view and false when absent
// or not a string.
bool GetString(simdjson::dom::object object, std::string_view key,
               std::string_view* value) {
  simdjson::dom::element element;
  if (object.at_key(key).get(element) != simdjson::SUCCESS) return false;
  return element.get_string().get(*value) == simdjson::SUCCESS;
}

enum class Lookup { kAbsent, kWrongType, kOk };

Lookup GetNumber(simdjson::dom::object object, std::string_view key,
                 double* value) {
  simdjson::dom::element element;
  if (object.at_key(key).get(element) != simdjson::SUCCESS) {
    return Lookup::kAbsent;
  }
  if (!element.is_number()) return Lookup::kWrongType;
  if (element.get_double().get(*value) != simdjson::SUCCESS ||
      !std::isfinite(*value)) {
    return Lookup::kWrongType;
  }
  return Lookup::kOk;
}

absl::Time FromNumericDate(double seconds) {
  // NumericDate may carry a fraction; clamp to a sane range first.
  if (seconds > 1e12) seconds = 1e12;
  if (seconds < -1e12) seconds = -1e12;
  return absl::FromUnixMicros(static_cast<int64_t>(seconds * 1e6));
}

absl::StatusOr<std::string> DecodeMember(simdjson::dom::object key,
                                         std::string_view name) {
  std::string_view text;
  if (!GetString(key, name, &text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JWK member \"", AV(name), "\" is missing or not a string"));
  }
  std::string bytes;
  if (!Base64UrlDecode(AV(text), &bytes) || bytes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK member \"", AV(name), "\" is not base64url"));
  }
  return bytes;
}

absl::StatusOr<PkeyPtr> PkeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(
      OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (params == nullptr || ctx == nullptr ||
      EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    return absl::InternalError("OpenSSL could not set up a key");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <=
          0 ||
      raw == nullptr) {
    return absl::InvalidArgumentError("OpenSSL refused the key material");
  }
  return PkeyPtr(raw);
}

absl::StatusOr<PkeyPtr> EcP384Key(simdjson::dom::object jwk) {
  absl::StatusOr<std::string> x = DecodeMember(jwk, "x");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = DecodeMember(jwk, "y");
  if (!y.ok()) return y.status();
  if (x->size() != 48 || y->size() != 48) {
    return absl::InvalidArgumentError("P-384 x and y must be 48 bytes each");
  }
  const std::string point = absl::StrCat("\x04", *x, *y);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                       "secp384r1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                        point.data(), point.size())) {
    return absl::InternalError("OpenSSL could not build EC parameters");
  }
  return PkeyFromParams("EC", bld.get());
}

constexpr char kRsaSizeRefused[] = "RSA modulus outside 2048..8192 bits";

absl::StatusOr<PkeyPtr> RsaKey(simdjson::dom::object jwk) {
  absl::StatusOr<std::string> n = DecodeMember(jwk, "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = DecodeMember(jwk, "e");
  if (!e.ok()) return e.status();
  // Leading zero bytes are allowed by nobody's encoder but harmless; the
  // value must be odd, above 1 and fit 32 bits (65537 in practice).
  const size_t e_start = e->find_first_not_of('\0');
  if (e_start == std::string::npos || e->size() - e_start > 4 ||
      (static_cast<unsigned char>(e->back()) & 1) == 0 ||
      (e->size() - e_start == 1 && (*e)[e_start] == 1)) {
    return absl::InvalidArgumentError(
        "RSA exponent must be odd, above 1 and at most 32 bits");
  }
  // Sizes are checked before OpenSSL sees the modulus (8192 bits at most).
  if (n->size() > 1024 + 1) {
    return absl::InvalidArgumentError(kRsaSizeRefused);
  }
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                       static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                       static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (bn_n == nullptr || bn_e == nullptr || bld == nullptr ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return absl::InternalError("OpenSSL could not build RSA parameters");
  }
  absl::StatusOr<PkeyPtr> key = PkeyFromParams("RSA", bld.get());
  if (!key.ok()) return key.status();
  const int bits = EVP_PKEY_get_bits(key->get());
  if (bits < 2048 || bits > 8192) {
    return absl::InvalidArgumentError(kRsaSizeRefused);
  }
  return key;
}

// A kid we are willing to store and log: 1..256 printable ASCII bytes.
bool IsPlainKid(std::string_view kid) {
  if (kid.empty() || kid.size() > 256) return false;
  for (char c : kid) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Private (or symmetric) key members of RFC 7518 6.2.2, 6.3.2 and 6.4.
bool HasPrivateMember(simdjson::dom::object jwk) {
  for (const char* name : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    simdjson::dom::element ignored;
    if (jwk.at_key(name).get(ignored) == simdjson::SUCCESS) return true;
  }
  return false;
}

// Converts a JWS ES384 signature (r||s, 48 bytes each) to DER.
bool EcdsaRawToDer(absl::string_view raw, std::string* der) {
  if (raw.size() != 96) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BnPtr r(BN_bin2bn(bytes, 48, nullptr));
  BnPtr s(BN_bin2bn(bytes + 48, 48, nullptr));
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr) return false;
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
  r.release();  // owned by sig now
  s.release();
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return false;
  der->resize(static_cast<size_t>(length));
  auto* out = reinterpret_cast<unsigned char*>(der->data());
  return i2d_ECDSA_SIG(sig.get(), &out) == length;
}

}  // namespace

struct JwkSet::Key {
  std::string kty;  // "EC" or "RSA"
  std::string alg;  // the JWK's alg member, empty when absent
  PkeyPtr pkey;
};

JwkSet::JwkSet() = default;
JwkSet::~JwkSet() = default;

const JwkSet::Key* JwkSet::Find(absl::string_view kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : it->second.get();
}

absl::StatusOr<std::shared_ptr<const JwkSet>> JwkSet::FromJson(
    absl::string_view json) {
  if (json.size() > kMaxDocumentBytes) {
    return absl::InvalidArgumentError("JWK Set: larger than 1 MiB");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("JWK Set: not valid JSON");
  }
  simdjson::dom::object root_object;
  simdjson::dom::array keys;
  if (root.get(root_object) != simdjson::SUCCESS ||
      root_object["keys"].get(keys) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("JWK Set: no \"keys\" array");
  }
  if (keys.size() > static_cast<size_t>(kMaxKeys)) {
    return absl::InvalidArgumentError("JWK Set: more than 100 keys");
  }
  auto set = std::make_shared<JwkSet>();
  std::set<std::string, std::less<>> kids;
  int index = 0;
  for (simdjson::dom::element element : keys) {
    const std::string where = absl::StrCat("JWK Set: keys[", index++, "]");
    simdjson::dom::object jwk;
    if (element.get(jwk) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
    }
    std::string_view kty, kid, crv, use, alg;
    GetString(jwk, "kty", &kty);
    if (!GetString(jwk, "kid", &kid) || !IsPlainKid(kid)) {
      ++set->skipped_;
      continue;
    }
    // Skipped keys' kids count too: a token's kid must name one key.
    if (!kids.emplace(kid).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": kid ", AV(kid), " appears twice"));
    }
    if (GetString(jwk, "use", &use) && use != "sig") {
      ++set->skipped_;
      continue;
    }
    if (HasPrivateMember(jwk)) {
      ++set->skipped_;
      continue;
    }
    GetString(jwk, "alg", &alg);
    absl::StatusOr<PkeyPtr> pkey;
    if (kty == "EC") {
      if (!GetString(jwk, "crv", &crv) || crv != "P-384") {
        ++set->skipped_;
        continue;
      }
      pkey = EcP384Key(jwk);
    } else if (kty == "RSA") {
      pkey = RsaKey(jwk);
      if (!pkey.ok() && pkey.status().message() == kRsaSizeRefused) {
        ++set->skipped_;
        continue;
      }
    } else {
      ++set->skipped_;
      continue;
    }
    if (!pkey.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " (kid ", AV(kid), "): ", pkey.status().message()));
    }
    auto key = std::make_unique<Key>();
    key->kty = std::string(kty);
    key->alg = std::string(alg);
    key->pkey = std::move(pkey).value();
    set->keys_.emplace(std::string(kid), std::move(key));
  }
  return std::shared_ptr<const JwkSet>(std::move(set));
}

JwtVerifier::JwtVerifier(std::shared_ptr<const JwkSet> keys, Options options)
    : keys_(std::move(keys)), options_(std::move(options)) {}

size_t JwtVerifier::replay_cache_size() const {
  absl::MutexLock lock(&mu_);
  return seen_.size();
}

absl::StatusOr<JwtClaims> JwtVerifier::Verify(
    absl::string_view token, const std::vector<std::string>& audiences,
    absl::Time now) {
  if (token.empty()) return Unauthenticated("no bearer token");
  if (token.size() > 16384) return Unauthenticated("token too long");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) {
    return Unauthenticated("token is not a JWS compact serialization");
  }
  std::string header_json, payload_json, signature;
  if (!Base64UrlDecode(parts[0], &header_json) ||
      !Base64UrlDecode(parts[1], &payload_json) ||
      !Base64UrlDecode(parts[2], &signature)) {
    return Unauthenticated("token segment is not base64url");
  }

  // Header.
  simdjson::dom::parser parser;
  simdjson::dom::object header;
  if (parser.parse(header_json).get(header) != simdjson::SUCCESS) {
    return Unauthenticated("token header is not a JSON object");
  }
  std::string_view alg_view, typ_view, kid_view;
  if (!GetString(header, "alg", &alg_view)) {
    return Unauthenticated("token header has no alg");
  }
  const std::string alg(alg_view);
  if (alg != "ES384" && alg != "RS384") {
    // The caller's alg and kid are not repeated: this message is logged.
    return Unauthenticated(
        "token alg refused (only ES384 and RS384 are accepted)");
  }
  if (!GetString(header, "typ", &typ_view) ||
      !absl::EqualsIgnoreCase(AV(typ_view), "JWT")) {
    return Unauthenticated("token header typ is not JWT");
  }
  if (!GetString(header, "kid", &kid_view) || kid_view.empty()) {
    return Unauthenticated("token header has no kid");
  }
  const std::string kid(kid_view.substr(0, 256));

  // The issuer, before any key lookup: an untrusted iss never reaches a
  // JWK Set URL.
  simdjson::dom::parser payload_parser;
  simdjson::dom::object payload;
  if (payload_parser.parse(payload_json).get(payload) != simdjson::SUCCESS) {
    return Unauthenticated("token payload is not a JSON object");
  }
  JwtClaims claims;
  claims.kid = kid;
  claims.alg = alg;
  std::string_view iss;
  if (!GetString(payload, "iss", &iss) || iss.empty()) {
    return Unauthenticated("token has no iss");
  }
  bool trusted = false;
  for (const std::string& t : options_.trusted_issuers) {
    if (t == iss) trusted = true;
  }
  if (!trusted) return Unauthenticated("token iss is not trusted");
  claims.iss = std::string(iss);

  // The key: the file's first, then this issuer's JWK Set URL. `holder`
  // keeps the URL's set alive while its key is in use.
  std::shared_ptr<const JwkSet> holder;
  const JwkSet::Key* key =
      keys_ == nullptr ? nullptr : keys_->Find(AV(kid_view));
  if (key == nullptr) {
    auto remote = options_.issuer_keys.find(claims.iss);
    if (remote != options_.issuer_keys.end() && remote->second != nullptr) {
      holder = remote->second->KeysFor(AV(kid_view), now);
      key = holder->Find(AV(kid_view));
    }
  }
  if (key == nullptr) {
    return Unauthenticated("unknown key id");
  }
  if ((alg == "ES384" && key->kty != "EC") ||
      (alg == "RS384" && key->kty != "RSA") ||
      (!key->alg.empty() && key->alg != alg)) {
    return Unauthenticated(
        absl::StrCat("key ", kid, " may not be used with ", alg));
  }

  // Signature over "header.payload".
  const std::string signed_part = absl::StrCat(parts[0], ".", parts[1]);
  std::string der;
  absl::string_view sig = signature;
  if (alg == "ES384") {
    if (!EcdsaRawToDer(signature, &der)) {
      return Unauthenticated("ES384 signature is not 96 bytes");
    }
    sig = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> md(EVP_MD_CTX_new());
  if (md == nullptr ||
      EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha384(), nullptr,
                           key->pkey.get()) != 1 ||
      EVP_DigestVerify(
          md.get(), reinterpret_cast<const unsigned char*>(sig.data()),
          sig.size(),
          reinterpret_cast<const unsigned char*>(signed_part.data()),
          signed_part.size()) != 1) {
    return Unauthenticated("bad signature");
  }

  // aud: a string or an array of strings.
  simdjson::dom::element aud;
  if (payload.at_key("aud").get(aud) != simdjson::SUCCESS) {
    return Unauthenticated("token has no aud");
  }
  std::vector<std::string_view> token_audiences;
  std::string_view one;
  simdjson::dom::array many;
  if (aud.get_string().get(one) == simdjson::SUCCESS) {
    token_audiences.push_back(one);
  } else if (aud.get_array().get(many) == simdjson::SUCCESS) {
    for (simdjson::dom::element a : many) {
      if (a.get_string().get(one) != simdjson::SUCCESS) {
        return Unauthenticated("token aud array holds a non-string");
      }
      token_audiences.push_back(one);
    }
  } else {
    return Unauthenticated("token aud is neither a string nor an array");
  }
  bool audience_ok = false;
  for (std::string_view a : token_audiences) {
    for (const std::string& expected : audiences) {
      if (a == expected) audience_ok = true;
    }
  }
  if (!audience_ok) {
    return Unauthenticated("token aud is not this endpoint's URL");
  }

  double exp = 0, iat = 0, nbf = 0;
  switch (GetNumber(payload, "exp", &exp)) {
    case Lookup::kAbsent:
      return Unauthenticated("token has no exp");
    case Lookup::kWrongType:
      return Unauthenticated("token exp is not a number");
    case Lookup::kOk:
      break;
  }
  switch (GetNumber(payload, "iat", &iat)) {
    case Lookup::kAbsent:
      return Unauthenticated("token has no iat");
    case Lookup::kWrongType:
      return Unauthenticated("token iat is not a number");
    case Lookup::kOk:
      break;
  }
  claims.exp = FromNumericDate(exp);
  claims.iat = FromNumericDate(iat);
  if (claims.exp < now - options_.clock_skew) {
    return Unauthenticated("token expired");
  }
  if (claims.iat > now + options_.clock_skew) {
    return Unauthenticated("token iat is in the future");
  }
  if (claims.exp > now + options_.max_lifetime + options_.clock_skew) {
    return Unauthenticated("token exp is too far in the future");
  }
  switch (GetNumber(payload, "nbf", &nbf)) {
    case Lookup::kAbsent:
      break;
    case Lookup::kWrongType:
      return Unauthenticated("token nbf is not a number");
    case Lookup::kOk:
      if (FromNumericDate(nbf) > now + options_.clock_skew) {
        return Unauthenticated("token is not valid yet (nbf)");
      }
      break;
  }
  std::string_view jti;
  if (!GetString(payload, "jti", &jti) || jti.empty()) {
    return Unauthenticated("token has no jti");
  }
  claims.jti = std::string(jti.substr(0, 256));
  std::string_view tenant;
  if (GetString(payload, "tenant", &tenant))
    claims.tenant = std::string(tenant);
  std::string_view sub;
  if (GetString(payload, "sub", &sub))
    claims.sub = std::string(sub.substr(0, 256));

  // Replay.
  const std::string cache_key = absl::StrCat(AV(iss), "\n", AV(jti));
  absl::MutexLock lock(&mu_);
  if (now >= next_sweep_) {
    for (auto it = seen_.begin(); it != seen_.end();) {
      it = it->second < now ? seen_.erase(it) : std::next(it);
    }
    next_sweep_ = now + absl::Seconds(30);
  }
  auto [it, inserted] =
      seen_.emplace(cache_key, claims.exp + options_.clock_skew);
  if (!inserted) {
    if (it->second >= now) return Unauthenticated("token jti replayed");
    it->second = claims.exp + options_.clock_skew;
  }
  return claims;
}

}  // namespace needlecheck::cds_hooks
