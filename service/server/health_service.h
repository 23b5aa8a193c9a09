// HealthService: needlecheckd's grpc.health.v1.Health, which, unlike
// gRPC's built-in one, can end its Watch streams when the server drains.
//
// Contract
// - Knows the service names given at construction, all NOT_SERVING until
//   SetServing(true). Check answers a known name's status, NOT_FOUND for
//   any other name. Watch sends the current status at once (SERVICE_UNKNOWN
//   for an unknown name, as the protocol says) and then every change; a
//   slow reader gets the latest status, not every one in between.
// - Why it exists: every needlecheck client keeps a Watch stream open to
//   each server (client-side health checking), and grpc::Server::Shutdown()
//   waits for every open call, a Watch stream included, until its deadline.
//   gRPC 1.51's built-in service does not end them (its Shutdown() only
//   sends NOT_SERVING), so a drain would always last the whole grace
//   period.
// - EndWatches(): every open Watch stream ends (UNAVAILABLE "server is
//   draining") once the latest status (NOT_SERVING, during a drain) has
//   been written to it; a Watch started afterwards ends at once after
//   sending the current status. Check keeps answering. Idempotent.
// - Thread-safe. Register it with one grpc::Server (with the built-in
//   health service disabled) and destroy it only after that server has
//   stopped (Wait() returned): no Watch stream is open then.
#ifndef SERVICE_SERVER_HEALTH_SERVICE_H_
#define SERVICE_SERVER_HEALTH_SERVICE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace needlecheck::server {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  explicit HealthService(const std::vector<std::string>& service_names);
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Sets every known name's status and tells every watcher.
  void SetServing(bool serving) ABSL_LOCKS_EXCLUDED(mu_);
  void EndWatches() ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerUnaryReactor* Check(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request,
      grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

  Status StatusOf(const std::string& name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveWatch(WatchReactor* watcher) ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  bool watches_ended_ ABSL_GUARDED_BY(mu_) = false;
  // Open Watch streams; each removes itself when done.
  std::set<WatchReactor*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_HEALTH_SERVICE_H_
