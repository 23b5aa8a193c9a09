# resource_route_fuzz: RouteResource and SplitBundle (adapters/batch), which
# face every line and bundle of an untrusted export. Seeds of the smoke test
# come from ../shared/corpus when present.
if(TARGET needlecheck_batch_export)
  needlecheck_fuzzer(resource_route_fuzz
    SOURCES resource_route_fuzz.cc
    SMOKE resource_route_fuzz_smoke_test.cc
    LIBS needlecheck_batch_export
    INSTRUMENT needlecheck_batch_export
    SEEDS tests/fuzz/corpus/resource_route_fuzz
    DICT resource_route.dict
    MAX_LEN 8192
    DEFINITIONS NEEDLECHECK_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
endif()
