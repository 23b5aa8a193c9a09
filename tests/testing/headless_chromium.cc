#include "tests/testing/headless_chromium.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/read_file.h"

extern char** environ;

namespace needlecheck::testing {
namespace {

// Seconds one chromium run may take before `timeout` kills it.
constexpr int kRunTimeoutSeconds = 45;

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

}  // namespace

// $NEEDLECHECK_CHROMIUM, else chromium (or chromium-browser) on $PATH; ""
// when there is none.
std::string FindChromium() {
  if (const char* env = std::getenv("NEEDLECHECK_CHROMIUM");
      env != nullptr && env[0] != '\0') {
    return IsExecutable(env) ? env : "";
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::string candidate = absl::StrCat(dir, "/", name);
      if (IsExecutable(candidate)) return candidate;
    }
  }
  return "";
}

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// Runs chromium headless on `url` with `args` added, under `timeout`, with
// stdout and stderr captured in `dir`, and HOME and the XDG folders in
// `dir` so that nothing outside it is touched.
ChromiumRun RunChromium(const std::string& chromium, const ScopedTempDir& dir,
                        const std::string& name,
                        const std::vector<std::string>& args,
                        const std::string& url) {
  std::vector<std::string> argv = {
      "timeout",
      "-k",
      "5",
      absl::StrCat(kRunTimeoutSeconds),
      chromium,
      // New headless mode (plain --headless means the same since 132).
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      absl::StrCat("--user-data-dir=", dir.Path(name + "-profile")),
      "--enable-logging=stderr",
      "--v=0",
  };
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    if (absl::StartsWith(entry, "HOME=") ||
        absl::StartsWith(entry, "XDG_CONFIG_HOME=") ||
        absl::StartsWith(entry, "XDG_CACHE_HOME=")) {
      continue;
    }
    env.emplace_back(entry);
  }
  env.push_back(absl::StrCat("HOME=", dir.path()));
  env.push_back(absl::StrCat("XDG_CONFIG_HOME=", dir.Path("xdg-config")));
  env.push_back(absl::StrCat("XDG_CACHE_HOME=", dir.Path("xdg-cache")));

  std::vector<char*> c_argv, c_env;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (std::string& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  const std::string out_path = dir.Path(name + ".stdout");
  const std::string err_path = dir.Path(name + ".stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ChromiumRun result;
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "timeout", &actions, nullptr, c_argv.data(),
                              c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.err = absl::StrCat("posix_spawnp(timeout) failed: ", rc);
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return result;
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = absl::StrCat(result.err, ReadFile(err_path));
  return result;
}

// Lines of chromium's stderr that report something from the page: console
// messages (CSP violations and script errors are logged as CONSOLE),
// uncaught exceptions, failed loads.
std::vector<std::string> PageProblems(const std::string& stderr_text) {
  std::vector<std::string> problems;
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    if (absl::StrContains(line, ":CONSOLE") ||
        absl::StrContains(line, "Uncaught") ||
        absl::StrContains(line, "Failed to load") ||
        absl::StrContains(line, "Content Security Policy") ||
        absl::StrContains(line, "net::ERR_")) {
      problems.emplace_back(line);
    }
  }
  return problems;
}

// The element from `<svg id="id"` to its `</svg>` in a DOM dump.
std::string SvgById(const std::string& dom, absl::string_view id) {
  const size_t start = dom.find(absl::StrCat("<svg id=\"", id, "\""));
  if (start == std::string::npos) return "";
  const size_t end = dom.find("</svg>", start);
  if (end == std::string::npos) return "";
  return dom.substr(start, end - start);
}

}  // namespace needlecheck::testing
