#include "service/server/health_service.h"

#include <optional>
#include <string>
#include <utility>

namespace needlecheck::server {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

// One Watch stream. Lock order: HealthService::mu_, then mu_ (the service
// calls Send() and End() under its lock, as gRPC's own health service
// does; gRPC never runs a reaction inline in StartWrite() or Finish()).
class HealthService::WatchReactor final
    : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchReactor(HealthService* service, std::string name)
      : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Writes `status` now, or after the write under way (only the latest
  // status waits).
  void Send(Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (writing_) {
      pending_ = status;
      return;
    }
    WriteLocked(status);
  }

  // Finishes the stream once nothing is left to write.
  void End() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    end_ = true;
    if (!writing_) FinishLocked(Draining());
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
    } else if (pending_.has_value()) {
      const Status status = *pending_;
      pending_.reset();
      WriteLocked(status);
    } else if (end_) {
      FinishLocked(Draining());
    }
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    service_->RemoveWatch(this);
    delete this;
  }

 private:
  static grpc::Status Draining() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is draining");
  }

  void WriteLocked(Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    response_.set_status(status);
    writing_ = true;
    StartWrite(&response_);
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  HealthService* const service_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool end_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Status> pending_ ABSL_GUARDED_BY(mu_);
};

HealthService::HealthService(const std::vector<std::string>& service_names) {
  for (const std::string& name : service_names) serving_[name] = false;
}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  for (auto& [name, value] : serving_) value = serving;
  for (WatchReactor* watcher : watchers_) {
    // An unknown name stays unknown: nothing to tell its watchers.
    const Status status = StatusOf(watcher->name());
    if (status != HealthCheckResponse::SERVICE_UNKNOWN) watcher->Send(status);
  }
}

void HealthService::EndWatches() {
  absl::MutexLock lock(&mu_);
  watches_ended_ = true;
  for (WatchReactor* watcher : watchers_) watcher->End();
}

HealthService::Status HealthService::StatusOf(const std::string& name) const {
  const auto it = serving_.find(name);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? HealthCheckResponse::SERVING
                    : HealthCheckResponse::NOT_SERVING;
}

void HealthService::RemoveWatch(WatchReactor* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request,
    HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Status status;
  {
    absl::MutexLock lock(&mu_);
    status = StatusOf(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
  } else {
    response->set_status(status);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/,
    const HealthCheckRequest* request) {
  // Owned by gRPC until OnDone(), which deletes it.
  auto* reactor = new WatchReactor(this, request->service());
  absl::MutexLock lock(&mu_);
  reactor->Send(StatusOf(reactor->name()));
  if (watches_ended_) {
    reactor->End();
  } else {
    watchers_.insert(reactor);
  }
  return reactor;
}

}  // namespace needlecheck::server
