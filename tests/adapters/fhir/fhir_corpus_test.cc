// The FHIR adapter against public third-party data (../shared/corpus):
// - every Synthea R4 bundle parses, and what is extracted matches what the
//   file holds: counts per resource type and every Condition and
//   AllergyIntolerance compared field by field with an independent simdjson
//   DOM walk in this file, plus concrete values from the corpus README table;
// - the Bulk Data NDJSON sample parses line by line (its export event log,
//   log.ndjson, is not FHIR and is rejected with a clear error);
// - the CDS Hooks examples that carry prefetch or context parse (STU3 ones
//   either parse or fail with a clear error naming the STU3 shape).
// Skips when the shared folder is absent.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/planned_session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/adapters/fhir/fhir_test_util.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::fhir {
namespace {

using ::needlecheck::fhir::testing::CorpusDir;
using ::needlecheck::fhir::testing::FilesIn;
using ::needlecheck::fhir::testing::ReadFile;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr char kSnomed[] = "http://snomed.info/sct";

// ---- An independent reading of a bundle (plain simdjson DOM) -------------

std::string Str(simdjson::dom::object o, const char* key) {
  std::string_view s;
  if (o[key].get_string().get(s) != simdjson::SUCCESS) return "";
  return std::string(s);
}

// coding[0].code of a CodeableConcept member.
std::string FirstCode(simdjson::dom::object o, const char* key) {
  simdjson::dom::array codings;
  if (o[key]["coding"].get_array().get(codings) != simdjson::SUCCESS) {
    return "";
  }
  for (simdjson::dom::element c : codings) {
    std::string_view s;
    if (c["code"].get_string().get(s) == simdjson::SUCCESS) {
      return std::string(s);
    }
  }
  return "";
}

// (system, code, display) of every coding, and the text.
std::pair<std::vector<std::string>, std::string> ConceptOf(
    simdjson::dom::object o, const char* key) {
  std::vector<std::string> codings;
  simdjson::dom::object cc;
  if (o[key].get_object().get(cc) != simdjson::SUCCESS) return {};
  simdjson::dom::array arr;
  if (cc["coding"].get_array().get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element c : arr) {
      simdjson::dom::object co;
      EXPECT_EQ(c.get_object().get(co), simdjson::SUCCESS);
      codings.push_back(Str(co, "system") + "|" + Str(co, "code") + "|" +
                        Str(co, "display"));
    }
  }
  return {codings, Str(cc, "text")};
}

std::pair<std::vector<std::string>, std::string> ConceptOf(
    const v1::Concept& c) {
  std::vector<std::string> codings;
  for (const v1::Coding& x : c.codings()) {
    codings.push_back(x.system() + "|" + x.code() + "|" + x.display());
  }
  return {codings, c.text()};
}

struct Reference {
  simdjson::dom::parser parser;
  std::map<std::string, int64_t> by_type;
  int64_t entries = 0;
  std::vector<simdjson::dom::object> patients, conditions, allergies;

  explicit Reference(const std::string& json) {
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
    simdjson::dom::array entry;
    EXPECT_EQ(doc["entry"].get_array().get(entry), simdjson::SUCCESS);
    for (simdjson::dom::element e : entry) {
      simdjson::dom::object r;
      EXPECT_EQ(e["resource"].get_object().get(r), simdjson::SUCCESS);
      const std::string type = Str(r, "resourceType");
      ++entries;
      ++by_type[type];
      if (type == "Patient") patients.push_back(r);
      if (type == "Condition") conditions.push_back(r);
      if (type == "AllergyIntolerance") allergies.push_back(r);
    }
  }
};

// ---- The corpus README table ----------------------------------------------

struct ExpectedCondition {
  const char* code;
  const char* onset;      // date part of onsetDateTime
  const char* abatement;  // date part of abatementDateTime, "" = ongoing
  const char* status;
};
struct ExpectedAllergy {
  const char* code;
  const char* status;
};
struct ExpectedBundle {
  const char* file_prefix;
  const char* birth_date;
  std::vector<ExpectedCondition> conditions;  // the skin-related ones
  std::vector<ExpectedAllergy> allergies;     // all of them
  const char* med_code;                       // flagged medication or ""
  int med_count;
};

