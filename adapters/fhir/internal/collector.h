// Reads FHIR JSON documents into flat lists of mapped entries, each with the
// patient reference it carries; fhir_extract.cc and planned_session.cc turn
// those lists into a PatientRecord or a PlannedSession. Internal to
// needlecheck_fhir. Not thread-safe per object; no I/O.
#ifndef ADAPTERS_FHIR_INTERNAL_COLLECTOR_H_
#define ADAPTERS_FHIR_INTERNAL_COLLECTOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/internal/json_reader.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/message_lite.h"
#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/session.pb.h"
#include "simdjson.h"

namespace needlecheck::fhir::internal {

inline constexpr absl::string_view kNeedleDepthExtensionUrl =
    "urn:needlecheck:fhir:needle-depth";

struct Limits {
  size_t max_input_bytes = 0;
  size_t max_depth = 0;
  // Resources this document may still add.
  size_t max_resources = 0;
};

// Deletes a message unless an arena owns it (the arena frees it).
struct DeleteUnlessOnArena {
  void operator()(google::protobuf::MessageLite* message) const {
    if (message != nullptr && message->GetArena() == nullptr) {
      std::default_delete<google::protobuf::MessageLite>()(message);
    }
  }
};
template <typename T>
using MessagePtr = std::unique_ptr<T, DeleteUnlessOnArena>;

// A new T on `arena`, or on the heap when `arena` is null.
template <typename T>
MessagePtr<T> NewMessage(google::protobuf::Arena* arena) {
  return MessagePtr<T>(google::protobuf::Arena::CreateMessage<T>(arena));
}

// Everything read from one or more documents.
struct Collected {
  struct PatientEntry {
    std::string id;
    std::string full_url;  // Bundle entry fullUrl, may be empty
    std::string birth_date;
  };
  // Each mapped message is allocated once, on `arena` (or the heap), and
  // handed to the record as is (RepeatedPtrField::AddAllocated), never
  // copied or moved into a new one.
  template <typename T>
  struct Item {
    Item() : Item(nullptr) {}
    explicit Item(google::protobuf::Arena* arena)
        : value(NewMessage<T>(arena)) {}
    MessagePtr<T> value;
    std::string subject;  // the subject/patient reference, may be empty
  };
  struct AllergyItem : Item<needlecheck::v1::Allergy> {
    using Item::Item;
    bool no_known_allergy = false;
  };
  struct ObservationItem : Item<needlecheck::v1::Observation> {
    using Item::Item;
    int fitzpatrick = 0;  // 1-6 when a clear Fitzpatrick value
    bool dated = false;
    int32_t day = 0;  // first day of `effective` when dated
  };
  // A microneedling ServiceRequest or Procedure (any status).
  struct OrderItem {
    std::string source;  // "ServiceRequest/<id>"
    std::string type;    // "ServiceRequest" or "Procedure"
    std::string status;
    std::string date;        // may be empty
    std::string date_field;  // "occurrenceDateTime", ... for messages
    std::vector<needlecheck::v1::AreaPlan> areas;  // at least one
    std::string subject;
  };
  // A MedicationRequest for a topical anesthetic (any status).
  struct AnestheticItem {
    std::string source;
    std::string status;
    needlecheck::v1::Concept concept;
    std::string subject;
  };

  std::vector<PatientEntry> patients;
  std::vector<Item<needlecheck::v1::Condition>> conditions;
  std::vector<AllergyItem> allergies;
  std::vector<Item<needlecheck::v1::Medication>> medications;
  std::vector<Item<needlecheck::v1::Procedure>> procedures;
  std::vector<ObservationItem> observations;
  std::vector<OrderItem> orders;
  std::vector<AnestheticItem> anesthetics;
  std::vector<PlannedAppointment> appointments;
  ExtractStats stats;
  // Where the mappers create the messages of new items (null: the heap);
  // not carried over by MergeFrom.
  google::protobuf::Arena* arena = nullptr;

