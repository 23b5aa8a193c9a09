#include "adapters/batch/audit_summary.h"

namespace needlecheck::batch {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kIntervalViolation:
      return "interval_violation";
    case Verdict::kTreatedDespiteCritical:
      return "treated_despite_critical";
    case Verdict::kTreatedDespiteWarning:
      return "treated_despite_warning";
    case Verdict::kClear:
      return "clear";
  }
  return "clear";
}

int64_t VerdictCounts::sessions() const {
  int64_t total = 0;
  for (int64_t n : by_verdict) total += n;
  return total;
}

int64_t VerdictCounts::flagged() const {
  return sessions() - by_verdict[static_cast<int>(Verdict::kClear)];
}

}  // namespace needlecheck::batch