const std::vector<ExpectedBundle>& Table() {
  static const std::vector<ExpectedBundle> table = {
      {"Aleta_Wintheiser_",
       "1971-04-05",
       {{"403190006", "2015-02-21", "2015-03-28", "resolved"}},
       {{"419474003", "active"},
        {"232350006", "active"},
        {"232347008", "active"},
        {"418689008", "active"},
        {"419263009", "active"}},
       "",
       0},
      {"Arturo_Yundt_", "1958-09-24", {}, {}, "855332", 14},
      {"Asa_Hermiston_",
       "1971-03-03",
       {{"24079001", "1971-05-09", "", "active"}},
       {{"232347008", "active"},
        {"419263009", "active"},
        {"91934008", "active"},
        {"91935009", "active"}},
       "",
       0},
      {"Buster_Hoeger_", "1988-03-16", {}, {}, "", 0},
      {"Christian_Balistreri_",
       "1996-06-24",
       {{"40275004", "2017-06-26", "2019-02-16", "resolved"}},
       {},
       "",
       0},
      {"Christin_Stiedemann_",
       "1942-10-13",
       {{"24079001", "1943-08-16", "", "active"}},
       {{"424213003", "active"},
        {"419474003", "active"},
        {"232350006", "active"},
        {"419263009", "active"},
        {"425525006", "active"},
        {"300913006", "active"}},
       "855332",
       1},
      {"Clemente_Kreiger_", "1984-07-02", {}, {}, "", 0},
      {"Erminia_Ondricka_",
       "2009-01-19",
       {{"283371005", "2014-08-21", "2014-09-04", "resolved"}},
       {{"300916003", "active"},
        {"424213003", "active"},
        {"419474003", "active"},
        {"232347008", "active"},
        {"418689008", "active"},
        {"419263009", "active"},
        {"420174000", "active"}},
       "",
       0},
      {"Eugenia_Schuster_", "1952-05-23", {}, {}, "309362", 1},
      {"Fannie_Waelchi_", "2020-04-28", {}, {}, "", 0},
      {"Fidel_Bins_",
       "1976-05-30",
       {},
       {{"300916003", "active"},
        {"419474003", "active"},
        {"232350006", "active"},
        {"232347008", "active"},
        {"418689008", "active"},
        {"419263009", "active"},
        {"91934008", "active"}},
       "",
       0},
      {"Franklyn_Klein_",
       "1962-08-27",
       {},
       {{"300916003", "active"}, {"419474003", "active"}},
       "",
       0},
      {"Garrett_Thompson_",
       "1972-03-30",
       {{"24079001", "1972-10-03", "", "active"}},
       {},
       "243670",
       1},
      {"Jacqueline_Wyman_",
       "1995-03-10",
       {{"24079001", "1995-04-16", "2012-08-14", "resolved"}},
       {{"419474003", "inactive"},
        {"232350006", "inactive"},
        {"232347008", "inactive"},
        {"418689008", "inactive"},
        {"419263009", "active"},
        {"300913006", "active"},
        {"417532002", "active"},
        {"91935009", "active"}},
       "",
       0},
      {"Karena_Pfeffer_",
       "1994-12-21",
       {{"24079001", "1994-12-29", "2012-07-27", "resolved"}},
       {{"419474003", "active"},
        {"232350006", "active"},
        {"232347008", "active"},
        {"418689008", "active"},
        {"419263009", "active"},
        {"714035009", "inactive"}},
       "",
       0},
      {"Luigi_Wiegand_", "2020-10-20", {}, {}, "", 0},
      {"Malik_Ward_",
       "1957-04-24",
       {{"403190006", "2018-03-19", "2018-04-09", "resolved"},
        {"283371005", "2019-05-04", "2019-05-18", "resolved"}},
       {},
       "855332",
       1},
      {"Marc_Corkery_",
       "1977-08-10",
       {{"403191005", "2021-01-12", "2021-02-09", "resolved"}},
       {},
       "",
       0},
      {"Mathilda_O'Keefe_",
       "2006-07-31",
       {{"24079001", "2008-04-28", "", "active"}},
       {{"424213003", "active"},
        {"419474003", "active"},
        {"232347008", "active"},
        {"418689008", "active"},
        {"419263009", "active"},
        {"420174000", "active"}},
       "",
       0},
      {"Mohammad_Conroy_",
       "1995-05-04",
       {{"24079001", "1996-03-06", "2012-05-25", "resolved"},
        {"284551006", "2019-06-02", "2019-06-23", "resolved"}},
       {{"419474003", "active"},
        {"232350006", "active"},
        {"232347008", "active"}},
       "",
       0},
      {"Preston_Cummerata_",
       "2008-05-13",
       {{"24079001", "2008-09-17", "", "active"},
        {"370247008", "2012-12-09", "2012-12-23", "resolved"}},
       {{"300916003", "active"},
        {"424213003", "active"},
        {"419474003", "active"},
        {"232350006", "active"},
        {"232347008", "active"},
        {"418689008", "active"},
        {"419263009", "active"},
        {"300913006", "active"}},
       "",
       0},
      {"Rickey_Becker_",
       "1987-03-10",
       {{"403191005", "2011-07-15", "2011-07-29", "resolved"},
        {"283385000", "2013-09-16", "2013-10-07", "resolved"},
        {"262574004", "2016-07-23", "2016-10-21", "resolved"}},
       {},
       "",
       0},
      {"Rolando_Labadie_",
       "1986-11-22",
       {{"40275004", "2016-11-21", "2017-10-20", "resolved"}},
       {{"418689008", "active"}},
       "",
       0},
  };
  return table;
}

