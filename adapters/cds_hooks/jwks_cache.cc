#include "adapters/cds_hooks/jwks_cache.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/cds_hooks/fhir_server_policy.h"

namespace needlecheck::cds_hooks {

JwksCache::JwksCache(Fetch fetch, Options options)
    : fetch_(std::move(fetch)),
      options_(std::move(options)),
      keys_(std::make_shared<const JwkSet>()) {}

std::shared_ptr<const JwkSet> JwksCache::keys() const {
  absl::MutexLock lock(&mu_);
  return keys_;
}

int JwksCache::fetch_attempts() const {
  absl::MutexLock lock(&mu_);
  return attempts_;
}

bool JwksCache::MayFetchLocked(absl::Time now) const {
  return last_attempt_ == absl::InfinitePast() ||
         now - last_attempt_ >= options_.min_refresh_interval;
}

absl::Status JwksCache::FetchLocked(absl::Time now) {
  fetching_ = true;
  last_attempt_ = now;
  ++attempts_;
  mu_.Unlock();
  absl::StatusOr<std::string> document = fetch_();
  absl::StatusOr<std::shared_ptr<const JwkSet>> parsed =
      document.ok()
          ? JwkSet::FromJson(*document)
          : absl::StatusOr<std::shared_ptr<const JwkSet>>(document.status());
  document = absl::StatusOr<std::string>();  // drop the bytes early
  if (options_.log) {
    options_.log(
        parsed.ok()
            ? absl::StrCat("event=jwks_fetch url=", options_.name,
                           " result=ok keys=", (*parsed)->size(),
                           " skipped_keys=", (*parsed)->skipped())
            : absl::StrCat("event=jwks_fetch url=", options_.name,
                           " result=failed keeping_cached_keys reason=\"",
                           parsed.status().message(), "\""));
  }
  mu_.Lock();
  fetching_ = false;
  if (!parsed.ok()) return parsed.status();
  keys_ = *std::move(parsed);
  fetched_at_ = now;
  return absl::OkStatus();
}

std::shared_ptr<const JwkSet> JwksCache::KeysFor(absl::string_view kid,
                                                 absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (keys_->Find(kid) != nullptr && now - fetched_at_ < options_.max_age) {
    return keys_;
  }
  if (fetching_) {
    // Someone else's fetch answers for this caller too.
    mu_.Await(absl::Condition(
        +[](bool* fetching) { return !*fetching; }, &fetching_));
    return keys_;
  }
  if (MayFetchLocked(now)) FetchLocked(now).IgnoreError();
  return keys_;
}

absl::Status JwksCache::Refresh(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (fetching_ || !MayFetchLocked(now)) {
    return absl::FailedPreconditionError(
        "a JWKS fetch is running or was attempted too recently");
  }
  return FetchLocked(now);
}

absl::StatusOr<JwksUrlEntry> ParseJwksUrlEntry(absl::string_view entry,
                                               bool allow_insecure_loopback) {
  size_t split = entry.find("=https://");
  if (split == absl::string_view::npos) split = entry.find("=http://");
  if (split == absl::string_view::npos || split == 0) {
    return absl::InvalidArgumentError(
        "expected ISSUER=URL (the URL starting with https://)");
  }
  JwksUrlEntry result;
  result.issuer = std::string(entry.substr(0, split));
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(entry.substr(split + 1));
  if (!url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JWKS URL of ", result.issuer, ": ", url.status().message()));
  }
  if (url->scheme != "https" &&
      !(allow_insecure_loopback && IsLoopbackLiteral(url->host))) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS URL of ", result.issuer,
                     ": must be https (http only to a loopback address "
                     "with --jwks_allow_insecure_loopback)"));
  }
  result.url = url->Canonical();
  return result;
}

}  // namespace needlecheck::cds_hooks
