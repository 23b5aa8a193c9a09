// needlecheck-export-parse-baseline: the I/O-and-parse ceiling of a batch
// audit. Reads every resource file of a Bulk Data export the way
// needlecheck-audit does (ListExportFiles, NdjsonLineReader: plain or gzip)
// and parses every line with simdjson's DOM parser (full validation), and
// nothing else. needlecheck-audit's end-to-end rate divided by this rate is
// the ratio docs/performance.md reports (run_audit_bench.sh).
//
// Prints one line: files, lines, bytes (decompressed), seconds, lines/s,
// MB/s.
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "adapters/batch/export/export_layout.h"
#include "adapters/batch/export/line_reader.h"
#include "simdjson.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    absl::FPrintF(stderr, "usage: %s EXPORT_DIR\n", argv[0]);
    return 2;
  }
  absl::StatusOr<needlecheck::batch::ExportLayout> layout =
      needlecheck::batch::ListExportFiles(argv[1]);
  if (!layout.ok()) {
    absl::FPrintF(stderr, "%s\n", layout.status().ToString());
    return 1;
  }
  const absl::Time start = absl::Now();
  simdjson::dom::parser parser;
  int64_t lines = 0, bytes = 0, errors = 0, files = 0;
  for (const needlecheck::batch::ExportFile& file : layout->files) {
    if (file.kind != needlecheck::batch::ExportFile::Kind::kNdjson) continue;
    ++files;
    auto reader = needlecheck::batch::NdjsonLineReader::Open(file.path);
    if (!reader.ok()) {
      absl::FPrintF(stderr, "%s\n", reader.status().ToString());
      return 1;
    }
    needlecheck::batch::NdjsonLine line;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->Next(&line);
      if (!more.ok()) {
        ++errors;
        if (!needlecheck::batch::NdjsonLineReader::IsLineError(more.status())) {
          break;
        }
        continue;
      }
      if (!*more) break;
      ++lines;
      bytes += static_cast<int64_t>(line.text.size()) + 1;
      simdjson::dom::element element;
      // The reader guarantees SIMDJSON_PADDING readable bytes after a line.
      if (parser.parse(line.text.data(), line.text.size(), false)
              .get(element) != simdjson::SUCCESS) {
        ++errors;
      }
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  absl::PrintF(
      "baseline files=%d lines=%d bytes=%d errors=%d seconds=%.3f "
      "lines_per_s=%.0f mb_per_s=%.1f\n",
      files, lines, bytes, errors, seconds, lines / seconds,
      bytes / seconds / 1e6);
  return 0;
}
