#include "adapters/hl7v2/mllp_framer.h"

#include <utility>

namespace needlecheck::hl7v2 {

std::string MllpFrame(absl::string_view message) {
  std::string out;
  out.reserve(message.size() + 3);
  out.push_back(kMllpStartBlock);
  out.append(message.data(), message.size());
  out.push_back(kMllpEndBlock);
  out.push_back(kMllpCarriageReturn);
  return out;
}

absl::string_view MllpEventKindName(MllpEventKind kind) {
  switch (kind) {
    case MllpEventKind::kMessage:
      return "message";
    case MllpEventKind::kOversized:
      return "oversized";
    case MllpEventKind::kInterrupted:
      return "interrupted";
    case MllpEventKind::kBadTrailer:
      return "bad_trailer";
    case MllpEventKind::kStrayBytes:
      return "stray_bytes";
    case MllpEventKind::kTruncated:
      return "truncated";
  }
  return "unknown";
}

MllpDeframer::MllpDeframer(MllpDeframerOptions options) : options_(options) {}

void MllpDeframer::FlushStray(std::vector<MllpEvent>* events) {
  if (stray_ == 0) return;
  MllpEvent event;
  event.kind = MllpEventKind::kStrayBytes;
  event.bytes = stray_;
  events->push_back(std::move(event));
  stray_ = 0;
}

void MllpDeframer::Emit(MllpEventKind kind, std::vector<MllpEvent>* events) {
  MllpEvent event;
  event.kind = kind;
  event.bytes = frame_.size();
  event.payload = std::move(frame_);
  frame_.clear();
  events->push_back(std::move(event));
}

void MllpDeframer::Feed(absl::string_view bytes,
                        std::vector<MllpEvent>* events) {
  size_t i = 0;
  while (i < bytes.size()) {
    const char c = bytes[i];
    switch (state_) {
      case State::kOutside:
        if (c == kMllpStartBlock) {
          FlushStray(events);
          state_ = State::kInFrame;
        } else {
          ++stray_;
        }
        ++i;
        break;
      case State::kSkipping:
        if (c == kMllpStartBlock) {
          state_ = State::kInFrame;
        }
        ++i;
        break;
      case State::kAfterEndBlock:
        if (c == kMllpCarriageReturn) {
          Emit(MllpEventKind::kMessage, events);
          state_ = State::kOutside;
          ++i;
        } else {
          // Read this byte again outside a frame.
          Emit(MllpEventKind::kBadTrailer, events);
          state_ = State::kOutside;
        }
        break;
      case State::kInFrame: {
        // Copy the run up to the next control byte in one go.
        size_t j = i;
        while (j < bytes.size() && bytes[j] != kMllpStartBlock &&
               bytes[j] != kMllpEndBlock) {
          ++j;
        }
        const size_t room = options_.max_frame_bytes - frame_.size();
        if (j - i > room) {
          frame_.append(bytes.data() + i, room);
          Emit(MllpEventKind::kOversized, events);
          state_ = State::kSkipping;
          i += room;
          break;
        }
        frame_.append(bytes.data() + i, j - i);
        i = j;
        if (i == bytes.size()) break;
        if (bytes[i] == kMllpStartBlock) {
          Emit(MllpEventKind::kInterrupted, events);
        } else {
          state_ = State::kAfterEndBlock;
        }
        ++i;
        break;
      }
    }
  }
}

void MllpDeframer::Finish(std::vector<MllpEvent>* events) {
  FlushStray(events);
  if (state_ == State::kInFrame || state_ == State::kAfterEndBlock) {
    Emit(MllpEventKind::kTruncated, events);
  }
  frame_.clear();
  state_ = State::kOutside;
}

}  // namespace needlecheck::hl7v2
