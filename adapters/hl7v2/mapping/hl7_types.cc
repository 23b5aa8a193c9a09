#include "adapters/hl7v2/mapping/hl7_types.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/fhir/vocabulary.h"
#include "common/calendar/day.h"
#include "common/text/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace needlecheck::hl7v2 {
namespace {

namespace v1 = ::needlecheck::v1;

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int Number(absl::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

// One field's value through a (component or subcomponent) accessor.
using Part = std::function<std::string(int)>;

v1::Concept ConceptFromParts(const Part& part) {
  v1::Concept out;
  const std::string code = part(1), text = part(2), system = part(3);
  bool primary_is_coding = false;
  auto add = [&out](const std::string& c, const std::string& d,
                    const std::string& s) {
    if (c.empty() || (s.empty() && d.empty())) return false;
    v1::Coding* coding = out.add_codings();
    coding->set_code(c);
    coding->set_display(d);
    coding->set_system(CodingSystemUri(s));
    return true;
  };
  primary_is_coding = add(code, text, system);
  const std::string alt_text = part(5);
  add(part(4), alt_text, part(6));
  add(part(10), part(11), part(12));
  std::string original = part(9);
  if (!original.empty()) {
    out.set_text(original);
  } else if (!text.empty()) {
    out.set_text(text);
  } else if (!alt_text.empty()) {
    out.set_text(alt_text);
  } else if (!primary_is_coding && !code.empty()) {
    out.set_text(code);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> Hl7DateToFhir(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::string();
  absl::string_view offset;
  const size_t sign = value.find_first_of("+-");
  if (sign != absl::string_view::npos) {
    offset = value.substr(sign);
    value = value.substr(0, sign);
  }
  absl::string_view fraction;
  const size_t dot = value.find('.');
  if (dot != absl::string_view::npos) {
    fraction = value.substr(dot + 1);
    value = value.substr(0, dot);
  }
  const size_t n = value.size();
  if (!AllDigits(value) || n < 4 || n > 14 || n % 2 != 0) {
    return Invalid("not an HL7 date/time (YYYY[MM[DD[HH[MM[SS]]]]])");
  }
  if (!fraction.empty() || dot != absl::string_view::npos) {
    if (n != 14 || !AllDigits(fraction) || fraction.size() > 4) {
      return Invalid("the fraction of a second needs seconds and 1-4 digits");
    }
  }
  if (!offset.empty() && (offset.size() != 5 || !AllDigits(offset.substr(1)))) {
    return Invalid("the time zone offset is not +HHMM or -HHMM");
  }
  const int year = Number(value.substr(0, 4));
  if (year < 1) return Invalid("the year is out of range");
  std::string out(value.substr(0, 4));
  if (n >= 6) {
    const int month = Number(value.substr(4, 2));
    if (month < 1 || month > 12) return Invalid("the month is out of range");
    absl::StrAppend(&out, "-", value.substr(4, 2));
    if (n >= 8) {
      const int day = Number(value.substr(6, 2));
      if (day < 1 || day > DaysInMonth(year, month)) {
        return Invalid("the date does not exist (no such day in its month)");
      }
      absl::StrAppend(&out, "-", value.substr(6, 2));
    }
  }
  if (n >= 10) {
    const int hour = Number(value.substr(8, 2));
    const int minute = n >= 12 ? Number(value.substr(10, 2)) : 0;
    const int second = n >= 14 ? Number(value.substr(12, 2)) : 0;
    if (hour > 23 || minute > 59 || second > 59) {
      return Invalid("the time of day is out of range");
    }
  }
  if (!offset.empty()) {
    const int oh = Number(offset.substr(1, 2)),
              om = Number(offset.substr(3, 2));
    if (oh > 14 || om > 59 || (oh == 14 && om > 0)) {
      return Invalid("the time zone offset is out of range");
    }
  }
  // A time needs a zone in FHIR: without an offset only the day is kept.
  if (n < 10 || offset.empty()) return out;
  absl::StrAppend(&out, "T", value.substr(8, 2), ":",
                  n >= 12 ? value.substr(10, 2) : "00", ":",
                  n >= 14 ? value.substr(12, 2) : "00");
  if (!fraction.empty()) absl::StrAppend(&out, ".", fraction);
  absl::StrAppend(&out, offset.substr(0, 3), ":", offset.substr(3, 2));
  return out;
}

Hl7ErrorLocation FieldLocation(const Er7Segment& segment, int field,
                               int repetition, int component) {
  Hl7ErrorLocation l;
  l.segment_id = segment.id();
  l.segment_sequence = segment.sequence();
  l.field = field;
  // ERR-2 leaves out everything after a 0: a component needs a repetition.
  l.repetition = component > 0 && repetition == 0 ? 1 : repetition;
  l.component = component;
  return l;
}

absl::StatusOr<std::string> ReadDate(const Er7Segment& segment, int field,
                                     int repetition, int component) {
  absl::StatusOr<std::string> date =
      Hl7DateToFhir(segment.Get(field, repetition, component));
  if (date.ok()) return date;
  return MakeHl7Error(absl::StatusCode::kInvalidArgument,
                      Hl7ErrorCode::kDataTypeError,
                      FieldLocation(segment, field, repetition, component),
                      date.status().message());
}

std::string CodingSystemUri(absl::string_view hl7_name) {
  const std::string name =
      absl::AsciiStrToUpper(absl::StripAsciiWhitespace(hl7_name));
  if (name.empty()) return "";
  struct Entry {
    std::initializer_list<const char*> names;
    const char* uri;
  };
  static const Entry kTable[] = {
      {{"I10", "ICD10CM", "I10C", "ICD-10-CM", "ICD10"},
       "http://hl7.org/fhir/sid/icd-10-cm"},
      {{"I9", "I9C", "I9CM", "ICD9", "ICD9CM"},
       "http://hl7.org/fhir/sid/icd-9-cm"},
      {{"SCT", "SNM", "SNOMED", "SNOMEDCT", "SNOMED-CT", "SNOMED CT"},
       "http://snomed.info/sct"},
      {{"RXNORM", "RXN"}, "http://www.nlm.nih.gov/research/umls/rxnorm"},
      {{"LN", "LOINC"}, "http://loinc.org"},
      {{"NDC"}, "http://hl7.org/fhir/sid/ndc"},
      {{"CVX"}, "http://hl7.org/fhir/sid/cvx"},
      {{"C4", "C5", "CPT", "CPT4"}, "http://www.ama-assn.org/go/cpt"},
      {{"UCUM"}, "http://unitsofmeasure.org"},
  };
  for (const Entry& e : kTable) {
    for (const char* n : e.names) {
      if (name == n) return e.uri;
    }
  }
  if (name.size() == 7 && absl::StartsWith(name, "HL7") &&
      AllDigits(absl::string_view(name).substr(3))) {
    return absl::StrCat("http://terminology.hl7.org/CodeSystem/v2-",
                        name.substr(3));
  }
  return absl::StrCat("urn:hl7v2:table-0396:",
                      absl::StripAsciiWhitespace(hl7_name));
}

v1::Concept ReadConcept(const Er7Segment& segment, int field, int repetition) {
  return ConceptFromParts(
      [&](int component) { return segment.Get(field, repetition, component); });
}

v1::Concept ReadConceptInComponent(const Er7Segment& segment, int field,
                                   int repetition, int component) {
  return ConceptFromParts(
      [&](int sub) { return segment.Get(field, repetition, component, sub); });
}

std::vector<std::string> ReadRepetitions(const Er7Segment& segment, int field) {
  std::vector<std::string> out;
  for (int r = 1; r <= segment.RepetitionCount(field); ++r) {
    std::string t = segment.GetRepetitionText(field, r);
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

std::string ReadText(const Er7Segment& segment, int field) {
  return absl::StrJoin(ReadRepetitions(segment, field), "\n");
}

bool IsEmptyConcept(const v1::Concept& concept) {
  return concept.codings_size() == 0 && concept.text().empty();
}

std::string ConceptName(const v1::Concept& concept) {
  if (!concept.text().empty()) return concept.text();
  for (const v1::Coding& c : concept.codings()) {
    if (!c.display().empty()) return c.display();
  }
  return concept.codings_size() > 0 ? concept.codings(0).code() : "";
}

std::vector<v1::TreatmentArea> AreasNamedInText(absl::string_view text) {
  std::vector<v1::TreatmentArea> out;
  if (text.empty()) return out;
  v1::Concept c;
  c.set_text(std::string(text));
  for (v1::TreatmentArea a : fhir::AreasFromBodySite(c)) {
    if (a != v1::TREATMENT_AREA_OTHER) out.push_back(a);
  }
  return out;
}

TextEncoding MessageEncoding(const Er7Message& message) {
  const std::string charset =
      absl::AsciiStrToUpper(absl::StripAsciiWhitespace(message.Get("MSH-18")));
  return charset == "8859/1" ? TextEncoding::kLatin1 : TextEncoding::kUtf8;
}

std::string ToUtf8(absl::string_view text, TextEncoding encoding) {
  if (encoding == TextEncoding::kUtf8 && text::IsValidUtf8(text)) {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

void MakeStringsUtf8(TextEncoding encoding,
                     google::protobuf::Message* message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*message, f); ++i) {
          r->SetRepeatedString(
              message, f, i,
              ToUtf8(r->GetRepeatedString(*message, f, i), encoding));
        }
      } else {
        r->SetString(message, f, ToUtf8(r->GetString(*message, f), encoding));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*message, f); ++i) {
          MakeStringsUtf8(encoding, r->MutableRepeatedMessage(message, f, i));
        }
      } else {
        MakeStringsUtf8(encoding, r->MutableMessage(message, f));
      }
    }
  }
}

}  // namespace needlecheck::hl7v2