  void MergeFrom(Collected&& other);
  void Clear() { *this = Collected(); }
};

enum class DocumentShape {
  // Bundle, resource, prefetch object or CDS Hooks request.
  kAny,
  // One NDJSON line: a resource or a Bundle (blank: nothing).
  kNdjsonLine,
};

// Parses `json` with `parser` (after the size and depth checks of `limits`)
// and adds what it holds to `out`. On error `out` may hold part of the
// document: collect into a fresh Collected and merge on success.
absl::Status CollectDocument(absl::string_view json, DocumentShape shape,
                             const Limits& limits,
                             simdjson::dom::parser* parser, Collected* out);

// CollectDocument on a document already parsed (its `root`).
absl::Status CollectParsed(const JsonElement& root, DocumentShape shape,
                           const Limits& limits, Collected* out);

// Parses `json` into `*root` with the size and depth checks of `limits`.
// The element lives as long as `parser` is not reused.
absl::Status ParseJson(absl::string_view json, const Limits& limits,
                       simdjson::dom::parser* parser, JsonElement* root);

// Adds the resources of `element`: a Bundle, a single resource, or (when
// `allow_array`) a JSON array of resources. `path` names the element in
// messages, e.g. "$.draftOrders".
absl::Status CollectResources(const JsonElement& element, const JsonPath& path,
                              bool allow_array, const Limits& limits,
                              Collected* out);

// RESOURCE_EXHAUSTED: more than `limit` resources (Limits::max_resources).
absl::Status TooManyResources(size_t limit);

// Adds what a fragment of resource_fragment.h holds to `out`, which may
// take at most `max_resources` more resources: the mapping's own error when
// the fragment holds one, RESOURCE_EXHAUSTED beyond the limit (as
// CollectResource), DATA_LOSS when it does not decode; `out` is unchanged
// on error. In resource_fragment.cc.
absl::Status AddFragmentTo(absl::string_view fragment, size_t max_resources,
                           Collected* out);

// The record-level steps of FhirRecordBuilder::Finish() (fhir_extract.h,
// "Which patient"), shared with the fragment record writer
// (resource_fragment.h) so both decide alike. In fhir_extract.cc.

// The Patient id a reference names: the fullUrl of a Patient entry (a key
// of `by_url`), else by the one patient-reference rule
// (patient_reference.h). A view of `ref` or of `by_url`; nullopt when it
// names no patient we can tell (another resource type, a contained "#ref",
// an unknown urn:uuid).
std::optional<absl::string_view> ReferencedPatient(
    absl::string_view ref, const std::map<std::string, std::string>& by_url);

// Whether an entry with this subject reference stays in the record of
// `chosen` (empty: everything stays): it names `chosen` or no patient.
bool BelongsToChosen(absl::string_view subject, absl::string_view chosen,
                     const std::map<std::string, std::string>& by_url);

// ExtractOptions::as_of_date as a day number; nullopt when empty;
// INVALID_ARGUMENT when not a FHIR date.
absl::StatusOr<std::optional<int32_t>> AsOfDay(const ExtractOptions& options);

// Calls note(subject) with the subject reference of every clinical entry
// of `lists` (a Collected, or the same lists as views), as ChoosePatient's
// `for_each_subject`.
template <typename Lists, typename Note>
void ForEachSubject(const Lists& lists, Note note) {
  for (const auto& x : lists.conditions) note(x.subject);
  for (const auto& x : lists.allergies) note(x.subject);
  for (const auto& x : lists.medications) note(x.subject);
  for (const auto& x : lists.procedures) note(x.subject);
  for (const auto& x : lists.observations) note(x.subject);
  for (const auto& x : lists.orders) note(x.subject);
}

// The record's patient: options.patient_id (INVALID_ARGUMENT when the
// input's Patients do not include it), else the one Patient, else the one
// patient the subjects name (`for_each_subject` calls its argument with
// each entry's subject reference). Fills *by_url (fullUrl -> Patient.id).
absl::StatusOr<std::string> ChoosePatient(
    const std::vector<Collected::PatientEntry>& patients,
    absl::FunctionRef<void(absl::FunctionRef<void(absl::string_view)>)>
        for_each_subject,
    const ExtractOptions& options, std::map<std::string, std::string>* by_url);

// A "no known allergy" entry sets no_known_allergies unless this is its
// verification status (refuted, entered-in-error).
bool CountsAsNoKnownAllergy(absl::string_view verification_status);

// The Fitzpatrick skin type of a record: the latest clear value on or
// before the as-of day; undated values count only when no dated one does.
// Offer the patient's observations in record order.
class FitzpatrickChoice {
 public:
  explicit FitzpatrickChoice(std::optional<int32_t> as_of_day)
      : as_of_day_(as_of_day) {}
  // `fitzpatrick`: 1-6 for a clear value, else ignored.
  void Offer(int fitzpatrick, bool dated, int32_t day);
  // 1-6, or 0 when none was offered.
  int value() const { return value_; }

 private:
  std::optional<int32_t> as_of_day_;
  int value_ = 0;
  bool dated_ = false;
  int32_t day_ = 0;
};

}  // namespace needlecheck::fhir::internal

#endif  // ADAPTERS_FHIR_INTERNAL_COLLECTOR_H_
