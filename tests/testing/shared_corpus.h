// The shared public corpus (../shared/corpus beside the source root) for
// tests that read real third-party files. Test-only, header-only
// (needlecheck_testing).
//
// Contract
// - SharedCorpusDir(compiled_shared_dir, name): $NEEDLECHECK_SHARED_DIR/
//   corpus/<name> when that variable is set and not empty (a git worktree
//   elsewhere), else <compiled_shared_dir>/corpus/<name> (tests compile in
//   NEEDLECHECK_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared").
// - FilesWithExtension(dir, ".hl7"): the regular entries of `dir` with that
//   extension, sorted; empty when `dir` is missing (tests skip then).
#ifndef TESTS_TESTING_SHARED_CORPUS_H_
#define TESTS_TESTING_SHARED_CORPUS_H_

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace needlecheck::testing {

inline std::filesystem::path SharedCorpusDir(
    const std::string& compiled_shared_dir, const std::string& name) {
  const char* env = std::getenv("NEEDLECHECK_SHARED_DIR");
  const std::filesystem::path shared =
      env != nullptr && *env != '\0'
          ? std::filesystem::path(env)
          : std::filesystem::path(compiled_shared_dir);
  return shared / "corpus" / name;
}

inline std::vector<std::filesystem::path> FilesWithExtension(
    const std::filesystem::path& dir, const std::string& extension) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == extension) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_SHARED_CORPUS_H_
