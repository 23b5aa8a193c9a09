// needlecheck-hl7 end to end: the real needlecheckd and the real
// needlecheck-hl7 on loopback (port 0), MLLP peers that are MllpClient, raw
// sockets, an in-process MLLP receiver for --alerts_to, and Debian's
// python3-hl7 `mllp_send`. Messages: the shared public corpus
// (../shared/corpus/hl7v2, or $NEEDLECHECK_SHARED_DIR/corpus/hl7v2) and the
// hand-written dermatology messages in tests/testdata/hl7v2/. Waits are
// bounded and generous; nothing asserts a duration.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "adapters/hl7v2/processing/screening_client.h"
#include "adapters/hl7v2/transport/mllp_client.h"
#include "adapters/hl7v2/transport/mllp_server.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/testing/http_request.h"
#include "tests/testing/mllp_raw_peer.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/shared_corpus.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::PostgresCluster;
using ::needlecheck::testing::RawPeer;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::ServerProcess;
using ::needlecheck::testing::SourcePath;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

constexpr absl::Duration kPatience = absl::Seconds(90);

// The alerts the dermatology patient's microneedling booking must raise
// (rule ids of service/kb/data/microneedling.textproto): the lidocaine
// allergy written as AL1 free text, the 20-day interval after the PR1
// session, and the eczema, acne and rosacea diagnoses of the DG1 segments.
const std::vector<std::string> kDermatologyAlerts = {
    "MN-ALLERGY-ANESTHETIC", "MN-FREQ-INTERVAL", "MN-CI-ECZEMA", "MN-CI-ACNE",
    "MN-CI-ROSACEA"};

std::filesystem::path CorpusDir() {
  return ::needlecheck::testing::SharedCorpusDir(NEEDLECHECK_SHARED_DIR,
                                                 "hl7v2");
}

std::vector<std::filesystem::path> CorpusFiles() {
  return ::needlecheck::testing::FilesWithExtension(CorpusDir(), ".hl7");
}

// A hand-written message of tests/testdata/hl7v2/.
std::string TestMessage(const std::string& name) {
  return ::needlecheck::testing::ReadFile(
      SourcePath("tests/testdata/hl7v2/" + name));
}

// `message` with MSH-10 replaced by `control_id` (raw ER7).
std::string WithControlId(const std::string& message,
                          const std::string& control_id) {
  const size_t end = message.find_first_of("\r\n");
  std::vector<std::string> fields = absl::StrSplit(message.substr(0, end), '|');
  if (fields.size() > 9) fields[9] = control_id;
  return absl::StrCat(absl::StrJoin(fields, "|"),
                      end == std::string::npos ? "" : message.substr(end));
}

// A free loopback port (bound, then released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct Ack {
  std::string raw;
  std::string code;                      // MSA-1
  std::string control_id;                // MSA-2
  std::vector<std::string> alert_rules;  // ERR-5.1 of the alert ERRs
  std::vector<std::string> error_codes;  // ERR-3.1 of the other ERRs
};

// Parses an ACK and checks its fixed shape (MSH-9 ACK^<trigger>^ACK, a
// non-empty MSH-10, MSA-1 AA/AE/AR, every ERR well formed; AE/AR carry at
// least one error ERR).
Ack ReadAck(const std::string& raw) {
  SCOPED_TRACE(absl::CEscape(raw));
  Ack ack;
  ack.raw = raw;
  absl::StatusOr<Er7Message> m = Er7Message::Parse(raw);
  EXPECT_THAT(m.status(), IsOk());
  if (!m.ok()) return ack;
  EXPECT_THAT(ValidateHeader(*m), IsOk());
  EXPECT_EQ(m->header().message_type, "ACK");
  EXPECT_EQ(m->Get("MSH-9.3"), "ACK");
  EXPECT_FALSE(m->header().control_id.empty());
  ack.code = m->Get("MSA-1");
  ack.control_id = m->Get("MSA-2");
  EXPECT_THAT(ack.code, AnyOf("AA", "AE", "AR"));
  for (const Er7Segment* err : m->FindAll("ERR")) {
    EXPECT_EQ(err->Get(3, 1, 3), "HL70357");
    if (err->Get(3) == "0") {
      EXPECT_EQ(ack.code, "AA");
      EXPECT_THAT(err->Get(4), AnyOf("W", "I"));
      EXPECT_EQ(err->Get(5, 1, 3), "urn:needlecheck:rule");
      EXPECT_FALSE(err->Get(8).empty());
      ack.alert_rules.push_back(err->Get(5));
    } else {
      EXPECT_EQ(err->Get(4), "E");
      EXPECT_FALSE(err->Get(8).empty());
      ack.error_codes.push_back(err->Get(3));
    }
  }
  if (ack.code != "AA") {
    EXPECT_FALSE(ack.error_codes.empty());
  }
  return ack;
}

