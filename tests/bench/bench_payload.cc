#include "tests/bench/bench_payload.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace needlecheck::bench {
namespace {

using needlecheck::v1::Concept;
using needlecheck::v1::PatientRecord;
using needlecheck::v1::ScreenRequest;

constexpr char kSnomed[] = "http://snomed.info/sct";
constexpr char kIcd10[] = "http://hl7.org/fhir/sid/icd-10-cm";
constexpr char kRxNorm[] = "http://www.nlm.nih.gov/research/umls/rxnorm";
constexpr char kLoinc[] = "http://loinc.org";
// An EHR's own code system: codes the knowledge base does not know, so the
// engine falls back to the text, as it does for much of a real chart.
constexpr char kLocal[] = "http://example.org/fhir/CodeSystem/local";

struct Coded {
  const char* system;  // nullptr: text only
  const char* code;
  const char* display;
  const char* text;
};

struct ConditionTemplate {
  Coded code;
  const char* clinical_status;
  bool abated;
};

// Codes from the shared terminology list where the rules care; local codes
// for the rest.
constexpr ConditionTemplate kConditions[] = {
    {{kSnomed, "24079001", "Atopic dermatitis (disorder)", "Atopic dermatitis"},
     "resolved",
     true},
    {{kSnomed, "11381005", "Acne vulgaris (disorder)", "Acne vulgaris"},
     "resolved",
     true},
    {{kSnomed, "44054006", "Diabetes mellitus type 2 (disorder)",
      "Type 2 diabetes"},
     "active",
     false},
    {{kLocal, "P1001", "Essential hypertension", "Essential hypertension"},
     "active",
     false},
    {{kLocal, "P1002", "Seasonal allergic rhinitis", "Hay fever"},
     "active",
     false},
    {{nullptr, nullptr, nullptr, "Atrophic acne scars on both cheeks"},
     "active",
     false},
    {{kLocal, "P1003", "Migraine without aura", "Migraine"}, "active", false},
    {{kLocal, "P1004", "Hypothyroidism", "Hypothyroidism"}, "active", false},
    {{kLocal, "P1005", "Low back pain", "Low back pain after lifting"},
     "resolved",
     true},
    {{kIcd10, "L81.0", "Postinflammatory hyperpigmentation",
      "PIH after a chemical peel"},
     "inactive",
     true},
    {{kLocal, "P1006", "Iron deficiency anemia", "Iron deficiency"},
     "resolved",
     true},
    {{kLocal, "P1007", "Gastro-esophageal reflux disease", "GERD"},
     "active",
     false},
    {{kSnomed, "1475003", "Herpes labialis (disorder)", "Cold sores"},
     "resolved",
     true},
    {{kLocal, "P1008", "Generalized anxiety disorder", "Anxiety"},
     "active",
     false},
    {{kLocal, "P1009", "Myopia", "Short-sighted, wears glasses"},
     "active",
     false},
    {{kLocal, "P1010", "Sprain of ankle", "Left ankle sprain"},
     "resolved",
     true},
    {{kLocal, "P1011", "Vitamin D deficiency", "Low vitamin D"},
     "active",
     false},
    {{kLocal, "P1012", "Insomnia", "Difficulty sleeping"}, "active", false},
    {{kLocal, "P1013", "Tension-type headache", "Headaches"}, "resolved", true},
    {{kLocal, "P1014", "Hyperlipidemia", "High cholesterol"}, "active", false},
};

struct AllergyTemplate {
  Coded substance;
  const char* verification_status;
  const char* note;
  const char* reaction;
};

constexpr AllergyTemplate kAllergies[] = {
    {{nullptr, nullptr, nullptr, "Penicillin"},
     "confirmed",
     "Hives as a child; tolerated amoxicillin in 2019 without problems.",
     "Urticaria"},
    {{kRxNorm, "1314891", "Latex", "Latex"},
     "confirmed",
     "Itching and redness of the hands with latex gloves.",
     "Contact dermatitis"},
    {{nullptr, nullptr, nullptr, "Sulfa drugs"},
     "unconfirmed",
     "Nausea with trimethoprim-sulfamethoxazole, not a true allergy per "
     "patient.",
     "Nausea"},
    {{nullptr, nullptr, nullptr, "Topical anesthetic"},
     "confirmed",
     "Rash and swelling after EMLA cream before a laser session in 2022.",
     "Rash"},
    {{kLocal, "A2001", "Codeine", "Codeine"},
     "confirmed",
     "Vomiting after codeine for a dental extraction.",
     "Vomiting"},
    {{kSnomed, "387480006", "Lidocaine (substance)", "Lidocaine"},
     "refuted",
     "Denies allergy to lidocaine; dental blocks in 2021 without any reaction.",
     "None"},
};

struct MedicationTemplate {
  Coded code;
  const char* status;
  bool ended;
};

constexpr MedicationTemplate kMedications[] = {
    {{kLocal, "M3001", "Metformin 500 MG Oral Tablet", "Metformin 500 mg"},
     "active",
     false},
    {{kLocal, "M3002", "Lisinopril 10 MG Oral Tablet", "Lisinopril 10 mg"},
     "active",
     false},
    {{kLocal, "M3003", "Levothyroxine 50 MCG Oral Tablet", "Levothyroxine"},
     "active",
     false},
    {{kLocal, "M3004", "Cetirizine 10 MG Oral Tablet", "Cetirizine"},
     "active",
     false},
    {{kRxNorm, "1191", "Aspirin", "Aspirin 81 mg"}, "stopped", true},
    {{kRxNorm, "197844", "isotretinoin 20 MG Oral Capsule", "Isotretinoin"},
     "completed",
     true},
    {{kLocal, "M3005", "Ibuprofen 400 MG Oral Tablet", "Ibuprofen"},
     "completed",
     true},
    {{nullptr, nullptr, nullptr, "Tretinoin 0.025% cream at night"},
     "active",
     false},
    {{kLocal, "M3006", "Omeprazole 20 MG Oral Capsule", "Omeprazole"},
     "active",
     false},
    {{nullptr, nullptr, nullptr, "Vitamin D3 1000 IU daily"}, "active", false},
};

struct ProcedureTemplate {
  Coded code;
  bool microneedling;
};

constexpr ProcedureTemplate kProcedures[] = {
    {{nullptr, nullptr, nullptr, "Microneedling (SkinPen), acne scars"}, true},
    {{kLocal, "X4001", "Chemical peel", "Glycolic acid peel"}, false},
    {{nullptr, nullptr, nullptr, "Collagen induction therapy"}, true},
    {{kLocal, "X4002", "Dental cleaning", "Dental hygiene visit"}, false},
    {{kLocal, "X4003", "Appendectomy", "Laparoscopic appendectomy"}, false},
    {{nullptr, nullptr, nullptr, "RF microneedling, lower face"}, true},
    {{kLocal, "X4004", "Laser hair removal", "Laser hair removal, legs"},
     false},
    {{kLocal, "X4005", "Skin biopsy", "Shave biopsy of a naevus"}, false},
    {{nullptr, nullptr, nullptr, "Micro-needling with PRP"}, true},
    {{kLocal, "X4006", "Colonoscopy", "Screening colonoscopy"}, false},
    {{kLocal, "X4007", "Botulinum toxin injection", "Botox, forehead"}, false},
    {{kLocal, "X4008", "Influenza vaccination", "Flu shot"}, false},
};

constexpr needlecheck::v1::TreatmentArea kSessionAreas[] = {
    needlecheck::v1::TREATMENT_AREA_CHEEKS,
    needlecheck::v1::TREATMENT_AREA_FULL_FACE,
    needlecheck::v1::TREATMENT_AREA_NECK,
    needlecheck::v1::TREATMENT_AREA_BACK,
};

void SetConcept(const Coded& coded, Concept* concept) {
  if (coded.system != nullptr) {
    auto* coding = concept->add_codings();
    coding->set_system(coded.system);
    coding->set_code(coded.code);
    coding->set_display(coded.display);
  }
  concept->set_text(coded.text);
}

// A date on or before 2025-12-28, different for nearby i.
std::string PastDate(int i) {
  return absl::StrFormat("%04d-%02d-%02d", 2025 - (i / 12) % 15, 1 + i % 12,
                         1 + (i * 7) % 28);
}

struct Counts {
  int conditions, allergies, medications, procedures, observations;
};

PatientRecord BuildRecord(const Counts& n) {
  PatientRecord record;
  record.set_patient_id("bench-patient-0001");
  record.set_birth_date("1986-05-14");
  // 0: unknown, so the Fitzpatrick observations are read.
  record.set_fitzpatrick_skin_type(0);
  for (int i = 0; i < n.conditions; ++i) {
    const ConditionTemplate& t =
        kConditions[i % (sizeof(kConditions) / sizeof(kConditions[0]))];
    auto* c = record.add_conditions();
    c->set_id(absl::StrCat("cond-", i));
    SetConcept(t.code, c->mutable_code());
    c->set_clinical_status(t.clinical_status);
    c->set_verification_status("confirmed");
    c->set_onset(PastDate(i));
    // Abated at the end of the onset year: after the onset, long before T.
    if (t.abated) c->set_abatement(PastDate(i).substr(0, 4) + "-12-31");
  }
  for (int i = 0; i < n.allergies; ++i) {
    const AllergyTemplate& t =
        kAllergies[i % (sizeof(kAllergies) / sizeof(kAllergies[0]))];
    auto* a = record.add_allergies();
    a->set_id(absl::StrCat("allergy-", i));
    SetConcept(t.substance, a->mutable_substance());
    a->set_clinical_status("active");
    a->set_verification_status(t.verification_status);
    a->set_recorded_date(PastDate(i * 5));
    a->add_notes(t.note);
    a->add_reactions(t.reaction);
  }
  for (int i = 0; i < n.medications; ++i) {
    const MedicationTemplate& t =
        kMedications[i % (sizeof(kMedications) / sizeof(kMedications[0]))];
    auto* m = record.add_medications();
    m->set_id(absl::StrCat("med-", i));
    SetConcept(t.code, m->mutable_code());
    m->set_status(t.status);
    const std::string start = PastDate(i * 3 + 1);
    m->set_start(start);
    if (t.ended) m->set_end(start.substr(0, 4) + "-12-31");
  }
  int session = 0;
  for (int i = 0; i < n.procedures; ++i) {
    const ProcedureTemplate& t =
        kProcedures[i % (sizeof(kProcedures) / sizeof(kProcedures[0]))];
    auto* p = record.add_procedures();
    p->set_id(absl::StrCat("proc-", i));
    SetConcept(t.code, p->mutable_code());
    p->set_status("completed");
    if (t.microneedling) {
      // The latest session 35 days before the plan (the recommended
      // window: no interval alert); earlier ones months apart.
      p->set_performed(session == 0 ? "2026-10-27T10:00:00Z"
                                    : PastDate(session * 2));
      p->add_areas(kSessionAreas[session % 4]);
      p->set_needle_depth_mm(1.0 + 0.25 * (session % 3));
      ++session;
    } else {
      p->set_performed(PastDate(i * 2 + 1));
    }
  }
  for (int i = 0; i < n.observations; ++i) {
    auto* o = record.add_observations();
    o->set_id(absl::StrCat("obs-", i));
    if (i % 2 == 0) {
      auto* coding = o->mutable_code()->add_codings();
      coding->set_system(kLoinc);
      coding->set_code("66555-4");
      coding->set_display("Fitzpatrick skin type");
      o->mutable_code()->set_text("Fitzpatrick skin type");
      o->mutable_value()->set_text(i % 4 == 0 ? "Type IV" : "4");
    } else {
      auto* coding = o->mutable_code()->add_codings();
      coding->set_system(kLocal);
      coding->set_code("O5001");
      coding->set_display("Body weight");
      o->mutable_value()->set_text(absl::StrCat(60 + i % 20, " kg"));
    }
    o->set_effective(PastDate(i * 4));
  }
  return record;
}

}  // namespace

