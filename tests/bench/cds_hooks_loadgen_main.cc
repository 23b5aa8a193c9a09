// needlecheck-cds-loadgen: drives needlecheck-cds-hooks with a realistic
// appointment-book call (about 200 prefetched FHIR resources) and reports
// requests/s and latency per concurrency, and where the time goes.
//
//   needlecheck-cds-loadgen --target=127.0.0.1:8080
//       --screening_service=127.0.0.1:50051 [--concurrency=1,8,64]
//       [--duration=10s] [--warmup=2s] [--resources=200]
//
// Each concurrency level runs that many client threads, each with its own
// keep-alive HTTP connection (libcurl), posting the same request back to
// back. Latency percentiles are over the successful calls of the measured
// window. The service's Server-Timing header splits each call into parse
// (validation, FHIR -> record and planned session), screen (the Screen RPC:
// gRPC hop + rules) and render (cards JSON); the rest is HTTP (read, write,
// connection handling). To split `screen`, the tool also runs the same
// ScreenRequest through the engine in-process (rules alone) and times the
// bare Screen RPC against needlecheckd (hop = RPC - rules).
//
// Output: a human-readable line per level, then "RESULT key=value ..." lines
// for scripts. Exit code 0, 1 when the target cannot be reached.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/planned_session.h"
#include "common/calendar/fhir_date.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "service/engine/engine.h"
#include "service/kb/knowledge_base.h"

ABSL_FLAG(std::string, target, "127.0.0.1:8080",
          "needlecheck-cds-hooks, HOST:PORT (plain HTTP, --insecure_no_auth).");
ABSL_FLAG(std::string, screening_service, "",
          "needlecheckd HOST:PORT, to time the bare Screen RPC (optional).");