std::vector<std::filesystem::path> Bundles() {
  return FilesIn(CorpusDir("fhir-r4-bundles"), ".json");
}

#define SKIP_WITHOUT_CORPUS(dir)                                     \
  if (!std::filesystem::is_directory(CorpusDir(dir))) {              \
    GTEST_SKIP() << "shared corpus not found at " << CorpusDir(dir); \
  }

const ExpectedBundle* ExpectationFor(const std::filesystem::path& file) {
  for (const ExpectedBundle& e : Table()) {
    if (absl::StartsWith(file.filename().string(), e.file_prefix)) return &e;
  }
  return nullptr;
}

TEST(FhirCorpusTest, EveryBundleHasAnExpectation) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bundles");
  const auto files = Bundles();
  EXPECT_EQ(files.size(), 23u);
  for (const auto& f : files) {
    EXPECT_NE(ExpectationFor(f), nullptr) << f;
  }
}

TEST(FhirCorpusTest, EveryBundleParsesAndCountsMatch) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bundles");
  int64_t total_conditions = 0, total_allergies = 0;
  for (const auto& file : Bundles()) {
    SCOPED_TRACE(file.filename().string());
    const std::string json = ReadFile(file);
    ASSERT_FALSE(json.empty());
    Reference ref(json);
    absl::StatusOr<FhirExtract> got = ExtractFromJson(json, ExtractOptions());
    ASSERT_THAT(got, IsOk());
    const v1::PatientRecord& r = got->record;

    ASSERT_EQ(ref.patients.size(), 1u);
    EXPECT_EQ(r.patient_id(), Str(ref.patients[0], "id"));
    EXPECT_EQ(r.birth_date(), Str(ref.patients[0], "birthDate"));

    EXPECT_EQ(got->stats.resources, ref.entries);
    EXPECT_EQ(got->stats.by_type, ref.by_type);
    EXPECT_EQ(got->stats.other_patient, 0);
    for (const auto& [type, n] : got->stats.skipped_by_type) {
      EXPECT_EQ(ref.by_type[type], n) << type;
      EXPECT_TRUE(type != "Condition" && type != "AllergyIntolerance" &&
                  type != "Patient" && type != "Observation" &&
                  type != "Procedure" && type != "MedicationRequest")
          << type;
    }
    EXPECT_EQ(r.conditions_size(), ref.by_type["Condition"]);
    EXPECT_EQ(r.allergies_size(), ref.by_type["AllergyIntolerance"]);
    EXPECT_EQ(r.medications_size(), ref.by_type["MedicationRequest"] +
                                        ref.by_type["MedicationStatement"]);
    EXPECT_EQ(r.procedures_size(), ref.by_type["Procedure"]);
    EXPECT_EQ(r.observations_size(), ref.by_type["Observation"]);
    total_conditions += r.conditions_size();
    total_allergies += r.allergies_size();

    // Every Condition, field by field, in file order.
    ASSERT_EQ(static_cast<size_t>(r.conditions_size()), ref.conditions.size());
    for (size_t i = 0; i < ref.conditions.size(); ++i) {
      const simdjson::dom::object want = ref.conditions[i];
      const v1::Condition& c = r.conditions(static_cast<int>(i));
      EXPECT_EQ(c.id(), Str(want, "id"));
      EXPECT_EQ(ConceptOf(c.code()), ConceptOf(want, "code"));
      EXPECT_EQ(c.clinical_status(), FirstCode(want, "clinicalStatus"));
      EXPECT_EQ(c.verification_status(), FirstCode(want, "verificationStatus"));
      EXPECT_EQ(c.onset(), Str(want, "onsetDateTime"));
      EXPECT_EQ(c.abatement(), Str(want, "abatementDateTime"));
    }
    // Every AllergyIntolerance, field by field.
    ASSERT_EQ(static_cast<size_t>(r.allergies_size()), ref.allergies.size());
    for (size_t i = 0; i < ref.allergies.size(); ++i) {
      const simdjson::dom::object want = ref.allergies[i];
      const v1::Allergy& a = r.allergies(static_cast<int>(i));
      EXPECT_EQ(a.id(), Str(want, "id"));
      EXPECT_EQ(ConceptOf(a.substance()), ConceptOf(want, "code"));
      EXPECT_EQ(a.clinical_status(), FirstCode(want, "clinicalStatus"));
      EXPECT_EQ(a.verification_status(), FirstCode(want, "verificationStatus"));
      EXPECT_EQ(a.recorded_date(), Str(want, "recordedDate"));
    }
    // No Synthea entry is a "no known allergy" statement or a Fitzpatrick
    // observation, and no bundle plans a session.
    EXPECT_FALSE(r.no_known_allergies());
    EXPECT_EQ(r.fitzpatrick_skin_type(), 0);
    EXPECT_TRUE(got->planned.areas.empty());
    EXPECT_TRUE(got->planned.anesthetics.empty());
  }
  // Totals over the corpus (the per-file counts above are the real check).
  EXPECT_EQ(total_conditions, 116);
  EXPECT_EQ(total_allergies, 63);
}