class Hl7ListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    StartNeedlecheckd(0);
  }

  // needlecheckd with the bundled knowledge base, on `port` (0: any).
  void StartNeedlecheckd(int port) {
    auto process = ServerProcess::Start(
        BinaryPath("service/needlecheckd"),
        {absl::StrCat("--listen=127.0.0.1:", port),
         "--data_dir=" + tmp_.Path("needlecheckd"), "--drain_seconds=5"});
    ASSERT_THAT(process.status(), IsOk());
    needlecheckd_ = *std::move(process);
  }

  void StopNeedlecheckd() {
    ASSERT_THAT(needlecheckd_->Signal(SIGTERM), IsOk());
    EXPECT_THAT(needlecheckd_->WaitForExit(), IsOk());
    needlecheckd_.reset();
  }

  // needlecheck-hl7 on a free port, talking to needlecheckd, state in the
  // test's data folder (or `store_args`).
  void StartListener(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0",
        absl::StrCat("--screening_service=127.0.0.1:", needlecheckd_port())};
    if (std::none_of(extra.begin(), extra.end(), [](const std::string& a) {
          return absl::StartsWith(a, "--state_store=");
        })) {
      args.push_back("--data_dir=" + tmp_.Path("hl7"));
    }
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = ServerProcess::Start(
        BinaryPath("adapters/hl7v2/needlecheck-hl7"), args);
    ASSERT_THAT(process.status(), IsOk());
    listener_ = *std::move(process);
    listener_args_ = std::move(extra);
  }

  // SIGTERM: the listener must exit 0.
  void StopListener() {
    ASSERT_THAT(listener_->Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code = listener_->WaitForExit();
    ASSERT_THAT(code.status(), IsOk());
    EXPECT_EQ(*code, 0) << listener_->output();
    listener_.reset();
  }

  int needlecheckd_port() const { return needlecheckd_->port(); }

  // One message on a connection of its own; the reply's payload.
  std::string Send(const std::string& message) {
    absl::StatusOr<std::unique_ptr<MllpClient>> client = MllpClient::Connect(
        absl::StrCat("127.0.0.1:", listener_->port()), MllpClientOptions());
    EXPECT_THAT(client.status(), IsOk());
    if (!client.ok()) return "";
    absl::StatusOr<std::string> reply = (*client)->Send(message);
    EXPECT_THAT(reply.status(), IsOk());
    return reply.ok() ? *reply : "";
  }

  ScopedTempDir tmp_;
  std::unique_ptr<ServerProcess> needlecheckd_;
  std::unique_ptr<ServerProcess> listener_;
  std::vector<std::string> listener_args_;
};

TEST_F(Hl7ListenerTest, EveryCorpusMessageGetsAWellFormedAckOnOneConnection) {
  const std::vector<std::filesystem::path> files = CorpusFiles();
  if (files.empty()) GTEST_SKIP() << "no shared corpus at " << CorpusDir();
  StartListener();
  absl::StatusOr<std::unique_ptr<MllpClient>> client = MllpClient::Connect(
      absl::StrCat("127.0.0.1:", listener_->port()), MllpClientOptions());
  ASSERT_THAT(client.status(), IsOk());
  std::map<std::string, int> codes;
  for (const std::filesystem::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string message = ::needlecheck::testing::ReadFile(file.string());
    absl::StatusOr<std::string> reply = (*client)->Send(message);
    ASSERT_THAT(reply.status(), IsOk()) << "the connection was dropped";
    const Ack ack = ReadAck(*reply);
    EXPECT_EQ(ack.control_id, RecoverControlId(message));
    ++codes[ack.code];
  }
  // The corpus holds ADT feeds the listener stores (AA) and types it does
  // not take (ORU, VXU, ...: AR).
  EXPECT_GT(codes["AA"], 0);
  EXPECT_GT(codes["AR"], 0);
  // Still open and answering.
  absl::StatusOr<std::string> last =
      (*client)->Send(TestMessage("derm_adt_a04.hl7"));
  ASSERT_THAT(last.status(), IsOk());
  EXPECT_EQ(ReadAck(*last).code, "AA");
  // No patient data in the log: the corpus patient's name never appears.
  EXPECT_THAT(listener_->output(), Not(HasSubstr("EVERYMAN")));
  EXPECT_THAT(listener_->output(), Not(HasSubstr("Testpatient")));
}

