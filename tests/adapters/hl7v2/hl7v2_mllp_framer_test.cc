// MllpDeframer / MllpFrame (adapters/hl7v2/mllp_framer.h): split and
// coalesced frames, bytes outside frames, the maximum frame size and the
// resynchronisation after it, broken trailers, end of stream.
#include <string>
#include <vector>

#include "adapters/hl7v2/mllp_framer.h"
#include "gtest/gtest.h"

namespace needlecheck::hl7v2 {
namespace {

std::vector<MllpEvent> FeedAll(MllpDeframer& deframer,
                               const std::vector<std::string>& chunks,
                               bool finish = false) {
  std::vector<MllpEvent> events;
  for (const std::string& c : chunks) deframer.Feed(c, &events);
  if (finish) deframer.Finish(&events);
  return events;
}

TEST(MllpFramerTest, FrameWrapsMessage) {
  EXPECT_EQ(MllpFrame("MSH|x"), std::string("\x0BMSH|x\x1C\x0D"));
  EXPECT_EQ(MllpFrame(""), std::string("\x0B\x1C\x0D"));
}

TEST(MllpFramerTest, OneFrameOneMessage) {
  MllpDeframer d;
  auto events = FeedAll(d, {MllpFrame("MSH|a\rPID|1\r")});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MllpEventKind::kMessage);
  EXPECT_EQ(events[0].payload, "MSH|a\rPID|1\r");
  EXPECT_EQ(events[0].bytes, events[0].payload.size());
  EXPECT_FALSE(d.in_frame());
}

TEST(MllpFramerTest, FrameSplitAtEveryByte) {
  const std::string framed = MllpFrame("MSH|^~\\&|A\rEVN|A01\r");
  for (size_t cut = 0; cut <= framed.size(); ++cut) {
    MllpDeframer d;
    auto events = FeedAll(d, {framed.substr(0, cut), framed.substr(cut)});
    ASSERT_EQ(events.size(), 1u) << "cut " << cut;
    EXPECT_EQ(events[0].kind, MllpEventKind::kMessage);
    EXPECT_EQ(events[0].payload, "MSH|^~\\&|A\rEVN|A01\r");
  }
  MllpDeframer d;  // one byte per Feed
  std::vector<MllpEvent> events;
  for (char c : framed) d.Feed(std::string(1, c), &events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "MSH|^~\\&|A\rEVN|A01\r");
}

TEST(MllpFramerTest, CoalescedFramesInOneChunk) {
  MllpDeframer d;
  auto events =
      FeedAll(d, {MllpFrame("one") + MllpFrame("two") + MllpFrame("three")});
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].payload, "one");
  EXPECT_EQ(events[1].payload, "two");
  EXPECT_EQ(events[2].payload, "three");
}

TEST(MllpFramerTest, StrayBytesBetweenFramesAreCountedNotBuffered) {
  MllpDeframer d;
  auto events =
      FeedAll(d, {"\r\n", "junk" + MllpFrame("a") + "\n", MllpFrame("b")});
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, MllpEventKind::kStrayBytes);
  EXPECT_EQ(events[0].bytes, 6u);
  EXPECT_TRUE(events[0].payload.empty());
  EXPECT_EQ(events[1].payload, "a");
  EXPECT_EQ(events[2].kind, MllpEventKind::kStrayBytes);
  EXPECT_EQ(events[2].bytes, 1u);
  EXPECT_EQ(events[3].payload, "b");
}

TEST(MllpFramerTest, OversizedFrameIsReportedOnceAndResynchronises) {
  MllpDeframer d(MllpDeframerOptions{/*max_frame_bytes=*/10});
  const std::string big = "MSH|" + std::string(1000, 'x');
  std::vector<MllpEvent> events;
  const std::string stream = MllpFrame(big) + MllpFrame("ok");
  // In small chunks: the oversized event comes as soon as the limit passes.
  for (size_t i = 0; i < stream.size(); i += 7) {
    d.Feed(stream.substr(i, 7), &events);
    if (i == 7) {
      ASSERT_EQ(events.size(), 1u);
      EXPECT_EQ(events[0].kind, MllpEventKind::kOversized);
    }
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].payload, big.substr(0, 10));
  EXPECT_EQ(events[1].kind, MllpEventKind::kMessage);
  EXPECT_EQ(events[1].payload, "ok");
}

TEST(MllpFramerTest, FrameOfExactlyMaxSizeIsAccepted) {
  MllpDeframer d(MllpDeframerOptions{/*max_frame_bytes=*/5});
  auto events = FeedAll(d, {MllpFrame("12345") + MllpFrame("123456")});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, MllpEventKind::kMessage);
  EXPECT_EQ(events[1].kind, MllpEventKind::kOversized);
}

TEST(MllpFramerTest, StartBlockInsideFrameInterruptsIt) {
  MllpDeframer d;
  auto events = FeedAll(d, {"\x0Bpartial" + MllpFrame("whole")});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, MllpEventKind::kInterrupted);
  EXPECT_EQ(events[0].payload, "partial");
  EXPECT_EQ(events[1].kind, MllpEventKind::kMessage);
  EXPECT_EQ(events[1].payload, "whole");
}

TEST(MllpFramerTest, EndBlockWithoutCarriageReturnIsABadTrailer) {
  MllpDeframer d;
  auto events = FeedAll(d, {std::string("\x0Bmsg\x1C") + MllpFrame("next")});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, MllpEventKind::kBadTrailer);
  EXPECT_EQ(events[0].payload, "msg");
  EXPECT_EQ(events[1].kind, MllpEventKind::kMessage);
  EXPECT_EQ(events[1].payload, "next");
}

TEST(MllpFramerTest, FinishInsideFrameReportsTruncated) {
  MllpDeframer d;
  auto events = FeedAll(d, {"\x0BMSH|half"}, /*finish=*/true);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MllpEventKind::kTruncated);
  EXPECT_EQ(events[0].payload, "MSH|half");
  EXPECT_FALSE(d.in_frame());
  events = FeedAll(d, {"tail"}, /*finish=*/true);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MllpEventKind::kStrayBytes);
}

TEST(MllpFramerTest, EventKindNames) {
  EXPECT_EQ(MllpEventKindName(MllpEventKind::kOversized), "oversized");
  EXPECT_EQ(MllpEventKindName(MllpEventKind::kMessage), "message");
}

}  // namespace
}  // namespace needlecheck::hl7v2
