# http_request_parser_fuzz: the CDS Hooks server's HTTP/1.1 request parser
# (adapters/cds_hooks/http_request_parser.h), which reads every byte a client
# sends before any authentication.
if(TARGET needlecheck_cds_hooks_core)
  needlecheck_fuzzer(http_request_parser_fuzz
    SOURCES http_request_parser_fuzz.cc
    SMOKE http_request_parser_fuzz_smoke_test.cc
    LIBS needlecheck_cds_hooks_core
    INSTRUMENT needlecheck_cds_hooks_core
    SEEDS tests/fuzz/corpus/http_request_parser_fuzz
    MAX_LEN 16384)
endif()
