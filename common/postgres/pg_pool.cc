#include "common/postgres/pg_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace needlecheck::postgres {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

}  // namespace

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !idle_.empty() || open_ < max_size_;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready), wait_)) {
    return absl::UnavailableError(absl::StrCat(
        "all ", max_size_, " PostgreSQL connections stayed busy for ",
        absl::FormatDuration(wait_)));
  }
  if (closed_) return absl::UnavailableError(closed_message_);
  if (!idle_.empty()) {
    std::unique_ptr<PgConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn), /*reused=*/true);
  }
  if (absl::Now() < next_attempt_) {
    return absl::UnavailableError(
        absl::StrCat("PostgreSQL is unreachable (", last_error_.message(),
                     "); next attempt in ",
                     absl::FormatDuration(absl::Trunc(
                         next_attempt_ - absl::Now(), absl::Milliseconds(1)))));
  }
  ++open_;
  mu_.Unlock();
  absl::StatusOr<std::unique_ptr<PgConnection>> conn =
      PgConnection::Connect(options_);
  mu_.Lock();
  if (!conn.ok()) {
    --open_;
    backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
    next_attempt_ = absl::Now() + backoff_;
    last_error_ = conn.status();
    return conn.status();
  }
  backoff_ = absl::ZeroDuration();
  next_attempt_ = absl::InfinitePast();
  return Lease(this, *std::move(conn), /*reused=*/false);
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  absl::MutexLock lock(&mu_);
  if (closed_ || conn->broken()) {
    --open_;
    mu_.Unlock();
    conn.reset();  // PQfinish outside the lock
    mu_.Lock();
    return;
  }
  idle_.push_back(std::move(conn));
}

void PgPool::Close() {
  std::vector<std::unique_ptr<PgConnection>> idle;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    open_ -= idle_.size();
    idle.swap(idle_);
  }
}

}  // namespace needlecheck::postgres
