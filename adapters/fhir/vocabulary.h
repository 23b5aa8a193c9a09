// The word lists and code tables the FHIR adapter recognises, in one place:
// microneedling names, topical anesthetics, body sites -> TreatmentArea,
// "no known allergy" statements, Fitzpatrick skin types, and the free-text
// needle-depth pattern. Part of needlecheck_fhir; pure functions,
// thread-safe, no I/O.
//
// Codes are matched on (system, code) and only where verified (sources in
// vocabulary.cc beside each table; the project list is the shared
// docs/terminology.md). Text is matched case-insensitively; microneedling
// names are also hyphen/space-insensitive ("Micro-Needling", "derma roller"
// == "dermaroller").
#ifndef ADAPTERS_FHIR_VOCABULARY_H_
#define ADAPTERS_FHIR_VOCABULARY_H_

#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::fhir {

// Whether `text` names microneedling: microneedling (also the misspelling
// "micorneedling"), micro-needling, micro needling, RF / radiofrequency
// microneedling, collagen induction therapy, percutaneous collagen
// induction, dermapen / derma pen, dermaroller / derma roller, SkinPen.
bool MentionsMicroneedling(absl::string_view text);

// Whether the concept's text or any coding display names microneedling.
bool ConceptMentionsMicroneedling(const needlecheck::v1::Concept& concept);

// Whether a medication concept is a topical/local anesthetic: a known RxNorm
// or SNOMED CT code, or a name (lidocaine, lignocaine, xylocaine, LMX,
// prilocaine, EMLA, benzocaine, tetracaine, amethocaine, ametop, procaine,
// novocaine, BLT, "numbing cream", "topical/local anesthetic", any word
// ending in -caine) in its text or displays.
bool IsTopicalAnesthetic(const needlecheck::v1::Concept& concept);

// The treatment areas a FHIR bodySite names: SNOMED CT body-structure codes
// first (verified codes only), else the text and displays ("Periorbital
// region", "Under-eye", "Full face", "Cheeks", "Forehead", "Perioral",
// "Nose", "Chin", "Neck", "Decolletage"/"Chest", "Scalp", "Back",
// "Abdomen", "Arm(s)", "Leg(s)", "Hand(s)", ...). One bodySite may name
// several ("Face and neck"). Unrecognised but not empty: {OTHER}. Empty
// concept (no coding, no text): {} (unknown area).
std::vector<needlecheck::v1::TreatmentArea> AreasFromBodySite(
    const needlecheck::v1::Concept& body_site);

// Whether an AllergyIntolerance code states that there is no known allergy
// (NKA, NKDA, "No known allergies", "No known drug allergies", SNOMED CT
// 716186003, 409137002).
bool IsNoKnownAllergy(const needlecheck::v1::Concept& code);

// Whether an Observation code is the Fitzpatrick skin type (LOINC 66555-4, or
// "Fitzpatrick" in its text or displays).
bool IsFitzpatrickObservation(const needlecheck::v1::Concept& code);

// The Fitzpatrick type 1-6 an Observation value states clearly (SNOMED CT
// skin phototype I-VI codes; text "4", "IV", "Type IV", "Fitzpatrick skin
// type 4", "Skin phototype IV (...)"), or 0 when it is not clear.
int FitzpatrickFromValue(const needlecheck::v1::Concept& value);

// A needle depth in millimetres written in free text: "needle depth 0.5 mm",
// "depth: 0.5mm", "0.5 mm depth", "1.5mm needle depth" (cm and um
// converted). nullopt when the text states none (or more than 100 mm).
std::optional<double> NeedleDepthFromText(absl::string_view text);

// Millimetres per unit for a needle-depth Quantity unit or UCUM code ("mm",
// "cm", "um", "µm", "millimeter(s)", ...; empty = mm), or nullopt when the
// unit is not a length we read.
std::optional<double> MillimetresPerUnit(absl::string_view unit);

}  // namespace needlecheck::fhir

#endif  // ADAPTERS_FHIR_VOCABULARY_H_
