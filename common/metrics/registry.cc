#include "common/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

#ifndef NEEDLECHECK_VERSION
#error "NEEDLECHECK_VERSION must be defined (common/metrics/CMakeLists.txt)"
#endif

namespace needlecheck::metrics {
namespace {

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// {a="x",b="y"} (empty for no labels); `extra` is one more pair, already
// formatted (le="0.5"), or empty.
void AppendLabels(const std::vector<std::string>& names,
                  const std::vector<std::string>& values,
                  absl::string_view extra, std::string* out) {
  if (names.empty() && extra.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    absl::StrAppend(out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) {
    if (!names.empty()) out->push_back(',');
    out->append(extra.data(), extra.size());
  }
  out->push_back('}');
}

void AppendHeader(absl::string_view name, absl::string_view help,
                  MetricType type, std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ",
                  name, " ", TypeName(type), "\n");
}

void AppendSeries(const Counter& c, absl::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values,
                  const std::vector<double>& /*bounds*/, std::string* out) {
  out->append(name.data(), name.size());
  AppendLabels(label_names, values, "", out);
  absl::StrAppend(out, " ", c.value(), "\n");
}

void AppendSeries(const Gauge& g, absl::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values,
                  const std::vector<double>& /*bounds*/, std::string* out) {
  out->append(name.data(), name.size());
  AppendLabels(label_names, values, "", out);
  absl::StrAppend(out, " ", FormatValue(g.value()), "\n");
}

void AppendSeries(const Histogram& h, absl::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values,
                  const std::vector<double>& bounds, std::string* out) {
  const Histogram::Snapshot s = h.Read();
  for (size_t i = 0; i <= bounds.size(); ++i) {
    absl::StrAppend(out, name, "_bucket");
    const std::string le = absl::StrCat(
        "le=\"", i < bounds.size() ? FormatValue(bounds[i]) : "+Inf", "\"");
    AppendLabels(label_names, values, le, out);
    absl::StrAppend(out, " ", s.cumulative[i], "\n");
  }
  absl::StrAppend(out, name, "_sum");
  AppendLabels(label_names, values, "", out);
  absl::StrAppend(out, " ", FormatValue(s.sum), "\n", name, "_count");
  AppendLabels(label_names, values, "", out);
  absl::StrAppend(out, " ", s.count, "\n");
}

}  // namespace

// ---- series ----

void Gauge::Add(double delta) {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + delta,
                                       std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(bounds->size() + 1, 0) {}

void Histogram::Observe(double value) {
  // upper_bound-style search for the first bound >= value; NaN lands in
  // +Inf (every comparison with NaN is false).
  size_t i = 0;
  while (i < bounds_->size() && !(value <= (*bounds_)[i])) ++i;
  absl::MutexLock lock(&mu_);
  ++counts_[i];
  sum_ += value;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  absl::MutexLock lock(&mu_);
  s.cumulative.reserve(counts_.size());
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_;
  return s;
}

// ---- families ----

template <>
std::unique_ptr<Counter> Family<Counter>::NewSeries() const {
  return std::make_unique<Counter>();
}
template <>
std::unique_ptr<Gauge> Family<Gauge>::NewSeries() const {
  return std::make_unique<Gauge>();
}
template <>
std::unique_ptr<Histogram> Family<Histogram>::NewSeries() const {
  return std::make_unique<Histogram>(&bounds_);
}

template <typename T>
T& Family<T>::With(const std::vector<std::string>& values) {
  absl::MutexLock lock(&mu_);
  auto it = series_.find(values);
  if (it != series_.end()) return *it->second;
  if (values.size() != label_names_.size() ||
      series_.size() >= kMaxSeriesPerFamily) {
    // A caller bug or an open set of values: count it, bounded.
    std::vector<std::string> overflow(label_names_.size(), kOverflowLabelValue);
    std::unique_ptr<T>& slot = series_[overflow];
    if (slot == nullptr) slot = NewSeries();
    return *slot;
  }
  std::unique_ptr<T>& slot = series_[values];
  slot = NewSeries();
  return *slot;
}

template <typename T>
void Family<T>::Render(std::string* out) const {
  AppendHeader(name_, help_, type_, out);
  absl::MutexLock lock(&mu_);
  for (const auto& [values, series] : series_) {
    AppendSeries(*series, name_, label_names_, values, bounds_, out);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- registry ----

struct Registry::Entry {
  std::string name;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  // Callback metrics.
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::function<std::vector<Sample>()> collect;
};

Registry::Registry() = default;
Registry::~Registry() = default;

absl::Status Registry::Reserve(absl::string_view name, MetricType type,
                               const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric name \"", name, "\" is not valid"));
  }
  if (type == MetricType::kCounter && !absl::EndsWith(name, "_total")) {
    return absl::InvalidArgumentError(
        absl::StrCat("counter \"", name, "\" must end in _total"));
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidLabelName(label) ||
        (type == MetricType::kHistogram && label == "le")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric \"", name, "\": label name \"", label, "\" is not valid"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label) {
        return absl::InvalidArgumentError(absl::StrCat(
            "metric \"", name, "\": label \"", label, "\" appears twice"));
      }
    }
  }
  for (const auto& e : entries_) {
    // A histogram's _bucket/_sum/_count names are taken as well.
    if (e->name == name) {
      return absl::AlreadyExistsError(
          absl::StrCat("metric \"", name, "\" is already registered"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Reserve(name, MetricType::kCounter, label_names);
      !s.ok()) {
    return s;
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  entry->counter.reset(new CounterFamily(std::string(name), std::string(help),
                                         MetricType::kCounter,
                                         std::move(label_names), {}));
  CounterFamily* family = entry->counter.get();
  entries_.push_back(std::move(entry));
  return family;
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Reserve(name, MetricType::kGauge, label_names);
      !s.ok()) {
    return s;
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  entry->gauge.reset(new GaugeFamily(std::string(name), std::string(help),
                                     MetricType::kGauge, std::move(label_names),
                                     {}));
  GaugeFamily* family = entry->gauge.get();
  entries_.push_back(std::move(entry));
  return family;
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names, std::vector<double> bounds) {
  if (bounds.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram \"", name, "\" needs at least one bucket"));
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram \"", name,
          "\": bucket bounds must be finite and strictly increasing"));
    }
  }
  for (absl::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (absl::EndsWith(name, suffix)) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram \"", name, "\" must not end in ", suffix));
    }
  }
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Reserve(name, MetricType::kHistogram, label_names);
      !s.ok()) {
    return s;
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  entry->histogram.reset(new HistogramFamily(
      std::string(name), std::string(help), MetricType::kHistogram,
      std::move(label_names), std::move(bounds)));
  HistogramFamily* family = entry->histogram.get();
  entries_.push_back(std::move(entry));
  return family;
}

