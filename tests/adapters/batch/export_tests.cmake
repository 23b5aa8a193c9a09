# Tests of reading the export (adapters/batch/export/): folder layout,
# line reader, routing, shards, bundle splitting, and the public corpus
# (../shared/corpus; those tests skip when it is absent).
foreach(t export_layout_test line_reader_test resource_route_test shard_test
          bundle_splitter_test export_corpus_test)
  needlecheck_test(${t} SOURCES ${t}.cc
    LIBS needlecheck_batch_export needlecheck_test_temp_dir absl::str_format)
  target_compile_definitions(${t} PRIVATE ${BATCH_TEST_DEFS})
endforeach()
# The tests write gzip fixtures themselves.
find_package(ZLIB REQUIRED)
foreach(t line_reader_test bundle_splitter_test export_corpus_test)
  target_link_libraries(${t} PRIVATE ZLIB::ZLIB)
endforeach()

# Throughput of the reader and the router (run by hand; not a ctest).
add_executable(export_read_bench export_read_bench.cc)
target_link_libraries(export_read_bench PRIVATE needlecheck_batch_export
  needlecheck_test_temp_dir ZLIB::ZLIB)
target_compile_definitions(export_read_bench PRIVATE ${BATCH_TEST_DEFS})
