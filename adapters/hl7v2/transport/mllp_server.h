// MllpServer: HL7 v2 over MLLP (TCP, optionally TLS or mutual TLS), handing
// each frame a peer sends to an MllpHandler and writing its reply back.
//
// Model: one event-loop thread owns every connection (accepting, TLS
// handshakes, reading, deframing with MllpDeframer, timers, writing); a
// pool of worker_threads threads runs the handler. A connection that is
// idle or slow costs a file descriptor and a few KiB, never a thread.
//
// Contract
// - Handler calls: one per deframer event of a connection (kMessage,
//   kOversized, kInterrupted, kBadTrailer, kTruncated; kStrayBytes are only
//   counted), on a worker thread, strictly one at a time per connection and
//   in stream order: a peer may pipeline frames and gets the replies in the
//   order it sent them. Calls for different connections run in parallel, so
//   a slow handler on one connection does not delay another (as long as
//   fewer than worker_threads handlers are slow at once). The reply (ER7,
//   unframed) is framed and written; "" writes nothing. The handler must be
//   thread-safe, must not throw (an exception is caught and answered with
//   nothing), and must not call Shutdown().
// - Frames: a frame over max_frame_bytes becomes one kOversized event (its
//   first max_frame_bytes bytes) and the rest of it is skipped, so the next
//   frame on the same connection is read normally. When the peer closes its
//   side, the frames already read are still handled (a frame left open
//   becomes a kTruncated event) and their replies written, in case it only
//   half-closed; then the connection closes.
// - Memory per connection is bounded: while the frames read but not yet
//   handled hold max_frame_bytes or more (or kMaxQueuedFrames frames), or
//   the replies not yet taken by the peer exceed kMaxOutputBytes, the
//   server stops reading from that connection (TCP flow control then holds
//   the peer back) and stops calling the handler for it, until the peer
//   reads.
// - idle_timeout: a connection with no bytes from the peer for that long is
//   closed, unless a handler call for it is in progress (a message being
//   handled does not count as idle); a connection whose peer takes none of
//   its pending replies for that long is closed too.
// - max_connections: connections past it (and past max_connections_per_client
//   from one IP address, when set) are closed at accept and counted as
//   refused. A TLS handshake that fails closes the connection.
// - Shutdown(drain): stops accepting, closes the connections with nothing
//   in hand, lets the others finish the frames already read (handler calls
//   and their replies, reading nothing more) for at most `drain`, then
//   closes everything and joins the threads (waiting for handler calls in
//   progress to return; `drain` counts at most a day). Idempotent; the
//   destructor calls Shutdown(0).
//
// Errors: Start() returns INVALID_ARGUMENT for bad options or TLS files,
// UNAVAILABLE when the address cannot be bound.
//
// Process-wide effects: Start() ignores SIGPIPE and makes libevent
// thread-aware (adapters/common/event_server_support.h).
//
// Thread safety: port(), counters() and Shutdown() may be called from any
// thread but the handler's.
#ifndef ADAPTERS_HL7V2_TRANSPORT_MLLP_SERVER_H_
#define ADAPTERS_HL7V2_TRANSPORT_MLLP_SERVER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/mllp_framer.h"

namespace needlecheck::hl7v2 {

// Frames read but not yet handled, per connection, before reading pauses.
inline constexpr size_t kMaxQueuedFrames = 64;
// Reply bytes the peer has not taken, per connection, before the server
// stops handling (and reading) that connection's frames.
inline constexpr size_t kMaxOutputBytes = size_t{1} << 20;

struct MllpServerOptions {
  // HOST:PORT to bind; port 0 picks a free one. Default 127.0.0.1:2575.
  std::string listen = "127.0.0.1:2575";
  // Largest frame payload handled as a message. Default 1 MiB.
  size_t max_frame_bytes = size_t{1} << 20;
  // No bytes from the peer for this long: close. Default 5 minutes.
  absl::Duration idle_timeout = absl::Minutes(5);
  // Open connections in all. Default 1024.
  int max_connections = 1024;
  // Open connections from one IP address; 0: no cap of its own. Default 0.
  int max_connections_per_client = 0;
  // Threads running the handler; 0: 16. Default 0.
  int worker_threads = 0;
  // PEM certificate chain and key: TLS; with tls_client_ca_file too: mutual
  // TLS, clients must present a certificate that CA signed. Default: all
  // empty (plain TCP).
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
};

struct MllpPeer {
  std::string address;         // "IP:PORT" of the peer
  uint64_t connection_id = 0;  // unique per server, from 1
  // The verified client certificate's subject, RFC 2253 ("CN=a,O=b"), under
  // mutual TLS; "" otherwise.
  std::string tls_subject;
};

// See the contract above.
using MllpHandler =
    std::function<std::string(const MllpEvent& event, const MllpPeer& peer)>;

// Cumulative since Start() except connections_open.
struct MllpServerCounters {
  int64_t connections_open = 0;
  uint64_t connections_total = 0;    // accepted
  uint64_t connections_refused = 0;  // over max_connections(_per_client)
  uint64_t idle_timeouts = 0;        // closed by idle_timeout
  uint64_t tls_failures = 0;         // handshake or TLS errors
  std::array<uint64_t, 6> frames_by_kind{};  // indexed by MllpEventKind
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t replies = 0;  // replies written
  uint64_t frames(MllpEventKind kind) const {
    return frames_by_kind[static_cast<size_t>(kind)];
  }
};

class MllpServer {
 public:
  static absl::StatusOr<std::unique_ptr<MllpServer>> Start(
      const MllpServerOptions& options, MllpHandler handler);
  virtual ~MllpServer() = default;

  // The bound port.
  virtual int port() const = 0;
  virtual MllpServerCounters counters() const = 0;
  // Stop accepting; finish the messages in hand for at most `drain`; close.
  virtual void Shutdown(absl::Duration drain) = 0;
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_TRANSPORT_MLLP_SERVER_H_
