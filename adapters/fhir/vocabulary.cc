#include "adapters/fhir/vocabulary.h"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "re2/re2.h"

namespace needlecheck::fhir {
namespace {

using needlecheck::v1::Concept;
using needlecheck::v1::TreatmentArea;

constexpr absl::string_view kSnomed = "http://snomed.info/sct";
constexpr absl::string_view kRxNorm =
    "http://www.nlm.nih.gov/research/umls/rxnorm";
constexpr absl::string_view kLoinc = "http://loinc.org";

// Lower-case ASCII words of `text`: runs of [a-z0-9]. Text in parentheses is
// dropped when `drop_parenthesized` (SNOMED semantic tags such as
// "(finding)"). Latin-1 e-acute (UTF-8 C3 A9 / C3 89) reads as 'e' so that
// "décolletage" is one word.
std::vector<std::string> Words(absl::string_view text,
                               bool drop_parenthesized = false) {
  std::vector<std::string> words;
  std::string cur;
  int paren = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '(') ++paren;
    if (c == ')' && paren > 0) {
      --paren;
      c = ' ';
    }
    if (drop_parenthesized && paren > 0) c = ' ';
    if (static_cast<unsigned char>(c) == 0xC3 && i + 1 < text.size() &&
        (static_cast<unsigned char>(text[i + 1]) == 0xA9 ||
         static_cast<unsigned char>(text[i + 1]) == 0x89)) {
      if (!(drop_parenthesized && paren > 0)) cur += 'e';
      ++i;
      continue;
    }
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      cur += absl::ascii_tolower(static_cast<unsigned char>(c));
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

bool HasWord(const std::vector<std::string>& words,
             std::initializer_list<absl::string_view> any_of) {
  for (const std::string& w : words) {
    for (absl::string_view a : any_of) {
      if (w == a) return true;
    }
  }
  return false;
}

// Whether `words` holds the consecutive sequence `seq`.
bool HasSequence(const std::vector<std::string>& words,
                 std::initializer_list<absl::string_view> seq) {
  if (seq.size() == 0 || words.size() < seq.size()) return false;
  for (size_t i = 0; i + seq.size() <= words.size(); ++i) {
    size_t j = 0;
    for (absl::string_view s : seq) {
      if (words[i + j] != s) break;
      ++j;
    }
    if (j == seq.size()) return true;
  }
  return false;
}

// The concept's text and every coding display.
std::vector<absl::string_view> Texts(const Concept& c) {
  std::vector<absl::string_view> out;
  if (!c.text().empty()) out.push_back(c.text());
  for (const auto& coding : c.codings()) {
    if (!coding.display().empty()) out.push_back(coding.display());
  }
  return out;
}

bool SystemIs(absl::string_view system, absl::string_view want) {
  return system == want;
}

// --- Microneedling ---------------------------------------------------------

// Squashed (lower case, letters and digits only) names; a text names
// microneedling when its squashed form contains one. The session-history list
// of docs/rules.md plus the misspelling seen in practice (terminology.md 4).
constexpr absl::string_view kMicroneedlingSquashed[] = {
    "microneedl",  // microneedling, micro-needling, RF microneedling, ...
    "micorneedl",  // "Micorneedling" (sic), seen in practice
    "collageninductiontherap",
    "percutaneouscollageninduction",
    "dermapen",
    "dermaroller",
    "skinpen",
};

// --- Topical anesthetics ---------------------------------------------------

// Verified codes (shared docs/terminology.md section 3): RxNorm ingredients
// and multi-ingredients from US Core allergy substances (USC-AS), SNOMED CT
// substances/products from the Global Patient Set (GPS) and DICOM CID 630.
struct Code {
  absl::string_view system;
  absl::string_view code;
};
constexpr Code kAnestheticCodes[] = {
    {kRxNorm, "6387"},       // Lidocaine
    {kRxNorm, "1399"},       // Benzocaine
    {kRxNorm, "8701"},       // Procaine
    {kRxNorm, "107602"},     // Epinephrine / Lidocaine
    {kRxNorm, "690077"},     // Benzalkonium / Lidocaine
    {kSnomed, "387480006"},  // Lidocaine (substance)
    {kSnomed, "61773008"},   // Lidocaine hydrochloride (substance)
    {kSnomed, "82573000"},   // Product containing lidocaine
    {kSnomed, "346553009"},  // Product containing lidocaine and prilocaine
    {kSnomed, "373477003"},  // Local anesthetic (substance)
};

bool WordsNameAnesthetic(const std::vector<std::string>& w) {
  if (HasWord(w, {"lidocaine",  "lignocaine",  "xylocaine",  "lmx",
                  "lmx4",       "lmx5",        "prilocaine", "citanest",
                  "emla",       "benzocaine",  "americaine", "hurricaine",
                  "tetracaine", "amethocaine", "pontocaine", "ametop",
                  "procaine",   "novocaine",   "novocain",   "blt",
                  "numbing"})) {
    return true;
  }
  for (const std::string& word : w) {
    if (word.size() > 5 && absl::EndsWith(word, "caine")) return true;
  }
  for (absl::string_view adj : {"topical", "local"}) {
    for (absl::string_view noun :
         {"anesthetic", "anaesthetic", "anesthesia", "anaesthesia",
          "anesthetics", "anaesthetics"}) {
      if (HasSequence(w, {adj, noun})) return true;
    }
  }
  for (absl::string_view noun : {"anesthetic", "anaesthetic"}) {
    for (absl::string_view form : {"cream", "gel", "ointment", "patch"}) {
      if (HasSequence(w, {noun, form})) return true;
    }
  }
  return false;
}

// --- Body sites ------------------------------------------------------------

// SNOMED CT body structures, verified in DICOM PS3.16 context groups as FHIR
// ValueSets (bvdh/dicom-terminology-in-fhir @ 9f098270, input/fsh/):
// CID 4031 Common Anatomic Region, CID 4028 Craniofacial Anatomic Region,
// CID 4029 Dermatology Anatomic Site. Displays as printed there.
struct AreaCode {
  absl::string_view code;
  TreatmentArea area;
};
constexpr AreaCode kBodySiteCodes[] = {
    {"89545001", v1::TREATMENT_AREA_FULL_FACE},     // Face
    {"73897004", v1::TREATMENT_AREA_FULL_FACE},     // Skin of face
    {"52795006", v1::TREATMENT_AREA_FOREHEAD},      // Forehead
    {"68698007", v1::TREATMENT_AREA_FOREHEAD},      // Skin of forehead
    {"60819002", v1::TREATMENT_AREA_CHEEKS},        // Cheek
    {"36141000", v1::TREATMENT_AREA_CHEEKS},        // Skin of cheek
    {"371398005", v1::TREATMENT_AREA_PERIORBITAL},  // Eye region
    {"362916000", v1::TREATMENT_AREA_PERIORBITAL},  // Skin of eye region
    {"40069000", v1::TREATMENT_AREA_PERIORBITAL},   // Skin of lower eyelid
    {"41310005", v1::TREATMENT_AREA_PERIORBITAL},   // Skin of upper eyelid
    {"110488009", v1::TREATMENT_AREA_PERIORAL},     // Skin of perioral region
    {"48477009", v1::TREATMENT_AREA_PERIORAL},      // Lip
    {"11681001", v1::TREATMENT_AREA_PERIORAL},      // Upper lip
    {"32032005", v1::TREATMENT_AREA_PERIORAL},      // Lower lip
    {"88089004", v1::TREATMENT_AREA_PERIORAL},      // Skin of lip
    {"16251004", v1::TREATMENT_AREA_PERIORAL},      // Skin of upper lip
    {"66934001", v1::TREATMENT_AREA_PERIORAL},      // Skin of lower lip
    {"45206002", v1::TREATMENT_AREA_NOSE},          // Nose
    {"113179006", v1::TREATMENT_AREA_NOSE},         // Skin of nose
    {"314395006", v1::TREATMENT_AREA_NOSE},         // Skin of side of nose
    {"79283007", v1::TREATMENT_AREA_NOSE},          // Skin of tip of nose
    {"23747009", v1::TREATMENT_AREA_CHIN},          // Skin of chin
    {"45048000", v1::TREATMENT_AREA_NECK},          // Neck
    {"43081002", v1::TREATMENT_AREA_NECK},          // Skin of neck
    {"11584001", v1::TREATMENT_AREA_NECK},  // Skin of anterior portion of neck
    {"5272005", v1::TREATMENT_AREA_NECK},   // Skin of lateral portion of neck
    {"816094009", v1::TREATMENT_AREA_DECOLLETAGE},  // Chest
    {"244106003",
     v1::TREATMENT_AREA_DECOLLETAGE},  // Skin of anterior surface of thorax
    {"41695006", v1::TREATMENT_AREA_SCALP},     // Scalp
    {"43067004", v1::TREATMENT_AREA_SCALP},     // Skin of scalp
    {"61719002", v1::TREATMENT_AREA_SCALP},     // Skin of vertex of scalp
    {"77568009", v1::TREATMENT_AREA_BACK},      // Back
    {"66643007", v1::TREATMENT_AREA_BACK},      // Skin of back
    {"113182001", v1::TREATMENT_AREA_BACK},     // Skin of lower back
    {"244111001", v1::TREATMENT_AREA_BACK},     // Skin of posterior thorax
    {"818981001", v1::TREATMENT_AREA_ABDOMEN},  // Abdomen
    {"75093004", v1::TREATMENT_AREA_ABDOMEN},   // Skin of abdomen
    {"699914002", v1::TREATMENT_AREA_ABDOMEN},  // Skin of lower abdomen
    {"699935000", v1::TREATMENT_AREA_ABDOMEN},  // Skin of upper abdomen
    {"53120007", v1::TREATMENT_AREA_ARMS},      // Upper limb
    {"40983000", v1::TREATMENT_AREA_ARMS},      // Upper arm
    {"14975008", v1::TREATMENT_AREA_ARMS},      // Forearm
    {"61685007", v1::TREATMENT_AREA_LEGS},      // Lower limb
    {"68367000", v1::TREATMENT_AREA_LEGS},      // Thigh
    {"30021000", v1::TREATMENT_AREA_LEGS},      // Lower leg
    {"85562004", v1::TREATMENT_AREA_HANDS},     // Hand
    {"33712006", v1::TREATMENT_AREA_HANDS},     // Skin of hand
    {"70887009", v1::TREATMENT_AREA_HANDS},     // Skin of palm of hand
};

void AddArea(std::vector<TreatmentArea>* out, TreatmentArea a) {
  if (std::find(out->begin(), out->end(), a) == out->end()) out->push_back(a);
}

bool IsFaceSubArea(TreatmentArea a) {
  switch (a) {
    case v1::TREATMENT_AREA_FOREHEAD:
    case v1::TREATMENT_AREA_CHEEKS:
    case v1::TREATMENT_AREA_PERIORBITAL:
    case v1::TREATMENT_AREA_PERIORAL:
    case v1::TREATMENT_AREA_NOSE:
    case v1::TREATMENT_AREA_CHIN:
      return true;
    default:
      return false;
  }
}

// Areas a free text names, in the order of the TreatmentArea enum.
std::vector<TreatmentArea> AreasFromText(absl::string_view text) {
  std::vector<std::string> raw = Words(text, /*drop_parenthesized=*/true);
  // "back of (the) hand" / "back of neck": the back of a part is that part.
  std::vector<std::string> w;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == "back" && i + 1 < raw.size() && raw[i + 1] == "of") {
      i += (i + 2 < raw.size() && raw[i + 2] == "the") ? 2 : 1;
      continue;
    }
    w.push_back(raw[i]);
  }
  std::vector<TreatmentArea> out;
  const bool explicit_full_face =
      HasSequence(w, {"full", "face"}) || HasSequence(w, {"whole", "face"}) ||
      HasSequence(w, {"entire", "face"}) || HasWord(w, {"fullface"});
  if (explicit_full_face) AddArea(&out, v1::TREATMENT_AREA_FULL_FACE);
  if (HasWord(w, {"forehead", "glabella", "glabellar"})) {
    AddArea(&out, v1::TREATMENT_AREA_FOREHEAD);
  }
  if (HasWord(w, {"cheek", "cheeks", "malar", "buccal", "zygomatic"})) {
    AddArea(&out, v1::TREATMENT_AREA_CHEEKS);
  }
  if (HasWord(w, {"periorbital", "infraorbital", "periocular", "undereye",
                  "undereyes", "eye", "eyes", "eyelid", "eyelids"})) {
    AddArea(&out, v1::TREATMENT_AREA_PERIORBITAL);
  }
  if (HasWord(w, {"perioral", "circumoral", "lip", "lips", "mouth",
                  "nasolabial"})) {
    AddArea(&out, v1::TREATMENT_AREA_PERIORAL);
  }
  if (HasWord(w, {"nose", "nasal"})) AddArea(&out, v1::TREATMENT_AREA_NOSE);
  if (HasWord(w, {"chin", "submental"})) {
    AddArea(&out, v1::TREATMENT_AREA_CHIN);
  }
  if (HasWord(w, {"neck"})) AddArea(&out, v1::TREATMENT_AREA_NECK);
  if (HasWord(w, {"decolletage", "decollete", "decolette", "decolletage",
                  "chest", "cleavage", "thorax", "thoracic"})) {
    AddArea(&out, v1::TREATMENT_AREA_DECOLLETAGE);
  }
  if (HasWord(w, {"scalp", "hairline"})) {
    AddArea(&out, v1::TREATMENT_AREA_SCALP);
  }
  if (HasWord(w, {"back"})) AddArea(&out, v1::TREATMENT_AREA_BACK);
  if (HasWord(w, {"abdomen", "abdominal", "belly", "stomach", "tummy"})) {
    AddArea(&out, v1::TREATMENT_AREA_ABDOMEN);
  }
  if (HasWord(w, {"arm", "arms", "forearm", "forearms", "elbow", "elbows"}) ||
      HasSequence(w, {"upper", "limb"}) || HasSequence(w, {"upper", "limbs"})) {
    AddArea(&out, v1::TREATMENT_AREA_ARMS);
  }
  if (HasWord(w, {"leg", "legs", "thigh", "thighs", "knee", "knees", "calf",
                  "calves", "shin", "shins"}) ||
      HasSequence(w, {"lower", "limb"}) || HasSequence(w, {"lower", "limbs"})) {
    AddArea(&out, v1::TREATMENT_AREA_LEGS);
  }
  if (HasWord(w, {"hand", "hands", "palm", "palms", "finger", "fingers"})) {
    AddArea(&out, v1::TREATMENT_AREA_HANDS);
  }
  // A plain "face" is the full face unless a face sub-area is named
  // ("Skin of perioral region of face" is perioral).
  if (!explicit_full_face && HasWord(w, {"face", "facial"}) &&
      std::none_of(out.begin(), out.end(), IsFaceSubArea)) {
    AddArea(&out, v1::TREATMENT_AREA_FULL_FACE);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- No known allergy ------------------------------------------------------

// SNOMED CT situations, each seen in two independent public IGs:
// 716186003 "No known allergy (situation)" (HL7-cz/cz-core
// input/fsh/examples/example-allergyintolerance.fsh; 8400TheHealthNetwork/
// ILCore-IG AllergyIntollerance-no-known-allergies.fsh); 409137002 "No known
// drug allergy (situation)" (NHSDigital GP Connect "No-known-drug-allergy"
// guidance; smart-on-fhir sample data "No known history of drug allergy").
constexpr absl::string_view kNoKnownAllergyCodes[] = {"716186003", "409137002"};

constexpr absl::string_view kNoKnownAllergyTexts[] = {
    "nka",
    "nkda",
    "nkma",
    "no known allergies",
    "no known allergy",
    "no known drug allergies",
    "no known drug allergy",
    "no known history of drug allergy",
    "no known medication allergies",
    "no known medication allergy",
    "no known allergies to medications",
    "no known allergies to drugs",
    "no allergies known",
    "nka nkda",
    "nkda nka",
};

// --- Fitzpatrick -----------------------------------------------------------

// SNOMED CT skin phototypes I-VI (shared docs/terminology.md section 5).
constexpr absl::string_view kSkinPhototypeCodes[] = {"403221005", "403222003",
                                                     "403226000", "403231003",
                                                     "403235007", "403236008"};

int SkinTypeFromText(absl::string_view text) {
  std::vector<std::string> words = Words(text, /*drop_parenthesized=*/true);
  std::vector<std::string> rest;
  for (std::string& w : words) {
    if (w == "fitzpatrick" || w == "skin" || w == "type" || w == "phototype" ||
        w == "classification" || w == "scale" || w == "class" ||
        w == "finding") {
      continue;
    }
    rest.push_back(std::move(w));
  }
  if (rest.size() != 1) return 0;
  static constexpr absl::string_view kArabic[] = {"1", "2", "3", "4", "5", "6"};
  static constexpr absl::string_view kRoman[] = {"i",  "ii", "iii",
                                                 "iv", "v",  "vi"};
  for (int i = 0; i < 6; ++i) {
    if (rest[0] == kArabic[i] || rest[0] == kRoman[i]) return i + 1;
  }
  return 0;
}

// --- Needle depth ----------------------------------------------------------

constexpr char kUnit[] =
    R"((mm|cm|um|µm|μm|millimet(?:er|re)s?|centimet(?:er|re)s?|microns?))";

}  // namespace

bool MentionsMicroneedling(absl::string_view text) {
  // Lower-case letters and digits only: hyphens and spaces do not matter.
  std::string squashed;
  squashed.reserve(text.size());
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u)) squashed += absl::ascii_tolower(u);
  }
  for (absl::string_view name : kMicroneedlingSquashed) {
    if (absl::StrContains(squashed, name)) return true;
  }
  return false;
}