TEST_F(Hl7ListenerTest, DermatologyBookingGetsItsAlertsInTheAa) {
  StartListener();
  const Ack adt = ReadAck(Send(TestMessage("derm_adt_a04.hl7")));
  EXPECT_EQ(adt.code, "AA");
  EXPECT_EQ(adt.control_id, "DERM0001");
  const Ack siu = ReadAck(Send(TestMessage("derm_siu_s12.hl7")));
  EXPECT_EQ(siu.code, "AA");
  EXPECT_EQ(siu.control_id, "DERM0005");
  EXPECT_THAT(siu.alert_rules, IsSupersetOf(kDermatologyAlerts));
  // A booking that is not microneedling is acknowledged, not screened.
  const Ack consult = ReadAck(Send(TestMessage("derm_siu_s12_consult.hl7")));
  EXPECT_EQ(consult.code, "AA");
  EXPECT_TRUE(consult.alert_rules.empty());
  EXPECT_THAT(listener_->output(), Not(HasSubstr("Testpatient")));
  EXPECT_THAT(listener_->output(), Not(HasSubstr("100234")));
  EXPECT_THAT(listener_->output(), Not(HasSubstr("idocaine")));
}

TEST_F(Hl7ListenerTest, SplitAndCoalescedFramesAndEscapes) {
  StartListener();
  // One frame written a few bytes at a time.
  const std::string adt = MllpFrame(TestMessage("derm_adt_a04.hl7"));
  RawPeer split(listener_->port());
  ASSERT_TRUE(split.connected());
  for (size_t i = 0; i < adt.size(); i += 7) {
    ASSERT_TRUE(split.Write(absl::string_view(adt).substr(i, 7)));
  }
  std::vector<std::string> replies = split.ReadFrames(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(ReadAck(replies[0]).code, "AA");

  // Three frames in one write, answered in order; the last control id
  // holds escaped delimiters, decoded after splitting and escaped again in
  // MSA-2.
  const std::string siu = TestMessage("derm_siu_s12.hl7");
  RawPeer coalesced(listener_->port());
  ASSERT_TRUE(coalesced.connected());
  ASSERT_TRUE(coalesced.Write(
      absl::StrCat(MllpFrame(WithControlId(siu, "CO-1")),
                   MllpFrame(WithControlId(siu, "CO-2")),
                   MllpFrame(WithControlId(siu, R"(CO\F\3\S\x\E\)")))));
  replies = coalesced.ReadFrames(3);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(ReadAck(replies[0]).control_id, "CO-1");
  EXPECT_EQ(ReadAck(replies[1]).control_id, "CO-2");
  const Ack escaped = ReadAck(replies[2]);
  EXPECT_EQ(escaped.control_id, R"(CO|3^x\)");
  EXPECT_THAT(escaped.raw, HasSubstr(R"(MSA|AA|CO\F\3\S\x\E\|)"));
  for (const std::string& reply : replies) {
    EXPECT_THAT(ReadAck(reply).alert_rules, IsSupersetOf(kDermatologyAlerts));
  }
}

TEST_F(Hl7ListenerTest, FramingErrorsGetAnArAndTheConnectionStaysInSync) {
  StartListener({"--max_frame_bytes=4096"});
  RawPeer peer(listener_->port());
  ASSERT_TRUE(peer.connected());
  const std::string adt = TestMessage("derm_adt_a04.hl7");
  // Oversized: MSA-2 recovered from the frame's first bytes, code 104.
  const std::string big =
      WithControlId(adt, "BIG-1") + "NTE|1||" + std::string(8000, 'x') + "\r";
  ASSERT_TRUE(peer.Write(MllpFrame(big)));
  // Interrupted by a new start block, then a good frame.
  ASSERT_TRUE(peer.Write(
      absl::StrCat("\x0b", WithControlId(adt, "CUT-1").substr(0, 100),
                   MllpFrame(WithControlId(adt, "OK-1")))));
  // An end block without its carriage return.
  ASSERT_TRUE(
      peer.Write(absl::StrCat("\x0b", WithControlId(adt, "TRAIL-1"), "\x1cX")));
  ASSERT_TRUE(peer.Write(MllpFrame(WithControlId(adt, "OK-2"))));
  const std::vector<std::string> replies = peer.ReadFrames(5);
  ASSERT_EQ(replies.size(), 5u);
  const Ack oversized = ReadAck(replies[0]);
  EXPECT_EQ(oversized.code, "AR");
  EXPECT_EQ(oversized.control_id, "BIG-1");
  EXPECT_THAT(oversized.error_codes, ::testing::ElementsAre("104"));
  const Ack cut = ReadAck(replies[1]);
  EXPECT_EQ(cut.code, "AR");
  EXPECT_EQ(cut.control_id, "CUT-1");
  EXPECT_THAT(cut.error_codes, ::testing::ElementsAre("100"));
  EXPECT_EQ(ReadAck(replies[2]).control_id, "OK-1");
  EXPECT_EQ(ReadAck(replies[2]).code, "AA");
  const Ack trailer = ReadAck(replies[3]);
  EXPECT_EQ(trailer.code, "AR");
  EXPECT_EQ(trailer.control_id, "TRAIL-1");
  EXPECT_EQ(ReadAck(replies[4]).control_id, "OK-2");
  EXPECT_EQ(ReadAck(replies[4]).code, "AA");
  // Unparseable bytes in a frame: AR, MSA-2 recovered.
  ASSERT_TRUE(peer.Write(MllpFrame("MSH|^~\\&|A|B|C|D|x||ADT^A01|BAD-1\rZZ")));
  const std::vector<std::string> bad = peer.ReadFrames(1);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(ReadAck(bad[0]).code, "AR");
  EXPECT_EQ(ReadAck(bad[0]).control_id, "BAD-1");
  // The peer half-closes inside a frame: the partial message gets an AR
  // before the connection closes.
  ASSERT_TRUE(peer.Write(absl::StrCat("\x0b", WithControlId(adt, "HALF-1"))));
  ASSERT_EQ(shutdown(peer.fd(), SHUT_WR), 0);
  const std::vector<std::string> half = peer.ReadFrames(1);
  ASSERT_EQ(half.size(), 1u);
  EXPECT_EQ(ReadAck(half[0]).code, "AR");
  EXPECT_EQ(ReadAck(half[0]).control_id, "HALF-1");
  EXPECT_THAT(ReadAck(half[0]).error_codes, ::testing::ElementsAre("100"));
  EXPECT_TRUE(peer.ClosedByServer());
}

TEST_F(Hl7ListenerTest, RestartBetweenAdtAndSiuKeepsTheState) {
  StartListener();
  EXPECT_EQ(ReadAck(Send(TestMessage("derm_adt_a04.hl7"))).code, "AA");
  StopListener();  // SIGTERM: exit 0
  StartListener();
  const Ack siu = ReadAck(Send(TestMessage("derm_siu_s12.hl7")));
  EXPECT_EQ(siu.code, "AA");
  EXPECT_THAT(siu.alert_rules, IsSupersetOf(kDermatologyAlerts));
}

TEST_F(Hl7ListenerTest, DuplicateGetsTheSameAckAndChangesNothing) {
  StartListener();
  const std::string a04 = TestMessage("derm_adt_a04.hl7");
  const std::string first = Send(a04);
  EXPECT_EQ(ReadAck(first).code, "AA");
  EXPECT_EQ(Send(a04), first);  // byte for byte
  // A later A08 replaces the diagnoses (no eczema any more); the resent
  // A04 must not bring the eczema back.
  EXPECT_EQ(ReadAck(Send(TestMessage("derm_adt_a08.hl7"))).code, "AA");
  EXPECT_EQ(Send(a04), first);
  StopListener();
  StartListener();
  EXPECT_EQ(Send(a04), first);  // also after a restart
  const Ack siu = ReadAck(Send(TestMessage("derm_siu_s12.hl7")));
  EXPECT_EQ(siu.code, "AA");
  EXPECT_THAT(siu.alert_rules, Not(::testing::Contains("MN-CI-ECZEMA")));
  EXPECT_THAT(siu.alert_rules, IsSupersetOf({"MN-CI-ACNE", "MN-CI-ROSACEA",
                                             "MN-FREQ-INTERVAL"}));
  // The booking's answer is stored too: its resend is not screened again.
  EXPECT_EQ(Send(TestMessage("derm_siu_s12.hl7")), siu.raw);
}

// MLLP peers resend what they got no ACK for; what they did get an AA for
// must never be lost, however the listener stops.
TEST_F(Hl7ListenerTest, EveryAckSentBeforeSigtermOrSigkillSurvivesIt) {
  const std::string a04 = TestMessage("derm_adt_a04.hl7");
  for (const int signal : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(signal);
    StartListener();
    const std::string prefix = absl::StrCat("SIG", signal, "-");
    std::string frames;
    constexpr int kMessages = 40;
    for (int i = 0; i < kMessages; ++i) {
      frames += MllpFrame(WithControlId(a04, absl::StrCat(prefix, i)));
    }
    RawPeer peer(listener_->port());
    ASSERT_TRUE(peer.connected());
    ASSERT_TRUE(peer.Write(frames));
    std::vector<std::string> replies = peer.ReadFrames(5);
    ASSERT_GE(replies.size(), 5u);  // one read may bring more
    ASSERT_THAT(listener_->Signal(signal), IsOk());
    // Whatever else comes before the connection closes is a whole ACK.
    for (std::string& reply : peer.ReadFrames(kMessages)) {
      replies.push_back(std::move(reply));
    }
    absl::StatusOr<int> code = listener_->WaitForExit();
    ASSERT_THAT(code.status(), IsOk());
    EXPECT_EQ(*code, signal == SIGTERM ? 0 : 128 + SIGKILL);
    listener_.reset();
    // Every ACK that reached the peer was recorded first: after a restart
    // the resend gets it again, byte for byte.
    StartListener();
    for (size_t i = 0; i < replies.size(); ++i) {
      const Ack ack = ReadAck(replies[i]);
      EXPECT_EQ(ack.code, "AA");
      EXPECT_EQ(ack.control_id, absl::StrCat(prefix, i));
      EXPECT_EQ(Send(WithControlId(a04, ack.control_id)), replies[i]) << i;
    }
    StopListener();
  }
}

TEST_F(Hl7ListenerTest, MergeBringsThePriorRecordToTheSurvivingPatient) {
  StartListener();
  // The ADT feed came under an old number (100999); the booking names the
  // surviving one (100234) only after ADT^A40 merged them.
  const std::string prior = absl::StrReplaceAll(
      TestMessage("derm_adt_a04.hl7"),
      {{"100234^^^SKINCLINIC&1.2.3.4&ISO^MR~P-778^^^PAYER^PI",
        "100999^^^SKINCLINIC&1.2.3.4&ISO^MR"}});
  ASSERT_THAT(prior, HasSubstr("100999"));
  EXPECT_EQ(ReadAck(Send(prior)).code, "AA");
  const std::string siu = TestMessage("derm_siu_s12.hl7");
  const Ack before = ReadAck(Send(WithControlId(siu, "BEFORE-MERGE")));
  EXPECT_EQ(before.code, "AA");
  EXPECT_THAT(before.alert_rules, Not(::testing::Contains("MN-FREQ-INTERVAL")));
  const Ack merge = ReadAck(Send(TestMessage("derm_adt_a40.hl7")));
  EXPECT_EQ(merge.code, "AA");
  const Ack after = ReadAck(Send(siu));
  EXPECT_EQ(after.code, "AA");
  EXPECT_THAT(after.alert_rules, IsSupersetOf(kDermatologyAlerts));
}

TEST_F(Hl7ListenerTest, IdentifiersNamingTwoPatientsGetAnAr205) {
  StartListener();
  const std::string a04 = TestMessage("derm_adt_a04.hl7");
  EXPECT_EQ(ReadAck(Send(a04)).code, "AA");
  const std::string other = absl::StrReplaceAll(
      WithControlId(a04, "OTHER-1"),
      {{"100234^^^SKINCLINIC&1.2.3.4&ISO^MR~P-778^^^PAYER^PI",
        "200000^^^SKINCLINIC&1.2.3.4&ISO^MR"}});
  EXPECT_EQ(ReadAck(Send(other)).code, "AA");
  const std::string both = absl::StrReplaceAll(
      WithControlId(a04, "BOTH-1"),
      {{"100234^^^SKINCLINIC&1.2.3.4&ISO^MR~P-778^^^PAYER^PI",
        "100234^^^SKINCLINIC&1.2.3.4&ISO^MR~200000^^^SKINCLINIC&1.2.3.4&ISO^"
        "MR"}});
  const Ack ack = ReadAck(Send(both));
  EXPECT_EQ(ack.code, "AR");
  EXPECT_THAT(ack.error_codes, ::testing::ElementsAre("205"));
  EXPECT_THAT(ack.raw, HasSubstr("ERR||PID^1^3|205^"));
  EXPECT_THAT(ack.raw, Not(HasSubstr("200000")));
}

TEST_F(Hl7ListenerTest, NeedlecheckdDownGivesAeAndTheResendAnAaOnceItIsBack) {
  StartListener();
  EXPECT_EQ(ReadAck(Send(TestMessage("derm_adt_a04.hl7"))).code, "AA");
  const int port = needlecheckd_port();
  StopNeedlecheckd();
  const std::string siu = TestMessage("derm_siu_s12.hl7");
  const Ack down = ReadAck(Send(siu));
  EXPECT_EQ(down.code, "AE");
  EXPECT_THAT(down.error_codes, ::testing::ElementsAre("207"));
  EXPECT_EQ(down.control_id, "DERM0005");
  // ADT feeds are still taken while needlecheckd is away.
  EXPECT_EQ(ReadAck(Send(WithControlId(TestMessage("derm_adt_a04.hl7"),
                                       "DERM0001-AGAIN")))
                .code,
            "AA");

  StartNeedlecheckd(port);
  // The interface engine resends the same message (same MSH-10) until it
  // gets an AA; the AE was not recorded, so it is screened now.
  Ack back;
  const absl::Time deadline = absl::Now() + kPatience;
  do {
    back = ReadAck(Send(siu));
    if (back.code == "AA") break;
    absl::SleepFor(absl::Milliseconds(500));
  } while (absl::Now() < deadline);
  EXPECT_EQ(back.code, "AA");
  EXPECT_THAT(back.alert_rules,
              IsSupersetOf({"MN-ALLERGY-ANESTHETIC", "MN-FREQ-INTERVAL"}));
}

TEST_F(Hl7ListenerTest, BookingsGetAeUntilTheKnowledgeBaseArrives) {
  // needlecheckd is not there when the listener starts: ADT feeds are
  // stored, bookings wait (AE) for the knowledge base, which the listener
  // fetches in the background once needlecheckd comes up.
  const int port = needlecheckd_port();
  StopNeedlecheckd();
  std::vector<std::string> args = {
      "--listen=127.0.0.1:0",
      absl::StrCat("--screening_service=127.0.0.1:", port),
      "--data_dir=" + tmp_.Path("hl7")};
  auto process =
      ServerProcess::Start(BinaryPath("adapters/hl7v2/needlecheck-hl7"), args);
  ASSERT_THAT(process.status(), IsOk());
  listener_ = *std::move(process);
  EXPECT_EQ(ReadAck(Send(TestMessage("derm_adt_a04.hl7"))).code, "AA");
  const std::string siu = TestMessage("derm_siu_s12.hl7");
  const Ack early = ReadAck(Send(siu));
  EXPECT_EQ(early.code, "AE");
  EXPECT_THAT(early.raw, HasSubstr("no knowledge base"));
  StartNeedlecheckd(port);
  ASSERT_TRUE(listener_->WaitForOutput("event=knowledge_base loaded"));
  const Ack late = ReadAck(Send(siu));
  EXPECT_EQ(late.code, "AA");
  EXPECT_THAT(late.alert_rules, IsSupersetOf(kDermatologyAlerts));
}

// What needlecheckd refuses (the mapping keeps such values out of its
// requests): INVALID_ARGUMENT carrying only the field paths of the
// BadRequest, which the processor puts in an AR's ERR-8.
TEST_F(Hl7ListenerTest, ScreeningClientReportsRejectedFieldPathsOnly) {
  std::unique_ptr<ScreeningClient> client = NewGrpcScreeningClient(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", needlecheckd_port()),
                          grpc::InsecureChannelCredentials()));
  needlecheck::v1::ScreenRequest request;
  request.mutable_record()->set_birth_date("Testpatient-not-a-date");
  request.mutable_session()->set_date("2026-11-09");
  needlecheck::v1::AreaPlan* area = request.mutable_session()->add_areas();
  area->set_area(needlecheck::v1::TREATMENT_AREA_CHEEKS);
  area->set_needle_depth_mm(9);
  absl::StatusOr<needlecheck::v1::ScreenResponse> response =
      client->Screen(request, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(absl::IsInvalidArgument(response.status())) << response.status();
  EXPECT_THAT(response.status().message(),
              HasSubstr("session.areas[0].needle_depth_mm"));
  EXPECT_THAT(response.status().message(), HasSubstr("record.birth_date"));
  EXPECT_THAT(response.status().message(), Not(HasSubstr("Testpatient")));
  absl::StatusOr<needlecheck::v1::KnowledgeBase> kb =
      client->GetKnowledgeBase(absl::Now() + absl::Seconds(30));
  ASSERT_THAT(kb.status(), IsOk());
  EXPECT_FALSE(kb->definition().microneedling_value_set().empty());
}

TEST_F(Hl7ListenerTest, MutualTlsOnTheMllpSocket) {
  absl::StatusOr<::needlecheck::testing::TlsTestCerts> pki =
      ::needlecheck::testing::CreateTlsTestCerts(tmp_.path());
  ASSERT_THAT(pki.status(), IsOk());
  StartListener({"--tls_cert=" + pki->server_cert,
                 "--tls_key=" + pki->server_key,
                 "--tls_client_ca=" + pki->ca_cert});
  EXPECT_THAT(listener_->output(), HasSubstr("(mllp+tls)"));
  MllpClientOptions options;
  options.tls_ca_file = pki->ca_cert;
  options.tls_cert_file = pki->client_cert;
  options.tls_key_file = pki->client_key;
  options.tls_server_name = "localhost";
  const std::string address = absl::StrCat("127.0.0.1:", listener_->port());
  absl::StatusOr<std::unique_ptr<MllpClient>> client =
      MllpClient::Connect(address, options);
  ASSERT_THAT(client.status(), IsOk());
  absl::StatusOr<std::string> adt =
      (*client)->Send(TestMessage("derm_adt_a04.hl7"));
  ASSERT_THAT(adt.status(), IsOk());
  EXPECT_EQ(ReadAck(*adt).code, "AA");
  absl::StatusOr<std::string> siu =
      (*client)->Send(TestMessage("derm_siu_s12.hl7"));
  ASSERT_THAT(siu.status(), IsOk());
  EXPECT_THAT(ReadAck(*siu).alert_rules, IsSupersetOf(kDermatologyAlerts));
  // Without a client certificate: no answer.
  MllpClientOptions anonymous = options;
  anonymous.tls_cert_file.clear();
  anonymous.tls_key_file.clear();
  absl::StatusOr<std::unique_ptr<MllpClient>> refused =
      MllpClient::Connect(address, anonymous);
  if (refused.ok()) {
    EXPECT_FALSE((*refused)->Send(TestMessage("derm_adt_a04.hl7")).ok());
  }
}

// An MLLP receiver for --alerts_to: answers the i-th message with
// codes[i] (the last code for the rest), and keeps what it got.
class AlertsReceiver {
 public:
  AlertsReceiver(int port, std::vector<std::string> codes) : codes_(codes) {
    MllpServerOptions options;
    options.listen = absl::StrCat("127.0.0.1:", port);
    auto server = MllpServer::Start(
        options, [this](const MllpEvent& event, const MllpPeer&) {
          absl::MutexLock lock(&mu_);
          if (event.kind != MllpEventKind::kMessage) return std::string();
          received_.push_back(event.payload);
          const std::string code =
              codes_[std::min(received_.size(), codes_.size()) - 1];
          absl::StatusOr<Er7Message> m = Er7Message::Parse(event.payload);
          return absl::StrCat(
              "MSH|^~\\&|RECEIVER||NEEDLECHECK||20261201000000||ACK^R01^ACK|R-",
              received_.size(), "|P|2.5.1\rMSA|", code, "|",
              m.ok() ? m->header().control_id : "", "\r");
        });
    EXPECT_THAT(server.status(), IsOk());
    if (server.ok()) server_ = *std::move(server);
  }

  // Waits (bounded) until `n` messages came; all of them.
  std::vector<std::string> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return received_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kPatience);
    return received_;
  }

 private:
  const std::vector<std::string> codes_;
  absl::Mutex mu_;
  std::vector<std::string> received_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<MllpServer> server_;
};

