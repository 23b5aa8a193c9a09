// KnowledgeBaseCache: the SessionMatcher (which bookings are microneedling)
// built from the knowledge base needlecheckd serves, kept current.
//
// Contract
// - Refresh() fetches GetKnowledgeBase (with its definition) once and, on
//   success, builds a SessionMatcher and swaps it in atomically: callers of
//   Current() see the old or the new matcher, never a mix. On failure the
//   previous matcher (if any) stays. main() calls it once at start-up.
// - Start() runs the same in a background thread: again after
//   `refresh_interval` when the last fetch worked; while needlecheckd is
//   down (or sends a definition that does not build), again after
//   `first_retry`, doubling up to `max_retry`; and soon after
//   NoteServedVersion() saw a version other than the cached one (a
//   needlecheckd reloaded with a new file). Stop() (and the destructor)
//   ends the thread.
// - Current() is null until a fetch has worked.
// - Logs (through `log`) state changes only: loaded VERSION, a failure
//   (its code) after a success or a different failure. No patient data
//   exists here.
// - Thread-safe. `client` must outlive the cache.
#ifndef ADAPTERS_HL7V2_PROCESSING_KNOWLEDGE_BASE_CACHE_H_
#define ADAPTERS_HL7V2_PROCESSING_KNOWLEDGE_BASE_CACHE_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/mapping/session_matcher.h"
#include "adapters/hl7v2/processing/screening_client.h"

namespace needlecheck::hl7v2 {

struct KnowledgeBaseCacheOptions {
  // Fetch again this long after a fetch that worked. Default 60 s.
  absl::Duration refresh_interval = absl::Seconds(60);
  // After a failed fetch: first wait, doubled up to max_retry.
  // Defaults 500 ms and 10 s.
  absl::Duration first_retry = absl::Milliseconds(500);
  absl::Duration max_retry = absl::Seconds(10);
  // Deadline of one GetKnowledgeBase call. Default 10 s.
  absl::Duration rpc_timeout = absl::Seconds(10);
};

class KnowledgeBaseCache {
 public:
  using Log = std::function<void(const std::string& line)>;

  KnowledgeBaseCache(ScreeningClient* client, KnowledgeBaseCacheOptions options,
                     Log log);
  ~KnowledgeBaseCache();
  KnowledgeBaseCache(const KnowledgeBaseCache&) = delete;
  KnowledgeBaseCache& operator=(const KnowledgeBaseCache&) = delete;

  absl::Status Refresh() ABSL_LOCKS_EXCLUDED(mu_, fetch_mu_);
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  std::shared_ptr<const SessionMatcher> Current() const
      ABSL_LOCKS_EXCLUDED(mu_);
  void NoteServedVersion(absl::string_view version) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  ScreeningClient* const client_;
  const KnowledgeBaseCacheOptions options_;
  const Log log_;

  absl::Mutex fetch_mu_;  // one fetch at a time; held across the RPC
  std::string last_failure_ ABSL_GUARDED_BY(fetch_mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<const SessionMatcher> matcher_ ABSL_GUARDED_BY(mu_);
  bool refresh_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_PROCESSING_KNOWLEDGE_BASE_CACHE_H_
