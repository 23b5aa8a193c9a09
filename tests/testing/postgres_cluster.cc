#include "tests/testing/postgres_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace needlecheck::testing {
namespace {

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";
constexpr char kRunuser[] = "/usr/sbin/runuser";
constexpr char kServerUser[] = "postgres";

std::string Tool(const std::string& name) {
  return absl::StrCat(kBin, "/", name);
}

std::string TempRoot() {
  for (const char* name : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* dir = std::getenv(name);
    if (dir != nullptr && dir[0] != '\0') return dir;
  }
  return "/tmp";
}

// Runs argv[0] (an absolute path) in `cwd`; stdout and stderr together.
// INTERNAL with the output when it does not exit 0.
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       const std::string& cwd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    return absl::InternalError(
        absl::StrCat("cannot run ", argv[0], ": ", std::strerror(err)));
  }
  std::string output;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(argv, " "), " failed (status ", status, "): ", output));
  }
  return output;
}

// A port free on 127.0.0.1 right now (the kernel's pick for port 0).
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot bind a loopback port");
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

bool AsRoot() { return geteuid() == 0; }

absl::Status WriteText(const std::string& path, const std::string& text,
                       bool append) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

std::string PostgresCluster::Unavailable() {
  for (const char* tool : {"initdb", "pg_ctl", "psql"}) {
    if (access(Tool(tool).c_str(), X_OK) != 0) {
      return absl::StrCat(Tool(tool),
                          " is missing: install the Debian package "
                          "postgresql-15 to run the PostgreSQL tests");
    }
  }
  if (AsRoot()) {
    if (getpwnam(kServerUser) == nullptr) {
      return "running as root, and there is no \"postgres\" user to run the "
             "server as (postgresql-15 creates it)";
    }
    if (access(kRunuser, X_OK) != 0) {
      return "running as root, and /usr/sbin/runuser is missing";
    }
  }
  return "";
}

absl::StatusOr<std::unique_ptr<PostgresCluster>> PostgresCluster::Create(
    const Options& options) {
  if (std::string why = Unavailable(); !why.empty()) {
    return absl::FailedPreconditionError(why);
  }
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster(options));
  if (absl::Status s = cluster->Init(); !s.ok()) return s;
  return cluster;
}

absl::StatusOr<std::string> PostgresCluster::RunServerTool(
    const std::vector<std::string>& argv) const {
  std::vector<std::string> full;
  if (AsRoot()) full = {kRunuser, "-u", kServerUser, "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full, dir_);
}

absl::Status PostgresCluster::Init() {
  std::string templ = absl::StrCat(TempRoot(), "/needlecheck_pg_XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
  }
  dir_ = templ;
  if (AsRoot()) {
    const passwd* pw = getpwnam(kServerUser);
    if (pw == nullptr || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat(
          "cannot chown ", dir_, " to postgres: ", std::strerror(errno)));
    }
  }
  const bool with_password = !options_.password.empty();
  std::vector<std::string> initdb = {
      Tool("initdb"),
      "-D",
      absl::StrCat(dir_, "/data"),
      "-U",
      "postgres",
      "--encoding=UTF8",
      "--locale=C",
      "--auth-local=trust",
      with_password ? "--auth-host=scram-sha-256" : "--auth-host=trust",
      "--no-sync"};
  if (with_password) {
    const std::string pwfile = absl::StrCat(dir_, "/pwfile");
    if (absl::Status s = WriteText(pwfile, options_.password + "\n", false);
        !s.ok()) {
      return s;
    }
    if (AsRoot()) {
      const passwd* pw = getpwnam(kServerUser);
      if (pw == nullptr || chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return absl::InternalError("cannot chown the password file");
      }
    }
    initdb.push_back(absl::StrCat("--pwfile=", pwfile));
  }
  if (absl::StatusOr<std::string> out = RunServerTool(initdb); !out.ok()) {
    return out.status();
  }
  std::filesystem::remove(absl::StrCat(dir_, "/pwfile"));
  // A port that is free now; another process may take it before the server
  // binds it, so a failed start is retried with a new one.
  absl::Status started;
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    port_ = *port;
    if (absl::Status s =
            WriteText(absl::StrCat(dir_, "/data/postgresql.auto.conf"),
                      absl::StrCat("port = ", port_,
                                   "\nlisten_addresses = '127.0.0.1'\n"
                                   "unix_socket_directories = '",
                                   dir_,
                                   "'\nfsync = off\nmax_connections = 60\n"
                                   "shared_buffers = 16MB\n"),
                      false);
        !s.ok()) {
      return s;
    }
    started = Start();
    if (started.ok()) break;
  }
  if (!started.ok()) return started;
  absl::StatusOr<std::string> created = Sql(
      absl::StrCat("CREATE DATABASE \"", options_.dbname, "\""), "postgres");
  return created.status();
}

