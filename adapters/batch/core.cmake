# The summary model (audit_summary.h), used by every part.
add_library(needlecheck_batch_summary audit_summary.cc)

# Findings formats, the summary fold, the scratch store, the Audit stream,
# progress display.
add_library(needlecheck_batch_core
  finding_record.cc
  summary_builder.cc
  audit_scratch.cc
  patient_audit_stream.cc
  record_rejection.cc
  progress_meter.cc
  audit_outputs.cc
  audit_merge.cc)
target_link_libraries(needlecheck_batch_core PUBLIC
  needlecheck_batch_summary needlecheck_batch_report needlecheck_fhir needlecheck_proto
  needlecheck_files
  needlecheck_grpc_proto google_rpc_proto needlecheck_grpc_error_details
  needlecheck_batch_export
  PkgConfig::SQLite3 simdjson::simdjson
  nlohmann_json::nlohmann_json absl::status absl::statusor absl::strings
  absl::str_format absl::synchronization absl::time Threads::Threads)

# The run (reading, grouping, auditing, writing) and the tool.
add_library(needlecheck_batch_run audit_run.cc)
target_link_libraries(needlecheck_batch_run PUBLIC
  needlecheck_batch_core needlecheck_batch_export)

add_executable(needlecheck-audit needlecheck_audit_main.cc)
target_link_libraries(needlecheck-audit PRIVATE
  needlecheck_batch_run needlecheck_grpc_client_channel
  absl::flags absl::flags_parse absl::flags_usage)
