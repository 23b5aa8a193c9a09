#include "service/server/in_order_stream_reactor.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "service/server/unparseable_stream_message.h"
#include "service/server/wire_message.h"

namespace needlecheck::server {

InOrderStreamReactor::InOrderStreamReactor(grpc::CallbackServerContext* context,
                                           AccessTrail* trail,
                                           const char* method,
                                           const char* answer_noun)
    : context_(context),
      trail_(trail),
      identity_(IdentityOf(*context)),
      method_(method),
      answer_noun_(answer_noun) {}

void InOrderStreamReactor::StartReading() { StartRead(&read_bytes_); }

void InOrderStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client finished sending (or the call is over): every answer has
    // been written, since reads and writes alternate.
    FinishOnce(grpc::Status::OK);
    return;
  }
  google::protobuf::MessageLite* request = MutableRequest();
  request->Clear();
  if (absl::Status parsed = ParseWireMessage(read_bytes_, request);
      !parsed.ok()) {
    FinishOnce(ReportUnparseableStreamMessage(
        method_, messages_, read_bytes_.Length(), parsed, identity_, trail_));
    return;
  }
  read_bytes_.Clear();
  answers_.clear();
  next_ = 0;
  after_ = Answer(messages_++, &answers_);
  WriteNextOrRead();
}

void InOrderStreamReactor::WriteNextOrRead() {
  if (next_ < answers_.size()) {
    StartWrite(&answers_[next_]);
    return;
  }
  answers_.clear();
  if (!after_.ok()) {
    FinishOnce(after_);
    return;
  }
  StartRead(&read_bytes_);
}

void InOrderStreamReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The call is broken (cancelled, client gone): nothing will be read.
    FinishOnce(
        grpc::Status(grpc::StatusCode::CANCELLED,
                     absl::StrCat("the ", answer_noun_, " could not be sent")));
    return;
  }
  answers_[next_].Clear();
  ++next_;
  WriteNextOrRead();
}

void InOrderStreamReactor::FinishOnce(const grpc::Status& status) {
  if (!finished_.exchange(true)) Finish(status);
}

void InOrderStreamReactor::OnDone() { delete this; }

}  // namespace needlecheck::server
