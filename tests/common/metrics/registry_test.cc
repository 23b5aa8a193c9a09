#include "common/metrics/registry.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(EscapingTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(EscapeLabelValue("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), "two\\nlines");
  EXPECT_EQ(EscapeLabelValue("\\\"\n"), "\\\\\\\"\\n");
  // Everything else, UTF-8 included, passes through.
  EXPECT_EQ(EscapeLabelValue("caf\xc3\xa9 {x=1}"), "caf\xc3\xa9 {x=1}");
}

TEST(EscapingTest, HelpEscapesBackslashAndNewlineOnly) {
  EXPECT_EQ(EscapeHelp("a \"quoted\" \\ help\nline"),
            "a \"quoted\" \\\\ help\\nline");
}

TEST(EscapingTest, RenderedLabelValueIsEscaped) {
  Registry registry;
  auto family =
      registry.AddCounter("x_total", "Help with \\ and\nnewline.", {"reason"});
  ASSERT_TRUE(family.ok());
  (*family)->With({"bad \"value\"\\\n"}).Increment(2);
  EXPECT_EQ(registry.Render(),
            "# HELP x_total Help with \\\\ and\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total{reason=\"bad \\\"value\\\"\\\\\\n\"} 2\n");
}

TEST(NamesTest, ValidAndInvalidNames) {
  EXPECT_TRUE(IsValidMetricName("needlecheck_rpc:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName("a b"));
  EXPECT_TRUE(IsValidLabelName("rule_id"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("9x"));
}

TEST(RegistryTest, RefusesBadRegistrations) {
  Registry registry;
  EXPECT_EQ(registry.AddCounter("calls", "no _total").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("bad-name", "h").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("g", "h", {"a", "a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {"le"}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {}, {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {}, {2, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry
                .AddHistogram("h", "h", {},
                              {1, std::numeric_limits<double>::infinity()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h_count", "h", {}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry.AddGauge("g", "h").ok());
  EXPECT_EQ(registry.AddGauge("g", "h").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry
                .AddCallback("g", "h", MetricType::kGauge, {},
                             [] { return std::vector<Sample>{}; })
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(HistogramTest, BucketsAreCumulativeWithUpperBoundsInclusive) {
  Registry registry;
  auto family = registry.AddHistogram("rpc_seconds", "Latency.", {"method"},
                                      {0.25, 1, 5});
  ASSERT_TRUE(family.ok());
  Histogram& h = (*family)->With({"Screen"});
  for (double v : {0.125, 0.25, 0.5, 1.0, 2.0, 7.0, 100.0}) h.Observe(v);
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5, 7}));
  EXPECT_EQ(s.count, 7u);
  EXPECT_EQ(s.sum, 110.875);
  EXPECT_EQ(registry.Render(),
            "# HELP rpc_seconds Latency.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{method=\"Screen\",le=\"0.25\"} 2\n"
            "rpc_seconds_bucket{method=\"Screen\",le=\"1\"} 4\n"
            "rpc_seconds_bucket{method=\"Screen\",le=\"5\"} 5\n"
            "rpc_seconds_bucket{method=\"Screen\",le=\"+Inf\"} 7\n"
            "rpc_seconds_sum{method=\"Screen\"} 110.875\n"
            "rpc_seconds_count{method=\"Screen\"} 7\n");
}

TEST(HistogramTest, NanGoesToInfBucket) {
  std::vector<double> bounds = {1};
  Histogram h(&bounds);
  h.Observe(std::nan(""));
  EXPECT_EQ(h.Read().cumulative, (std::vector<uint64_t>{0, 1}));
}

TEST(HistogramTest, LatencyBucketsAreValidAndFormatShortest) {
  Registry registry;
  auto family = registry.AddHistogram("d_seconds", "d", {}, LatencyBuckets());
  ASSERT_TRUE(family.ok());
  (*family)->With(std::vector<std::string>{}).Observe(0.2);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("le=\"0.0005\""));
  EXPECT_THAT(text, HasSubstr("le=\"0.1\""));
  EXPECT_THAT(text, HasSubstr("le=\"2.5\""));
  EXPECT_THAT(text, HasSubstr("le=\"10\""));
  EXPECT_THAT(text, Not(HasSubstr("0.10000")));
}

TEST(HistogramTest, CountEqualsInfBucketUnderConcurrentObservations) {
  Registry registry;
  auto family = registry.AddHistogram("c_seconds", "c", {}, {0.5});
  ASSERT_TRUE(family.ok());
  Histogram& h = (*family)->With(std::vector<std::string>{});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 20000; ++i) h.Observe(i % 2 == 0 ? 0.25 : 1.0);
    });
  }
  for (int i = 0; i < 200; ++i) {
    const Histogram::Snapshot s = h.Read();
    ASSERT_EQ(s.cumulative.back(), s.count);
    ASSERT_LE(s.cumulative[0], s.count);
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(h.Read().count, 80000u);
}

TEST(RegistryTest, SeriesPastTheCapFoldIntoOverflow) {
  Registry registry;
  auto family = registry.AddCounter("ids_total", "c", {"id"});
  ASSERT_TRUE(family.ok());
  for (size_t i = 0; i < kMaxSeriesPerFamily + 50; ++i) {
    (*family)->With({absl::StrCat("v", i)}).Increment();
  }
  // v0..v999 have their own series, the 50 after them share one.
  const std::string text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "ids_total{id=\"overflow\"} 50\n"));
  EXPECT_TRUE(absl::StrContains(text, "ids_total{id=\"v999\"} 1\n"));
  EXPECT_FALSE(absl::StrContains(text, "v1000"));
  // A wrong number of label values lands there too.
  (*family)->With({"a", "b"}).Increment();
  EXPECT_TRUE(
      absl::StrContains(registry.Render(), "ids_total{id=\"overflow\"} 51\n"));
}

TEST(RegistryTest, GaugesCallbacksAndOrder) {
  Registry registry;
  auto g = registry.AddGauge("queue_depth", "Depth.");
  ASSERT_TRUE(g.ok());
  (*g)->With(std::vector<std::string>{}).Set(3);
  (*g)->With(std::vector<std::string>{}).Add(-0.5);
  int calls = 0;
  ASSERT_TRUE(registry
                  .AddCallback("kb_info", "KB.", MetricType::kGauge,
                               {"version"},
                               [&calls] {
                                 ++calls;
                                 return std::vector<Sample>{
                                     {{"2026.2"}, 1}, {{"bad", "arity"}, 1}};
                               })
                  .ok());
  ASSERT_TRUE(AddBuildInfo(registry).ok());
  const std::string text = registry.Render();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(text,
            absl::StrCat("# HELP queue_depth Depth.\n"
                         "# TYPE queue_depth gauge\n"
                         "queue_depth 2.5\n"
                         "# HELP kb_info KB.\n"
                         "# TYPE kb_info gauge\n"
                         "kb_info{version=\"2026.2\"} 1\n"
                         "# HELP needlecheck_build_info Always 1; the version "
                         "label is needlecheck's version.\n"
                         "# TYPE needlecheck_build_info gauge\n"
                         "needlecheck_build_info{version=\"",
                         NeedlecheckVersion(), "\"} 1\n"));
}

TEST(FormatValueTest, SpecialAndShortestForms) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(-2.5), "-2.5");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(FormatValue(1.0 / 3)), 1.0 / 3);
}

}  // namespace
}  // namespace needlecheck::metrics
