#include "adapters/batch/findings/finding_record.h"

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

}  // namespace needlecheck::batch
