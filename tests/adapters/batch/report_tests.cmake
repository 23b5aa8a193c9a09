# Tests of the audit report: summary.json and report.html (adapters/batch/report/).
# Imported targets are folder-scoped: the tests parse JSON themselves.
find_package(nlohmann_json CONFIG REQUIRED)
needlecheck_test(summary_json_test
  SOURCES summary_json_test.cc
  LIBS needlecheck_batch_report nlohmann_json::nlohmann_json)
needlecheck_test(report_html_test
  SOURCES report_html_test.cc
  LIBS needlecheck_batch_report)
# Each chart as a function of its data to SVG (report/html/chart_*.h).
needlecheck_test(report_charts_test
  SOURCES report_charts_test.cc
  LIBS needlecheck_batch_report)
# Renders a realistic report in Debian's chromium (headless): no console
# errors, the three charts with their bars, a screenshot. Skipped when
# chromium is missing, unless CI=true (then it fails): `deploy/local.sh test`
# installs it.
needlecheck_test(report_chromium_test
  SOURCES report_chromium_test.cc
  LIBS needlecheck_batch_report needlecheck_test_chromium)
