#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch {

int64_t VerdictCounts::sessions() const {
  int64_t total = 0;
  for (int64_t n : by_verdict) total += n;
  return total;
}

int64_t VerdictCounts::flagged() const {
  return sessions() - by_verdict[static_cast<int>(Verdict::kClear)];
}

}  // namespace needlecheck::batch
