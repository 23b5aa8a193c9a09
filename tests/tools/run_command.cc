#include "tests/tools/run_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace needlecheck::testing {
namespace {

std::string TempDir() {
  for (const char* name : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* dir = std::getenv(name);
    if (dir != nullptr && dir[0] != '\0') return dir;
  }
  return "/tmp";
}

std::string ReadAndRemove(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  std::remove(path.c_str());
  return contents.str();
}

// A unique, empty temporary file; its path.
absl::StatusOr<std::string> MakeTempFile(const char* tag) {
  std::string path = absl::StrCat(TempDir(), "/needlecheck_", tag, "_XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("mkstemp ", path, ": ", std::strerror(errno)));
  }
  close(fd);
  return path;
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(
    const std::string& binary, const std::vector<std::string>& args,
    const std::vector<std::string>& extra_env) {
  absl::StatusOr<std::string> out_path = MakeTempFile("stdout");
  if (!out_path.ok()) return out_path.status();
  absl::StatusOr<std::string> err_path = MakeTempFile("stderr");
  if (!err_path.ok()) return err_path.status();

  std::vector<std::string> argv_strings;
  argv_strings.push_back(binary);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path->c_str(),
                                   O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path->c_str(),
                                   O_WRONLY | O_TRUNC, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr,
                             argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ReadAndRemove(*out_path);
    ReadAndRemove(*err_path);
    return absl::InternalError(
        absl::StrCat("posix_spawn ", binary, ": ", std::strerror(rc)));
  }
  int wstatus = 0;
  pid_t waited;
  do {
    waited = waitpid(pid, &wstatus, 0);
  } while (waited < 0 && errno == EINTR);
  CommandResult result;
  result.stdout_text = ReadAndRemove(*out_path);
  result.stderr_text = ReadAndRemove(*err_path);
  if (waited < 0) {
    return absl::InternalError(
        absl::StrCat("waitpid ", binary, ": ", std::strerror(errno)));
  }
  if (WIFEXITED(wstatus)) {
    result.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.exit_code = 128 + WTERMSIG(wstatus);
  }
  return result;
}

}  // namespace needlecheck::testing