ABSL_FLAG(std::string, concurrency, "1,8,64",
          "Concurrency levels (client threads), comma separated.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured time.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "Warm-up per level.");
ABSL_FLAG(int, resources, 200, "Prefetched resources in the request.");
ABSL_FLAG(bool, print_request, false, "Print the request JSON and exit.");

namespace needlecheck::bench {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kPatient[] = "bench-patient-1";

Json Coded(const std::string& system, const std::string& code,
           const std::string& display) {
  return {{"coding",
           Json::array(
               {{{"system", system}, {"code", code}, {"display", display}}})},
          {"text", display}};
}

// A realistic record: mostly ordinary history, a few findings that fire
// rules (latex allergy, an earlier microneedling session 20 days before).
Json BuildRequest(int resources) {
  const char* sct = "http://snomed.info/sct";
  const char* rx = "http://www.nlm.nih.gov/research/umls/rxnorm";
  const std::vector<std::pair<std::string, std::string>> conditions = {
      {"444814009", "Viral sinusitis (disorder)"},
      {"195662009", "Acute viral pharyngitis (disorder)"},
      {"10509002", "Acute bronchitis (disorder)"},
      {"38341003", "Hypertension"},
      {"40055000", "Chronic sinusitis (disorder)"},
      {"15777000", "Prediabetes"},
      {"40275004", "Contact dermatitis"}};
  const std::vector<std::pair<std::string, std::string>> meds = {
      {"313782", "Acetaminophen 325 MG Oral Tablet"},
      {"308182", "Amoxicillin 250 MG Oral Capsule"},
      {"314076", "lisinopril 10 MG Oral Tablet"},
      {"197361", "Amlodipine 5 MG Oral Tablet"}};
  const std::vector<std::pair<std::string, std::string>> procedures = {
      {"430193006", "Medication Reconciliation (procedure)"},
      {"710824005", "Assessment of health and social care needs"},
      {"171207006", "Depression screening (procedure)"}};
  Json bundles = Json::object();
  for (const char* key :
       {"conditions", "allergies", "medicationRequests", "medicationStatements",
        "procedures", "observations"}) {
    bundles[key] = {{"resourceType", "Bundle"},
                    {"type", "searchset"},
                    {"entry", Json::array()}};
  }
  auto add = [&](const char* key, Json r) {
    bundles[key]["entry"].push_back({{"resource", std::move(r)}});
  };
  const Json subject = {{"reference", std::string("Patient/") + kPatient}};
  // Fixed findings.
  add("allergies",
      {{"resourceType", "AllergyIntolerance"},
       {"id", "al-latex"},
       {"patient", subject},
       {"clinicalStatus", Coded("http://terminology.hl7.org/CodeSystem/"
                                "allergyintolerance-clinical",
                                "active", "Active")},
       {"code", Coded(sct, "300916003", "Latex allergy")},
       {"recordedDate", "2019-05-02"}});
  add("procedures", {{"resourceType", "Procedure"},
                     {"id", "pr-mn-1"},
                     {"status", "completed"},
                     {"subject", subject},
                     {"code", {{"text", "Microneedling"}}},
                     {"performedDateTime", "2026-11-11"},
                     {"bodySite", Json::array({{{"text", "Full face"}}})}});
  add("observations",
      {{"resourceType", "Observation"},
       {"id", "ob-fitz"},
       {"status", "final"},
       {"subject", subject},
       {"code", Coded("http://loinc.org", "66555-4", "Fitzpatrick skin type")},
       {"valueInteger", 3},
       {"effectiveDateTime", "2025-06-01"}});
  int made = 4;  // Patient + the three above
  for (int i = 0; made < resources; ++i, ++made) {
    const std::string id = absl::StrCat("r", i);
    const std::string date =
        absl::StrCat(2010 + i % 16, "-0", 1 + i % 9, "-1", i % 10);
    switch (i % 5) {
      case 0:
      case 1: {
        const auto& c = conditions[i % conditions.size()];
        add("conditions",
            {{"resourceType", "Condition"},
             {"id", id},
             {"subject", subject},
             {"clinicalStatus",
              Coded("http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "resolved", "Resolved")},
             {"code", Coded(sct, c.first, c.second)},
             {"onsetDateTime", date},
             {"abatementDateTime", absl::StrCat(date, "T12:00:00Z")}});
        break;
      }
      case 2: {
        const auto& m = meds[i % meds.size()];
        add("medicationRequests",
            {{"resourceType", "MedicationRequest"},
             {"id", id},
             {"status", "stopped"},
             {"intent", "order"},
             {"subject", subject},
             {"medicationCodeableConcept", Coded(rx, m.first, m.second)},
             {"authoredOn", date}});
        break;
      }
      case 3: {
        const auto& p = procedures[i % procedures.size()];
        add("procedures", {{"resourceType", "Procedure"},
                           {"id", id},
                           {"status", "completed"},
                           {"subject", subject},
                           {"code", Coded(sct, p.first, p.second)},
                           {"performedDateTime", date}});
        break;
      }
      default:
        add("observations",
            {{"resourceType", "Observation"},
             {"id", id},
             {"status", "final"},
             {"subject", subject},
             {"code", Coded("http://loinc.org", "82810-3", "Pregnancy status")},
             {"valueCodeableConcept", Coded(sct, "60001007", "Not pregnant")},
             {"effectiveDateTime", date}});
    }
  }
  Json prefetch = bundles;
  prefetch["patient"] = {{"resourceType", "Patient"},
                         {"id", kPatient},
                         {"birthDate", "1988-02-14"},
                         {"gender", "female"}};
  const Json appointment = {
      {"resourceType", "Appointment"},
      {"id", "apt-mn-1"},
      {"status", "proposed"},
      {"serviceType", Json::array({{{"text", "Microneedling"}}})},
      {"description", "Microneedling session, full face"},
      {"start", "2026-12-01T09:00:00+01:00"},
      {"end", "2026-12-01T10:00:00+01:00"},
      {"participant",
       Json::array({{{"actor", subject}, {"status", "accepted"}}})}};
  return {{"hook", "appointment-book"},
          {"hookInstance", "b3c0d1e2-0000-4000-8000-000000000001"},
          {"context",
           {{"userId", "Practitioner/bench"},
            {"patientId", kPatient},
            {"appointments",
             {{"resourceType", "Bundle"},
              {"type", "collection"},
              {"entry", Json::array({{{"resource", appointment}}})}}}}},
          {"prefetch", prefetch}};
}

size_t Discard(char*, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append("");
  return size * n;
}

struct Timing {
  double parse = 0, screen = 0, render = 0;
};

size_t Header(char* data, size_t size, size_t n, void* out) {
  auto* timing = static_cast<Timing*>(out);
  const std::string line(data, size * n);
  if (line.rfind("Server-Timing:", 0) == 0) {
    for (absl::string_view part : absl::StrSplit(line.substr(14), ',')) {
      const size_t semi = part.find(";dur=");
      if (semi == absl::string_view::npos) continue;
      std::string name(absl::StripAsciiWhitespace(part.substr(0, semi)));
      double value = 0;
      if (!absl::SimpleAtod(absl::StripAsciiWhitespace(part.substr(semi + 5)),
                            &value)) {
        continue;
      }
      if (name == "parse") timing->parse = value;
      if (name == "screen") timing->screen = value;
      if (name == "render") timing->render = value;
    }
  }
  return size * n;
}

struct LevelResult {
  int64_t ok = 0, errors = 0;
  std::vector<double> latencies_ms;
  Timing sum;
};

LevelResult RunLevel(const std::string& url, const std::string& body,
                     int concurrency, absl::Duration warmup,
                     absl::Duration duration) {
  LevelResult total;
  absl::Mutex mu;
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from =
      start + absl::ToChronoNanoseconds(warmup);
  const Clock::time_point stop =
      measure_from + absl::ToChronoNanoseconds(duration);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      LevelResult mine;
      CURL* curl = curl_easy_init();
      curl_slist* headers =
          curl_slist_append(nullptr, "Content-Type: application/json");
      std::string sink;
      Timing timing;
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                       static_cast<long>(body.size()));
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
      curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
      curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Header);
      curl_easy_setopt(curl, CURLOPT_HEADERDATA, &timing);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      while (true) {
        const Clock::time_point begin = Clock::now();
        if (begin >= stop) break;
        timing = Timing();
        const CURLcode code = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        const Clock::time_point end = Clock::now();
        if (begin < measure_from || end > stop) continue;
        if (code == CURLE_OK && status == 200) {
          ++mine.ok;
          mine.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(end - begin).count());
          mine.sum.parse += timing.parse;
          mine.sum.screen += timing.screen;
          mine.sum.render += timing.render;
        } else {
          ++mine.errors;
        }
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
      absl::MutexLock lock(&mu);
      total.ok += mine.ok;
      total.errors += mine.errors;
      total.latencies_ms.insert(total.latencies_ms.end(),
                                mine.latencies_ms.begin(),
                                mine.latencies_ms.end());
      total.sum.parse += mine.sum.parse;
      total.sum.screen += mine.sum.screen;
      total.sum.render += mine.sum.render;
    });
  }
  for (std::thread& t : threads) t.join();
  std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
  return total;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1,
                            static_cast<size_t>(p * (sorted.size() - 1) + 0.5));
  return sorted[i];
}

