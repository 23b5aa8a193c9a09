// needlecheck-synth --out DIR --patients N --seed S
//                   [--start 2024-01-01 --end 2026-10-31] [--gzip]
// Writes a generated FHIR Bulk Data export with expected findings; see
// synth.h for the scenarios.
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "tests/tools/synth/synth.h"

namespace {

int Usage(const char* message) {
  std::fprintf(stderr,
               "error: %s\nusage: needlecheck-synth --out DIR --patients N "
               "--seed S [--start YYYY-MM-DD --end YYYY-MM-DD] [--gzip]\n",
               message);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  needlecheck::synth::SynthOptions options;
  for (int i = 1; i < argc; ++i) {
    absl::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") return Usage("help requested");
    if (flag == "--gzip") {  // resource files as <Type>.ndjson.gz
      options.gzip = true;
      continue;
    }
    if (i + 1 >= argc) return Usage("missing value after a flag");
    absl::string_view value = argv[++i];
    if (flag == "--out") {
      options.out_dir = std::string(value);
    } else if (flag == "--patients") {
      if (!absl::SimpleAtoi(value, &options.patients)) {
        return Usage("--patients: not an integer");
      }
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(value, &options.seed)) {
        return Usage("--seed: not an unsigned integer");
      }
    } else if (flag == "--start") {
      if (!absl::ParseCivilTime(value, &options.start)) {
        return Usage("--start: not YYYY-MM-DD");
      }
    } else if (flag == "--end") {
      if (!absl::ParseCivilTime(value, &options.end)) {
        return Usage("--end: not YYYY-MM-DD");
      }
    } else {
      return Usage("unknown flag");
    }
  }
  if (options.out_dir.empty()) return Usage("--out is required");
  absl::StatusOr<needlecheck::synth::SynthSummary> summary =
      needlecheck::synth::WriteExport(options);
  if (!summary.ok()) {
    std::fprintf(stderr, "error: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %lld patients, %lld sessions to %s\n",
               static_cast<long long>(summary->patients),  // NOLINT
               static_cast<long long>(summary->sessions),  // NOLINT
               options.out_dir.c_str());
  return 0;
}
