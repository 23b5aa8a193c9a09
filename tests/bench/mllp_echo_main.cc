// needlecheck-mllp-echo: the baseline for needlecheck-hl7's throughput.
//
//   needlecheck-mllp-echo [--listen=127.0.0.1:2575] [--worker_threads=0]
//                         [--max_frame_bytes=1048576]
//
// A bare MLLP server (MllpServer, the transport needlecheck-hl7 uses) whose
// handler answers each message with the message itself and nothing else
// (no reply to a malformed frame). Under the same load, the difference
// between needlecheck-hl7 and this is the cost of parsing, the state store
// and screening. Prints "needlecheck-mllp-echo listening on HOST:PORT" once
// serving; SIGTERM or SIGINT stops it.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/transport/mllp_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:2575",
          "Address to listen on, HOST:PORT (port 0: any free port).");
ABSL_FLAG(int, worker_threads, 0, "Handler threads (0: the server default).");
ABSL_FLAG(uint64_t, max_frame_bytes, uint64_t{1} << 20,
          "Largest message echoed, in bytes.");

namespace needlecheck::bench {
namespace {

using hl7v2::MllpEvent;
using hl7v2::MllpEventKind;
using hl7v2::MllpPeer;

int Run() {
  // Block the stop signals before the server starts threads; sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  hl7v2::MllpServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  options.max_frame_bytes = absl::GetFlag(FLAGS_max_frame_bytes);
  absl::StatusOr<std::unique_ptr<hl7v2::MllpServer>> server =
      hl7v2::MllpServer::Start(
          options, [](const MllpEvent& event, const MllpPeer&) {
            return event.kind == MllpEventKind::kMessage ? event.payload
                                                         : std::string();
          });
  if (!server.ok()) {
    std::fprintf(stderr, "needlecheck-mllp-echo: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::printf("needlecheck-mllp-echo listening on %s:%d\n", host.c_str(),
              (*server)->port());
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  (*server)->Shutdown(absl::Seconds(2));
  return 0;
}

}  // namespace
}  // namespace needlecheck::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "needlecheck-mllp-echo: an MLLP server that answers every message with "
      "itself (benchmark baseline).");
  absl::ParseCommandLine(argc, argv);
  return needlecheck::bench::Run();
}
