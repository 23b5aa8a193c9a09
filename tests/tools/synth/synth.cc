#include "tests/tools/synth/synth.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace needlecheck::synth {
namespace {

enum Scenario {
  kClean = 0,
  kIntervalViolation,
  kNonOverlappingPair,
  kSameDayPair,
  kEczemaActive,
  kEczemaResolved,
  kAllergyAfter,
  kAnestheticAllergy,
  kWarfarinActive,
  kWarfarinStopped,
  kNegatedAllergy,
  kEyeDepth,
  kFitzpatrickV,
  kIntervalAndWarfarin,
  kNumScenarios,
};

constexpr const char* kAreas[] = {
    "Full face", "Cheeks", "Forehead", "Periorbital region",
    "Perioral",  "Neck",   "Back"};
constexpr int kFullFace = 0;
constexpr int kPeriorbital = 3;
constexpr int kBack = 6;
constexpr int kNoArea = -1;

constexpr const char* kSessionNames[] = {"Microneedling",
                                         "Microneedling",
                                         "Micro-needling",
                                         "Collagen induction therapy",
                                         "Percutaneous collagen induction",
                                         "Dermapen microneedling",
                                         "SkinPen microneedling",
                                         "RF microneedling"};

constexpr const char* kGiven[] = {"Anna", "Maria", "Lea",  "Sofia", "Emma",
                                  "Mia",  "Lena",  "Noah", "Paul",  "Ben"};
constexpr const char* kFamily[] = {"Muster", "Schmidt", "Keller", "Weber",
                                   "Meyer",  "Fischer", "Wagner", "Becker"};

// Who performed a session and where (Procedure.performer[0].actor and
// Procedure.location): a small fixed staff and three clinics.
struct Named {
  const char* reference;
  const char* display;
};
constexpr Named kPractitioners[] = {
    {"Practitioner/prac-1", "Dr. Ana Ruiz"},
    {"Practitioner/prac-2", "Dr. Ben Okafor"},
    {"Practitioner/prac-3", "Dr. Carla Weber"},
    {"Practitioner/prac-4", "Nurse Dana Fischer"},
    {"Practitioner/prac-5", "Dr. Emil Novak"}};
constexpr int kNumPractitioners = 5;
constexpr Named kClinics[] = {{"Location/clinic-north", "North Clinic"},
                              {"Location/clinic-south", "South Clinic"},
                              {"Location/clinic-city", "City Centre Clinic"}};
constexpr int kNumClinics = 3;

constexpr const char* kSnomed = "http://snomed.info/sct";
constexpr const char* kRxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
constexpr const char* kLoinc = "http://loinc.org";

// splitmix64: tiny, portable and deterministic everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (the modulo bias is irrelevant here).
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % n); }
  bool Chance(int percent) { return Below(100) < percent; }

 private:
  uint64_t state_;
};

