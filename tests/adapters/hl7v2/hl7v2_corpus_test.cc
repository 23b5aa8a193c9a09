// The HL7 v2 foundation against public third-party messages
// (../shared/corpus/hl7v2, provenance in ../shared/corpus/README.md): every
// message parses (or is rejected with a located error), and gets an ACK
// that parses back with our own parser; the whole corpus goes through the
// MLLP deframer as one stream cut into odd-sized chunks. Skips when the
// shared corpus is absent.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "adapters/hl7v2/ack_builder.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/read_file.h"
#include "tests/testing/shared_corpus.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::IsOk;

std::filesystem::path CorpusDir() {
  return ::needlecheck::testing::SharedCorpusDir(NEEDLECHECK_SHARED_DIR,
                                                 "hl7v2");
}

std::string ReadAll(const std::filesystem::path& path) {
  return ::needlecheck::testing::ReadFile(path.string());
}

std::vector<std::filesystem::path> CorpusFiles() {
  return ::needlecheck::testing::FilesWithExtension(CorpusDir(), ".hl7");
}

#define SKIP_WITHOUT_CORPUS() \
  if (CorpusFiles().empty())  \
  GTEST_SKIP() << "shared corpus not found at " << CorpusDir()

// The ACK the listener will send: AA when the header is usable, else AR
// with the error; parsed back, it must be a valid message answering `raw`.
void CheckAck(const std::string& name, const std::string& raw) {
  SCOPED_TRACE(name);
  auto in = Er7Message::Parse(raw);
  AckParams p;
  p.control_id = "NC-" + name;
  p.time = absl::FromUnixSeconds(1796112000);
  absl::Status header = in.ok() ? ValidateHeader(*in) : in.status();
  p.code = header.ok() ? AckCode::kAccept : AckCode::kReject;
  p.text = header.ok() ? "accepted" : "rejected";
  if (!header.ok()) p.errors.push_back(AckErrorFromStatus(header));
  const std::string ack = BuildAck(in.ok() ? &*in : nullptr, raw, p);
  auto back = Er7Message::Parse(ack);
  ASSERT_THAT(back.status(), IsOk()) << ack;
  EXPECT_THAT(ValidateHeader(*back).ok() || !in.ok(), true) << ack;
  EXPECT_EQ(back->header().message_type, "ACK");
  EXPECT_EQ(back->Get("MSH-9.3"), "ACK");
  EXPECT_EQ(back->header().control_id, "NC-" + name);
  EXPECT_EQ(back->Get("MSA-1"), header.ok() ? "AA" : "AR");
  EXPECT_EQ(back->Get("MSA-2"),
            in.ok() ? in->header().control_id : RecoverControlId(raw));
  if (in.ok()) {
    EXPECT_EQ(back->header().trigger_event, in->header().trigger_event);
    // An empty receiving application: we name ourselves.
    EXPECT_EQ(back->Get("MSH-3"),
              in->Get("MSH-5").empty() ? "NEEDLECHECK" : in->Get("MSH-5"));
    EXPECT_EQ(back->Get("MSH-5"), in->Get("MSH-3"));
    EXPECT_EQ(back->header().version, in->header().version);
  } else {
    EXPECT_EQ(back->Get("ERR-4"), "E");
    EXPECT_EQ(back->Get("ERR-3.3"), "HL70357");
  }
}

