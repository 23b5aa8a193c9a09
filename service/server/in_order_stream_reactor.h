// InOrderStreamReactor: the skeleton of needlecheckd's streaming methods
// (ScreenStream, Audit). It reads one request, asks the subclass for its
// answers, writes them one at a time, and only then reads the next request;
// the subclass says what a request is and how it is answered.
//
// Contract
// - Strictly one message in flight at a time: a client that stops reading
//   stops the server reading too (flow control end to end), and memory per
//   stream is one request and its answers.
// - Raw bytes in and out (see screening_service.h): a message that is not a
//   valid request ends the stream with ReportUnparseableStreamMessage()'s
//   INVALID_ARGUMENT, naming the method and the message's position
//   ("message 3 of the stream ...", counting from 1); the answers to the
//   messages before it have been written.
// - Answer() returns the messages to write (serialized) and the status
//   that follows them: OK reads the next request; anything else ends the
//   stream with that status once the messages before it are written.
// - The client closing its side ends the stream with OK: since reads and
//   writes alternate, every answer has been written by then. A write that
//   fails (call cancelled, client gone) ends it with CANCELLED "the
//   <answer noun> could not be sent".
// - Finish() is called once; owned by gRPC, deletes itself in OnDone().
// - A subclass calls StartReading() last in its constructor (not the base
//   constructor: gRPC may call OnReadDone() on another thread at once, and
//   the subclass must be complete by then).
#ifndef SERVICE_SERVER_IN_ORDER_STREAM_REACTOR_H_
#define SERVICE_SERVER_IN_ORDER_STREAM_REACTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "google/protobuf/message_lite.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"
#include "service/server/access_trail.h"

namespace needlecheck::server {

class InOrderStreamReactor
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  void OnReadDone(bool ok) final;
  void OnWriteDone(bool ok) final;
  void OnDone() final;

 protected:
  // `method` names the RPC in the log and the access trail ("Audit");
  // `answer_noun` what one written message is ("finding"). Both must be
  // string literals (or outlive the reactor), as must `trail`.
  InOrderStreamReactor(grpc::CallbackServerContext* context, AccessTrail* trail,
                       const char* method, const char* answer_noun);
  ~InOrderStreamReactor() override = default;

  // Reads the first request; the last statement of a subclass constructor.
  void StartReading();

  // The message each request is parsed into; cleared before each parse.
  virtual google::protobuf::MessageLite* MutableRequest() = 0;
  // Answers the request just parsed into *MutableRequest(), message
  // `message_index` of the stream (from 0): appends the messages to write,
  // in order, to *answers (empty on entry) and returns what follows them.
  virtual grpc::Status Answer(int64_t message_index,
                              std::vector<grpc::ByteBuffer>* answers) = 0;

  grpc::CallbackServerContext* context() const { return context_; }
  AccessTrail* trail() const { return trail_; }
  const CallIdentity& identity() const { return identity_; }

 private:
  // Writes answers_[next_] or, when all are written, ends the stream with
  // after_ if it is not OK, else reads the next request.
  void WriteNextOrRead();
  void FinishOnce(const grpc::Status& status);

  grpc::CallbackServerContext* const context_;
  AccessTrail* const trail_;
  const CallIdentity identity_;
  const char* const method_;
  const char* const answer_noun_;
  grpc::ByteBuffer read_bytes_;
  std::vector<grpc::ByteBuffer> answers_;  // of the current request
  size_t next_ = 0;                        // next answer to write
  grpc::Status after_;                     // what follows the answers
  int64_t messages_ = 0;                   // requests parsed so far
  std::atomic<bool> finished_{false};
};

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_IN_ORDER_STREAM_REACTOR_H_
