// PgPool: a small pool of PostgreSQL connections (pg_conn.h), e.g. for the
// ledger's feedback, statistics and access-log reads. Base library
// needlecheck_postgres.
//
// Contract
// - At most `max_size` connections exist at once; Acquire() hands out an
//   idle one, or connects a new one while below the bound, or waits (at
//   most `wait`) for one to come back. A Lease returns its connection when
//   it goes, unless the connection broke (then it is dropped, and the
//   next Acquire() connects again).
// - After a failed connection attempt, Acquire() answers UNAVAILABLE at
//   once (naming the last error) until a backoff has passed (50 ms,
//   doubling up to 1 s; reset by a successful connect), so that no caller
//   waits for a server that is down.
// - Close() drops the idle connections; Acquire() then answers
//   UNAVAILABLE `closed_message`. Leases still out are dropped when they
//   return.
// - Thread-safe.
#ifndef COMMON_POSTGRES_PG_POOL_H_
#define COMMON_POSTGRES_PG_POOL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pg_conn.h"

namespace needlecheck::postgres {

class PgPool {
 public:
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn, bool reused)
        : pool_(pool), conn_(std::move(conn)), reused_(reused) {}
    Lease(Lease&& other) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_));
    }
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }
    // The connection was idle in the pool (it may have died meanwhile).
    bool reused() const { return reused_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
    bool reused_;
  };

  PgPool(PgConnectOptions options, size_t max_size, absl::Duration wait,
         std::string closed_message = "the connection pool is closed")
      : options_(std::move(options)),
        max_size_(max_size),
        wait_(wait),
        closed_message_(std::move(closed_message)) {}

  absl::StatusOr<Lease> Acquire() ABSL_LOCKS_EXCLUDED(mu_);
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Return(std::unique_ptr<PgConnection> conn) ABSL_LOCKS_EXCLUDED(mu_);

  const PgConnectOptions options_;
  const size_t max_size_;
  const absl::Duration wait_;
  const std::string closed_message_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + leased + connecting
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace needlecheck::postgres

#endif  // COMMON_POSTGRES_PG_POOL_H_