TEST(Hl7v2CorpusTest, EveryMessageParsesAndIsAcknowledged) {
  SKIP_WITHOUT_CORPUS();
  int parsed = 0;
  for (const auto& path : CorpusFiles()) {
    const std::string raw = ReadAll(path);
    const std::string name = path.filename().string();
    auto m = Er7Message::Parse(raw);
    if (name == "sample_unix.hl7" || name == "sample_win.hl7") {
      // MSH-2 written as ^~\\& (escape and subcomponent both '\'): rejected
      // with the location, and the control ID still recovered for the AR.
      ASSERT_FALSE(m.ok()) << name;
      const Hl7ErrorDetail d = Hl7ErrorOf(m.status());
      EXPECT_EQ(d.code, Hl7ErrorCode::kDataTypeError);
      EXPECT_EQ(d.location.ToString(), "MSH^1^2");
      EXPECT_FALSE(RecoverControlId(raw).empty()) << name;
    } else {
      ASSERT_THAT(m.status(), IsOk()) << name;
      EXPECT_THAT(ValidateHeader(*m), IsOk()) << name;
      EXPECT_EQ(m->segments().front().id(), "MSH");
      EXPECT_TRUE(IsSupportedHl7Version(m->header().version)) << name;
      EXPECT_FALSE(m->header().control_id.empty()) << name;
      EXPECT_FALSE(m->Find("PID") == nullptr) << name;
      ++parsed;
    }
    CheckAck(name, raw);
  }
  EXPECT_EQ(parsed, 32);
}

TEST(Hl7v2CorpusTest, KnownValues) {
  SKIP_WITHOUT_CORPUS();
  auto adt = Er7Message::Parse(ReadAll(CorpusDir() / "ADT-A01-01.hl7"));
  ASSERT_THAT(adt.status(), IsOk());
  EXPECT_EQ(adt->header().message_type, "ADT");
  EXPECT_EQ(adt->header().trigger_event, "A01");
  EXPECT_EQ(adt->header().message_structure, "ADT_A01");
  EXPECT_EQ(adt->header().version, "2.8");
  EXPECT_EQ(adt->Get("AL1-3.2"), "PENICILLIN");
  EXPECT_EQ(adt->Get("DG1-3.1"), "422504002");
  EXPECT_EQ(adt->Get("PR1-3.1"), "76164006");
  auto orm = Er7Message::Parse(ReadAll(CorpusDir() / "ORM-O01-02.hl7"));
  ASSERT_THAT(orm.status(), IsOk());
  EXPECT_EQ(orm->header().version, "2.6");
  EXPECT_EQ(orm->Get("AL1-3"), "XYZallergen");
  EXPECT_EQ(orm->FindAll("NTE").size(), 2u);
  auto adt23 = Er7Message::Parse(ReadAll(CorpusDir() / "ADT01-23.hl7"));
  ASSERT_THAT(adt23.status(), IsOk());  // BOM and LF
  EXPECT_EQ(adt23->header().version, "2.3");
  EXPECT_EQ(adt23->header().message_structure, "");
  EXPECT_EQ(adt23->FindAll("IN1").size(), 3u);
  auto siu = Er7Message::Parse(ReadAll(CorpusDir() / "SIU-S12-01.hl7"));
  ASSERT_THAT(siu.status(), IsOk());
  EXPECT_EQ(siu->header().trigger_event, "S12");
  EXPECT_NE(siu->Find("SCH"), nullptr);
}

TEST(Hl7v2CorpusTest, WholeCorpusThroughTheDeframerInOddChunks) {
  SKIP_WITHOUT_CORPUS();
  std::vector<std::string> messages;
  std::string stream;
  for (const auto& path : CorpusFiles()) {
    std::string raw = ReadAll(path);
    std::replace(raw.begin(), raw.end(), '\n', '\r');
    messages.push_back(raw);
    stream += MllpFrame(raw);
  }
  for (size_t chunk : {1u, 7u, 512u, 4093u, 1u << 20}) {
    MllpDeframer d;
    std::vector<MllpEvent> events;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      d.Feed(absl::string_view(stream).substr(i, chunk), &events);
    }
    d.Finish(&events);
    ASSERT_EQ(events.size(), messages.size()) << chunk;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].kind, MllpEventKind::kMessage);
      EXPECT_EQ(events[i].payload, messages[i]);
    }
  }
}

}  // namespace
}  // namespace needlecheck::hl7v2
