// MllpClient: a blocking MLLP client (plain TCP, TLS, or mutual TLS) that
// sends one message and waits for one reply frame. For the ORU sender of
// needlecheck-hl7, the load generator and tests.
//
// Contract
// - Connect() resolves host:port, connects within connect_timeout and, when
//   tls_ca_file is set, completes a TLS 1.2+ handshake (also within
//   connect_timeout) verifying the server certificate against that CA and
//   the name tls_server_name (default: the host of the address; an IP
//   address is matched against the certificate's IP SANs). tls_cert_file +
//   tls_key_file: a client certificate for mutual TLS.
// - Send() frames `message` (which must hold no 0x0B or 0x1C byte), writes
//   it and reads exactly one reply frame, however the reply is split across
//   reads; the write and the read together must end within reply_timeout.
//   Bytes the server sends before the reply's 0x0B are skipped. A reply
//   larger than max_frame_bytes is an error.
// - Errors: INVALID_ARGUMENT for a bad address, options, message or TLS
//   files; UNAVAILABLE when the server cannot be reached, the TLS handshake
//   fails (a refused client certificate included) or the connection closes
//   before a whole reply; DEADLINE_EXCEEDED when connect_timeout or
//   reply_timeout passes; RESOURCE_EXHAUSTED for an oversized reply;
//   DATA_LOSS for a malformed reply frame. After any Send() error the
//   connection is out of step and every later Send() returns
//   FAILED_PRECONDITION: connect again.
// - Thread safety: one thread at a time per client; clients are
//   independent.
#ifndef ADAPTERS_HL7V2_TRANSPORT_MLLP_CLIENT_H_
#define ADAPTERS_HL7V2_TRANSPORT_MLLP_CLIENT_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace needlecheck::hl7v2 {

struct MllpClientOptions {
  // TCP connect plus TLS handshake. Default 5 s.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Writing a message and reading its reply. Default 30 s.
  absl::Duration reply_timeout = absl::Seconds(30);
  // PEM files; tls_ca_file set: TLS. Default: all empty (plain TCP).
  std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
  // Largest reply payload accepted. Default 1 MiB.
  size_t max_frame_bytes = size_t{1} << 20;
};

class MllpClient {
 public:
  static absl::StatusOr<std::unique_ptr<MllpClient>> Connect(
      const std::string& host_port, const MllpClientOptions& options);
  virtual ~MllpClient() = default;

  // Frames `message`, waits for one reply frame and returns its payload.
  virtual absl::StatusOr<std::string> Send(absl::string_view message) = 0;
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_TRANSPORT_MLLP_CLIENT_H_
