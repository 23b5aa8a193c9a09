// PostgresCluster: a throwaway PostgreSQL 15 cluster for tests. Test-only
// (target needlecheck_test_postgres); nothing in the product links it.
//
// Contract
// - Create() runs initdb (Debian's /usr/lib/postgresql/15/bin) into a fresh
//   folder under $TEST_TMPDIR, $TMPDIR or /tmp, starts the server with
//   pg_ctl on 127.0.0.1 and a free port (also a unix socket in that folder),
//   and creates the database `dbname`. The superuser is "postgres".
// - Run as root (CI), initdb and postgres refuse to start: the folder is
//   then chowned to the Debian `postgres` user and every server command
//   runs as that user (runuser -u postgres --). That user, and the path to
//   the temporary folder, must therefore exist and be reachable by it.
// - With Options::password set, TCP connections need that password
//   (scram-sha-256 in pg_hba.conf); the unix socket stays `trust`, so Sql()
//   works either way. Dsn() never contains the password.
// - fsync=off: the tests kill and restart the server process (pg_ctl stop
//   -m immediate) but never the machine; the OS page cache survives a
//   process crash, so nothing committed is lost, and the shared test
//   machine is spared one fsync per commit. The ledger's own setting
//   (synchronous_commit=on) is what production durability rests on.
// - Stop() stops the server (fast or immediate); Start() starts it again on
//   the same port and folder, for "database restarted" tests; Pause() and
//   Resume() freeze and thaw it (a hung server). The destructor resumes
//   and stops it (immediate) and deletes the folder.
// - Unavailable(): why no cluster can be made here (postgresql-15 not
//   installed), or "" when it can. Tests use
//   NEEDLECHECK_SKIP_WITHOUT_POSTGRES() to skip then, unless CI=true, where
//   they fail instead.
// - Thread-safety: one test thread; Dsn()/Port() may be read from any.
//
// Example
//   NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
//   absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
//       PostgresCluster::Create();
//   ASSERT_THAT(pg, IsOk());
//   options.dsn = (*pg)->Dsn();
//   absl::StatusOr<std::string> n = (*pg)->Sql("SELECT COUNT(*) FROM alerts");
#ifndef TESTS_TESTING_POSTGRES_CLUSTER_H_
#define TESTS_TESTING_POSTGRES_CLUSTER_H_

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace needlecheck::testing {

class PostgresCluster {
 public:
  struct Options {
    // The database Create() makes and Dsn() names. Default: "needlecheck".
    std::string dbname = "needlecheck";
    // Non-empty: TCP connections need this password (scram-sha-256) for
    // the superuser "postgres". Default: "" (trust).
    std::string password;
  };

  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Create(
      const Options& options);
  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Create() {
    return Create(Options());
  }

  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;
  ~PostgresCluster();

  // "host=127.0.0.1 port=N dbname=D user=postgres" (TCP, no password).
  std::string Dsn() const;
  // The same for another database of this cluster.
  std::string Dsn(const std::string& dbname) const;
  int Port() const { return port_; }
  const std::string& password() const { return options_.password; }
  // The cluster's folder (data in <dir>/data, log in <dir>/server.log).
  const std::string& dir() const { return dir_; }

  // Runs `sql` with psql over the unix socket as "postgres" in `dbname`
  // (default: the cluster's database); returns the rows unaligned, "|"
  // between columns, one line per row, the trailing newline removed.
  // INTERNAL with psql's output when it fails.
  absl::StatusOr<std::string> Sql(const std::string& sql) const;
  absl::StatusOr<std::string> Sql(const std::string& sql,
                                  const std::string& dbname) const;

  // Stops the server: "fast" (disconnect clients, clean shutdown) or
  // "immediate" (as a crash: no checkpoint, recovery at the next start).
  absl::Status Stop(const std::string& mode = "fast");
  // Starts it again (same folder and port); waits until it accepts
  // connections.
  absl::Status Start();

  // Freezes the server (SIGSTOP to the postmaster and its children): a
  // server that accepts TCP connections but never answers, as a hung host.
  // Resume() (and the destructor) sends SIGCONT.
  absl::Status Pause();
  absl::Status Resume();

  // "" when clusters can be made here, else why not.
  static std::string Unavailable();

 private:
  explicit PostgresCluster(const Options& options) : options_(options) {}
  absl::Status Init();
  // Runs a server program (as `postgres` when root); output on failure.
  absl::StatusOr<std::string> RunServerTool(
      const std::vector<std::string>& argv) const;

  Options options_;
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  std::vector<int> paused_;  // pids stopped by Pause()
};

// True when the environment says CI=true (missing tools then fail tests).
inline bool RunningInCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace needlecheck::testing

// Skips the current test when PostgreSQL 15 is not installed (fails it
// when CI=true).
#define NEEDLECHECK_SKIP_WITHOUT_POSTGRES()                               \
  do {                                                                    \
    const std::string pg_missing_ =                                       \
        ::needlecheck::testing::PostgresCluster::Unavailable();           \
    if (!pg_missing_.empty()) {                                           \
      if (::needlecheck::testing::RunningInCi()) {                        \
        FAIL() << pg_missing_ << " (CI=true: PostgreSQL tests must run)"; \
      }                                                                   \
      GTEST_SKIP() << pg_missing_;                                        \
    }                                                                     \
  } while (0)

#endif  // TESTS_TESTING_POSTGRES_CLUSTER_H_
