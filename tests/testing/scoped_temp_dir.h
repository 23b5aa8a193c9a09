// ScopedTempDir: a fresh folder (mkdtemp) under $TEST_TMPDIR, $TMPDIR or
// /tmp for one test, removed with everything in it when the object goes, so
// that concurrent test runs never share files. Test-only.
#ifndef TESTS_TESTING_SCOPED_TEMP_DIR_H_
#define TESTS_TESTING_SCOPED_TEMP_DIR_H_

#include <string>

namespace needlecheck::testing {

class ScopedTempDir {
 public:
  ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  ~ScopedTempDir();

  // The directory; empty if it could not be created.
  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Path(const std::string& name) const;
  // Writes `contents` to Path(name) and returns that path ("" on failure).
  std::string WriteFile(const std::string& name,
                        const std::string& contents) const;

 private:
  std::string path_;
};

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_SCOPED_TEMP_DIR_H_
