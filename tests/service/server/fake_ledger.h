// An in-memory AlertLedger for the server tests: records what it is given
// and answers with configurable statuses. Test-only.
#ifndef TESTS_SERVICE_SERVER_FAKE_LEDGER_H_
#define TESTS_SERVICE_SERVER_FAKE_LEDGER_H_

#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "service/ledger/alert_ledger.h"

namespace needlecheck::server::testing {

class FakeLedger : public ledger::AlertLedger {
 public:
  absl::Status RecordScreening(ledger::ScreeningRecord screening) override {
    absl::MutexLock lock(&mu_);
    if (!record_status.ok()) return record_status;
    screenings.push_back(std::move(screening));
    return absl::OkStatus();
  }
  absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> RecordFeedback(
      const needlecheck::v1::RecordFeedbackRequest& request) override {
    absl::MutexLock lock(&mu_);
    feedback.push_back(request);
    if (!feedback_status.ok()) return feedback_status;
    needlecheck::v1::RecordFeedbackResponse response;
    response.set_feedback_id("fb-1");
    return response;
  }
  absl::StatusOr<needlecheck::v1::AlertStats> GetAlertStats(
      const needlecheck::v1::GetAlertStatsRequest& request) override {
    absl::MutexLock lock(&mu_);
    stats_requests.push_back(request);
    if (!stats_status.ok()) return stats_status;
    needlecheck::v1::AlertStats stats;
    stats.set_screenings(7);
    stats.set_from_date(request.from_date());
    return stats;
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }
  ledger::LedgerCounters Counters() const override { return {}; }
  ledger::AccessLog* access_log() override { return nullptr; }

  absl::Status record_status;
  absl::Status feedback_status;
  absl::Status stats_status;
  std::vector<ledger::ScreeningRecord> screenings;
  std::vector<needlecheck::v1::RecordFeedbackRequest> feedback;
  std::vector<needlecheck::v1::GetAlertStatsRequest> stats_requests;

 private:
  absl::Mutex mu_;
};

}  // namespace needlecheck::server::testing

#endif  // TESTS_SERVICE_SERVER_FAKE_LEDGER_H_
