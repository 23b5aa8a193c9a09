// ServerProcess: runs a server binary as a child process for integration
// tests, finds the port it bound, signals it and collects its exit code.
// Test-only (target needlecheck_test_process); nothing in the product links
// it.
//
// Contract
// - Start() spawns `binary` with `args` (posix_spawn, empty signal mask,
//   default dispositions), with stdout and stderr both captured through one
//   pipe. A reader thread drains the pipe for the child's whole life (so the
//   child never blocks on a full pipe), keeps everything in output(), and
//   copies it to this process's stderr prefixed with "[child] " so test logs
//   show the server's log.
// - Start() then waits, up to `ready_timeout` (generous by default: tests
//   run on slow, busy machines), for a line containing
//   "listening on HOST:PORT" and parses the port from it. It returns
//   DEADLINE_EXCEEDED if no such line came in time and FAILED_PRECONDITION
//   if the child exited first, both with the output so far.
// - The destructor kills (SIGKILL) a child still running and reaps it.
// - Thread-safety: a ServerProcess is used from one test thread; output()
//   and the waits may be called while the reader thread runs.
#ifndef TESTS_TESTING_SERVER_PROCESS_H_
#define TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace needlecheck::testing {

class ServerProcess {
 public:
  struct Options {
    // How long Start() waits for the "listening on" line. Default: 60 s.
    absl::Duration ready_timeout = absl::Seconds(60);
    // Extra environment entries ("NAME=value") on top of this process's
    // environment.
    std::vector<std::string> extra_env;
  };

  // Spawns `binary` with `args` (argv[1..]) and waits until it reports its
  // port.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const Options& options);
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args) {
    return Start(binary, args, Options());
  }

  // Spawns without waiting for readiness (for tests of start-up failures).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Spawn(
      const std::string& binary, const std::vector<std::string>& args,
      const Options& options);

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  pid_t pid() const { return pid_; }
  // The bound port and "127.0.0.1:PORT" style address (the host as the
  // server printed it). Valid after a successful Start().
  int port() const { return port_; }
  const std::string& address() const { return address_; }

  // Sends `signal` (SIGTERM, SIGHUP, ...) to the child. FAILED_PRECONDITION
  // when it has already been reaped.
  absl::Status Signal(int signal);

  // Waits up to `timeout` for the child to exit and returns its exit code,
  // or 128 + the signal number when a signal ended it; output() then holds
  // everything the child wrote (the reader is given up to 10 s more to
  // reach the end of the pipe). DEADLINE_EXCEEDED when it is still running
  // (it is then left running).
  absl::StatusOr<int> WaitForExit(absl::Duration timeout = absl::Seconds(60));

  // Waits up to `timeout` until the captured output contains `text`, at or
  // after byte `from` (use output_size() before triggering an event to wait
  // for a log line the event causes). False on timeout or when the output
  // ended (child closed its pipe) without it.
  bool WaitForOutput(const std::string& text, size_t from = 0,
                     absl::Duration timeout = absl::Seconds(60));

  // Everything the child wrote so far (stdout and stderr interleaved).
  std::string output() const;
  size_t output_size() const;

 private:
  ServerProcess() = default;
  void ReadLoop();
  absl::Status WaitForPort(absl::Duration timeout);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  int read_fd_ = -1;
  int port_ = 0;
  std::string address_;
  std::thread reader_;

  mutable absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

// The path of a built binary: $NEEDLECHECK_BINARY_DIR/<relative>, e.g.
// BinaryPath("service/needlecheckd"). When the variable is unset, the build
// folder is taken to be the part of this executable's path before
// "/tests/"; empty when that fails too.
std::string BinaryPath(const std::string& relative);

// $NEEDLECHECK_SOURCE_DIR/<relative>. Empty when the variable is unset.
std::string SourcePath(const std::string& relative);

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_SERVER_PROCESS_H_
