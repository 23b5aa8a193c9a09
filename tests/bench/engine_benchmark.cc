// In-process engine benchmark (Google Benchmark): screenings per second on
// one core for a typical and a large record, against a baseline measured in
// the same run: parsing the same ScreenRequest from its wire bytes, the work
// the gRPC layer must do for every call anyway.
//
//   build/release/tests/bench/engine_benchmark --benchmark_min_time=2
//
// BM_Screen is a call with nothing cached (the figure compared with the
// parse); BM_ScreenWithCache keeps an engine::EvaluationCache across calls;
// BM_ScreenIntoResponse also builds the alerts into an arena's response.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/calendar/fhir_date.h"
#include "google/protobuf/arena.h"
#include "service/engine/engine.h"
#include "service/kb/knowledge_base.h"
#include "tests/bench/bench_payload.h"

namespace needlecheck {
namespace {

const kb::KnowledgeBase& Kb() {
  static const auto* kb = [] {
    auto loaded = kb::LoadBundledKnowledgeBase();
    if (!loaded.ok()) std::abort();
    return new std::shared_ptr<const kb::KnowledgeBase>(*loaded);
  }();
  return **kb;
}

void BM_Screen(benchmark::State& state, bench::PayloadKind kind) {
  const v1::ScreenRequest request = bench::BuildScreenRequest(kind);
  const DayNumber day = *ParseFhirDay(request.session().date());
  size_t alerts = 0;
  for (auto _ : state) {
    auto result =
        engine::EvaluateAsOf(Kb(), request.record(), request.session(), day);
    alerts = result.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["alerts"] = static_cast<double>(alerts);
  state.counters["entries"] = bench::RecordEntryCount(request.record());
  state.SetItemsProcessed(state.iterations());
}

// With an EvaluationCache kept across calls, as a server thread keeps one:
// `max_text_bytes` 0 reuses only the working buffers (every text is read
// again); the default also keeps the text readings, so from the second call
// on the same record reads no text: a patient screened again, or wording
// the thread has met before.
void BM_ScreenWithCache(benchmark::State& state, bench::PayloadKind kind,
                        size_t max_text_bytes) {
  const v1::ScreenRequest request = bench::BuildScreenRequest(kind);
  const DayNumber day = *ParseFhirDay(request.session().date());
  engine::EvaluationCache cache(max_text_bytes);
  size_t alerts = 0;
  for (auto _ : state) {
    auto result = engine::EvaluateAsOf(Kb(), request.record(),
                                       request.session(), day, &cache);
    alerts = result.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["alerts"] = static_cast<double>(alerts);
  state.counters["entries"] = bench::RecordEntryCount(request.record());
  state.SetItemsProcessed(state.iterations());
}

// The cached path with the alerts built straight into a ScreenResponse on
// an arena whose first block is reused call after call, as a server can
// hold one per thread (EvaluateAsOf's RepeatedPtrField overload): nothing is
// copied into the response and nothing freed one by one.
void BM_ScreenIntoResponse(benchmark::State& state, bench::PayloadKind kind) {
  const v1::ScreenRequest request = bench::BuildScreenRequest(kind);
  const DayNumber day = *ParseFhirDay(request.session().date());
  engine::EvaluationCache cache;
  std::vector<char> block(64 * 1024);
  size_t alerts = 0;
  for (auto _ : state) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block.data();
    options.initial_block_size = block.size();
    google::protobuf::Arena arena(options);
    auto* response =
        google::protobuf::Arena::CreateMessage<v1::ScreenResponse>(&arena);
    engine::EvaluateAsOf(Kb(), request.record(), request.session(), day, &cache,
                         response->mutable_alerts());
    alerts = response->alerts_size();
    benchmark::DoNotOptimize(response);
  }
  state.counters["alerts"] = static_cast<double>(alerts);
  state.counters["entries"] = bench::RecordEntryCount(request.record());
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseRequestBaseline(benchmark::State& state, bench::PayloadKind kind) {
  const std::string wire = bench::BuildScreenRequest(kind).SerializeAsString();
  for (auto _ : state) {
    v1::ScreenRequest parsed;
    benchmark::DoNotOptimize(parsed.ParseFromString(wire));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(wire.size()));
}

BENCHMARK_CAPTURE(BM_Screen, typical, bench::PayloadKind::kTypical);
BENCHMARK_CAPTURE(BM_ParseRequestBaseline, typical,
                  bench::PayloadKind::kTypical);
BENCHMARK_CAPTURE(BM_Screen, large, bench::PayloadKind::kLarge);
BENCHMARK_CAPTURE(BM_ScreenWithCache, buffers_typical,
                  bench::PayloadKind::kTypical, 0);
BENCHMARK_CAPTURE(BM_ScreenWithCache, buffers_large, bench::PayloadKind::kLarge,
                  0);
BENCHMARK_CAPTURE(BM_ScreenWithCache, texts_typical,
                  bench::PayloadKind::kTypical,
                  kb::TextClassificationCache::kDefaultMaxTextBytes);
BENCHMARK_CAPTURE(BM_ScreenWithCache, texts_large, bench::PayloadKind::kLarge,
                  kb::TextClassificationCache::kDefaultMaxTextBytes);
BENCHMARK_CAPTURE(BM_ScreenIntoResponse, typical, bench::PayloadKind::kTypical);
BENCHMARK_CAPTURE(BM_ScreenIntoResponse, large, bench::PayloadKind::kLarge);
BENCHMARK_CAPTURE(BM_ParseRequestBaseline, large, bench::PayloadKind::kLarge);

}  // namespace
}  // namespace needlecheck

BENCHMARK_MAIN();
