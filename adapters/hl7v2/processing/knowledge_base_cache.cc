#include "adapters/hl7v2/processing/knowledge_base_cache.h"

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace needlecheck::hl7v2 {
namespace {

constexpr absl::Duration kMinFetchGap = absl::Seconds(1);

}  // namespace

KnowledgeBaseCache::KnowledgeBaseCache(ScreeningClient* client,
                                       KnowledgeBaseCacheOptions options,
                                       Log log)
    : client_(client), options_(options), log_(std::move(log)) {}

KnowledgeBaseCache::~KnowledgeBaseCache() { Stop(); }

absl::Status KnowledgeBaseCache::Refresh() {
  absl::MutexLock fetch_lock(&fetch_mu_);
  absl::Status status;
  absl::StatusOr<needlecheck::v1::KnowledgeBase> kb =
      client_->GetKnowledgeBase(absl::Now() + options_.rpc_timeout);
  if (kb.ok() && !kb->has_definition()) {
    status = absl::FailedPreconditionError(
        "needlecheckd sent no knowledge-base definition (too old?)");
  } else if (kb.ok()) {
    absl::StatusOr<SessionMatcher> matcher =
        SessionMatcher::Create(kb->definition());
    if (matcher.ok()) {
      auto shared = std::make_shared<const SessionMatcher>(*std::move(matcher));
      bool changed = false;
      {
        absl::MutexLock lock(&mu_);
        changed = matcher_ == nullptr || matcher_->knowledge_base_version() !=
                                             shared->knowledge_base_version();
        matcher_ = shared;
      }
      if (changed || !last_failure_.empty()) {
        log_(absl::StrCat("event=knowledge_base loaded version=",
                          shared->knowledge_base_version()));
      }
      last_failure_.clear();
      return absl::OkStatus();
    }
    status = matcher.status();
  } else {
    status = kb.status();
  }
  const std::string failure(absl::StatusCodeToString(status.code()));
  if (failure != last_failure_) {
    log_(absl::StrCat("event=knowledge_base unavailable code=", failure,
                      " (bookings get AE until it loads; retrying)"));
    last_failure_ = failure;
  }
  return status;
}

void KnowledgeBaseCache::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void KnowledgeBaseCache::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const SessionMatcher> KnowledgeBaseCache::Current() const {
  absl::MutexLock lock(&mu_);
  return matcher_;
}

void KnowledgeBaseCache::NoteServedVersion(absl::string_view version) {
  absl::MutexLock lock(&mu_);
  if (version.empty() ||
      (matcher_ != nullptr && matcher_->knowledge_base_version() == version)) {
    return;
  }
  refresh_requested_ = true;
}

void KnowledgeBaseCache::Run() {
  bool loaded = false;
  {
    absl::MutexLock lock(&mu_);
    loaded = matcher_ != nullptr;
  }
  absl::Duration retry = options_.first_retry;
  absl::Time next =
      loaded ? absl::Now() + options_.refresh_interval : absl::Now() + retry;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || refresh_requested_;
      };
      mu_.AwaitWithDeadline(absl::Condition(&wake), next);
      if (stopping_) return;
      refresh_requested_ = false;
    }
    if (Refresh().ok()) {
      retry = options_.first_retry;
      next = absl::Now() + options_.refresh_interval;
    } else {
      next = absl::Now() + retry;
      retry = std::min(retry * 2, options_.max_retry);
    }
    // At most one fetch per kMinFetchGap, however many responses name
    // another version meanwhile.
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), kMinFetchGap);
    if (stopping_) return;
  }
}

}  // namespace needlecheck::hl7v2
