// JwtVerifier: accept and reject cases with real EC P-384 and RSA keys made
// by OpenSSL in the test.
#include "adapters/cds_hooks/jwt_verifier.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "adapters/cds_hooks/jwks_cache.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/cds_hooks/jwt_signer.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::cds_hooks::testing::Base64Url;
using ::needlecheck::cds_hooks::testing::Claims;
using ::needlecheck::cds_hooks::testing::TestKey;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kIss[] = "https://ehr.example.org";
constexpr char kAud[] =
    "https://cds.example.org/cds-services/microneedling-safety";
constexpr int64_t kNow = 1800000000;

class JwtVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ec_keys_ = TestKey::Generate("EC", "ec-key");
    rsa_keys_ = TestKey::Generate("RSA", "rsa-key");
    // Same kid as ec-key, different key material.
    other_keys_ = TestKey::Generate("EC", "ec-key");
    ec_ = ec_keys_.get();
    rsa_ = rsa_keys_.get();
    other_ = other_keys_.get();
  }
  static void TearDownTestSuite() {
    ec_keys_.reset();
    rsa_keys_.reset();
    other_keys_.reset();
  }

  void SetUp() override {
    ASSERT_NE(ec_, nullptr);
    ASSERT_NE(rsa_, nullptr);
    Json jwks = {{"keys", Json::array({ec_->PublicJwk(), rsa_->PublicJwk()})}};
    auto keys = JwkSet::FromJson(jwks.dump());
    ASSERT_THAT(keys, IsOk());
    ASSERT_EQ((*keys)->size(), 2);
    JwtVerifier::Options options;
    options.trusted_issuers = {kIss};
    verifier_ = std::make_unique<JwtVerifier>(*keys, options);
  }

  static Json Header(const TestKey& key) {
    return {{"alg", key.alg()}, {"typ", "JWT"}, {"kid", key.kid()}};
  }

  absl::StatusOr<JwtClaims> Verify(const std::string& token) {
    return verifier_->Verify(token, {kAud}, absl::FromUnixSeconds(kNow));
  }

  static Json Good(const std::string& jti) {
    return Claims(kIss, kAud, kNow - 10, kNow + 300, jti);
  }

  static std::unique_ptr<TestKey> ec_keys_, rsa_keys_, other_keys_;
  static TestKey* ec_;
  static TestKey* rsa_;
  static TestKey* other_;
  std::unique_ptr<JwtVerifier> verifier_;
};

std::unique_ptr<TestKey> JwtVerifierTest::ec_keys_;
std::unique_ptr<TestKey> JwtVerifierTest::rsa_keys_;
std::unique_ptr<TestKey> JwtVerifierTest::other_keys_;
TestKey* JwtVerifierTest::ec_ = nullptr;
TestKey* JwtVerifierTest::rsa_ = nullptr;
TestKey* JwtVerifierTest::other_ = nullptr;

TEST_F(JwtVerifierTest, AcceptsEs384) {
  auto claims = Verify(ec_->Sign(Header(*ec_), Good("jti-1")));
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->iss, kIss);
  EXPECT_EQ(claims->jti, "jti-1");
  EXPECT_EQ(claims->alg, "ES384");
}

TEST_F(JwtVerifierTest, AcceptsRs384) {
  auto claims = Verify(rsa_->Sign(Header(*rsa_), Good("jti-2")));
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->alg, "RS384");
}

TEST_F(JwtVerifierTest, AcceptsAudArrayAndTenantAndJku) {
  Json claims = Good("jti-3");
  claims["aud"] = Json::array({"https://other.example.org", kAud});
  claims["tenant"] = "org-1";
  Json header = Header(*ec_);
  header["jku"] = "https://attacker.example.org/jwks.json";  // never fetched
  auto result = Verify(ec_->Sign(header, claims));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->tenant, "org-1");
}

TEST_F(JwtVerifierTest, AcceptsWithinClockSkew) {
  EXPECT_THAT(Verify(ec_->Sign(Header(*ec_),
                               Claims(kIss, kAud, kNow + 30, kNow - 30, "s"))),
              IsOk());
}

