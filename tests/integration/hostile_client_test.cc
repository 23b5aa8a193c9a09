// Hostile and careless clients against the real needlecheckd on
// 127.0.0.1:0: a record with hundreds of problems, bytes that are not a
// protobuf message (sent raw through grpc::GenericStub), thousands of idle
// streams on one connection, and a caller-chosen request id that must never
// reach the log.
//
// Every wait is bounded and generous; the memory bounds are loose (tens of
// MB of headroom) and only catch growth with the number of streams.
#include <openssl/sha.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::needlecheck::v1::ScreenRequest;
using ::needlecheck::v1::ScreenResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kScreenMethod[] = "/needlecheck.v1.ScreeningService/Screen";
constexpr char kScreenStreamMethod[] =
    "/needlecheck.v1.ScreeningService/ScreenStream";
constexpr char kAuditMethod[] = "/needlecheck.v1.ScreeningService/Audit";
constexpr char kKbMethod[] =
    "/needlecheck.v1.ScreeningService/GetKnowledgeBase";

// Not a protobuf message: field 1 announces 16 bytes, 3 follow.
constexpr char kGarbage[] =
    "\x0a\x10"
    "abc";

std::chrono::system_clock::time_point Deadline(int seconds = 60) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// A valid request for 2026-12-01 with `conditions` conditions whose onset
// is `onset`.
ScreenRequest Request(const std::string& id, int conditions,
                      const std::string& onset) {
  ScreenRequest request;
  request.set_request_id(id);
  request.mutable_record()->set_patient_id("p-hostile");
  request.mutable_record()->set_no_known_allergies(true);
  for (int i = 0; i < conditions; ++i) {
    auto* c = request.mutable_record()->add_conditions();
    c->set_id(absl::StrCat("c", i));
    c->mutable_code()->set_text("eczema");
    c->set_clinical_status("active");
    c->set_onset(onset);
  }
  request.mutable_session()->set_date("2026-12-01");
  auto* area = request.mutable_session()->add_areas();
  area->set_area(needlecheck::v1::TREATMENT_AREA_CHEEKS);
  area->set_needle_depth_mm(0.5);
  return request;
}

grpc::ByteBuffer Bytes(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

// Waits for the next event on `cq` (bounded); its ok flag, false on timeout.
bool Await(grpc::CompletionQueue* cq, void* expected_tag) {
  void* tag = nullptr;
  bool ok = false;
  const grpc::CompletionQueue::NextStatus status =
      cq->AsyncNext(&tag, &ok, Deadline());
  EXPECT_EQ(status, grpc::CompletionQueue::GOT_EVENT);
  EXPECT_EQ(tag, expected_tag);
  return status == grpc::CompletionQueue::GOT_EVENT && ok;
}

// One unary call with raw bytes as the request.
grpc::Status RawUnary(grpc::Channel* channel, const std::string& method,
                      const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel->shared_from_this());
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::CompletionQueue cq;
  const grpc::ByteBuffer request_bytes = Bytes(request);
  auto call = stub.PrepareUnaryCall(&context, method, request_bytes, &cq);
  call->StartCall();
  grpc::ByteBuffer response_bytes;
  grpc::Status status;
  call->Finish(&response_bytes, &status, reinterpret_cast<void*>(1));
  Await(&cq, reinterpret_cast<void*>(1));
  if (status.ok()) *response = ToString(response_bytes);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

// A bidi stream with raw bytes as its messages: writes every message (until
// a write fails), half-closes, reads every response, and returns the
// status.
grpc::Status RawStream(grpc::Channel* channel, const std::string& method,
                       const std::vector<std::string>& messages,
                       std::vector<std::string>* responses) {
  grpc::GenericStub stub(channel->shared_from_this());
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::CompletionQueue cq;
  void* const tag = reinterpret_cast<void*>(7);
  auto call = stub.PrepareCall(&context, method, &cq);
  call->StartCall(tag);
  EXPECT_TRUE(Await(&cq, tag));
  for (const std::string& m : messages) {
    call->Write(Bytes(m), tag);
    if (!Await(&cq, tag)) break;
  }
  call->WritesDone(tag);
  Await(&cq, tag);
  while (true) {
    grpc::ByteBuffer response;
    call->Read(&response, tag);
    if (!Await(&cq, tag)) break;
    responses->push_back(ToString(response));
  }
  grpc::Status status;
  call->Finish(&status, tag);
  Await(&cq, tag);
  cq.Shutdown();
  void* t;
  bool ok;
  while (cq.Next(&t, &ok)) {
  }
  return status;
}

std::vector<google::rpc::BadRequest::FieldViolation> Violations(
    const grpc::Status& status) {
  std::vector<google::rpc::BadRequest::FieldViolation> out;
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()))
      << "no google.rpc.Status in the trailers";
  for (const google::protobuf::Any& any : rpc.details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    out.assign(bad_request.field_violations().begin(),
               bad_request.field_violations().end());
  }
  return out;
}