TEST_F(Hl7ListenerTest, AlertsGoToTheReceiverAsOruWithRetry) {
  const int receiver_port = FreePort();
  StartListener({absl::StrCat("--alerts_to=127.0.0.1:", receiver_port),
                 "--metrics_listen=127.0.0.1:0"});
  EXPECT_EQ(ReadAck(Send(TestMessage("derm_adt_a04.hl7"))).code, "AA");
  const Ack siu = ReadAck(Send(TestMessage("derm_siu_s12.hl7")));
  ASSERT_EQ(siu.code, "AA");
  ASSERT_FALSE(siu.alert_rules.empty());
  // The receiver starts late: the ORU waits in the outbox (the sender
  // retries with back-off), then is refused once with AE and resent.
  ASSERT_TRUE(listener_->WaitForOutput("result=retry cause=connect"));
  AlertsReceiver receiver(receiver_port, {"AE", "AA"});
  const std::vector<std::string> got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], got[1]);  // the same message again after the AE
  ASSERT_TRUE(listener_->WaitForOutput("result=delivered"));

  absl::StatusOr<Er7Message> oru = Er7Message::Parse(got[1]);
  ASSERT_THAT(oru.status(), IsOk());
  EXPECT_THAT(ValidateHeader(*oru), IsOk());
  EXPECT_EQ(oru->Get("MSH-9"), "ORU");
  EXPECT_EQ(oru->Get("MSH-9.2"), "R01");
  EXPECT_EQ(oru->Get("MSH-5"), "DERMSCHED");
  EXPECT_EQ(oru->Get("PID-3.1"), "100234");
  EXPECT_EQ(oru->Get("OBR-2"), "APT-5001");
  EXPECT_EQ(oru->Get("OBR-4"), "MN-FACE");
  EXPECT_EQ(oru->Get("OBR-7"), "20261109");
  std::vector<std::string> obx_rules;
  for (const Er7Segment* obx : oru->FindAll("OBX")) {
    obx_rules.push_back(obx->Get(3));
    EXPECT_EQ(obx->Get(2), "TX");
    EXPECT_EQ(obx->Get(3, 1, 3), "urn:needlecheck:rule");
    EXPECT_FALSE(obx->Get(3, 1, 2).empty());
    EXPECT_THAT(obx->Get(5), AnyOf(HasSubstr("CRITICAL"), HasSubstr("WARNING"),
                                   HasSubstr("INFO")));
    EXPECT_EQ(obx->Get(11), "F");
  }
  EXPECT_EQ(obx_rules, siu.alert_rules);

  // The metrics counted the messages and the deliveries.
  std::string metrics_address;
  const std::string output = listener_->output();
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    const std::string marker = "metrics at http://";
    if (const size_t at = line.find(marker); at != std::string::npos) {
      metrics_address = std::string(line.substr(at + marker.size()));
    }
  }
  ASSERT_FALSE(metrics_address.empty());
  const auto scrape =
      ::needlecheck::testing::Http("GET", "http://" + metrics_address);
  EXPECT_EQ(scrape.status, 200);
  EXPECT_THAT(
      scrape.body,
      HasSubstr(
          R"(needlecheck_hl7_messages_total{kind="booking",outcome="AA"} 1)"));
  EXPECT_THAT(
      scrape.body,
      HasSubstr(R"(needlecheck_hl7_outbound_total{result="delivered"} 1)"));
  EXPECT_THAT(scrape.body,
              HasSubstr(R"(needlecheck_hl7_outbound_total{result="retried"})"));
  EXPECT_THAT(scrape.body, HasSubstr("needlecheck_hl7_outbox_depth 0"));
  EXPECT_THAT(scrape.body, Not(HasSubstr("100234")));
  StopListener();
}