TEST(FhirCorpusTest, ConcreteValuesFromTheCorpusTable) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bundles");
  for (const auto& file : Bundles()) {
    SCOPED_TRACE(file.filename().string());
    const ExpectedBundle* want = ExpectationFor(file);
    ASSERT_NE(want, nullptr);
    absl::StatusOr<FhirExtract> got =
        ExtractFromJson(ReadFile(file), ExtractOptions());
    ASSERT_THAT(got, IsOk());
    const v1::PatientRecord& r = got->record;
    EXPECT_EQ(r.birth_date(), want->birth_date);

    for (const ExpectedCondition& wc : want->conditions) {
      SCOPED_TRACE(wc.code);
      int found = 0;
      for (const v1::Condition& c : r.conditions()) {
        if (c.code().codings_size() == 0 ||
            c.code().codings(0).code() != wc.code ||
            !absl::StartsWith(c.onset(), wc.onset)) {
          continue;
        }
        ++found;
        EXPECT_EQ(c.code().codings(0).system(), kSnomed);
        EXPECT_EQ(c.clinical_status(), wc.status);
        EXPECT_EQ(c.verification_status(), "confirmed");
        if (*wc.abatement == '\0') {
          EXPECT_EQ(c.abatement(), "");
        } else {
          EXPECT_TRUE(absl::StartsWith(c.abatement(), wc.abatement))
              << c.abatement();
        }
      }
      EXPECT_EQ(found, 1);
    }

    std::vector<std::pair<std::string, std::string>> want_allergies, allergies;
    for (const ExpectedAllergy& a : want->allergies) {
      want_allergies.emplace_back(a.code, a.status);
    }
    for (const v1::Allergy& a : r.allergies()) {
      ASSERT_EQ(a.substance().codings_size(), 1);
      EXPECT_EQ(a.substance().codings(0).system(), kSnomed);
      EXPECT_FALSE(a.substance().text().empty());
      allergies.emplace_back(a.substance().codings(0).code(),
                             a.clinical_status());
    }
    EXPECT_THAT(allergies, UnorderedElementsAreArray(want_allergies));

    if (*want->med_code != '\0') {
      int n = 0;
      for (const v1::Medication& m : r.medications()) {
        if (m.code().codings_size() > 0 &&
            m.code().codings(0).code() == want->med_code) {
          ++n;
          EXPECT_EQ(m.code().codings(0).system(),
                    "http://www.nlm.nih.gov/research/umls/rxnorm");
          EXPECT_FALSE(m.start().empty());
        }
      }
      EXPECT_EQ(n, want->med_count);
    }
  }
}

