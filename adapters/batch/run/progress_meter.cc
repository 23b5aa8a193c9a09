#include "adapters/batch/run/progress_meter.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace needlecheck::batch {

std::string FormatEta(absl::Duration duration) {
  int64_t seconds = absl::ToInt64Seconds(duration);
  if (seconds < 0) seconds = 0;
  return absl::StrFormat("%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60,
                         seconds % 60);
}

ProgressMeter::ProgressMeter(std::FILE* out, ProgressStyle style,
                             absl::Duration line_interval)
    : out_(out), line_interval_(line_interval) {
  quiet_ = style == ProgressStyle::kNone;
  bar_ = style == ProgressStyle::kBar ||
         (style == ProgressStyle::kAuto && isatty(fileno(out)) == 1);
}

void ProgressMeter::StartPhase(const std::string& phase,
                               const std::string& unit, double total,
                               double already_done) {
  phase_ = phase;
  unit_ = unit;
  total_ = total;
  start_done_ = already_done;
  start_ = absl::Now();
  last_print_ = start_;
}

void ProgressMeter::Update(double done) {
  if (quiet_) return;
  const absl::Time now = absl::Now();
  const absl::Duration interval =
      bar_ ? absl::Milliseconds(200) : line_interval_;
  if (now - last_print_ < interval) return;
  last_print_ = now;
  Print(done, false);
}

void ProgressMeter::FinishPhase(double done) {
  if (quiet_) return;
  Print(done, true);
}

void ProgressMeter::Print(const std::string& note) {
  if (quiet_) return;
  absl::FPrintF(out_, "%sneedlecheck-audit: %s: %s\n", bar_ ? "\r\033[K" : "",
                phase_, note);
  std::fflush(out_);
}

void ProgressMeter::Print(double done, bool final_line) {
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  const double rate = seconds > 0 ? (done - start_done_) / seconds : 0;
  std::string text;
  if (total_ > 0) {
    const double fraction = std::clamp(done / total_, 0.0, 1.0);
    std::string eta = "-:--:--";
    if (rate > 0 && !final_line) {
      eta = FormatEta(absl::Seconds((total_ - done) / rate));
    }
    if (bar_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(fraction * kWidth);
      text = absl::StrFormat("%-9s [%s%s] %5.1f%% %.0f/%.0f %s  %.0f %s/s",
                             phase_, std::string(filled, '#'),
                             std::string(kWidth - filled, '.'), fraction * 100,
                             done, total_, unit_, rate, unit_);
    } else {
      text = absl::StrFormat("%s: %.1f%% %.0f/%.0f %s, %.0f %s/s", phase_,
                             fraction * 100, done, total_, unit_, rate, unit_);
    }
    text += final_line ? absl::StrFormat(", done in %s",
                                         FormatEta(absl::Seconds(seconds)))
                       : absl::StrFormat(", ETA %s", eta);
  } else if (done <= 0) {
    // A phase without a count: only its duration.
    text = final_line ? absl::StrFormat("%s: done in %s", phase_,
                                        FormatEta(absl::Seconds(seconds)))
                      : absl::StrCat(phase_, ": running");
  } else {
    text = absl::StrFormat("%s: %.0f %s, %.0f %s/s", phase_, done, unit_, rate,
                           unit_);
    if (final_line) {
      text +=
          absl::StrFormat(", done in %s", FormatEta(absl::Seconds(seconds)));
    }
  }
  if (bar_) {
    // Redraw in place; clear what a longer previous line left.
    absl::FPrintF(out_, "\r%s\033[K%s", text, final_line ? "\n" : "");
  } else {
    absl::FPrintF(out_, "needlecheck-audit: %s\n", text);
  }
  std::fflush(out_);
}

}  // namespace needlecheck::batch
