#include "service/server/calls_in_flight.h"

#include <string>

#include "absl/strings/match.h"

namespace needlecheck::server {
namespace {

// Counts its call for as long as gRPC keeps it (one per call).
class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(CallsInFlight* calls) : calls_(calls) {
    calls_->Add();
  }
  ~CountingInterceptor() override { calls_->Remove(); }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  CallsInFlight* const calls_;
};

class CountingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingInterceptorFactory(CallsInFlight* calls) : calls_(calls) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (absl::StartsWith(info->method(), "/grpc.health.v1.Health/")) {
      return nullptr;
    }
    // gRPC owns interceptors and deletes them when the call is released.
    return new CountingInterceptor(calls_);
  }

 private:
  CallsInFlight* const calls_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
CallsInFlight::NewInterceptorFactory() {
  return std::make_unique<CountingInterceptorFactory>(this);
}

void CallsInFlight::Add() {
  absl::MutexLock lock(&mu_);
  ++count_;
}

void CallsInFlight::Remove() {
  absl::MutexLock lock(&mu_);
  --count_;
}

bool CallsInFlight::WaitUntilNone(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  const auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return count_ == 0;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&none), deadline);
}

}  // namespace needlecheck::server