// The lines of `log` that contain `text`.
std::vector<std::string> LinesWith(const std::string& log,
                                   const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, text)) out.emplace_back(line);
  }
  return out;
}

// The resident set size of process `pid`, in KiB (-1 if unknown).
int64_t RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "VmRSS:")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = -1;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib;
  }
  return -1;
}

std::string Sha256Prefix(const std::string& s) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

class HostileClientTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra_args = {}) {
    ASSERT_FALSE(dir_.path().empty());
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--data_dir=" + dir_.Path("data"),
                                     "--drain_seconds=5"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto process =
        ServerProcess::Start(BinaryPath("service/needlecheckd"), args);
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
    channel_ = NewChannel();
    stub_ = v1::ScreeningService::NewStub(channel_);
  }

  // A channel of its own (a separate connection), default settings.
  std::shared_ptr<grpc::Channel> NewChannel() {
    grpc::ChannelArguments args;
    args.SetInt("needlecheck.test.unique", ++channels_);
    return grpc::CreateCustomChannel(server_->address(),
                                     grpc::InsecureChannelCredentials(), args);
  }

  grpc::Status Screen(v1::ScreeningService::Stub* stub,
                      const ScreenRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    ScreenResponse response;
    return stub->Screen(&context, request, &response);
  }

  int Stop() {
    stub_.reset();
    channel_.reset();
    EXPECT_THAT(server_->Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(120));
    EXPECT_THAT(code, IsOk());
    return code.ok() ? *code : -1;
  }

  ::needlecheck::testing::ScopedTempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ScreeningService::Stub> stub_;
  int channels_ = 0;
};

// 200 conditions with a bad onset: 200 violations. Sent in full they
// exceed a default client's 8 KiB of metadata, and the client sees
// RESOURCE_EXHAUSTED instead of INVALID_ARGUMENT.
TEST_F(HostileClientTest, TwoHundredViolationsStayInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const size_t mark = server_->output_size();
  const grpc::Status status =
      Screen(stub_.get(), Request("many-bad", 200, "2026-13-45"));
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  const auto violations = Violations(status);
  ASSERT_GE(violations.size(), 2u);
  EXPECT_LE(violations.size(), 21u);
  EXPECT_EQ(violations[0].field(), "record.conditions[0].onset");
  EXPECT_EQ(violations.back().field(), "...");
  EXPECT_THAT(violations.back().description(), HasSubstr("more"));
  EXPECT_THAT(status.error_message(), HasSubstr("more"));

  // The stream path carries the same bounded details.
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub_->ScreenStream(&context);
  ASSERT_TRUE(stream->Write(Request("many-bad-stream", 200, "2026-13-45")));
  stream->WritesDone();
  ScreenResponse response;
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status stream_status = stream->Finish();
  EXPECT_EQ(stream_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << stream_status.error_message();
  EXPECT_LE(Violations(stream_status).size(), 21u);

  // The log lines stay short.
  ASSERT_TRUE(server_->WaitForOutput("stream_index=0", mark));
  const std::vector<std::string> lines =
      LinesWith(server_->output().substr(mark), "event=screen_failed");
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) EXPECT_LT(line.size(), 2048u) << line;
}

