# The two renderings of an AuditSummary (audit_summary.h): summary.json
# (summary_json.h, and the reading back of its input counts for merges) and
# report.html (report_html.h). needlecheck_batch_summary is defined in
# core.cmake, included after this file; CMake resolves the name when it
# generates.
add_library(needlecheck_batch_report summary_json.cc report_html.cc)
target_link_libraries(needlecheck_batch_report PUBLIC
  needlecheck_batch_summary absl::status absl::statusor absl::strings
  absl::str_format
  PRIVATE nlohmann_json::nlohmann_json)
