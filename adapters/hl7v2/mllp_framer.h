// MLLP (Minimal Lower Layer Protocol) framing of HL7 v2 messages:
// 0x0B <message> 0x1C 0x0D.
//
// MllpDeframer turns a byte stream, fed in chunks of any size (a frame may
// be split across chunks, several frames may share one), into events:
//   kMessage       a complete frame; payload = the bytes between 0x0B and
//                  0x1C 0x0D.
//   kOversized     a frame grew past max_frame_bytes; payload = its first
//                  max_frame_bytes bytes (enough to recover MSH-10 for the
//                  AR). Reported once, as soon as the limit is passed; the
//                  rest of that frame is skipped without buffering, up to
//                  the next 0x0B, which starts a new frame.
//   kInterrupted   a 0x0B arrived inside a frame; payload = the partial
//                  frame (discarded), and the 0x0B starts a new frame.
//   kBadTrailer    0x1C not followed by 0x0D; payload = the frame before
//                  0x1C (not delivered as a message); the byte after 0x1C
//                  is read again outside a frame.
//   kStrayBytes    bytes outside any frame (between frames or before the
//                  first), not buffered: `bytes` counts one run of them.
//   kTruncated     (Finish() only) the stream ended inside a frame;
//                  payload = the partial frame.
// Memory is bounded by max_frame_bytes (plus the events of one Feed()).
// Not thread-safe: one deframer per connection.
#ifndef ADAPTERS_HL7V2_MLLP_FRAMER_H_
#define ADAPTERS_HL7V2_MLLP_FRAMER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace needlecheck::hl7v2 {

inline constexpr char kMllpStartBlock = '\x0B';
inline constexpr char kMllpEndBlock = '\x1C';
inline constexpr char kMllpCarriageReturn = '\x0D';

// 0x0B + message + 0x1C 0x0D. The message must not contain 0x0B or 0x1C
// (ER7 text built by this library never does).
std::string MllpFrame(absl::string_view message);

enum class MllpEventKind {
  kMessage,
  kOversized,
  kInterrupted,
  kBadTrailer,
  kStrayBytes,
  kTruncated,
};

// "message", "oversized", ... (for metrics and logs).
absl::string_view MllpEventKindName(MllpEventKind kind);

struct MllpEvent {
  MllpEventKind kind = MllpEventKind::kMessage;
  std::string payload;  // see the kinds above; empty for kStrayBytes
  size_t bytes = 0;     // payload size, or the stray run's length
};

struct MllpDeframerOptions {
  // Largest payload accepted as a message. Default 1 MiB.
  size_t max_frame_bytes = 1 << 20;
};

class MllpDeframer {
 public:
  explicit MllpDeframer(MllpDeframerOptions options = {});

  // Consumes `bytes`, appending the events they complete to `events` in
  // stream order.
  void Feed(absl::string_view bytes, std::vector<MllpEvent>* events);

  // End of stream: a kTruncated event if a frame was open (or skipped
  // oversized frame: no event then), and a pending stray run. Resets.
  void Finish(std::vector<MllpEvent>* events);

  // True while inside a frame (including an oversized one being skipped).
  bool in_frame() const { return state_ != State::kOutside; }

 private:
  enum class State { kOutside, kInFrame, kAfterEndBlock, kSkipping };
  void FlushStray(std::vector<MllpEvent>* events);
  void Emit(MllpEventKind kind, std::vector<MllpEvent>* events);

  MllpDeframerOptions options_;
  State state_ = State::kOutside;
  std::string frame_;
  size_t stray_ = 0;
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_MLLP_FRAMER_H_
