// RawPeer: a blocking loopback TCP peer for MLLP tests, writing and reading
// raw bytes so a test controls every byte (split frames, several frames in
// one write, broken framing). Test-only (target needlecheck_test_mllp_peer).
//
// Contract
// - The constructor connects to 127.0.0.1:`port` (TCP_NODELAY);
//   connected() says whether it worked.
// - ReadFrames(count) reads until `count` reply frames came (their
//   payloads, in order), the server closed, or `patience` passed; it
//   returns what it has then. ClosedByServer() is true when the server
//   closes within `patience` (bytes it sends first are skipped).
// - One thread uses a RawPeer.
#ifndef TESTS_TESTING_MLLP_RAW_PEER_H_
#define TESTS_TESTING_MLLP_RAW_PEER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/mllp_framer.h"

namespace needlecheck::testing {

class RawPeer {
 public:
  explicit RawPeer(int port, absl::Duration patience = absl::Seconds(60));
  ~RawPeer();
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool Write(absl::string_view bytes);
  std::vector<std::string> ReadFrames(size_t count);
  bool ClosedByServer();

 private:
  bool Readable(absl::Time deadline);

  const absl::Duration patience_;
  int fd_ = -1;
  bool connected_ = false;
  hl7v2::MllpDeframer deframer_;
};

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_MLLP_RAW_PEER_H_
