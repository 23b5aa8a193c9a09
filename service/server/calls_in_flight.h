// CallsInFlight: how many calls a server is handling, grpc.health.v1's
// left out, so that a drain can tell when only health Watch streams (which
// never end by themselves) are left.
//
// Contract
// - NewInterceptorFactory() gives grpc::ServerBuilder (experimental()
//   .SetInterceptorCreators) a factory whose interceptor counts each call
//   from its start until gRPC releases it (after the call is done); calls to
//   /grpc.health.v1.Health/* are not counted. This object must outlive the
//   server.
// - WaitUntilNone(deadline) blocks until no counted call is in flight (at
//   once when none is) or `deadline` passes; true when none is left.
// - Thread-safe.
#ifndef SERVICE_SERVER_CALLS_IN_FLIGHT_H_
#define SERVICE_SERVER_CALLS_IN_FLIGHT_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"

namespace needlecheck::server {

class CallsInFlight {
 public:
  CallsInFlight() = default;
  CallsInFlight(const CallsInFlight&) = delete;
  CallsInFlight& operator=(const CallsInFlight&) = delete;

  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

  bool WaitUntilNone(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  // Used by the interceptor.
  void Add() ABSL_LOCKS_EXCLUDED(mu_);
  void Remove() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_CALLS_IN_FLIGHT_H_
