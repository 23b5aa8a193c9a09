#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace needlecheck::testing {
namespace {

constexpr absl::string_view kListeningOn = "listening on ";

absl::Status ErrnoError(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

// Finds "listening on HOST:PORT" in `text`; fills host:port and port.
bool ParseListeningLine(absl::string_view text, std::string* address,
                        int* port) {
  size_t pos = text.find(kListeningOn);
  while (pos != absl::string_view::npos) {
    absl::string_view rest = text.substr(pos + kListeningOn.size());
    const size_t end = rest.find_first_of(" \t\r\n");
    if (end == absl::string_view::npos) return false;  // line not complete
    absl::string_view addr = rest.substr(0, end);
    const size_t colon = addr.rfind(':');
    int p = 0;
    if (colon != absl::string_view::npos &&
        absl::SimpleAtoi(addr.substr(colon + 1), &p) && p > 0) {
      *address = std::string(addr);
      *port = p;
      return true;
    }
    pos = text.find(kListeningOn, pos + 1);
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Spawn(
    const std::string& binary, const std::vector<std::string>& args,
    const Options& options) {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("not an executable: ", binary, ": ",
                                            std::strerror(errno)));
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  // dup2 clears FD_CLOEXEC on the target, so only 1 and 2 reach the child.
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGHUP, SIGINT, SIGPIPE, SIGCHLD, SIGQUIT}) {
    sigaddset(&defaults, s);
  }
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), options.extra_env.begin(),
                     options.extra_env.end());
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(),
                             envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return ErrnoError(absl::StrCat("posix_spawn ", binary), rc);
  }

  std::unique_ptr<ServerProcess> process(new ServerProcess());
  process->pid_ = pid;
  process->read_fd_ = fds[0];
  process->reader_ = std::thread([p = process.get()] { p->ReadLoop(); });
  return process;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const Options& options) {
  auto process = Spawn(binary, args, options);
  if (!process.ok()) return process.status();
  absl::Status ready = (*process)->WaitForPort(options.ready_timeout);
  if (!ready.ok()) return ready;
  return process;
}

absl::Status ServerProcess::WaitForPort(absl::Duration timeout) {
  std::string address;
  int port = 0;
  auto found_or_eof = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return eof_ || ParseListeningLine(output_, &address, &port);
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&found_or_eof), timeout);
  if (port > 0 || ParseListeningLine(output_, &address, &port)) {
    port_ = port;
    address_ = address;
    return absl::OkStatus();
  }
  if (eof_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the server exited before it was ready; its output:\n", output_));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "no \"listening on\" line within ", absl::FormatDuration(timeout),
      "; output so far:\n", output_));
}

void ServerProcess::ReadLoop() {
  char buffer[4096];
  std::string pending_line;
  while (true) {
    const ssize_t n = read(read_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::string_view chunk(buffer, static_cast<size_t>(n));
    // Echo complete lines to our stderr, prefixed.
    pending_line.append(chunk.data(), chunk.size());
    size_t newline;
    while ((newline = pending_line.find('\n')) != std::string::npos) {
      std::fprintf(stderr, "[child %d] %.*s\n", static_cast<int>(pid_),
                   static_cast<int>(newline), pending_line.data());
      pending_line.erase(0, newline + 1);
    }
    absl::MutexLock lock(&mu_);
    output_.append(chunk.data(), chunk.size());
  }
  if (!pending_line.empty()) {
    std::fprintf(stderr, "[child %d] %s\n", static_cast<int>(pid_),
                 pending_line.c_str());
  }
  absl::MutexLock lock(&mu_);
  eof_ = true;
}

absl::Status ServerProcess::Signal(int signal) {
  if (reaped_) {
    return absl::FailedPreconditionError("the process has already exited");
  }
  if (kill(pid_, signal) != 0) return ErrnoError("kill", errno);
  return absl::OkStatus();
}

absl::StatusOr<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  if (reaped_) return exit_code_;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int wstatus = 0;
    const pid_t r = waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      if (WIFEXITED(wstatus)) {
        exit_code_ = WEXITSTATUS(wstatus);
      } else if (WIFSIGNALED(wstatus)) {
        exit_code_ = 128 + WTERMSIG(wstatus);
      }
      // The reader thread may not have taken the child's last lines from
      // the pipe yet: wait (bounded: a grandchild may hold the pipe open)
      // until it has seen the end, so output() is complete.
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&eof_), absl::Seconds(10));
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) return ErrnoError("waitpid", errno);
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running after ",
                       absl::FormatDuration(timeout)));
    }
    // Polling: there is no portable way to wait for a child with a timeout
    // without owning SIGCHLD.
    absl::SleepFor(absl::Milliseconds(10));
  }
}

bool ServerProcess::WaitForOutput(const std::string& text, size_t from,
                                  absl::Duration timeout) {
  auto found_or_eof = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return eof_ || (output_.size() > from &&
                    output_.find(text, from) != std::string::npos);
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&found_or_eof), timeout);
  return output_.size() > from && output_.find(text, from) != std::string::npos;
}

std::string ServerProcess::output() const {
  absl::MutexLock lock(&mu_);
  return output_;
}

size_t ServerProcess::output_size() const {
  absl::MutexLock lock(&mu_);
  return output_.size();
}

ServerProcess::~ServerProcess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  if (reader_.joinable()) reader_.join();
  if (read_fd_ >= 0) close(read_fd_);
}

std::string BinaryPath(const std::string& relative) {
  const char* dir = std::getenv("NEEDLECHECK_BINARY_DIR");
  if (dir != nullptr && *dir != '\0') return absl::StrCat(dir, "/", relative);
#ifdef NEEDLECHECK_DEFAULT_BINARY_DIR
  return absl::StrCat(NEEDLECHECK_DEFAULT_BINARY_DIR, "/", relative);
#endif
  // Fallback: test executables live under <build>/tests/.
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return "";
  const std::string self(exe, static_cast<size_t>(n));
  const size_t tests = self.rfind("/tests/");
  if (tests == std::string::npos) return "";
  return absl::StrCat(self.substr(0, tests), "/", relative);
}

std::string SourcePath(const std::string& relative) {
  const char* dir = std::getenv("NEEDLECHECK_SOURCE_DIR");
#ifdef NEEDLECHECK_DEFAULT_SOURCE_DIR
  if (dir == nullptr || *dir == '\0') dir = NEEDLECHECK_DEFAULT_SOURCE_DIR;
#endif
  if (dir == nullptr || *dir == '\0') return "";
  return absl::StrCat(dir, "/", relative);
}

}  // namespace needlecheck::testing
