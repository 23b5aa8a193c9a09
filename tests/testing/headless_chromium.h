// HeadlessChromium: runs Debian's chromium headless on a page, for tests
// that must see a page the way a browser does (report.html of the batch
// audit). Test-only (target needlecheck_test_chromium).
//
// Contract
// - FindChromium(): $NEEDLECHECK_CHROMIUM, else chromium (or
//   chromium-browser) on $PATH; "" when there is none.
// - REQUIRE_CHROMIUM(path): in a TEST, skips when chromium is missing,
//   unless CI=true (then fails), so a CI image without it cannot pass
//   silently. `deploy/local.sh test` installs it.
// - RunChromium(): one headless run under `timeout` (45 s), with stdout and
//   stderr captured and HOME / XDG folders inside `dir`, so nothing outside
//   it is touched.
// - PageProblems(): the lines of chromium's stderr that report something
//   from the page (console messages, CSP violations, failed loads).
#ifndef TESTS_TESTING_HEADLESS_CHROMIUM_H_
#define TESTS_TESTING_HEADLESS_CHROMIUM_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tests/testing/scoped_temp_dir.h"

namespace needlecheck::testing {

std::string FindChromium();
bool InCi();

#define REQUIRE_CHROMIUM(chromium)                                         \
  do {                                                                     \
    if ((chromium).empty()) {                                              \
      if (::needlecheck::testing::InCi()) {                                \
        FAIL() << "chromium is not installed and CI=true: install Debian " \
                  "package chromium (deploy/local.sh test does)";          \
      }                                                                    \
      GTEST_SKIP() << "chromium is not installed (Debian package "         \
                      "chromium; deploy/local.sh test installs it)";       \
    }                                                                      \
  } while (false)

struct ChromiumRun {
  int exit_code = -1;  // 128 + signal when a signal ended it
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs chromium headless on `url` with `args` added (e.g. {"--dump-dom"});
// `name` names the run's files inside `dir`.
ChromiumRun RunChromium(const std::string& chromium, const ScopedTempDir& dir,
                        const std::string& name,
                        const std::vector<std::string>& args,
                        const std::string& url);

std::vector<std::string> PageProblems(const std::string& stderr_text);

// The element from `<svg id="id"` to its `</svg>` in a DOM dump ("" if
// none).
std::string SvgById(const std::string& dom, absl::string_view id);

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_HEADLESS_CHROMIUM_H_
