#include "tests/testing/test_pki.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace needlecheck::testing {

absl::Status TestPki::Run(const std::vector<std::string>& args) const {
  const std::string log = Path("openssl.log");
  std::vector<std::string> argv_storage = {"openssl"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int err =
      posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    return absl::InternalError(
        absl::StrCat("cannot run openssl: ", std::strerror(err)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError("waitpid failed");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  std::ifstream in(log);
  std::stringstream output;
  output << in.rdbuf();
  return absl::InternalError(absl::StrCat("openssl ", absl::StrJoin(args, " "),
                                          " failed: ", output.str()));
}

absl::Status TestPki::MakeCa(const std::string& name) const {
  return Run({"req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:P-256", "-nodes", "-keyout",
              Path(name + ".key"), "-out", Path(name + ".crt"), "-days", "30",
              "-subj", "/CN=" + name});
}

absl::Status TestPki::MakeCert(const std::string& name, const std::string& ca,
                               const std::string& cn,
                               const std::string& san) const {
  if (absl::Status s = Run({"req", "-new", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                            Path(name + ".key"), "-out", Path(name + ".csr"),
                            "-subj", "/CN=" + cn});
      !s.ok()) {
    return s;
  }
  const std::string ext = Path(name + ".ext");
  {
    std::ofstream out(ext, std::ios::trunc);
    out << "basicConstraints=CA:FALSE\n";
    if (!san.empty()) out << "subjectAltName=" << san << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", ext));
  }
  return Run({"x509", "-req", "-in", Path(name + ".csr"), "-CA",
              Path(ca + ".crt"), "-CAkey", Path(ca + ".key"), "-CAcreateserial",
              "-out", Path(name + ".crt"), "-days", "30", "-extfile", ext});
}

}  // namespace needlecheck::testing
