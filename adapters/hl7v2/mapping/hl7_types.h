// HL7 v2 data types -> needlecheck.v1 (FHIR-aligned) values: the building
// blocks of the message mapping. Pure functions, thread-safe, no I/O.
//
// Dates (DT, DTM, TS: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]) become
// FHIR date/dateTime strings:
//   "1988", "198808", "19880818"       -> "1988", "1988-08", "1988-08-18"
//   "20210924093000+0215"              -> "2021-09-24T09:30:00+02:15"
//   "202109141120+0215", "2021091411-0500"
//                                      -> minutes/seconds padded with 00
//   "20210817151943.4+0200"            -> "2021-08-17T15:19:43.4+02:00"
//   "202109141120" (a time, no offset) -> "2021-09-14": FHIR requires a
//       zone with a time and we do not guess the sender's, so the day as
//       written is kept (every rule reads days).
//   "19880818+0100"                    -> "1988-08-18" (offset of a date)
// A TS's second component (degree of precision, v2.3) is ignored; the
// value is trimmed of spaces. Anything else (letters, wrong lengths, a
// month 13, 30 February, hour 24, an offset beyond 14:00) is invalid.
//
// Coding systems (HL7 table 0396 names, case-insensitive) -> FHIR URIs:
//   I10 ICD10CM I10C ICD-10-CM ICD10  http://hl7.org/fhir/sid/icd-10-cm
//   I9 I9C I9CM ICD9 ICD9CM           http://hl7.org/fhir/sid/icd-9-cm
//   SCT SNM SNOMED SNOMEDCT SNOMED-CT http://snomed.info/sct
//   RXNORM RXN http://www.nlm.nih.gov/research/umls/rxnorm LN LOINC
//   http://loinc.org NDC http://hl7.org/fhir/sid/ndc CVX
//   http://hl7.org/fhir/sid/cvx C4 C5 CPT CPT4 http://www.ama-assn.org/go/cpt
//   UCUM                              http://unitsofmeasure.org
//   HL7nnnn (an HL7 table) http://terminology.hl7.org/CodeSystem/v2-nnnn
//   anything else (99zzz, L, local names) "urn:hl7v2:table-0396:<name as
//       written>": kept, never matched against a knowledge-base code unless
//       the knowledge base lists that URI.
//   "" (no system)                    ""
//
// CE / CWE / CNE -> Concept: the primary triplet (.1 code, .2 text, .3
// system), the alternate (.4 .5 .6) and, in v2.7+, the second alternate
// (.10 .11 .12) each become a Coding when the code is given with a system
// or a text. Concept.text is the original text (.9), else the primary
// text (.2), else the alternate text (.5), else a lone .1 with neither
// system nor text: free text written in the code slot ("Lidocaine cream -
// hives", "XYZallergen") is text, never a code.
#ifndef ADAPTERS_HL7V2_MAPPING_HL7_TYPES_H_
#define ADAPTERS_HL7V2_MAPPING_HL7_TYPES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "google/protobuf/message.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::hl7v2 {

// The FHIR date/dateTime for an HL7 date/time ("" for ""). Error:
// InvalidArgument with a fixed text saying what is wrong (no value quoted,
// no location: see ReadDate for the located error).
absl::StatusOr<std::string> Hl7DateToFhir(absl::string_view value);

// The location of a field (0 numbers left out of ERR-2).
Hl7ErrorLocation FieldLocation(const Er7Segment& segment, int field,
                               int repetition = 0, int component = 0);

// The date at segment-field[repetition].component as FHIR ("" when
// absent). Error: 102 (data type error) located at that field.
absl::StatusOr<std::string> ReadDate(const Er7Segment& segment, int field,
                                     int repetition = 1, int component = 1);

// The FHIR URI for a table-0396 coding-system name (see above).
std::string CodingSystemUri(absl::string_view hl7_name);

// A CE/CWE/CNE field repetition as a Concept (see above). An empty field
// gives an empty Concept.
needlecheck::v1::Concept ReadConcept(const Er7Segment& segment, int field,
                                     int repetition = 1);
// A CWE held in one component (its parts are subcomponents), e.g. the body
// site in SPS component 4 (OBR-15.4).
needlecheck::v1::Concept ReadConceptInComponent(const Er7Segment& segment,
                                                int field, int repetition,
                                                int component);

// The non-empty repetitions of a field, each as text with its component
// separators kept (AL1-5 reactions, OBX-5 values).
std::vector<std::string> ReadRepetitions(const Er7Segment& segment, int field);
// ReadRepetitions() of a text field (ST, TX, FT) joined with "\n"; "" when
// absent.
std::string ReadText(const Er7Segment& segment, int field);

// Whether the concept has no coding and no text.
bool IsEmptyConcept(const needlecheck::v1::Concept& concept);

// The concept's text, else its first coding display, else its first code.
std::string ConceptName(const needlecheck::v1::Concept& concept);

// The treatment areas a service or procedure name states ("Microneedling -
// full face" -> FULL_FACE), by fhir::AreasFromBodySite on the text; none
// when it names no known area (a name is not a body site, so never OTHER).
std::vector<needlecheck::v1::TreatmentArea> AreasNamedInText(
    absl::string_view text);

// Character sets. Protobuf strings (and the state store, and needlecheckd)
// need UTF-8; HL7 senders declare theirs in MSH-18 and often send
// ISO-8859-1 whatever they declare. kLatin1 (MSH-18 "8859/1"): every byte is
// a Latin-1 character. kUtf8 (anything else, ASCII and "UNICODE UTF-8"
// included): valid UTF-8 (common/text/utf8.h) stays as it is, and a value
// that is not valid UTF-8 is read as Latin-1 instead ("Lidoca\xEFne" ->
// "Lidocaïne").
enum class TextEncoding { kUtf8, kLatin1 };
TextEncoding MessageEncoding(const Er7Message& message);
std::string ToUtf8(absl::string_view text, TextEncoding encoding);
// ToUtf8 on every string field of `message`, recursively.
void MakeStringsUtf8(TextEncoding encoding, google::protobuf::Message* message);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_MAPPING_HL7_TYPES_H_
