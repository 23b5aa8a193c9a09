#include "adapters/batch/run/audit_request_bytes.h"

#include <cstdint>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/unknown_field_set.h"

namespace needlecheck::batch {
namespace {

using ::google::protobuf::io::CodedOutputStream;

constexpr int kRequestIdField = v1::AuditRequest::kRequestIdFieldNumber;
constexpr int kRecordField = v1::AuditRequest::kRecordFieldNumber;
constexpr int kBatchField = v1::AuditRequest::kBatchFieldNumber;

// A length-delimited field's tag: (number << 3) | wire type 2.
constexpr uint32_t LengthDelimitedTag(int number) {
  return (static_cast<uint32_t>(number) << 3) | 2;
}

// Appends a length-delimited field to *out.
void AppendField(int number, absl::string_view bytes, std::string* out) {
  uint8_t head[10];  // two varints of at most 5 bytes each
  uint8_t* end =
      CodedOutputStream::WriteTagToArray(LengthDelimitedTag(number), head);
  end = CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(bytes.size()), end);
  out->append(reinterpret_cast<const char*>(head), end - head);
  out->append(bytes.data(), bytes.size());
}

// The bytes a length-delimited field of `n` bytes takes.
size_t FieldSize(int number, size_t n) {
  return CodedOutputStream::VarintSize32(LengthDelimitedTag(number)) +
         CodedOutputStream::VarintSize32(static_cast<uint32_t>(n)) + n;
}

google::protobuf::UnknownFieldSet* UnknownFieldsOf(v1::AuditRequest* request) {
  return request->GetReflection()->MutableUnknownFields(request);
}

}  // namespace

void SetAuditRequest(const std::string& request_id, std::string* record,
                     v1::AuditRequest* request) {
  request->Clear();
  request->set_request_id(request_id);
  UnknownFieldsOf(request)->AddLengthDelimited(kRecordField)->swap(*record);
}

void AddBatchElement(const std::string& request_id, absl::string_view record,
                     v1::AuditRequest* request) {
  std::string* element =
      UnknownFieldsOf(request)->AddLengthDelimited(kBatchField);
  // proto3: an empty string is not written; a set message always is.
  if (!request_id.empty()) AppendField(kRequestIdField, request_id, element);
  AppendField(kRecordField, record, element);
}

size_t BatchElementSize(size_t request_id_bytes, size_t record_bytes) {
  return (request_id_bytes == 0
              ? 0
              : FieldSize(kRequestIdField, request_id_bytes)) +
         FieldSize(kRecordField, record_bytes);
}

}  // namespace needlecheck::batch