TEST_F(JwtVerifierTest, RejectsExpired) {
  EXPECT_THAT(
      Verify(ec_->Sign(Header(*ec_),
                       Claims(kIss, kAud, kNow - 600, kNow - 120, "e"))),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
}

TEST_F(JwtVerifierTest, RejectsWrongAudience) {
  EXPECT_THAT(
      Verify(ec_->Sign(Header(*ec_),
                       Claims(kIss, "https://cds.example.org/cds-services",
                              kNow, kNow + 60, "a"))),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("aud")));
}

TEST_F(JwtVerifierTest, RejectsUntrustedIssuer) {
  EXPECT_THAT(
      Verify(ec_->Sign(Header(*ec_), Claims("https://evil.example.org", kAud,
                                            kNow, kNow + 60, "i"))),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("iss")));
}

TEST_F(JwtVerifierTest, RejectsReplayedJti) {
  const std::string token = ec_->Sign(Header(*ec_), Good("replay-me"));
  EXPECT_THAT(Verify(token), IsOk());
  EXPECT_THAT(Verify(token), StatusIs(absl::StatusCode::kUnauthenticated,
                                      HasSubstr("replayed")));
  // A new token with the same jti is a replay too.
  EXPECT_THAT(Verify(rsa_->Sign(Header(*rsa_), Good("replay-me"))),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(verifier_->replay_cache_size(), 1u);
}

TEST_F(JwtVerifierTest, ForgetsJtiAfterExpiry) {
  const std::string token = ec_->Sign(
      Header(*ec_), Claims(kIss, kAud, kNow - 10, kNow + 60, "short"));
  EXPECT_THAT(Verify(token), IsOk());
  // Much later (the token itself has expired by then): refused as expired,
  // and the cache is swept.
  EXPECT_THAT(
      verifier_->Verify(token, {kAud}, absl::FromUnixSeconds(kNow + 3600)),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  EXPECT_THAT(
      verifier_->Verify(ec_->Sign(Header(*ec_), Claims(kIss, kAud, kNow + 3590,
                                                       kNow + 3700, "later")),
                        {kAud}, absl::FromUnixSeconds(kNow + 3600)),
      IsOk());
  EXPECT_EQ(verifier_->replay_cache_size(), 1u);
}

TEST_F(JwtVerifierTest, RejectsBadSignature) {
  // Signed by another key that claims the same kid.
  EXPECT_THAT(
      Verify(other_->Sign(Header(*other_), Good("b1"))),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("signature")));
  // Payload changed after signing.
  std::string token = ec_->Sign(Header(*ec_), Good("b2"));
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  Json tampered = Good("b2");
  tampered["iss"] = kIss;
  tampered["exp"] = kNow + 400;
  token = token.substr(0, first + 1) + Base64Url(tampered.dump()) +
          token.substr(second);
  EXPECT_THAT(Verify(token), StatusIs(absl::StatusCode::kUnauthenticated,
                                      HasSubstr("signature")));
}

TEST_F(JwtVerifierTest, RejectsUnknownKid) {
  Json header = Header(*ec_);
  header["kid"] = "nobody";
  EXPECT_THAT(
      Verify(ec_->Sign(header, Good("k"))),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("unknown key")));
}

TEST_F(JwtVerifierTest, RejectsAlgNoneAndHs256) {
  Json none = {{"alg", "none"}, {"typ", "JWT"}, {"kid", "ec-key"}};
  const std::string unsigned_token =
      Base64Url(none.dump()) + "." + Base64Url(Good("n").dump()) + ".";
  EXPECT_THAT(Verify(unsigned_token),
              StatusIs(absl::StatusCode::kUnauthenticated));
  Json hs = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "ec-key"}};
  const std::string hs_token = Base64Url(hs.dump()) + "." +
                               Base64Url(Good("h").dump()) + "." +
                               Base64Url(std::string(32, 'x'));
  EXPECT_THAT(Verify(hs_token), StatusIs(absl::StatusCode::kUnauthenticated,
                                         HasSubstr("refused")));
}

