// The fixed public keys of jwt_fuzz (a JWK Set with an EC P-384 key
// "fuzz-ec" and an RSA 2048 key "fuzz-rsa"), shared by the fuzz target and
// its smoke test. The tokens in jwt_fuzz_corpus/ were signed once with the
// private halves, which were then thrown away, so those seeds carry real
// signatures and reach the claim checks. Test-only.
#ifndef TESTS_FUZZ_JWT_FUZZ_KEYS_H_
#define TESTS_FUZZ_JWT_FUZZ_KEYS_H_

namespace needlecheck::fuzz_testing {

inline constexpr char kJwtFuzzJwks[] =
    R"json({"keys":[{"kty":"EC","kid":"fuzz-ec","use":"sig","crv":"P-384","x":"WbS1U9hsC0k5Lux75Uy8PMMPZKsQaqWb96NghXX2jm5WBGUBLZmCBq77DdA-g4Tz","y":"_S7_-Q8S6rSKV4a7R58iKIAuswbaPqsX5LhwGFaJD7x4aZOzwBsBKEwV3S0pp0pr"},{"kty":"RSA","kid":"fuzz-rsa","alg":"RS384","n":"0FODNG0Jq7FhVqpDOYalNnDkYThdTdf7PP1JoWN2x3_m8x5EBnvttX1V4_7JkdwjJMVMoD9IDr6Nvqd8WarMPTHQTiceZwy-W118jRin0_vI1a-62zEgrr_C1ZIbiasvKL_NBqxvNH_Lf3DlLk-FBKUlWbB_8BAnVLx0MVFX_v2dqEvv6o7niIns0X8DNcG3E1euTSBvOWJen0ti1snQH1dC35waOXchnNn-16VLlUhG5tnlL4OWNVL_WFj2NL79XPXSk8ClP-BVIY0psRl7MNKgQjTskMEzuRqE28iQC_KSQyQ3-LxannXS8BD9xT--TTPJOTrHhkfjFxa_QhRoqw","e":"AQAB"}]})json";
inline constexpr char kJwtFuzzIssuer[] = "https://ehr.example.org";
inline constexpr char kJwtFuzzAudience[] =
    "https://cds.example.org/cds-services/microneedling-safety";
// The seeds' tokens are valid at this time (iat now-10 s, exp now+300 s).
inline constexpr long long kJwtFuzzNow = 1800000000;

}  // namespace needlecheck::fuzz_testing

#endif  // TESTS_FUZZ_JWT_FUZZ_KEYS_H_
