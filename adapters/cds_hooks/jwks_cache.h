// JwksCache: the keys of one JWK Set URL (`--jwks_url`), fetched on demand
// and cached. The fetch itself is a function given by the caller (the
// gateway's is a bounded HttpsGet, https_fetch.h), so this class has no
// sockets and no clock: `now` is an argument.
//
// Policy:
//   - KeysFor(kid) returns the cached set when it holds `kid` and is younger
//     than max_age. Otherwise (unknown kid, or a stale set) it refreshes,
//     unless a fetch was attempted less than min_refresh_interval ago
//     (default 1 minute): a flood of tokens with made-up kids costs the
//     JWKS server at most one request per interval, whatever the outcome.
//   - Single flight: while a fetch runs, other callers needing one wait for
//     it and then use its result; they never start a second fetch.
//   - A failed refresh (fetch error, HTTP error, a document JwkSet::FromJson
//     refuses) keeps the cached keys. A document that parses replaces them
//     (keys the issuer removed stop being accepted), even when it holds no
//     usable key.
//   - Before the first successful fetch the set is empty.
// Log lines (through Options::log) name the URL, the outcome and key
// counts; never key material (and never a token: the cache sees none).
//
// Thread-safe.
#ifndef ADAPTERS_CDS_HOOKS_JWKS_CACHE_H_
#define ADAPTERS_CDS_HOOKS_JWKS_CACHE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/cds_hooks/jwt_verifier.h"

namespace needlecheck::cds_hooks {

class JwksCache {
 public:
  // Returns the JWK Set document's bytes, or an error (kept for the log).
  using Fetch = std::function<absl::StatusOr<std::string>()>;

  struct Options {
    // The URL, for log lines only. Default empty.
    std::string name;
    // Fewest time between two fetch attempts. Default 1 minute.
    absl::Duration min_refresh_interval = absl::Minutes(1);
    // A set older than this is refreshed on its next use (still subject to
    // min_refresh_interval; a failed refresh keeps it). Default 1 hour.
    absl::Duration max_age = absl::Hours(1);
    // Receives one line per fetch attempt. Default: no logging.
    std::function<void(const std::string&)> log;
  };

  JwksCache(Fetch fetch, Options options);
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  // The set to look `kid` up in (never null; it may lack `kid`). May block
  // for one fetch (its deadline is the fetch function's).
  std::shared_ptr<const JwkSet> KeysFor(absl::string_view kid, absl::Time now);

  // Fetches now unless a fetch is running or one was attempted less than
  // min_refresh_interval ago (then FAILED_PRECONDITION). Returns the
  // fetch's outcome (the gateway calls it once at start-up).
  absl::Status Refresh(absl::Time now);

  // The cached set (never null), and the number of fetch attempts so far.
  std::shared_ptr<const JwkSet> keys() const;
  int fetch_attempts() const;

 private:
  // Runs one fetch with mu_ released; fetching_ is set around it.
  absl::Status FetchLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool MayFetchLocked(absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const Fetch fetch_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const JwkSet> keys_ ABSL_GUARDED_BY(mu_);
  absl::Time fetched_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
};

// One `--jwks_url` entry: ISSUER=URL. The split is at the first "=https://"
// (or "=http://"), so an issuer holding '=' still parses. The URL must
// parse (fhir_server_policy.h: no userinfo, fragment, dot segments...) and
// be https, or http to a literal loopback address when
// allow_insecure_loopback (tests). INVALID_ARGUMENT otherwise, with a
// message naming what is wrong.
struct JwksUrlEntry {
  std::string issuer;
  std::string url;  // canonical form
};
absl::StatusOr<JwksUrlEntry> ParseJwksUrlEntry(absl::string_view entry,
                                               bool allow_insecure_loopback);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_JWKS_CACHE_H_