absl::Status Registry::AddCallback(
    absl::string_view name, absl::string_view help, MetricType type,
    std::vector<std::string> label_names,
    std::function<std::vector<Sample>()> collect) {
  if (type == MetricType::kHistogram || collect == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "callback metric \"", name, "\": a counter or gauge with a function"));
  }
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Reserve(name, type, label_names); !s.ok()) return s;
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  entry->help = std::string(help);
  entry->type = type;
  entry->label_names = std::move(label_names);
  entry->collect = std::move(collect);
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

std::string Registry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& e : entries_) {
    if (e->counter != nullptr) {
      e->counter->Render(&out);
    } else if (e->gauge != nullptr) {
      e->gauge->Render(&out);
    } else if (e->histogram != nullptr) {
      e->histogram->Render(&out);
    } else {
      AppendHeader(e->name, e->help, e->type, &out);
      std::vector<Sample> samples = e->collect();
      std::sort(samples.begin(), samples.end(),
                [](const Sample& a, const Sample& b) {
                  return a.label_values < b.label_values;
                });
      for (const Sample& s : samples) {
        if (s.label_values.size() != e->label_names.size()) continue;
        out.append(e->name);
        AppendLabels(e->label_names, s.label_values, "", &out);
        absl::StrAppend(&out, " ", FormatValue(s.value), "\n");
      }
    }
  }
  return out;
}

// ---- helpers ----

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

absl::string_view NeedlecheckVersion() { return NEEDLECHECK_VERSION; }

absl::Status AddBuildInfo(Registry& registry) {
  return registry.AddCallback(
      "needlecheck_build_info",
      "Always 1; the version label is needlecheck's version.",
      MetricType::kGauge, {"version"}, [] {
        return std::vector<Sample>{{{std::string(NeedlecheckVersion())}, 1}};
      });
}

bool IsValidMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = absl::ascii_isalpha(c) || c == '_' || c == ':' ||
                    (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(absl::string_view name) {
  if (name.empty() || absl::StartsWith(name, "__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok =
        absl::ascii_isalpha(c) || c == '_' || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::general);
  return std::string(buf, r.ptr);
}

}  // namespace needlecheck::metrics