std::string Q(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string Day(absl::CivilDay d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

bool IsFaceSubArea(int a) { return a >= 1 && a <= 4; }

bool Overlap(int a, int b) {
  if (a == kNoArea || b == kNoArea || a == b) return true;
  return (a == kFullFace && IsFaceSubArea(b)) ||
         (b == kFullFace && IsFaceSubArea(a));
}

std::string Coding(const char* system, const std::string& code,
                   const std::string& display) {
  return absl::StrCat("{\"system\":", Q(system), ",\"code\":", Q(code),
                      ",\"display\":", Q(display), "}");
}

std::string Status(const char* system, const char* code) {
  return absl::StrCat("{\"coding\":[{\"system\":", Q(system),
                      ",\"code\":", Q(code), "}]}");
}

struct Session {
  absl::CivilDay day;
  int area = kNoArea;
  double depth = 0;  // 0 = not stated
  bool emla = false;
  std::string id;
  // EMLA recorded as a MedicationAdministration that day instead of
  // Procedure.usedCode (only when emla).
  bool emla_administered = false;
  int performer = 0;  // index in kPractitioners
  int location = 0;   // index in kClinics
};

std::string Reference(const Named& named) {
  return absl::StrCat("{\"reference\":", Q(named.reference),
                      ",\"display\":", Q(named.display), "}");
}

int RandomArea(Rng& rng, bool allow_none) {
  if (allow_none && rng.Chance(10)) return kNoArea;
  return static_cast<int>(rng.Below(7));
}

double RandomDepth(Rng& rng, int area) {
  if (area == kPeriorbital) return rng.Chance(50) ? 0.5 : 0;
  if (!rng.Chance(50)) return 0;
  constexpr double kDepths[] = {0.5, 1.0, 1.5, 2.0};
  return kDepths[rng.Below(4)];
}

// Sessions 42-90 days apart, starting on `first`.
void SpacedSessions(Rng& rng, absl::CivilDay first, int area,
                    std::vector<Session>* out) {
  int n = 1 + static_cast<int>(rng.Below(3));
  absl::CivilDay day = first;
  for (int i = 0; i < n; ++i) {
    Session s;
    s.day = day;
    s.area = area;
    s.depth = RandomDepth(rng, area);
    out->push_back(s);
    day += 42 + rng.Below(49);
  }
}

std::string DateTimeOf(Rng& rng, absl::CivilDay d) {
  switch (rng.Below(3)) {
    case 0:
      return Day(d);
    case 1:
      return absl::StrCat(Day(d), "T10:30:00Z");
    default:
      return absl::StrCat(Day(d), "T09:15:00+01:00");
  }
}

}  // namespace

std::vector<std::string> ScenarioNames() {
  constexpr const char* kNames[] = {"clean",
                                    "interval_violation",
                                    "non_overlapping_pair",
                                    "same_day_pair",
                                    "eczema_active",
                                    "eczema_resolved",
                                    "allergy_after",
                                    "anesthetic_allergy",
                                    "warfarin_active",
                                    "warfarin_stopped",
                                    "negated_allergy",
                                    "eye_depth",
                                    "fitzpatrick_v",
                                    "interval_and_warfarin"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == kNumScenarios);
  return std::vector<std::string>(std::begin(kNames), std::end(kNames));
}

absl::Status ValidateOptions(const SynthOptions& options) {
  if (options.patients < 0) {
    return absl::InvalidArgumentError("--patients must be >= 0");
  }
  if (options.end - options.start < 365) {
    return absl::InvalidArgumentError(
        "--end must be at least 365 days after --start");
  }
  return absl::OkStatus();
}

GeneratedPatient GeneratePatient(const SynthOptions& options, int64_t index) {
  Rng seeder(options.seed ^ 0x5EEDC0FFEE123457ULL);
  Rng rng(seeder.Next() ^
          (static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ULL));
  rng.Next();

  int scenario;
  if (index < kNumScenarios) {
    scenario = static_cast<int>(index);
  } else if (rng.Chance(40)) {
    scenario = kClean;
  } else {
    scenario = 1 + static_cast<int>(rng.Below(kNumScenarios - 1));
  }

  GeneratedPatient p;
  p.patient_id = absl::StrCat("syn", options.seed, "-", index);
  p.scenario = ScenarioNames()[scenario];  // small; once per patient
  const std::string subject =
      absl::StrCat("{\"reference\":", Q("Patient/" + p.patient_id), "}");
  auto& patients = p.lines[0];
  auto& conditions = p.lines[1];
  auto& allergies = p.lines[2];
  auto& medications = p.lines[3];
  auto& procedures = p.lines[4];
  auto& observations = p.lines[5];
  auto& administrations = p.lines[6];

  // Timeline: everything lies in [base, base + 300] within [start, end].
  const int64_t span = options.end - options.start;
  const absl::CivilDay base = options.start + rng.Below(span - 330 + 1);
  const absl::CivilDay setup = base + rng.Below(20);
  const absl::CivilDay first = base + 30 + rng.Below(30);

  // Patient.
  const absl::CivilDay birth = absl::CivilDay(
      1950 + rng.Below(55), 1 + rng.Below(12), 1 + rng.Below(28));
  patients.push_back(
      absl::StrCat("{\"resourceType\":\"Patient\",\"id\":", Q(p.patient_id),
                   ",\"name\":[{\"family\":", Q(kFamily[rng.Below(8)]),
                   ",\"given\":[", Q(kGiven[rng.Below(10)]),
                   "]}],\"gender\":", Q(rng.Chance(80) ? "female" : "male"),
                   ",\"birthDate\":", Q(Day(birth)), "}"));

  // Sessions.
  std::vector<Session> sessions;
  switch (scenario) {
    case kIntervalViolation:
    case kIntervalAndWarfarin: {
      int a, b;
      switch (rng.Below(5)) {
        case 0:
          a = b = static_cast<int>(rng.Below(7));
          break;
        case 1:
          a = kFullFace;
          b = 1 + static_cast<int>(rng.Below(4));
          break;
        case 2:
          a = 1 + static_cast<int>(rng.Below(4));
          b = kFullFace;
          break;
        case 3:
          a = kNoArea;
          b = static_cast<int>(rng.Below(7));
          break;
        default:
          a = static_cast<int>(rng.Below(7));
          b = kNoArea;
      }
      Session s1{first, a, RandomDepth(rng, a), false, ""};
      Session s2{first + 10 + rng.Below(18), b, RandomDepth(rng, b), false, ""};
      sessions = {s1, s2};
      break;
    }
    case kNonOverlappingPair: {
      int face = static_cast<int>(rng.Below(5));
      int a = kBack, b = face;
      if (rng.Chance(50)) std::swap(a, b);
      sessions = {Session{first, a, RandomDepth(rng, a), false, ""},
                  Session{first + 10 + rng.Below(18), b, RandomDepth(rng, b),
                          false, ""}};
      break;
    }
    case kSameDayPair: {
      int a = RandomArea(rng, false);
      sessions = {Session{first, a, RandomDepth(rng, a), false, ""},
                  Session{first, a, RandomDepth(rng, a), false, ""}};
      break;
    }
    case kEyeDepth:
      SpacedSessions(rng, first, kPeriorbital, &sessions);
      for (Session& s : sessions) s.depth = 1.0;
      break;
    default:
      SpacedSessions(rng, first, RandomArea(rng, true), &sessions);
  }
  const bool emla = scenario == kAllergyAfter ||
                    scenario == kAnestheticAllergy ||
                    scenario == kNegatedAllergy;
  // Who and where: the patient's usual clinic (sometimes another one) and
  // any of the practitioners.
  const int home_clinic = static_cast<int>(rng.Below(kNumClinics));
  for (Session& s : sessions) {
    s.emla = emla || (scenario == kClean && rng.Chance(30));
    s.emla_administered = s.emla && rng.Chance(40);
    s.performer = static_cast<int>(rng.Below(kNumPractitioners));
    s.location =
        rng.Chance(80) ? home_clinic : static_cast<int>(rng.Below(kNumClinics));
  }
  const absl::CivilDay last = sessions.back().day;

  // Allergy entries.
  const std::string allergy_clinical = Status(
      "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
      "active");
  const std::string allergy_verification = Status(
      "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
      "confirmed");
  auto allergy = [&](const std::string& id, const std::string& code,
                     const std::string& note, absl::CivilDay recorded) {
    std::string line = absl::StrCat(
        "{\"resourceType\":\"AllergyIntolerance\",\"id\":", Q(id),
        ",\"clinicalStatus\":", allergy_clinical,
        ",\"verificationStatus\":", allergy_verification, ",\"code\":", code,
        ",\"patient\":", subject, ",\"recordedDate\":", Q(Day(recorded)));
    if (!note.empty()) {
      absl::StrAppend(&line, ",\"note\":[{\"text\":", Q(note), "}]");
    }
    line += "}";
    allergies.push_back(std::move(line));
  };
  const std::string nka = "{\"text\":\"No known allergies\"}";
  const std::string lidocaine_coded =
      absl::StrCat("{\"coding\":[", Coding(kRxNorm, "6387", "Lidocaine"),
                   "],\"text\":\"Lidocaine\"}");
  switch (scenario) {
    case kAllergyAfter:
      allergy(p.patient_id + "-alg1", nka, "", setup);
      allergy(p.patient_id + "-alg2", lidocaine_coded,
              "rash after lidocaine cream", last + 1 + rng.Below(30));
      break;
    case kAnestheticAllergy:
      allergy(p.patient_id + "-alg1",
              rng.Chance(50) ? lidocaine_coded
                             : std::string("{\"text\":\"Lidocaine\"}"),
              "rash after lidocaine cream", setup);
      break;
    case kNegatedAllergy:
      allergy(p.patient_id + "-alg1", "{\"text\":\"Pollen\"}",
              "denies allergy to lidocaine", setup);
      break;
    default:
      allergy(p.patient_id + "-alg1", nka, "", setup);
  }

  // Fitzpatrick skin type.
  const bool type_v = scenario == kFitzpatrickV;
  observations.push_back(absl::StrCat(
      "{\"resourceType\":\"Observation\",\"id\":", Q(p.patient_id + "-obs1"),
      ",\"status\":\"final\",\"code\":{\"coding\":[",
      Coding(kLoinc, "66555-4", "Skin type [Fitzpatrick Classification Scale]"),
      "]},\"subject\":", subject, ",\"effectiveDateTime\":", Q(Day(setup)),
      ",\"valueCodeableConcept\":{\"coding\":[",
      type_v ? Coding(kSnomed, "403235007",
                      "Skin phototype V (moderately pigmented) (finding)")
             : Coding(kSnomed, "403222003",
                      "Skin phototype II (initially always burn, then "
                      "usually tan) (finding)"),
      "]}}"));

  // Conditions.
  if (scenario == kEczemaActive || scenario == kEczemaResolved) {
    const bool active = scenario == kEczemaActive;
    const absl::CivilDay onset = base - 30 - rng.Below(300);
    std::string line = absl::StrCat(
        "{\"resourceType\":\"Condition\",\"id\":", Q(p.patient_id + "-cond1"),
        ",\"clinicalStatus\":",
        Status("http://terminology.hl7.org/CodeSystem/condition-clinical",
               active ? "active" : "resolved"),
        ",\"verificationStatus\":",
        Status("http://terminology.hl7.org/CodeSystem/condition-ver-status",
               "confirmed"),
        ",\"code\":{\"coding\":[",
        Coding(kSnomed, "24079001", "Atopic dermatitis (disorder)"),
        "],\"text\":\"Atopic dermatitis\"},\"subject\":", subject,
        ",\"onsetDateTime\":", Q(Day(onset)));
    if (!active) {
      absl::StrAppend(
          &line, ",\"abatementDateTime\":", Q(Day(setup - 1 - rng.Below(20))));
    }
    line += "}";
    conditions.push_back(std::move(line));
  }

  // Medications.
  if (scenario == kWarfarinActive || scenario == kWarfarinStopped ||
      scenario == kIntervalAndWarfarin) {
    const bool active = scenario != kWarfarinStopped;
    const absl::CivilDay authored = setup - rng.Below(60);
    std::string line = absl::StrCat(
        "{\"resourceType\":\"MedicationRequest\",\"id\":",
        Q(p.patient_id + "-med1"),
        ",\"status\":", Q(active ? "active" : "stopped"),
        ",\"intent\":\"order\",\"medicationCodeableConcept\":{\"coding\":[",
        Coding(kRxNorm, "855332", "Warfarin Sodium 5 MG Oral Tablet"),
        "],\"text\":\"Warfarin Sodium 5 MG Oral Tablet\"},\"subject\":",
        subject, ",\"authoredOn\":", Q(Day(authored)));
    if (!active) {
      absl::StrAppend(&line,
                      ",\"dispenseRequest\":{\"validityPeriod\":{\"start\":",
                      Q(Day(authored)), ",\"end\":", Q(Day(setup)), "}}");
    }
    line += "}";
    medications.push_back(std::move(line));
  }

  // Decoys in clean patients: not sessions, never findings.
  int decoys = 0;
  if (scenario == kClean && rng.Chance(20)) {
    procedures.push_back(absl::StrCat(
        "{\"resourceType\":\"Procedure\",\"id\":",
        Q(absl::StrCat(p.patient_id, "-dec", ++decoys)),
        ",\"status\":\"not-done\",\"code\":{\"text\":\"Microneedling\"},"
        "\"subject\":",
        subject, ",\"performedDateTime\":", Q(Day(first - 14)),
        ",\"bodySite\":[{\"text\":\"Full face\"}]}"));
  }
  if (scenario == kClean && rng.Chance(20)) {
    procedures.push_back(absl::StrCat(
        "{\"resourceType\":\"Procedure\",\"id\":",
        Q(absl::StrCat(p.patient_id, "-dec", ++decoys)),
        ",\"status\":\"completed\",\"code\":{\"text\":\"Chemical peel\"},"
        "\"subject\":",
        subject, ",\"performedDateTime\":", Q(Day(first - 10)),
        ",\"bodySite\":[{\"text\":\"Full face\"}]}"));
  }

  // Session Procedures and expected verdicts.
  const bool critical =
      scenario == kEczemaActive || scenario == kAnestheticAllergy;
  const bool warning_all = scenario == kWarfarinActive ||
                           scenario == kFitzpatrickV ||
                           scenario == kIntervalAndWarfarin;
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session& s = sessions[i];
    s.id = absl::StrCat(p.patient_id, "-mn", i + 1);
    std::string line =
        absl::StrCat("{\"resourceType\":\"Procedure\",\"id\":", Q(s.id),
                     ",\"status\":\"completed\",\"code\":{\"text\":",
                     Q(kSessionNames[rng.Below(8)]), "},\"subject\":", subject,
                     ",\"performedDateTime\":", Q(DateTimeOf(rng, s.day)));
    if (s.area != kNoArea) {
      absl::StrAppend(&line, ",\"bodySite\":[{\"text\":", Q(kAreas[s.area]),
                      "}]");
    }
    if (s.emla && !s.emla_administered) {
      absl::StrAppend(&line, ",\"usedCode\":[{\"text\":\"EMLA cream\"}]");
    }
    absl::StrAppend(&line, ",\"performer\":[{\"actor\":",
                    Reference(kPractitioners[s.performer]),
                    "}],\"location\":", Reference(kClinics[s.location]));
    if (s.depth > 0) {
      absl::StrAppend(
          &line,
          ",\"extension\":[{\"url\":\"urn:needlecheck:fhir:needle-depth\","
          "\"valueQuantity\":{\"value\":",
          absl::StrFormat("%.2f", s.depth),
          ",\"unit\":\"mm\",\"system\":\"http://unitsofmeasure.org\","
          "\"code\":\"mm\"}}]");
    }
    line += "}";
    procedures.push_back(std::move(line));
    if (s.emla_administered) {
      // The anesthetic as a dose given that day (the audit takes a topical
      // anesthetic started on the session's day as the session's).
      administrations.push_back(absl::StrCat(
          "{\"resourceType\":\"MedicationAdministration\",\"id\":",
          Q(absl::StrCat(p.patient_id, "-madm", i + 1)),
          ",\"status\":\"completed\",\"medicationCodeableConcept\":",
          rng.Chance(50)
              ? std::string("{\"text\":\"EMLA cream\"}")
              : absl::StrCat(
                    "{\"coding\":[",
                    Coding(kSnomed, "346553009",
                           "Product containing lidocaine and prilocaine "
                           "(medicinal product)"),
                    "],\"text\":\"Lidocaine 2.5% / prilocaine 2.5% cream\"}"),
          ",\"subject\":", subject,
          ",\"effectiveDateTime\":", Q(DateTimeOf(rng, s.day)),
          ",\"performer\":[{\"actor\":", Reference(kPractitioners[s.performer]),
          "}]}"));
    }

    // The previous sessions as the interval rule sees them: strictly
    // before the session's day, on an overlapping area.
    bool interval = false;
    int64_t days_since_previous = -1;
    for (size_t j = 0; j < sessions.size(); ++j) {
      const int64_t gap = s.day - sessions[j].day;
      if (j == i || gap <= 0 || !Overlap(s.area, sessions[j].area)) continue;
      if (gap < 28) interval = true;
      if (days_since_previous < 0 || gap < days_since_previous) {
        days_since_previous = gap;
      }
    }
    const bool warning =
        warning_all || (s.area == kPeriorbital && s.depth > 0.5);
    ExpectedFinding f;
    f.patient_id = p.patient_id;
    f.session_id = s.id;
    f.session_date = Day(s.day);
    f.verdict = interval   ? "interval_violation"
                : critical ? "treated_despite_critical"
                : warning  ? "treated_despite_warning"
                           : "clear";
    f.performer = kPractitioners[s.performer].display;
    f.location = kClinics[s.location].display;
    f.days_since_previous_session = days_since_previous;
    p.finding_lines.push_back(absl::StrCat(
        "{\"patient_id\":", Q(f.patient_id), ",\"session_id\":",
        Q(f.session_id), ",\"session_date\":", Q(f.session_date),
        ",\"verdict\":", Q(f.verdict), ",\"scenario\":", Q(p.scenario),
        ",\"areas\":[", s.area == kNoArea ? std::string() : Q(kAreas[s.area]),
        "],\"performer\":", Q(f.performer), ",\"location\":", Q(f.location),
        ",\"days_since_previous_session\":",
        days_since_previous < 0 ? std::string("null")
                                : absl::StrCat(days_since_previous),
        "}"));
    p.findings.push_back(std::move(f));
  }
  return p;
}

