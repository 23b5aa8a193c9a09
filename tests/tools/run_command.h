// Helpers for the CLI tests. Test-only.
//
// RunCommand: runs a program to completion and captures what it printed.
//
// Contract
// - Spawns `binary` with `args` (posix_spawn, stdin from /dev/null), stdout
//   and stderr each redirected to a temporary file, and waits for it to exit.
//   No pipes, so a chatty child cannot dead-lock the test.
// - Returns the exit code (128 + signal number when a signal ended it) and
//   both outputs; an error only when the program could not be started or
//   waited for. There is no timeout: the programs under test bound their
//   own run time (the CLI has an RPC deadline), and ctest's --timeout is the
//   backstop.
//
// ScopedTempDir (tests/testing/scoped_temp_dir.h, included here for the CLI
// tests) gives each test its own folder.
#ifndef TESTS_TOOLS_RUN_COMMAND_H_
#define TESTS_TOOLS_RUN_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/scoped_temp_dir.h"

namespace needlecheck::testing {

struct CommandResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `binary args...`. `extra_env` entries ("NAME=value") are added to the
// current environment.
absl::StatusOr<CommandResult> RunCommand(
    const std::string& binary, const std::vector<std::string>& args,
    const std::vector<std::string>& extra_env = {});

}  // namespace needlecheck::testing

#endif  // TESTS_TOOLS_RUN_COMMAND_H_
