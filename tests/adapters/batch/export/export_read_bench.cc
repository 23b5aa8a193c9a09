// export_read_bench: throughput of reading an export (not a test; run by
// hand, ideally on a Release build):
//   export_read_bench [MEGABYTES=256] [CORPUS_NDJSON_DIR]
// Builds a file of about MEGABYTES by repeating the lines of the corpus
// Bulk Data sample (../shared/corpus/fhir-r4-bulk-ndjson), plain and gzip,
// in a temporary folder, and prints the best of 3 runs of:
//   - NdjsonLineReader alone (plain, gzip): MB/s of line data;
//   - NdjsonLineReader + ResourceRouter::RoutePadded (plain, gzip);
//   - ResourceRouter::Route alone on lines held in memory.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/batch/export/export_layout.h"
#include "adapters/batch/export/line_reader.h"
#include "adapters/batch/export/resource_route.h"
#include "tests/testing/scoped_temp_dir.h"

namespace {

using needlecheck::batch::ExportFile;
using needlecheck::batch::ListExportFiles;
using needlecheck::batch::NdjsonLine;
using needlecheck::batch::NdjsonLineReader;
using needlecheck::batch::ResourceRouter;
using needlecheck::batch::RouteResult;

double Seconds(const std::function<void()>& fn) {
  double best = 1e100;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double> d =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, d.count());
  }
  return best;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "export_read_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const std::string corpus =
      argc > 2
          ? argv[2]
          : absl::StrCat(NEEDLECHECK_SHARED_DIR, "/corpus/fhir-r4-bulk-ndjson");
  auto layout = ListExportFiles(corpus);
  if (!layout.ok()) return Fail(layout.status().ToString());
  std::string sample;
  for (const ExportFile& f : layout->files) {
    std::ifstream in(f.path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    sample += s.str();
  }
  if (sample.empty()) return Fail("empty corpus");

  needlecheck::testing::ScopedTempDir dir;
  const std::string plain = dir.Path("Mixed.ndjson");
  const std::string gz = dir.Path("Mixed.ndjson.gz");
  {
    std::ofstream out(plain, std::ios::binary);
    gzFile g = gzopen(gz.c_str(), "wb6");
    size_t written = 0;
    while (written < megabytes << 20) {
      out << sample;
      gzwrite(g, sample.data(), static_cast<unsigned>(sample.size()));
      written += sample.size();
    }
    gzclose(g);
  }

  for (const std::string& path : {plain, gz}) {
    uint64_t bytes = 0;
    int64_t lines = 0;
    const double read_s = Seconds([&] {
      auto r = NdjsonLineReader::Open(path);
      NdjsonLine line;
      bytes = 0;
      lines = 0;
      while (*(*r)->Next(&line)) {
        bytes += line.text.size() + 1;
        ++lines;
      }
    });
    int64_t routed = 0;
    const double route_s = Seconds([&] {
      auto r = NdjsonLineReader::Open(path);
      ResourceRouter router;
      RouteResult route;
      NdjsonLine line;
      routed = 0;
      while (*(*r)->Next(&line)) {
        if (router.RoutePadded(line.text, &route).ok() &&
            !route.patient_id.empty()) {
          ++routed;
        }
      }
    });
    const double mb = static_cast<double>(bytes) / (1 << 20);
    std::printf(
        "%s: %.0f MB, %lld lines: read %.0f MB/s (%.2f M lines/s); "
        "read+route %.0f MB/s (%lld routed)\n",
        path == gz ? "gzip " : "plain", mb, static_cast<long long>(lines),
        mb / read_s, lines / read_s / 1e6, mb / route_s,
        static_cast<long long>(routed));
  }

  // The router alone, on lines in memory (Route copies to pad).
  std::vector<std::string> lines;
  {
    std::istringstream in(sample);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  const int rounds =
      std::max<int>(1, static_cast<int>((64 << 20) / sample.size()));
  const double s = Seconds([&] {
    ResourceRouter router;
    RouteResult route;
    for (int i = 0; i < rounds; ++i) {
      for (const std::string& l : lines) (void)router.Route(l, &route);
    }
  });
  const double mb = static_cast<double>(sample.size()) * rounds / (1 << 20);
  std::printf("route only (copying): %.0f MB/s, %.2f M resources/s\n", mb / s,
              static_cast<double>(lines.size()) * rounds / s / 1e6);
  return 0;
}