std::string SummaryJson(const SynthOptions& options,
                        const SynthSummary& summary) {
  auto map_json = [](const std::map<std::string, int64_t>& m) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : m) parts.push_back(absl::StrCat(Q(k), ":", v));
    return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
  };
  // Every verdict, zeros included.
  auto verdicts_json = [&](const std::map<std::string, int64_t>& counts) {
    std::map<std::string, int64_t> verdicts = {{"interval_violation", 0},
                                               {"treated_despite_critical", 0},
                                               {"treated_despite_warning", 0},
                                               {"clear", 0}};
    for (const auto& [k, v] : counts) verdicts[k] = v;
    return map_json(verdicts);
  };
  auto groups_json = [&](const std::map<std::string, SessionCounts>& m) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : m) {
      parts.push_back(absl::StrCat(Q(k), ":{\"sessions\":", v.sessions,
                                   ",\"verdicts\":", verdicts_json(v.verdicts),
                                   "}"));
    }
    return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
  };
  return absl::StrCat(
      "{\"seed\":", options.seed, ",\"patients\":", summary.patients,
      ",\"start\":", Q(Day(options.start)), ",\"end\":", Q(Day(options.end)),
      ",\"sessions\":", summary.sessions,
      ",\"verdicts\":", verdicts_json(summary.verdicts),
      ",\"scenarios\":", map_json(summary.scenarios),
      ",\"resources\":", map_json(summary.resources),
      ",\"performers\":", groups_json(summary.performers),
      ",\"locations\":", groups_json(summary.locations), "}\n");
}

