// needlecheck-echo-server: the baseline for needlecheckd's gRPC throughput.
//
//   needlecheck-echo-server [--listen=127.0.0.1:50051]
//                           [--max_message_bytes=4194304]
//
// A needlecheck.v1.ScreeningService that does no screening: Screen answers
// with the request_id only, ScreenStream echoes each request_id,
// GetKnowledgeBase is UNIMPLEMENTED. It applies the same ServerOptions as
// needlecheckd (ApplyServerOptions), so the difference between the two under
// the same load is the cost of the service itself (parsing, validation, the
// engine, the response). Prints "needlecheck-echo-server listening on
// HOST:PORT" once serving; SIGTERM or SIGINT stops it.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "service/server/server_options.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to listen on, HOST:PORT (port 0: any free port).");
ABSL_FLAG(int, max_message_bytes, 4 * 1024 * 1024,
          "Largest request accepted, in bytes (as needlecheckd).");

namespace needlecheck::bench {
namespace {

using needlecheck::v1::ScreenRequest;
using needlecheck::v1::ScreenResponse;

// Echoes request ids on a ScreenStream: read one, write one, until the
// client half-closes. Owned by gRPC from creation until OnDone().
class EchoStreamReactor
    : public grpc::ServerBidiReactor<ScreenRequest, ScreenResponse> {
 public:
  EchoStreamReactor() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_.set_request_id(request_.request_id());
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  ScreenRequest request_;
  ScreenResponse response_;
};

class EchoService final
    : public needlecheck::v1::ScreeningService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Screen(grpc::CallbackServerContext* context,
                                   const ScreenRequest* request,
                                   ScreenResponse* response) override {
    response->set_request_id(request->request_id());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<ScreenRequest, ScreenResponse>* ScreenStream(
      grpc::CallbackServerContext* /*context*/) override {
    return std::make_unique<EchoStreamReactor>().release();
  }
};

int Run() {
  // Block the stop signals before gRPC starts threads; sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  needlecheck::server::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  if (absl::Status s = needlecheck::server::ValidateServerOptions(options);
      !s.ok()) {
    std::fprintf(stderr, "needlecheck-echo-server: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  EchoService service;
  grpc::ServerBuilder builder;
  needlecheck::server::ApplyServerOptions(options, &builder);
  int port = 0;
  needlecheck::server::AddListeningPort(options, &builder, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "needlecheck-echo-server: cannot listen on %s\n",
                 options.listen_address.c_str());
    return 1;
  }
  std::string host =
      options.listen_address.substr(0, options.listen_address.rfind(':'));
  std::printf("needlecheck-echo-server listening on %s:%d\n", host.c_str(),
              port);
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace needlecheck::bench

int main(int argc, char** argv) {
  // Same process setting as needlecheckd (see service/needlecheckd_main.cc).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "needlecheck-echo-server: a ScreeningService that only echoes "
      "request ids (benchmark baseline).");
  absl::ParseCommandLine(argc, argv);
  return needlecheck::bench::Run();
}