TEST(FhirCorpusTest, ArturoYundtWarfarin) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bundles");
  absl::StatusOr<FhirExtract> got = ExtractFromJson(
      ReadFile(CorpusDir("fhir-r4-bundles") /
               "Arturo_Yundt_beb1b2a4-9198-462f-ae9d-972f173bd2b1.json"),
      ExtractOptions());
  ASSERT_THAT(got, IsOk());
  std::vector<std::string> starts;
  std::set<std::string> statuses;
  for (const v1::Medication& m : got->record.medications()) {
    if (m.code().codings_size() == 0 ||
        m.code().codings(0).code() != "855332") {
      continue;
    }
    EXPECT_EQ(m.code().text(), "Warfarin Sodium 5 MG Oral Tablet");
    EXPECT_EQ(m.end(), "");
    starts.push_back(m.start());
    statuses.insert(m.status());
  }
  ASSERT_EQ(starts.size(), 14u);
  std::sort(starts.begin(), starts.end());
  EXPECT_TRUE(absl::StartsWith(starts.front(), "2008-09-24")) << starts.front();
  EXPECT_TRUE(absl::StartsWith(starts.back(), "2019-11-27")) << starts.back();
  EXPECT_EQ(statuses, (std::set<std::string>{"active", "stopped"}));
}

TEST(FhirCorpusTest, AsaHermistonAtopicDermatitis) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bundles");
  absl::StatusOr<FhirExtract> got = ExtractFromJson(
      ReadFile(CorpusDir("fhir-r4-bundles") /
               "Asa_Hermiston_4384bf23-1dc3-48ca-8c84-89fbaff201ae.json"),
      ExtractOptions());
  ASSERT_THAT(got, IsOk());
  const v1::Condition* ad = nullptr;
  for (const v1::Condition& c : got->record.conditions()) {
    if (c.code().codings(0).code() == "24079001") ad = &c;
  }
  ASSERT_NE(ad, nullptr);
  EXPECT_EQ(ad->code().text(), "Atopic dermatitis");
  EXPECT_EQ(ad->code().codings(0).display(), "Atopic dermatitis");
  EXPECT_EQ(ad->clinical_status(), "active");
  EXPECT_EQ(ad->onset(), "1971-05-09T05:49:32+00:00");
  EXPECT_EQ(ad->abatement(), "");
  EXPECT_EQ(got->record.patient_id(), "c79b748f-a792-4aea-bca5-c7c9c5b188cd");
}

TEST(FhirCorpusTest, AletaWintheiserBurn) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bundles");
  absl::StatusOr<FhirExtract> got = ExtractFromJson(
      ReadFile(CorpusDir("fhir-r4-bundles") /
               "Aleta_Wintheiser_58c297c4-d684-4677-8024-01131d93835e.json"),
      ExtractOptions());
  ASSERT_THAT(got, IsOk());
  int burns = 0;
  for (const v1::Condition& c : got->record.conditions()) {
    if (c.code().codings(0).code() != "403190006") continue;
    ++burns;
    EXPECT_EQ(c.clinical_status(), "resolved");
    EXPECT_TRUE(absl::StartsWith(c.onset(), "2015-02-21")) << c.onset();
    EXPECT_TRUE(absl::StartsWith(c.abatement(), "2015-03-28")) << c.abatement();
  }
  EXPECT_EQ(burns, 1);
}