std::string ResourceFileName(const SynthOptions& options, int type) {
  return absl::StrCat(kResourceTypes[type],
                      options.gzip ? ".ndjson.gz" : ".ndjson");
}

namespace {

// One resource file: plain, or gzip (zlib's gzip header carries no time or
// name, so the bytes stay a function of the options).
class ResourceFile {
 public:
  ResourceFile() = default;
  ResourceFile(const ResourceFile&) = delete;
  ResourceFile& operator=(const ResourceFile&) = delete;
  ~ResourceFile() { Close(); }

  bool Open(const std::filesystem::path& path, bool gzip) {
    if (gzip) {
      gz_ = gzopen(path.c_str(), "wb");
      if (gz_ == nullptr) return false;
      gzbuffer(gz_, 1 << 16);
      return true;
    }
    plain_.open(path, std::ios::binary | std::ios::trunc);
    return plain_.is_open();
  }

  void WriteLine(const std::string& line) {
    if (gz_ != nullptr) {
      if (!line.empty() &&
          gzwrite(gz_, line.data(), static_cast<unsigned>(line.size())) <= 0) {
        ok_ = false;
      }
      if (gzputc(gz_, '\n') != '\n') ok_ = false;
      return;
    }
    plain_ << line << '\n';
  }

  // True when everything was written and the file closed cleanly.
  bool Close() {
    if (gz_ != nullptr) {
      if (gzclose(gz_) != Z_OK) ok_ = false;
      gz_ = nullptr;
    } else if (plain_.is_open()) {
      plain_.close();
      if (plain_.fail()) ok_ = false;
    }
    return ok_;
  }

