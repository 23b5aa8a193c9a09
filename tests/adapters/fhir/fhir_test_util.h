// Test-only helpers for the FHIR adapter tests: where the shared corpus and
// the fixtures are, and reading a file.
#ifndef TESTS_ADAPTERS_FHIR_FHIR_TEST_UTIL_H_
#define TESTS_ADAPTERS_FHIR_FHIR_TEST_UTIL_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/shared_corpus.h"

namespace needlecheck::fhir::testing {

// $NEEDLECHECK_SHARED_DIR/corpus/<sub> when set (a worktree elsewhere), as
// tests/testing/shared_corpus.h.
inline std::filesystem::path CorpusDir(const std::string& sub) {
  return ::needlecheck::testing::SharedCorpusDir(NEEDLECHECK_SHARED_DIR, sub);
}
inline std::filesystem::path TestdataDir() {
  return NEEDLECHECK_FHIR_TESTDATA_DIR;
}

// The whole file; empty string when it cannot be read.
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Files of `dir` with extension `ext`, sorted by name.
inline std::vector<std::filesystem::path> FilesIn(
    const std::filesystem::path& dir, const std::string& ext) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ext) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace needlecheck::fhir::testing

#endif  // TESTS_ADAPTERS_FHIR_FHIR_TEST_UTIL_H_