bool ParsePayloadKind(absl::string_view name, PayloadKind* kind) {
  if (name == "typical") {
    *kind = PayloadKind::kTypical;
    return true;
  }
  if (name == "large") {
    *kind = PayloadKind::kLarge;
    return true;
  }
  return false;
}

ScreenRequest BuildScreenRequest(PayloadKind kind) {
  const Counts counts = kind == PayloadKind::kTypical
                            ? Counts{20, 6, 10, 12, 4}
                            : Counts{200, 60, 120, 100, 20};
  ScreenRequest request;
  request.set_request_id(kind == PayloadKind::kTypical ? "bench-typical"
                                                       : "bench-large");
  *request.mutable_record() = BuildRecord(counts);
  auto* session = request.mutable_session();
  session->set_date("2026-12-01");
  auto* area = session->add_areas();
  area->set_area(needlecheck::v1::TREATMENT_AREA_CHEEKS);
  area->set_needle_depth_mm(1.5);
  area = session->add_areas();
  area->set_area(needlecheck::v1::TREATMENT_AREA_PERIORBITAL);
  area->set_needle_depth_mm(0.5);
  session->mutable_anesthetic()->set_text("EMLA cream");
  return request;
}

int RecordEntryCount(const PatientRecord& record) {
  return record.conditions_size() + record.allergies_size() +
         record.medications_size() + record.procedures_size() +
         record.observations_size();
}

}  // namespace needlecheck::bench
