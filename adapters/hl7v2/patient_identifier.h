// Who a message is about and which message it is: the two keys the HL7 v2
// adapter's patient-state store is indexed by. Plain values, no I/O.
//
// - PatientIdentifier: one repetition of PID-3 (or MRG-1), an HL7 CX:
//   CX.1 the id, CX.4 the assigning authority, CX.5 the identifier type.
//   Two identifiers name the same patient when their id and authority are
//   equal (the type is informative: "MR" and "PI" of one authority are one
//   number space in practice, and senders disagree on it).
// - MessageKey: a message as its sender numbers it (MSH-3/MSH-4 + MSH-10).
//   A message resent with the same key is the same message: it gets the
//   first answer again and changes nothing.
#ifndef ADAPTERS_HL7V2_PATIENT_IDENTIFIER_H_
#define ADAPTERS_HL7V2_PATIENT_IDENTIFIER_H_

#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace needlecheck::hl7v2 {

struct PatientIdentifier {
  std::string id;         // CX.1, never empty in a valid identifier
  std::string authority;  // CX.4 as written (all its subcomponents), or ""
  std::string type;       // CX.5, e.g. "MR"; not part of the identity

  // The identity as one string: "<authority>|<id>" (what stores index).
  std::string Key() const { return absl::StrCat(authority, "|", id); }

  friend bool operator==(const PatientIdentifier& a,
                         const PatientIdentifier& b) {
    return a.id == b.id && a.authority == b.authority;
  }
  friend bool operator!=(const PatientIdentifier& a,
                         const PatientIdentifier& b) {
    return !(a == b);
  }
};

struct MessageKey {
  std::string sender;      // MSH-3 + "|" + MSH-4, as written
  std::string control_id;  // MSH-10

  friend bool operator==(const MessageKey& a, const MessageKey& b) {
    return std::tie(a.sender, a.control_id) == std::tie(b.sender, b.control_id);
  }
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_PATIENT_IDENTIFIER_H_