TEST_F(HostileClientTest, UnparseableUnaryRequestIsInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::string response;
  grpc::Status status =
      RawUnary(channel_.get(), kScreenMethod, kGarbage, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("could not be parsed as needlecheck.v1.ScreenRequest"));
  status = RawUnary(channel_.get(), kKbMethod, kGarbage, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();

  // Valid bytes through the same raw path still work.
  std::string valid;
  ASSERT_TRUE(Request("raw-ok", 1, "2026-01-10").SerializeToString(&valid));
  status = RawUnary(channel_.get(), kScreenMethod, valid, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ScreenResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(response));
  EXPECT_EQ(parsed.request_id(), "raw-ok");
  EXPECT_TRUE(server_->WaitForOutput("event=request_unparseable"))
      << server_->output();
}

// The raw handlers see messages after gRPC has decompressed them.
TEST_F(HostileClientTest, CompressedRequestsAreParsed) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  ScreenRequest request = Request("gzip", 1, "2026-01-10");
  request.mutable_record()->mutable_conditions(0)->mutable_code()->set_text(
      std::string(64 * 1024, 'e'));  // compresses well
  ScreenResponse response;
  const grpc::Status status = stub_->Screen(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.request_id(), "gzip");
}

TEST_F(HostileClientTest, UnparseableStreamMessageIsInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::string valid;
  ASSERT_TRUE(Request("s", 1, "2026-01-10").SerializeToString(&valid));
  std::vector<std::string> responses;
  const grpc::Status status =
      RawStream(channel_.get(), kScreenStreamMethod,
                {valid, valid, kGarbage, valid}, &responses);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("message 3 of the stream could not be parsed"));
  EXPECT_EQ(responses.size(), 2u);
}

TEST_F(HostileClientTest, UnparseableAuditMessageIsInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  v1::AuditRequest request;
  request.set_request_id("a");
  request.mutable_record()->set_patient_id("p-audit");
  std::string valid;
  ASSERT_TRUE(request.SerializeToString(&valid));
  std::vector<std::string> responses;
  const grpc::Status status = RawStream(channel_.get(), kAuditMethod,
                                        {valid, kGarbage, valid}, &responses);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("message 2 of the stream could not be parsed as "
                        "needlecheck.v1.AuditRequest"));
  // The first record (no sessions) got its end-of-record marker.
  EXPECT_EQ(responses.size(), 1u);
}