 private:
  gzFile gz_ = nullptr;
  std::ofstream plain_;
  bool ok_ = true;
};

}  // namespace

absl::StatusOr<SynthSummary> WriteExport(const SynthOptions& options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", options.out_dir, ": ", ec.message()));
  }
  const std::filesystem::path dir(options.out_dir);
  ResourceFile files[kNumResourceTypes];
  for (int t = 0; t < kNumResourceTypes; ++t) {
    const std::filesystem::path path = dir / ResourceFileName(options, t);
    if (!files[t].Open(path, options.gzip)) {
      return absl::InternalError(
          absl::StrCat("cannot open ", path.string(), " for writing"));
    }
  }
  std::ofstream findings(dir / "expected_findings.ndjson",
                         std::ios::binary | std::ios::trunc);
  SynthSummary summary;
  for (const char* type : kResourceTypes) summary.resources[type] = 0;
  for (int64_t i = 0; i < options.patients; ++i) {
    GeneratedPatient p = GeneratePatient(options, i);
    for (int t = 0; t < kNumResourceTypes; ++t) {
      for (const std::string& line : p.lines[t]) files[t].WriteLine(line);
      summary.resources[kResourceTypes[t]] += p.lines[t].size();
    }
    for (const std::string& line : p.finding_lines) findings << line << '\n';
    for (const ExpectedFinding& f : p.findings) {
      ++summary.verdicts[f.verdict];
      SessionCounts& by_performer = summary.performers[f.performer];
      ++by_performer.sessions;
      ++by_performer.verdicts[f.verdict];
      SessionCounts& by_location = summary.locations[f.location];
      ++by_location.sessions;
      ++by_location.verdicts[f.verdict];
    }
    summary.sessions += p.findings.size();
    ++summary.scenarios[p.scenario];
    ++summary.patients;
  }
  std::ofstream summary_file(dir / "expected_summary.json",
                             std::ios::binary | std::ios::trunc);
  summary_file << SummaryJson(options, summary);
  bool ok = summary_file.good() && findings.good();
  for (auto& f : files) ok = f.Close() && ok;
  findings.close();
  summary_file.close();
  if (!ok || findings.fail() || summary_file.fail()) {
    return absl::InternalError(
        absl::StrCat("write failed under ", options.out_dir));
  }
  return summary;
}

}  // namespace needlecheck::synth
