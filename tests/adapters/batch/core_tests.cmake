# The batch audit's core and the tool end to end.
find_package(nlohmann_json CONFIG REQUIRED)
needlecheck_test(batch_core_test
  SOURCES batch_core_test.cc
  LIBS needlecheck_batch_run needlecheck_test_temp_dir
       nlohmann_json::nlohmann_json)
needlecheck_test(audit_tool_test
  SOURCES audit_tool_test.cc
  LIBS needlecheck_synth needlecheck_test_process needlecheck_test_chromium
       needlecheck_test_tls_certs nlohmann_json::nlohmann_json)
target_compile_definitions(audit_tool_test PRIVATE ${BATCH_TEST_DEFS})
# The tool and the server must be built before the test runs.
add_dependencies(audit_tool_test needlecheck-audit needlecheckd)
# needlecheckd's rejection of a record, told without values
# (adapters/batch/run/record_rejection.h).
needlecheck_test(record_rejection_test
  SOURCES record_rejection_test.cc
  LIBS needlecheck_batch_run)