TEST_F(Hl7ListenerTest, OruTheReceiverRejectsIsGivenUpAndTheQueueMovesOn) {
  const int receiver_port = FreePort();
  AlertsReceiver receiver(receiver_port, {"AR", "AA"});
  StartListener({absl::StrCat("--alerts_to=127.0.0.1:", receiver_port)});
  EXPECT_EQ(ReadAck(Send(TestMessage("derm_adt_a04.hl7"))).code, "AA");
  const std::string siu = TestMessage("derm_siu_s12.hl7");
  EXPECT_EQ(ReadAck(Send(siu)).code, "AA");
  ASSERT_TRUE(listener_->WaitForOutput("result=rejected ack=AR (given up)"));
  EXPECT_EQ(ReadAck(Send(WithControlId(siu, "DERM0005-B"))).code, "AA");
  ASSERT_TRUE(listener_->WaitForOutput("result=delivered ack=AA"));
  // Each ORU went once: the refused one was not sent again.
  const std::vector<std::string> got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0], got[1]);
  StopListener();
  EXPECT_EQ(receiver.WaitFor(2).size(), 2u);
}

TEST_F(Hl7ListenerTest, PostgresStateStoreKeepsStateAcrossRestarts) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
      PostgresCluster::Create();
  ASSERT_THAT(pg.status(), IsOk());
  const std::vector<std::string> args = {"--state_store=postgres",
                                         "--state_dsn=" + (*pg)->Dsn()};
  StartListener(args);
  const std::string a04 = TestMessage("derm_adt_a04.hl7");
  const std::string first = Send(a04);
  EXPECT_EQ(ReadAck(first).code, "AA");
  StopListener();
  StartListener(args);
  EXPECT_EQ(Send(a04), first);
  const Ack siu = ReadAck(Send(TestMessage("derm_siu_s12.hl7")));
  EXPECT_EQ(siu.code, "AA");
  EXPECT_THAT(siu.alert_rules, IsSupersetOf(kDermatologyAlerts));
  absl::StatusOr<std::string> tables = (*pg)->Sql(
      "SELECT COUNT(*) FROM information_schema.tables WHERE table_name LIKE "
      "'hl7\\_%'");
  ASSERT_THAT(tables.status(), IsOk());
  EXPECT_NE(absl::StripAsciiWhitespace(*tables), "0");
}

