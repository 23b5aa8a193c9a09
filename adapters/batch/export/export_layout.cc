#include "adapters/batch/export/export_layout.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::batch {
namespace {

// FHIR R4 (4.0.1) resource types, sorted (binary search).
constexpr absl::string_view kR4ResourceTypes[] = {
    "Account",
    "ActivityDefinition",
    "AdverseEvent",
    "AllergyIntolerance",
    "Appointment",
    "AppointmentResponse",
    "AuditEvent",
    "Basic",
    "Binary",
    "BiologicallyDerivedProduct",
    "BodyStructure",
    "Bundle",
    "CapabilityStatement",
    "CarePlan",
    "CareTeam",
    "CatalogEntry",
    "ChargeItem",
    "ChargeItemDefinition",
    "Claim",
    "ClaimResponse",
    "ClinicalImpression",
    "CodeSystem",
    "Communication",
    "CommunicationRequest",
    "CompartmentDefinition",
    "Composition",
    "ConceptMap",
    "Condition",
    "Consent",
    "Contract",
    "Coverage",
    "CoverageEligibilityRequest",
    "CoverageEligibilityResponse",
    "DetectedIssue",
    "Device",
    "DeviceDefinition",
    "DeviceMetric",
    "DeviceRequest",
    "DeviceUseStatement",
    "DiagnosticReport",
    "DocumentManifest",
    "DocumentReference",
    "EffectEvidenceSynthesis",
    "Encounter",
    "Endpoint",
    "EnrollmentRequest",
    "EnrollmentResponse",
    "EpisodeOfCare",
    "EventDefinition",
    "Evidence",
    "EvidenceVariable",
    "ExampleScenario",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "Flag",
    "Goal",
    "GraphDefinition",
    "Group",
    "GuidanceResponse",
    "HealthcareService",
    "ImagingStudy",
    "Immunization",
    "ImmunizationEvaluation",
    "ImmunizationRecommendation",
    "ImplementationGuide",
    "InsurancePlan",
    "Invoice",
    "Library",
    "Linkage",
    "List",
    "Location",
    "Measure",
    "MeasureReport",
    "Media",
    "Medication",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationKnowledge",
    "MedicationRequest",
    "MedicationStatement",
    "MedicinalProduct",
    "MedicinalProductAuthorization",
    "MedicinalProductContraindication",
    "MedicinalProductIndication",
    "MedicinalProductIngredient",
    "MedicinalProductInteraction",
    "MedicinalProductManufactured",
    "MedicinalProductPackaged",
    "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect",
    "MessageDefinition",
    "MessageHeader",
    "MolecularSequence",
    "NamingSystem",
    "NutritionOrder",
    "Observation",
    "ObservationDefinition",
    "OperationDefinition",
    "OperationOutcome",
    "Organization",
    "OrganizationAffiliation",
    "Parameters",
    "Patient",
    "PaymentNotice",
    "PaymentReconciliation",
    "Person",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "RequestGroup",
    "ResearchDefinition",
    "ResearchElementDefinition",
    "ResearchStudy",
    "ResearchSubject",
    "RiskAssessment",
    "RiskEvidenceSynthesis",
    "Schedule",
    "SearchParameter",
    "ServiceRequest",
    "Slot",
    "Specimen",
    "SpecimenDefinition",
    "StructureDefinition",
    "StructureMap",
    "Subscription",
    "Substance",
    "SubstanceNucleicAcid",
    "SubstancePolymer",
    "SubstanceProtein",
    "SubstanceReferenceInformation",
    "SubstanceSourceMaterial",
    "SubstanceSpecification",
    "SupplyDelivery",
    "SupplyRequest",
    "Task",
    "TerminologyCapabilities",
    "TestReport",
    "TestScript",
    "ValueSet",
    "VerificationResult",
    "VisionPrescription",
};

bool IsAsciiLetter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The extensions we read, longest first so ".ndjson.gz" wins over ".gz".
struct Extension {
  absl::string_view suffix;
  ExportFile::Kind kind;
  bool gzip;
};
constexpr Extension kExtensions[] = {
    {".ndjson.gz", ExportFile::Kind::kNdjson, true},
    {".jsonl.gz", ExportFile::Kind::kNdjson, true},
    {".json.gz", ExportFile::Kind::kBundle, true},
    {".ndjson", ExportFile::Kind::kNdjson, false},
    {".jsonl", ExportFile::Kind::kNdjson, false},
    {".json", ExportFile::Kind::kBundle, false},
};

const Extension* FindExtension(absl::string_view name) {
  for (const Extension& e : kExtensions) {
    if (name.size() > e.suffix.size() &&
        absl::EndsWithIgnoreCase(name, e.suffix)) {
      return &e;
    }
  }
  return nullptr;
}

absl::string_view Stem(absl::string_view name) {
  const Extension* e = FindExtension(name);
  return e == nullptr ? name : name.substr(0, name.size() - e->suffix.size());
}

absl::Status DirError(const std::string& dir, int err) {
  const std::string what =
      absl::StrCat("export folder ", dir, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(
          absl::StrCat("export folder ", dir, ": does not exist"));
    case ENOTDIR:
      return absl::InvalidArgumentError(
          absl::StrCat("export folder ", dir, ": not a folder"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(what);
    default:
      return absl::UnknownError(what);
  }
}

}  // namespace

bool IsR4ResourceType(absl::string_view name) {
  return std::binary_search(std::begin(kR4ResourceTypes),
                            std::end(kR4ResourceTypes), name);
}

std::string ResourceTypeFromFileName(absl::string_view file_name,
                                     bool r4_only) {
  const absl::string_view stem = Stem(file_name);
  absl::string_view fallback;
  size_t i = 0;
  while (i < stem.size()) {
    if (!IsAsciiLetter(stem[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < stem.size() && IsAsciiLetter(stem[j])) ++j;
    const absl::string_view token = stem.substr(i, j - i);
    if (IsR4ResourceType(token)) return std::string(token);
    if (fallback.empty() && token.size() >= 2 &&
        absl::ascii_isupper(static_cast<unsigned char>(token[0])) &&
        absl::ascii_islower(static_cast<unsigned char>(token[1]))) {
      fallback = token;
    }
    i = j;
  }
  return r4_only ? std::string() : std::string(fallback);
}

absl::StatusOr<ExportLayout> ListExportFiles(const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("export folder: empty path");
  }
  // O_DIRECTORY: one open tells "missing", "not a folder" and "refused"
  // apart, and fstatat on the descriptor avoids path re-resolution.
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return DirError(dir, errno);
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    close(fd);
    return DirError(dir, err);
  }
  ExportLayout layout;
  absl::Status status;
  for (;;) {
    errno = 0;
    const dirent* entry = readdir(d);
    if (entry == nullptr) {
      if (errno != 0) status = DirError(dir, errno);
      break;
    }
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (name[0] == '.') {
      layout.skipped[name] = "hidden file";
      continue;
    }
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, 0) != 0) {
      layout.skipped[name] =
          absl::StrCat("cannot stat: ", std::strerror(errno));
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      layout.skipped[name] =
          "sub-folder (not read: the export is read as one flat folder)";
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      layout.skipped[name] = "not a regular file";
      continue;
    }
    const Extension* ext = FindExtension(name);
    if (ext == nullptr) {
      layout.skipped[name] =
          "not an export file (.ndjson, .ndjson.gz, .jsonl, .jsonl.gz, "
          ".json or .json.gz)";
      continue;
    }
    ExportFile file;
    file.name = name;
    file.path = absl::StrCat(dir, dir.back() == '/' ? "" : "/", name);
    file.kind = ext->kind;
    file.gzip = ext->gzip;
    file.size_bytes = static_cast<uint64_t>(st.st_size);
    file.resource_type = ResourceTypeFromFileName(
        name, /*r4_only=*/ext->kind == ExportFile::Kind::kBundle);
    if (file.kind == ExportFile::Kind::kNdjson && file.resource_type.empty()) {
      layout.skipped[name] =
          "NDJSON file without a FHIR resource type in its name (an export "
          "log or a generator's side file?)";
      continue;
    }
    layout.files.push_back(std::move(file));
  }
  closedir(d);  // closes fd too
  if (!status.ok()) return status;
  std::sort(layout.files.begin(), layout.files.end(),
            [](const ExportFile& a, const ExportFile& b) {
              return a.name < b.name;  // std::string compares bytes
            });
  return layout;
}

}  // namespace needlecheck::batch