// The ScreenRequest the gateway builds, built the same way in-process.
bool BuildScreenRequest(const std::string& body,
                        needlecheck::v1::ScreenRequest* out) {
  fhir::SessionOptions session_options;
  auto planned = fhir::PlannedSessionFromHookRequest(body, session_options);
  if (!planned.ok()) return false;
  fhir::ExtractOptions options;
  options.patient_id = kPatient;
  options.as_of_date = planned->session.date();
  auto extract = fhir::ExtractFromJson(body, options);
  if (!extract.ok()) return false;
  *out->mutable_record() = extract->record;
  *out->mutable_session() = planned->session;
  return true;
}

int Main() {
  const std::string body = BuildRequest(absl::GetFlag(FLAGS_resources)).dump();
  if (absl::GetFlag(FLAGS_print_request)) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string url = absl::StrCat("http://", absl::GetFlag(FLAGS_target),
                                       "/cds-services/microneedling-safety");

  // In-process reference figures (one core): FHIR -> record, and the rules.
  needlecheck::v1::ScreenRequest screen;
  if (!BuildScreenRequest(body, &screen)) {
    std::fprintf(stderr, "cannot build the ScreenRequest in-process\n");
    return 1;
  }
  auto kb = kb::LoadBundledKnowledgeBase();
  if (!kb.ok()) return 1;
  const auto day = ParseFhirDay(screen.session().date());
  if (!day.ok()) return 1;
  constexpr int kIterations = 2000;
  Clock::time_point t0 = Clock::now();
  size_t alerts = 0;
  for (int i = 0; i < kIterations; ++i) {
    alerts +=
        engine::EvaluateAsOf(**kb, screen.record(), screen.session(), *day)
            .size();
  }
  const double rules_us =
      std::chrono::duration<double, std::micro>(Clock::now() - t0).count() /
      kIterations;
  t0 = Clock::now();
  for (int i = 0; i < 200; ++i) {
    needlecheck::v1::ScreenRequest again;
    BuildScreenRequest(body, &again);
  }
  const double fhir_us =
      std::chrono::duration<double, std::micro>(Clock::now() - t0).count() /
      200;
  double rpc_us = 0;
  if (!absl::GetFlag(FLAGS_screening_service).empty()) {
    auto stub = needlecheck::v1::ScreeningService::NewStub(
        grpc::CreateChannel(absl::GetFlag(FLAGS_screening_service),
                            grpc::InsecureChannelCredentials()));
    constexpr int kCalls = 500;
    t0 = Clock::now();
    for (int i = 0; i < kCalls; ++i) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
      needlecheck::v1::ScreenResponse response;
      if (!stub->Screen(&context, screen, &response).ok()) return 1;
    }
    rpc_us =
        std::chrono::duration<double, std::micro>(Clock::now() - t0).count() /
        kCalls;
  }
  std::printf(
      "request: %zu bytes, %d resources, %d record entries, %zu alerts\n"
      "in-process: FHIR->record+session %.1f us, rules %.1f us; bare Screen "
      "RPC (concurrency 1) %.1f us\n",
      body.size(), absl::GetFlag(FLAGS_resources),
      screen.record().conditions_size() + screen.record().allergies_size() +
          screen.record().medications_size() +
          screen.record().procedures_size() +
          screen.record().observations_size(),
      alerts / kIterations, fhir_us, rules_us, rpc_us);
  std::printf(
      "RESULT kind=inprocess request_bytes=%zu fhir_us=%.1f rules_us=%.1f "
      "screen_rpc_us=%.1f\n",
      body.size(), fhir_us, rules_us, rpc_us);

  const std::vector<std::string> levels =
      absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',');
  for (const std::string& level_text : levels) {
    int level = 0;
    if (!absl::SimpleAtoi(level_text, &level) || level <= 0) continue;
    LevelResult r = RunLevel(url, body, level, absl::GetFlag(FLAGS_warmup),
                             absl::GetFlag(FLAGS_duration));
    if (r.ok == 0) {
      std::fprintf(stderr, "concurrency %d: every call failed (%lld)\n", level,
                   static_cast<long long>(r.errors));
      return 1;
    }
    const double seconds = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration));
    const double mean = [&] {
      double s = 0;
      for (double v : r.latencies_ms) s += v;
      return s / r.latencies_ms.size();
    }();
    const double parse = r.sum.parse / r.ok, screen_ms = r.sum.screen / r.ok,
                 render = r.sum.render / r.ok;
    const double http = std::max(0.0, mean - parse - screen_ms - render);
    std::printf(
        "concurrency %3d: %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %lld"
        "  | mean %.2f ms = parse %.2f + screen %.2f + render %.2f + http "
        "%.2f\n",
        level, r.ok / seconds, Percentile(r.latencies_ms, 0.50),
        Percentile(r.latencies_ms, 0.99), static_cast<long long>(r.errors),
        mean, parse, screen_ms, render, http);
    std::printf(
        "RESULT kind=http concurrency=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f "
        "errors=%lld mean_ms=%.3f parse_ms=%.3f screen_ms=%.3f "
        "render_ms=%.3f http_ms=%.3f\n",
        level, r.ok / seconds, Percentile(r.latencies_ms, 0.50),
        Percentile(r.latencies_ms, 0.99), static_cast<long long>(r.errors),
        mean, parse, screen_ms, render, http);
    std::fflush(stdout);
  }
  curl_global_cleanup();
  return 0;
}

}  // namespace
}  // namespace needlecheck::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return needlecheck::bench::Main();
}