// Debian's python3-hl7 `mllp_send` as the peer: it reads MLLP-framed
// messages from a file, sends each on one connection and prints each reply.
TEST_F(Hl7ListenerTest, MllpSendFromPython3Hl7GetsAnAckForEveryMessage) {
  if (access("/usr/bin/mllp_send", X_OK) != 0) {
    if (const char* ci = std::getenv("CI");
        ci != nullptr && std::string(ci) == "true") {
      FAIL() << "mllp_send (python3-hl7) is not installed";
    }
    GTEST_SKIP() << "mllp_send (python3-hl7) is not installed";
  }
  std::vector<std::string> messages = {TestMessage("derm_adt_a04.hl7"),
                                       TestMessage("derm_siu_s12.hl7")};
  for (const std::filesystem::path& file : CorpusFiles()) {
    messages.push_back(::needlecheck::testing::ReadFile(file.string()));
  }
  std::string framed;
  for (const std::string& m : messages) framed += MllpFrame(m);
  const std::string input = tmp_.WriteFile("messages.mllp", framed);
  ASSERT_FALSE(input.empty());
  StartListener();
  const std::string command =
      absl::StrCat("mllp_send --file ", input, " --port ", listener_->port(),
                   " 127.0.0.1 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << output;
  // Each reply as printed: the framed ACK and a newline.
  MllpDeframer deframer;
  std::vector<MllpEvent> events;
  deframer.Feed(output, &events);
  std::vector<Ack> acks;
  for (const MllpEvent& e : events) {
    if (e.kind == MllpEventKind::kMessage) acks.push_back(ReadAck(e.payload));
  }
  ASSERT_EQ(acks.size(), messages.size()) << output;
  EXPECT_EQ(acks[0].code, "AA");
  EXPECT_EQ(acks[1].code, "AA");
  EXPECT_THAT(acks[1].alert_rules, IsSupersetOf(kDermatologyAlerts));
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(acks[i].control_id, RecoverControlId(messages[i])) << i;
  }
}

}  // namespace
}  // namespace needlecheck::hl7v2