// 5,000 idle ScreenStream calls on one connection: the server holds at most
// --max_concurrent_streams (256 by default) of them, so its memory stays
// bounded, and a fresh client is still answered. (A gRPC client, which
// honours the server's SETTINGS; gRPC 1.51 does not bind a hand-made client
// that never acknowledges them, see the README.)
TEST_F(HostileClientTest, ManyIdleStreamsOnOneConnectionStayBounded) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_TRUE(Screen(stub_.get(), Request("warm-up", 1, "2026-01-10")).ok());
  const int64_t rss_before = RssKib(server_->pid());
  ASSERT_GT(rss_before, 0);

  constexpr int kStreams = 5000;
  {
    grpc::GenericStub stub(channel_);
    grpc::CompletionQueue cq;
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::unique_ptr<grpc::GenericClientAsyncReaderWriter>> calls;
    contexts.reserve(kStreams);
    calls.reserve(kStreams);
    for (int i = 0; i < kStreams; ++i) {
      contexts.push_back(std::make_unique<grpc::ClientContext>());
      contexts.back()->set_deadline(Deadline(300));
      calls.push_back(
          stub.PrepareCall(contexts.back().get(), kScreenStreamMethod, &cq));
      calls.back()->StartCall(
          reinterpret_cast<void*>(static_cast<intptr_t>(i)));
    }
    // Let the server take every stream it accepts: wait until no call has
    // started for 3 s (bounded by 120 s overall). gRPC clients hold back
    // the calls past the server's SETTINGS_MAX_CONCURRENT_STREAMS.
    int started = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    while (started < kStreams && absl::Now() < give_up) {
      void* tag;
      bool ok;
      if (cq.AsyncNext(&tag, &ok, Deadline(3)) !=
          grpc::CompletionQueue::GOT_EVENT) {
        break;
      }
      ++started;
    }
    const int64_t rss_after = RssKib(server_->pid());
    std::cerr << "streams started: " << started << " of " << kStreams
              << "; server RSS " << rss_before << " KiB -> " << rss_after
              << " KiB\n";
    EXPECT_LE(started, 512);
    EXPECT_LT(rss_after - rss_before, 32 * 1024) << "KiB";

    // A fresh client is answered while those streams are open.
    auto fresh = v1::ScreeningService::NewStub(NewChannel());
    const grpc::Status status =
        Screen(fresh.get(), Request("fresh", 1, "2026-01-10"));
    EXPECT_TRUE(status.ok()) << status.error_message();

    for (auto& context : contexts) context->TryCancel();
    cq.Shutdown();
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
  }
  EXPECT_EQ(Stop(), 0);
}

// --max_connection_idle and --max_connection_age reach gRPC: the server
// closes the connection (GOAWAY), the channel leaves READY, and the next
// call reconnects.
TEST_F(HostileClientTest, ConnectionIdleAndAgeLimitsCloseConnections) {
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--max_connection_idle=1s"},
        std::vector<std::string>{"--max_connection_age=1s",
                                 "--max_connection_age_grace=1s"}}) {
    SCOPED_TRACE(flags[0]);
    ASSERT_NO_FATAL_FAILURE(StartServer(flags));
    ASSERT_TRUE(Screen(stub_.get(), Request("first", 1, "2026-01-10")).ok());
    ASSERT_EQ(channel_->GetState(false), GRPC_CHANNEL_READY);
    EXPECT_TRUE(channel_->WaitForStateChange(GRPC_CHANNEL_READY, Deadline()))
        << "the connection was not closed";
    EXPECT_TRUE(Screen(stub_.get(), Request("again", 1, "2026-01-10")).ok());
    EXPECT_EQ(Stop(), 0);
  }
}

// The request id is the caller's text (the CDS Hooks gateway passes its
// hookInstance): the log carries its hash only.
TEST_F(HostileClientTest, RequestIdNeverReachesTheLog) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string canary = "CANARY-7b1e-request-id";
  EXPECT_EQ(Screen(stub_.get(), Request(canary, 1, "2026-13-45")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    auto stream = stub_->ScreenStream(&context);
    ASSERT_TRUE(stream->Write(Request("ok-first", 1, "2026-01-10")));
    ASSERT_TRUE(stream->Write(Request(canary, 1, "2026-13-45")));
    stream->WritesDone();
    ScreenResponse response;
    while (stream->Read(&response)) {
    }
    EXPECT_EQ(stream->Finish().error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_TRUE(Screen(stub_.get(), Request(canary, 1, "2026-01-10")).ok());
  EXPECT_EQ(Stop(), 0);
  const std::string log = server_->output();
  EXPECT_THAT(log, Not(HasSubstr(canary)));
  EXPECT_THAT(log, Not(HasSubstr("CANARY")));
  EXPECT_EQ(LinesWith(log, "request_id_hash=" + Sha256Prefix(canary)).size(),
            2u)
      << log;
}

}  // namespace
}  // namespace needlecheck
