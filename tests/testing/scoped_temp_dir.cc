#include "tests/testing/scoped_temp_dir.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace needlecheck::testing {
namespace {

std::string TempDir() {
  for (const char* name : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* dir = std::getenv(name);
    if (dir != nullptr && dir[0] != '\0') return dir;
  }
  return "/tmp";
}

}  // namespace

ScopedTempDir::ScopedTempDir() {
  std::string templ = absl::StrCat(TempDir(), "/needlecheck_test_XXXXXX");
  if (mkdtemp(templ.data()) != nullptr) path_ = templ;
}

ScopedTempDir::~ScopedTempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ScopedTempDir::Path(const std::string& name) const {
  return absl::StrCat(path_, "/", name);
}

std::string ScopedTempDir::WriteFile(const std::string& name,
                                     const std::string& contents) const {
  const std::string path = Path(name);
  std::ofstream out(path, std::ios::binary);
  out << contents;
  out.close();
  return out.good() ? path : "";
}

}  // namespace needlecheck::testing
