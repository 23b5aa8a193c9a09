#include "service/server/knowledge_base_store.h"

#include <utility>

namespace needlecheck::server {

absl::Status KnowledgeBaseStore::Load() {
  absl::MutexLock load_lock(&load_mu_);
  absl::StatusOr<std::shared_ptr<const kb::KnowledgeBase>> loaded = loader_();
  if (!loaded.ok()) return loaded.status();
  if (*loaded == nullptr) {
    return absl::InternalError("the knowledge-base loader returned null");
  }
  Snapshot next{std::move(loaded).value(), clock_()};
  {
    absl::MutexLock lock(&mu_);
    std::swap(current_, next);
  }
  // `next` now holds the previous knowledge base; it is released here,
  // outside the lock (readers that still hold it keep it alive).
  return absl::OkStatus();
}

KnowledgeBaseStore::Snapshot KnowledgeBaseStore::Current() const {
  absl::ReaderMutexLock lock(&mu_);
  return current_;
}

KnowledgeBaseStore::Loader FileOrBundledLoader(std::string path) {
  return [path = std::move(path)]()
             -> absl::StatusOr<std::shared_ptr<const kb::KnowledgeBase>> {
    if (path.empty()) return kb::LoadBundledKnowledgeBase();
    return kb::LoadKnowledgeBaseFile(path);
  };
}

}  // namespace needlecheck::server