TEST_F(JwtVerifierTest, RejectsAlgKeyMismatch) {
  // An RS384 header naming the EC key.
  Json header = {{"alg", "RS384"}, {"typ", "JWT"}, {"kid", "ec-key"}};
  EXPECT_THAT(Verify(rsa_->Sign(header, Good("m"))),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(JwtVerifierTest, RejectsMissingClaims) {
  for (const char* claim : {"exp", "iat", "jti", "iss", "aud"}) {
    Json claims = Good(std::string("missing-") + claim);
    claims.erase(claim);
    EXPECT_THAT(Verify(ec_->Sign(Header(*ec_), claims)),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << claim;
  }
  Json header = Header(*ec_);
  header.erase("typ");
  EXPECT_THAT(Verify(ec_->Sign(header, Good("typ"))),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("typ")));
}

TEST_F(JwtVerifierTest, RejectsFutureIatAndNbfAndLongLifetime) {
  EXPECT_THAT(Verify(ec_->Sign(Header(*ec_), Claims(kIss, kAud, kNow + 600,
                                                    kNow + 900, "f"))),
              StatusIs(absl::StatusCode::kUnauthenticated));
  Json nbf = Good("nbf");
  nbf["nbf"] = kNow + 600;
  EXPECT_THAT(Verify(ec_->Sign(Header(*ec_), nbf)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("nbf")));
  EXPECT_THAT(Verify(ec_->Sign(Header(*ec_),
                               Claims(kIss, kAud, kNow, kNow + 86400, "long"))),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(JwtVerifierTest, RejectsGarbage) {
  for (const std::string token :
       {"", "abc", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.", "e30.e30.e30"}) {
    EXPECT_THAT(Verify(token), StatusIs(absl::StatusCode::kUnauthenticated))
        << token;
  }
}

TEST(JwkSetTest, RejectsMalformedSets) {
  EXPECT_FALSE(JwkSet::FromJson("not json").ok());
  EXPECT_FALSE(JwkSet::FromJson("{}").ok());
  EXPECT_FALSE(
      JwkSet::FromJson(
          R"({"keys":[{"kty":"EC","kid":"a","crv":"P-384","x":"AA","y":"AA"}]})")
          .ok());
  auto skipped = JwkSet::FromJson(
      R"({"keys":[{"kty":"oct","kid":"s","k":"AAAA"},{"kty":"EC","kid":"p256","crv":"P-256","x":"AA","y":"AA"}]})");
  ASSERT_THAT(skipped, IsOk());
  EXPECT_EQ((*skipped)->size(), 0);
  EXPECT_EQ((*skipped)->skipped(), 2);
}

// An RSA JWK with a random modulus of `bytes` bytes (top bit set, odd).
Json RsaJwk(const std::string& kid, size_t bytes, const std::string& e) {
  std::string n(bytes, '\x5a');
  n[0] = '\xc3';
  n[bytes - 1] = '\x01';
  return {{"kty", "RSA"}, {"kid", kid}, {"n", Base64Url(n)}, {"e", e}};
}

// Bad keys in a set that also holds a good one: unusable keys are skipped
// (the good key still works), ambiguous or malformed documents are refused.
TEST(JwkSetTest, SkipsUnusableKeysAndKeepsTheRest) {
  auto good = TestKey::Generate("EC", "good");
  Json ec_p256 = good->PublicJwk();
  ec_p256["kid"] = "p256";
  ec_p256["crv"] = "P-256";
  Json with_private = good->PublicJwk();
  with_private["kid"] = "leaked";
  with_private["d"] = Base64Url(std::string(48, '\x11'));
  Json enc = good->PublicJwk();
  enc["kid"] = "enc";
  enc["use"] = "enc";
  Json jwks = {
      {"keys", Json::array({
                   good->PublicJwk(),
                   RsaJwk("rsa1024", 128, "AQAB"),
                   RsaJwk("rsa9000", 1125, "AQAB"),
                   ec_p256,
                   {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}},
                   {{"kty", "OKP"}, {"kid", "ed"}, {"crv", "Ed25519"}},
                   with_private,
                   enc,
                   {{"kty", "EC"}, {"crv", "P-384"}},  // no kid
                   {{"kty", "EC"}, {"kid", std::string(300, 'k')}},
                   {{"kty", "EC"}, {"kid", "tab\there"}},
               })}};
  auto set = JwkSet::FromJson(jwks.dump());
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ((*set)->size(), 1);
  EXPECT_EQ((*set)->skipped(), 10);
  EXPECT_NE((*set)->Find("good"), nullptr);
  for (const char* kid :
       {"rsa1024", "rsa9000", "p256", "hmac", "ed", "leaked", "enc"}) {
    EXPECT_EQ((*set)->Find(kid), nullptr) << kid;
  }
  // A token naming the HMAC key's kid is refused as an unknown key.
  JwtVerifier::Options options;
  options.trusted_issuers = {kIss};
  JwtVerifier verifier(*set, options);
  Json hs = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "hmac"}};
  EXPECT_THAT(verifier.Verify(Base64Url(hs.dump()) + "." +
                                  Base64Url(Json::object().dump()) + "." +
                                  Base64Url(std::string(32, 'x')),
                              {kAud}, absl::FromUnixSeconds(kNow)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  Json rs = {{"alg", "RS384"}, {"typ", "JWT"}, {"kid", "rsa1024"}};
  EXPECT_THAT(
      verifier.Verify(
          Base64Url(rs.dump()) + "." +
              Base64Url(Claims(kIss, kAud, kNow, kNow + 60, "weak").dump()) +
              "." + Base64Url(std::string(128, 'x')),
          {kAud}, absl::FromUnixSeconds(kNow)),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("unknown key")));
}

TEST(JwkSetTest, RefusesAmbiguousAndMalformedDocuments) {
  auto key = TestKey::Generate("EC", "dup");
  auto other = TestKey::Generate("RSA", "dup");
  // The same kid twice, also when one of them is a skipped key.
  EXPECT_THAT(
      JwkSet::FromJson(
          Json({{"keys", Json::array({key->PublicJwk(), other->PublicJwk()})}})
              .dump()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  EXPECT_THAT(JwkSet::FromJson(
                  Json({{"keys", Json::array({{{"kty", "oct"}, {"kid", "dup"}},
                                              key->PublicJwk()})}})
                      .dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  // RSA exponents: even, 1, over 32 bits.
  for (const std::string& e :
       {Base64Url(std::string("\x01\x00\x00", 3)), Base64Url("\x01"),
        Base64Url(std::string("\x01\x00\x00\x00\x01", 5))}) {
    EXPECT_THAT(
        JwkSet::FromJson(
            Json({{"keys", Json::array({RsaJwk("r", 256, e)})}}).dump()),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exponent")))
        << e;
  }
  // A P-384 point that is not on the curve.
  Json off_curve = key->PublicJwk();
  off_curve["y"] = Base64Url(std::string(48, '\x01'));
  EXPECT_FALSE(
      JwkSet::FromJson(Json({{"keys", Json::array({off_curve})}}).dump()).ok());
  // Padding, wrong coordinate length, not objects, not a set.
  Json padded = key->PublicJwk();
  padded["x"] = padded["x"].get<std::string>() + "=";
  EXPECT_FALSE(
      JwkSet::FromJson(Json({{"keys", Json::array({padded})}}).dump()).ok());
  EXPECT_FALSE(JwkSet::FromJson(R"({"keys":[5]})").ok());
  EXPECT_FALSE(JwkSet::FromJson(R"([{"keys":[]}])").ok());
  EXPECT_FALSE(JwkSet::FromJson(R"({"keys":{}})").ok());
  // Size caps: 101 keys, over 1 MiB.
  Json many = {{"keys", Json::array()}};
  for (int i = 0; i < 101; ++i) {
    many["keys"].push_back({{"kty", "oct"}, {"kid", std::to_string(i)}});
  }
  EXPECT_THAT(
      JwkSet::FromJson(many.dump()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("100 keys")));
  EXPECT_THAT(JwkSet::FromJson(R"({"keys":[],"pad":")" +
                               std::string(1 << 20, 'a') + "\"}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 MiB")));
  // Key material never appears in a message.
  auto refused =
      JwkSet::FromJson(Json({{"keys", Json::array({off_curve})}}).dump());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::Not(HasSubstr(off_curve["x"].get<std::string>())));
}

// Keys of a JWK Set URL are tied to its issuer.
class IssuerKeysTest : public ::testing::Test {
 protected:
  static constexpr char kOtherIss[] = "https://other-ehr.example.org";

  void SetUp() override {
    file_key_ = TestKey::Generate("EC", "file-key");
    url_key_ = TestKey::Generate("RSA", "url-key");
    document_ = Json({{"keys", Json::array({url_key_->PublicJwk()})}}).dump();
    cache_ = std::make_shared<JwksCache>(
        [this]() -> absl::StatusOr<std::string> {
          ++fetches_;
          return document_;
        },
        JwksCache::Options());
    auto file = JwkSet::FromJson(
        Json({{"keys", Json::array({file_key_->PublicJwk()})}}).dump());
    ASSERT_THAT(file, IsOk());
    JwtVerifier::Options options;
    options.trusted_issuers = {kIss, kOtherIss};
    options.issuer_keys[kIss] = cache_;
    verifier_ = std::make_unique<JwtVerifier>(*file, options);
    // The start-up fetch, two minutes before the tokens.
    ASSERT_THAT(cache_->Refresh(absl::FromUnixSeconds(kNow - 120)), IsOk());
    ASSERT_EQ(fetches_, 1);
  }

  absl::StatusOr<JwtClaims> Verify(const TestKey& key, const std::string& iss,
                                   const std::string& jti) {
    Json header = {{"alg", key.alg()}, {"typ", "JWT"}, {"kid", key.kid()}};
    return verifier_->Verify(
        key.Sign(header, Claims(iss, kAud, kNow - 5, kNow + 60, jti)), {kAud},
        absl::FromUnixSeconds(kNow));
  }

  std::unique_ptr<TestKey> file_key_, url_key_;
  std::string document_;
  int fetches_ = 0;
  std::shared_ptr<JwksCache> cache_;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(IssuerKeysTest, UrlKeyVerifiesOnlyItsIssuer) {
  EXPECT_THAT(Verify(*url_key_, kIss, "a"), IsOk());
  // The same key with another trusted issuer: not that issuer's key.
  EXPECT_THAT(
      Verify(*url_key_, kOtherIss, "b"),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("unknown key")));
  // The file's keys serve every trusted issuer.
  EXPECT_THAT(Verify(*file_key_, kIss, "c"), IsOk());
  EXPECT_THAT(Verify(*file_key_, kOtherIss, "d"), IsOk());
  EXPECT_EQ(fetches_, 1);
}

TEST_F(IssuerKeysTest, UntrustedIssuerNeverTriggersAFetch) {
  auto stranger = TestKey::Generate("EC", "stranger");
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(
        Verify(*stranger, "https://evil.example.org", "s" + std::to_string(i)),
        StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("iss")));
  }
  EXPECT_EQ(fetches_, 1);
  // Another trusted issuer without a URL: no fetch either.
  EXPECT_THAT(Verify(*stranger, kOtherIss, "o"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(fetches_, 1);
}

TEST_F(IssuerKeysTest, RotationIsPickedUpOnTheFirstTokenWithTheNewKid) {
  EXPECT_THAT(Verify(*url_key_, kIss, "r1"), IsOk());
  auto rotated = TestKey::Generate("EC", "rotated");
  document_ = Json({{"keys", Json::array({rotated->PublicJwk()})}}).dump();
  EXPECT_THAT(Verify(*rotated, kIss, "r2"), IsOk());
  EXPECT_EQ(fetches_, 2);
  // The issuer dropped url-key: refused (and no second fetch this minute).
  EXPECT_THAT(
      Verify(*url_key_, kIss, "r3"),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("unknown key")));
  EXPECT_EQ(fetches_, 2);
}

TEST_F(IssuerKeysTest, FloodOfUnknownKidsFetchesOnce) {
  auto stranger = TestKey::Generate("EC", "x");
  for (int i = 0; i < 200; ++i) {
    Json header = {{"alg", "ES384"},
                   {"typ", "JWT"},
                   {"kid", "made-up-" + std::to_string(i)}};
    EXPECT_THAT(verifier_->Verify(
                    stranger->Sign(header, Claims(kIss, kAud, kNow, kNow + 60,
                                                  "f" + std::to_string(i))),
                    {kAud}, absl::FromUnixSeconds(kNow + i / 10)),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_EQ(fetches_, 2);  // the start-up fetch and one more
}

}  // namespace
}  // namespace needlecheck::cds_hooks