// The same bundle read as NDJSON (one resource per line) gives the same
// record: the Bundle path and the line path agree.
TEST(FhirCorpusTest, BundleAsNdjsonGivesTheSameRecord) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bundles");
  const std::string json =
      ReadFile(CorpusDir("fhir-r4-bundles") /
               "Malik_Ward_57df2519-872e-4b5e-8743-264db11d4e5b.json");
  absl::StatusOr<FhirExtract> whole = ExtractFromJson(json, ExtractOptions());
  ASSERT_THAT(whole, IsOk());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
  std::string ndjson;
  simdjson::dom::array entry;
  ASSERT_EQ(doc["entry"].get_array().get(entry), simdjson::SUCCESS);
  for (simdjson::dom::element e : entry) {
    ndjson += simdjson::minify(e["resource"]);
    ndjson += "\n";
  }
  FhirRecordBuilder builder{ExtractOptions()};
  ASSERT_THAT(builder.AddNdjson(ndjson), IsOk());
  absl::StatusOr<FhirExtract> lines = builder.Finish();
  ASSERT_THAT(lines, IsOk());
  EXPECT_EQ(lines->record.SerializeAsString(),
            whole->record.SerializeAsString());
}

TEST(FhirCorpusTest, BulkNdjsonParsesLineByLine) {
  SKIP_WITHOUT_CORPUS("fhir-r4-bulk-ndjson");
  int64_t files = 0, lines = 0, resources = 0;
  std::set<std::string> patients;
  std::map<std::string, int64_t> by_type;
  for (const auto& file :
       FilesIn(CorpusDir("fhir-r4-bulk-ndjson"), ".ndjson")) {
    SCOPED_TRACE(file.filename().string());
    const std::string text = ReadFile(file);
    ASSERT_FALSE(text.empty());
    ++files;
    const std::string name = file.filename().string();
    int64_t n = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      ++n;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      absl::StatusOr<FhirExtract> got =
          ExtractFromNdjsonLine(line, ExtractOptions());
      if (name == "log.ndjson") {
        // The export's own event log is not FHIR: rejected cleanly.
        EXPECT_THAT(got, StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("$.resourceType: missing")));
        continue;
      }
      ++lines;
      ASSERT_THAT(got, IsOk()) << "line " << n;
      resources += got->stats.resources;
      for (const auto& [type, k] : got->stats.by_type) by_type[type] += k;
      const std::string type = name.substr(0, name.find('.'));
      EXPECT_EQ(got->stats.by_type[type], 1) << "line " << n;
      if (got->stats.skipped_by_type.count(type) > 0) {
        EXPECT_TRUE(type == "Device" || type == "Immunization") << type;
        continue;
      }
      // Every line of a type we read names its patient, so a batch reader
      // can group lines by patient.
      EXPECT_FALSE(got->record.patient_id().empty()) << "line " << n;
      patients.insert(got->record.patient_id());
      if (type == "Condition") {
        EXPECT_EQ(got->record.conditions_size(), 1);
      }
      if (type == "AllergyIntolerance") {
        EXPECT_EQ(got->record.allergies_size(), 1);
      }
      if (type == "Procedure") {
        EXPECT_EQ(got->record.procedures_size(), 1);
      }
      if (type == "MedicationRequest") {
        EXPECT_EQ(got->record.medications_size(), 1);
      }
    }
  }
  EXPECT_EQ(files, 8);
  EXPECT_EQ(resources, lines);
  EXPECT_EQ(lines, 4557);  // 4561 lines, 4 of them the export log
  EXPECT_GT(by_type["Condition"], 0);
  EXPECT_GT(by_type["Patient"], 0);
  EXPECT_EQ(static_cast<int64_t>(patients.size()), by_type["Patient"]);
  RecordProperty("ndjson_lines", static_cast<int>(lines));
}

// ---- CDS Hooks examples ---------------------------------------------------

std::filesystem::path Hooks(const char* name) {
  return CorpusDir("cds-hooks") / name;
}

