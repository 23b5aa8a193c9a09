// ProgressMeter: what a long batch audit shows while it runs. On a terminal,
// one line redrawn in place: a bar, done/total, the rate and the ETA; when
// stderr is not a terminal (CI, a log file), one plain line every
// `interval` (default 10 s), so logs stay readable.
//
// Contract
// - Shows counts and rates only: never a patient id or any record content.
// - Update() is cheap enough to call per item; it prints at most every
//   200 ms on a terminal.
// - Single-threaded: call from one thread.
#ifndef ADAPTERS_BATCH_RUN_PROGRESS_METER_H_
#define ADAPTERS_BATCH_RUN_PROGRESS_METER_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/time/time.h"

namespace needlecheck::batch {

enum class ProgressStyle { kAuto, kBar, kLines, kNone };

class ProgressMeter {
 public:
  // `out` is where to draw (stderr in the tool). kAuto = kBar if `out` is a
  // terminal, else kLines.
  ProgressMeter(std::FILE* out, ProgressStyle style,
                absl::Duration line_interval = absl::Seconds(10));

  // Starts a phase: "reading", "auditing" ... `unit` names what is counted
  // ("MB", "patients"); total <= 0 means unknown (no bar, no ETA).
  // `already_done` (a resumed run) is not counted in the rate.
  void StartPhase(const std::string& phase, const std::string& unit,
                  double total, double already_done = 0);
  void Update(double done);
  // Prints the phase's final line (always, in every style but kNone).
  void FinishPhase(double done);
  // Prints one line about the phase now (every style but kNone).
  void Print(const std::string& note);

 private:
  void Print(double done, bool final_line);

  std::FILE* out_;
  bool bar_;
  bool quiet_;
  absl::Duration line_interval_;
  std::string phase_;
  std::string unit_;
  double total_ = 0;
  double start_done_ = 0;
  absl::Time start_;
  absl::Time last_print_;
};

// Formats a duration as H:MM:SS ("0:00:42").
std::string FormatEta(absl::Duration duration);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_PROGRESS_METER_H_
