// KnowledgeBaseStore: the knowledge base the server is serving right now,
// swapped atomically on reload.
//
// Contract
// - Load() runs the loader; on success the new knowledge base replaces the
//   served one (with the clock's time as its load time); on failure the
//   served one stays and the loader's error is returned unchanged.
// - Current() returns a snapshot: a shared_ptr that keeps its knowledge base
//   alive for as long as the caller holds it, however many reloads happen
//   meanwhile. Its `kb` is null until the first successful Load().
// - Thread-safe: any number of Current() callers, concurrent with Load()
//   (Loads run one at a time).
#ifndef SERVICE_SERVER_KNOWLEDGE_BASE_STORE_H_
#define SERVICE_SERVER_KNOWLEDGE_BASE_STORE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/kb/knowledge_base.h"

namespace needlecheck::server {

class KnowledgeBaseStore {
 public:
  using Loader =
      std::function<absl::StatusOr<std::shared_ptr<const kb::KnowledgeBase>>()>;
  using Clock = std::function<absl::Time()>;

  struct Snapshot {
    std::shared_ptr<const kb::KnowledgeBase> kb;
    absl::Time loaded_at = absl::InfinitePast();
  };

  KnowledgeBaseStore(Loader loader, Clock clock)
      : loader_(std::move(loader)), clock_(std::move(clock)) {}

  absl::Status Load() ABSL_LOCKS_EXCLUDED(load_mu_, mu_);
  Snapshot Current() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Loader loader_;
  const Clock clock_;
  absl::Mutex load_mu_;  // serialises Load()
  mutable absl::Mutex mu_;
  Snapshot current_ ABSL_GUARDED_BY(mu_);
};

// A loader for `path`, or for the bundled knowledge base when `path` is
// empty.
KnowledgeBaseStore::Loader FileOrBundledLoader(std::string path);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_KNOWLEDGE_BASE_STORE_H_
