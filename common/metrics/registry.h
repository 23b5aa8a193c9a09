// A small Prometheus metrics registry: counters, gauges and histograms with
// labels, rendered in the Prometheus text exposition format, version 0.0.4
// (what `GET /metrics` answers; http_endpoint.h serves it).
//
// Why our own: Debian 12 packages no Prometheus client library for C++
// (no prometheus-cpp), and nothing may be downloaded at build time. What
// needlecheck needs is small: monotonic counters, gauges, fixed-bucket
// histograms, values read from other components at scrape time, and the
// text format with its escaping rules. This is that and nothing more.
//
// Contract
// - Names: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
//   [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__"; counter names end in
//   "_total" (what `promtool check metrics` asks); a histogram may not use
//   the label "le". A name is registered once. Add*() returns
//   INVALID_ARGUMENT for a bad name, label name or bucket list and
//   ALREADY_EXISTS for a name taken; registration is meant for start-up.
// - Label values are escaped as the format requires (backslash, double
//   quote, line feed) and may hold any bytes, but callers must only use
//   values from closed sets (method names, status codes, rule ids of the
//   knowledge base, enum names): never a patient, user or request id. As a
//   guard against a caller that gets this wrong, a family holds at most
//   `kMaxSeriesPerFamily` label combinations; further new combinations (and
//   a wrong number of values) are all counted in one more series whose
//   every label value is "overflow".
// - Histograms: the upper bounds given (finite, strictly increasing, at
//   least one) plus +Inf. Rendered cumulatively as <name>_bucket{le=...},
//   then <name>_sum and <name>_count; a scrape always sees _count equal to
//   the +Inf bucket (each series is read under its lock).
// - Callback metrics (AddCallback) are computed at each Render() by a
//   function the caller gives (e.g. a queue depth read from the ledger);
//   it runs on the thread calling Render() and must not call back into the
//   registry. Whatever it reads must outlive the registry's last Render().
// - Output: families in registration order, series sorted by label values;
//   each family has its # HELP and # TYPE lines.
// - Thread safety: every method may be called from any thread; Counter,
//   Gauge and Histogram updates are cheap (an atomic, or a short lock for a
//   histogram). Families and series live as long as the registry, so the
//   pointers and references handed out stay valid.
//
// Example
//   Registry registry;
//   absl::StatusOr<CounterFamily*> calls = registry.AddCounter(
//       "app_calls_total", "Calls handled.", {"method", "code"});
//   (*calls)->With({"Screen", "OK"}).Increment();
//   std::string text = registry.Render();
#ifndef COMMON_METRICS_REGISTRY_H_
#define COMMON_METRICS_REGISTRY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace needlecheck::metrics {

// Label combinations per family, at most (see the contract).
inline constexpr size_t kMaxSeriesPerFamily = 1000;
// The label value of the series that takes the combinations past the cap.
inline constexpr char kOverflowLabelValue[] = "overflow";

enum class MetricType { kCounter, kGauge, kHistogram };

class Counter {
 public:
  void Increment(uint64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the finite upper bounds, validated by the family.
  explicit Histogram(const std::vector<double>* bounds);
  // Counts `value` in the first bucket whose bound is >= value (+Inf for
  // larger ones and NaN), and adds it to the sum.
  void Observe(double value) ABSL_LOCKS_EXCLUDED(mu_);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    uint64_t count = 0;                // == cumulative.back()
    double sum = 0;
  };
  Snapshot Read() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::vector<double>* const bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // not cumulative
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
};

// One metric name with its label names; its series are made on first use.
template <typename T>
class Family {
 public:
  // The series with these label values (one per label name, in order).
  // A wrong number of values is folded into the overflow series.
  T& With(std::initializer_list<absl::string_view> values) {
    return With(std::vector<std::string>(values.begin(), values.end()));
  }
  T& With(const std::vector<std::string>& values) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class Registry;
  Family(std::string name, std::string help, MetricType type,
         std::vector<std::string> label_names, std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  std::unique_ptr<T> NewSeries() const;
  void Render(std::string* out) const ABSL_LOCKS_EXCLUDED(mu_);

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_
      ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One value of a callback metric.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  absl::StatusOr<CounterFamily*> AddCounter(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names = {});
  absl::StatusOr<GaugeFamily*> AddGauge(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names = {});
  absl::StatusOr<HistogramFamily*> AddHistogram(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names, std::vector<double> bounds);
  // A counter or gauge whose samples `collect` returns at each Render().
  // Samples with the wrong number of label values are skipped.
  absl::Status AddCallback(absl::string_view name, absl::string_view help,
                           MetricType type,
                           std::vector<std::string> label_names,
                           std::function<std::vector<Sample>()> collect);

  // The text exposition format, version 0.0.4.
  std::string Render() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry;
  absl::Status Reserve(absl::string_view name, MetricType type,
                       const std::vector<std::string>& label_names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

// The content type of Render()'s output.
inline constexpr char kTextFormatContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

// Bucket bounds for durations in seconds, 0.5 ms to 10 s:
// 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10.
std::vector<double> LatencyBuckets();

// needlecheck's version (the CMake project version), for *_build_info.
absl::string_view NeedlecheckVersion();

// Adds needlecheck_build_info{version} (a gauge, always 1).
absl::Status AddBuildInfo(Registry& registry);

// The format's escaping and number forms (exposed for tests).
bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);
// Label values: \ -> \\, " -> \", line feed -> \n.
std::string EscapeLabelValue(absl::string_view value);
// HELP text: \ -> \\, line feed -> \n.
std::string EscapeHelp(absl::string_view help);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

}  // namespace needlecheck::metrics

#endif  // COMMON_METRICS_REGISTRY_H_