TEST(FhirCorpusTest, CdsHooksExamplesWithPrefetchParse) {
  SKIP_WITHOUT_CORPUS("cds-hooks");
  {
    absl::StatusOr<FhirExtract> got = ExtractFromJson(
        ReadFile(Hooks("spec-patient-view-request.json")), ExtractOptions());
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->stats.by_type.at("Patient"), 1);
    EXPECT_FALSE(got->record.patient_id().empty());
    EXPECT_FALSE(got->record.birth_date().empty());
  }
  {
    absl::StatusOr<FhirExtract> got = ExtractFromJson(
        ReadFile(Hooks("spec-prefetch-data.json")), ExtractOptions());
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->stats.by_type.at("Patient"), 1);
    EXPECT_GE(got->stats.by_type.at("Observation"), 1);
    EXPECT_EQ(got->stats.skipped_by_type.at("Practitioner"), 1);
    EXPECT_EQ(got->record.observations_size(),
              got->stats.by_type.at("Observation"));
  }
  {
    absl::StatusOr<FhirExtract> got = ExtractFromJson(
        ReadFile(Hooks("spec-order-sign-request-paginated-prefetch.json")),
        ExtractOptions());
    ASSERT_THAT(got, IsOk());
  }
}

// Every hook example that carries a context: the planned-session reader
// finds no microneedling session (NOT_FOUND: none of the official examples
// is about microneedling). The STU3 examples read too: the fields the
// planned session reads (status, code, start, serviceType, ...) have the
// same shape in STU3 and R4; where shapes differ (an STU3 Condition's
// clinicalStatus string) the error says so (fhir_bad_input_test).
TEST(FhirCorpusTest, CdsHooksContextsParse) {
  SKIP_WITHOUT_CORPUS("cds-hooks");
  const char* const kContexts[] = {
      "appointment-book-context-1.json",
      "appointment-book-context-2.json",
      "order-select-request-r4.json",
      "order-sign-request-r4.json",
      "order-select-request-stu3.json",
      "order-sign-request-stu3.json",
      "patient-view-context-1.json",
      "patient-view-context-2.json",
      "encounter-start-context.json",
      "allergyintolerance-create-request-r4.json",
      "problem-list-item-create-request-r4.json",
      "medication-prescribe-request-stu3.json",
      "spec-order-sign-request-paginated-prefetch.json",
      "spec-patient-view-request.json",
      "spec-request-with-extension.json",
  };
  for (const char* name : kContexts) {
    SCOPED_TRACE(name);
    const std::string json = ReadFile(Hooks(name));
    ASSERT_FALSE(json.empty());
    absl::StatusOr<PlannedSessionExtract> got =
        PlannedSessionFromHookRequest(json, SessionOptions());
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kNotFound,
                              HasSubstr("no microneedling session")));
    // The request as a whole (prefetch, if any) reads too.
    EXPECT_THAT(ExtractFromJson(json, ExtractOptions()), IsOk());
  }
}

// The draftOrders / appointments Bundles of the examples, read as records:
// R4 ones map; the STU3 appointment-book examples hold only fields that
// read the same in R4.
TEST(FhirCorpusTest, CdsHooksContextBundlesReadAsResources) {
  SKIP_WITHOUT_CORPUS("cds-hooks");
  struct Case {
    const char* file;
    const char* member;
    const char* type;
    int64_t count;
  };
  const Case kCases[] = {
      {"order-select-request-r4.json", "draftOrders", "MedicationRequest", 1},
      {"order-sign-request-r4.json", "draftOrders", "MedicationRequest", 1},
      {"appointment-book-context-1.json", "appointments", "Appointment", 2},
      {"appointment-book-context-2.json", "appointments", "Appointment", 1},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.file);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(ReadFile(Hooks(c.file))).get(doc),
              simdjson::SUCCESS);
    simdjson::dom::element member;
    ASSERT_EQ(doc["context"][c.member].get(member), simdjson::SUCCESS);
    const std::string bundle = simdjson::minify(member);
    absl::StatusOr<FhirExtract> got = ExtractFromJson(bundle, ExtractOptions());
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->stats.by_type[c.type], c.count);
    if (std::string(c.type) == "Appointment") {
      EXPECT_EQ(static_cast<int64_t>(got->planned.appointments.size()),
                c.count);
      for (const PlannedAppointment& a : got->planned.appointments) {
        EXPECT_FALSE(a.microneedling);
        EXPECT_FALSE(a.start.empty());
        EXPECT_EQ(a.status, "proposed");
      }
    }
  }
}

}  // namespace
}  // namespace needlecheck::fhir
