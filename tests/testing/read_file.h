// ReadFile: a whole file's bytes, for tests that check what a process wrote
// (logs, outputs, reports). Test-only, header-only (needlecheck_testing).
//
// Contract: the file's contents, byte for byte; "" when it cannot be read
// (the test's own assertion on the contents then fails and says what).
#ifndef TESTS_TESTING_READ_FILE_H_
#define TESTS_TESTING_READ_FILE_H_

#include <fstream>
#include <sstream>
#include <string>

namespace needlecheck::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_READ_FILE_H_
