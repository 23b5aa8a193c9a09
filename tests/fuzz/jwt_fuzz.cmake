# jwt_fuzz: the CDS Hooks gateway's JWT verifier and JWK Set parser
# (adapters/cds_hooks/jwt_verifier.h, jwks_cache.h), which read every bearer
# token and every JWK Set URL's answer. Inputs are "JWKS\nTOKEN"; seeds in
# jwt_fuzz_corpus/, dictionary jwt.dict, e.g.
#   build-fuzz/tests/fuzz/jwt_fuzz -max_total_time=180 -dict=tests/fuzz/jwt.dict \
#     CORPUS_DIR tests/fuzz/jwt_fuzz_corpus
if(TARGET needlecheck_cds_hooks_core)
  needlecheck_fuzzer(jwt_fuzz
    SOURCES jwt_fuzz.cc
    SMOKE jwt_fuzz_smoke_test.cc
    LIBS needlecheck_cds_hooks_core
    INSTRUMENT needlecheck_cds_hooks_core
    SEEDS tests/fuzz/jwt_fuzz_corpus
    DICT jwt.dict
    MAX_LEN 16384
    DEFINITIONS
      NEEDLECHECK_JWT_FUZZ_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/jwt_fuzz_corpus")
endif()
