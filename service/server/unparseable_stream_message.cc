#include "service/server/unparseable_stream_message.h"

#include "absl/strings/str_cat.h"
#include "service/server/log.h"
#include "service/server/status_conversion.h"

namespace needlecheck::server {

grpc::Status ReportUnparseableStreamMessage(absl::string_view method,
                                            int64_t index, size_t bytes,
                                            const absl::Status& parsed,
                                            const CallIdentity& identity,
                                            AccessTrail* trail) {
  if (identity.trace_id.empty()) {
    LogWarning("stream_message_unparseable",
               {{"method", method}, {"stream_index", index}, {"bytes", bytes}});
  } else {
    LogWarning("stream_message_unparseable", {{"method", method},
                                              {"stream_index", index},
                                              {"bytes", bytes},
                                              {"trace_id", identity.trace_id}});
  }
  trail->Record(identity, method, "", parsed, "", index)
      .IgnoreError();  // nothing is released
  return ToGrpcStatus(PrefixMessage(
      parsed, absl::StrCat("message ", index + 1, " of the stream ")));
}

}  // namespace needlecheck::server
