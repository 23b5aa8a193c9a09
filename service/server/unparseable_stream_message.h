// ReportUnparseableStreamMessage(): what a streaming method does when a
// message of its stream is not a valid request (ScreenStream, Audit): one
// log line without the bytes (with the trace id when the call has one), an
// access-trail record of the failed item, and the INVALID_ARGUMENT status
// that ends the stream, naming the message's position ("message 3 of the
// stream ...").
//
// Thread safety: as the trail and the log; no state of its own.
#ifndef SERVICE_SERVER_UNPARSEABLE_STREAM_MESSAGE_H_
#define SERVICE_SERVER_UNPARSEABLE_STREAM_MESSAGE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"
#include "service/server/access_trail.h"

namespace needlecheck::server {

// `index` is the 0-based position of the message in the stream, `bytes` its
// size, `parsed` the parse error.
grpc::Status ReportUnparseableStreamMessage(absl::string_view method,
                                            int64_t index, size_t bytes,
                                            const absl::Status& parsed,
                                            const CallIdentity& identity,
                                            AccessTrail* trail);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_UNPARSEABLE_STREAM_MESSAGE_H_