PostgresCluster::~PostgresCluster() {
  Resume().IgnoreError();
  if (running_) Stop("immediate").IgnoreError();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string PostgresCluster::Dsn() const { return Dsn(options_.dbname); }

std::string PostgresCluster::Dsn(const std::string& dbname) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " dbname=", dbname,
                      " user=postgres");
}

absl::StatusOr<std::string> PostgresCluster::Sql(const std::string& sql) const {
  return Sql(sql, options_.dbname);
}

absl::StatusOr<std::string> PostgresCluster::Sql(
    const std::string& sql, const std::string& dbname) const {
  absl::StatusOr<std::string> out =
      RunCommand({Tool("psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                  "-h", dir_, "-p", absl::StrCat(port_), "-U", "postgres", "-d",
                  dbname, "-c", sql},
                 dir_);
  if (!out.ok()) return out.status();
  return std::string(absl::StripSuffix(*out, "\n"));
}

absl::Status PostgresCluster::Stop(const std::string& mode) {
  absl::StatusOr<std::string> out =
      RunServerTool({Tool("pg_ctl"), "-D", absl::StrCat(dir_, "/data"), "-m",
                     mode, "-w", "-t", "60", "stop"});
  if (!out.ok()) return out.status();
  running_ = false;
  return absl::OkStatus();
}

absl::Status PostgresCluster::Pause() {
  std::ifstream pidfile(absl::StrCat(dir_, "/data/postmaster.pid"));
  int postmaster = 0;
  if (!(pidfile >> postmaster) || postmaster <= 0) {
    return absl::FailedPreconditionError("the server is not running");
  }
  std::vector<int> pids = {postmaster};
  // Its children: every process whose parent (field 4 of /proc/PID/stat,
  // after the command in parentheses) is the postmaster.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)),
                     std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    if (paren == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(text.substr(paren + 2), ' ');
    int ppid = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &ppid) &&
        ppid == postmaster) {
      pids.push_back(pid);
    }
  }
  for (int pid : pids) {
    if (kill(pid, SIGSTOP) == 0) paused_.push_back(pid);
  }
  return absl::OkStatus();
}

absl::Status PostgresCluster::Resume() {
  for (int pid : paused_) kill(pid, SIGCONT);
  paused_.clear();
  return absl::OkStatus();
}

absl::Status PostgresCluster::Start() {
  absl::StatusOr<std::string> out = RunServerTool(
      {Tool("pg_ctl"), "-D", absl::StrCat(dir_, "/data"), "-l",
       absl::StrCat(dir_, "/server.log"), "-w", "-t", "60", "start"});
  if (!out.ok()) {
    std::ifstream log(absl::StrCat(dir_, "/server.log"));
    std::string text((std::istreambuf_iterator<char>(log)),
                     std::istreambuf_iterator<char>());
    return absl::InternalError(
        absl::StrCat(out.status().message(), "\nserver.log:\n", text));
  }
  running_ = true;
  return absl::OkStatus();
}

}  // namespace needlecheck::testing