bool ConceptMentionsMicroneedling(const Concept& concept) {
  for (absl::string_view t : Texts(concept)) {
    if (MentionsMicroneedling(t)) return true;
  }
  return false;
}

bool IsTopicalAnesthetic(const Concept& concept) {
  for (const auto& coding : concept.codings()) {
    for (const Code& c : kAnestheticCodes) {
      if (SystemIs(coding.system(), c.system) && coding.code() == c.code) {
        return true;
      }
    }
  }
  for (absl::string_view t : Texts(concept)) {
    // Cheap prefilter: every name and phrase holds one of these.
    const std::string lower = absl::AsciiStrToLower(t);
    bool maybe = false;
    for (absl::string_view part :
         {"caine", "novocain", "emla", "lmx", "citanest", "ametop", "blt",
          "numbing", "anesthe", "anaesthe"}) {
      maybe = maybe || absl::StrContains(lower, part);
    }
    if (maybe && WordsNameAnesthetic(Words(t))) return true;
  }
  return false;
}

std::vector<TreatmentArea> AreasFromBodySite(const Concept& body_site) {
  std::vector<TreatmentArea> out;
  for (const auto& coding : body_site.codings()) {
    if (!SystemIs(coding.system(), kSnomed)) continue;
    for (const AreaCode& ac : kBodySiteCodes) {
      if (coding.code() == ac.code) AddArea(&out, ac.area);
    }
  }
  if (!out.empty()) {
    std::sort(out.begin(), out.end());
    return out;
  }
  for (absl::string_view t : Texts(body_site)) {
    for (TreatmentArea a : AreasFromText(t)) AddArea(&out, a);
    if (!out.empty()) break;  // the text wins over the displays
  }
  if (out.empty() &&
      (!body_site.text().empty() || body_site.codings_size() > 0)) {
    out.push_back(v1::TREATMENT_AREA_OTHER);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool IsNoKnownAllergy(const Concept& code) {
  for (const auto& coding : code.codings()) {
    if (!SystemIs(coding.system(), kSnomed)) continue;
    for (absl::string_view c : kNoKnownAllergyCodes) {
      if (coding.code() == c) return true;
    }
  }
  for (absl::string_view t : Texts(code)) {
    const std::string norm =
        absl::StrJoin(Words(t, /*drop_parenthesized=*/true), " ");
    for (absl::string_view nka : kNoKnownAllergyTexts) {
      if (norm == nka) return true;
    }
  }
  return false;
}

bool IsFitzpatrickObservation(const Concept& code) {
  for (const auto& coding : code.codings()) {
    if ((coding.system().empty() || SystemIs(coding.system(), kLoinc)) &&
        coding.code() == "66555-4") {
      return true;
    }
  }
  for (absl::string_view t : Texts(code)) {
    if (HasWord(Words(t), {"fitzpatrick"})) return true;
  }
  return false;
}

int FitzpatrickFromValue(const Concept& value) {
  int found = 0;
  auto merge = [&found](int t) {
    if (t == 0) return true;
    if (found != 0 && found != t) return false;  // conflicting: unclear
    found = t;
    return true;
  };
  for (const auto& coding : value.codings()) {
    if (!SystemIs(coding.system(), kSnomed)) continue;
    for (int i = 0; i < 6; ++i) {
      if (coding.code() == kSkinPhototypeCodes[i] && !merge(i + 1)) return 0;
    }
  }
  if (found != 0) return found;
  for (absl::string_view t : Texts(value)) {
    if (!merge(SkinTypeFromText(t))) return 0;
  }
  return found;
}

std::optional<double> MillimetresPerUnit(absl::string_view unit) {
  std::string u(absl::StripAsciiWhitespace(unit));
  absl::AsciiStrToLower(&u);
  if (u.empty() || u == "mm" || u == "millimeter" || u == "millimeters" ||
      u == "millimetre" || u == "millimetres") {
    return 1.0;
  }
  if (u == "cm" || u == "centimeter" || u == "centimeters" ||
      u == "centimetre" || u == "centimetres") {
    return 10.0;
  }
  if (u == "um" || u == "\xC2\xB5m" || u == "\xCE\xBCm" || u == "micrometer" ||
      u == "micrometers" || u == "micrometre" || u == "micrometres" ||
      u == "micron" || u == "microns") {
    return 0.001;
  }
  return std::nullopt;
}

std::optional<double> NeedleDepthFromText(absl::string_view text) {
  // Compiled once, on first use (thread-safe initialisation).
  static const RE2 kBefore(
      std::string(R"((?i)\b(?:depth|needle\s+length)\s*(?:of|:|=|-)?\s*)") +
      R"((\d{1,4}(?:[.,]\d{1,3})?)\s*)" + kUnit + R"((?:[^a-z]|$))");
  static const RE2 kAfter(std::string(R"((?i)\b(\d{1,4}(?:[.,]\d{1,3})?)\s*)") +
                          kUnit +
                          R"(\s*(?:needle\s+)?(?:depth|needle\s+length)\b)");
  std::string number, unit;
  const re2::StringPiece input(text.data(), text.size());
  if (!RE2::PartialMatch(input, kBefore, &number, &unit) &&
      !RE2::PartialMatch(input, kAfter, &number, &unit)) {
    return std::nullopt;
  }
  std::replace(number.begin(), number.end(), ',', '.');
  double value = 0;
  if (!absl::SimpleAtod(number, &value) || !(value > 0)) return std::nullopt;
  std::optional<double> per = MillimetresPerUnit(unit);
  if (!per) return std::nullopt;
  const double mm = value * *per;
  if (!(mm <= 100)) return std::nullopt;  // not a needle depth
  return mm;
}

}  // namespace needlecheck::fhir
