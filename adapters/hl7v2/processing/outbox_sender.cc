#include "adapters/hl7v2/processing/outbox_sender.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/hl7v2/er7_message.h"

namespace needlecheck::hl7v2 {

OutboxSender::OutboxSender(OutboxSenderOptions options,
                           PatientStateStore* store, Hl7Metrics* metrics,
                           std::function<void(const std::string&)> log)
    : options_(std::move(options)),
      store_(store),
      metrics_(metrics),
      log_(std::move(log)) {}

OutboxSender::~OutboxSender() { Stop(); }

void OutboxSender::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void OutboxSender::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void OutboxSender::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

bool OutboxSender::WaitUntil(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || woken_;
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  woken_ = false;
  return !stopping_;
}

void OutboxSender::Run() {
  absl::Duration retry = options_.first_retry;
  while (true) {
    bool more = false;
    if (DeliverPending(&more)) {
      retry = options_.first_retry;
      // A full batch went out: read the next one at once.
      if (!more && !WaitUntil(absl::Now() + options_.poll_interval)) return;
    } else {
      // Waits out the back-off; a Wake() (a new message) does not cut it
      // short, the receiver is what is failing.
      const absl::Time until = absl::Now() + retry;
      retry = std::min(retry * 2, options_.max_retry);
      while (absl::Now() < until) {
        if (!WaitUntil(until)) return;
      }
    }
  }
}

bool OutboxSender::DeliverPending(bool* more) {
  absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>> pending =
      store_->PendingOutbound(options_.batch_size);
  if (!pending.ok()) {
    log_(absl::StrCat("event=outbox store_unavailable code=",
                      absl::StatusCodeToString(pending.status().code())));
    return false;
  }
  depth_.store(static_cast<int64_t>(pending->size()),
               std::memory_order_relaxed);
  *more = static_cast<int>(pending->size()) >= options_.batch_size;
  for (const PatientStateStore::OutboundMessage& message : *pending) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        *more = false;
        return true;
      }
    }
    std::string ack_code;
    const Result result = Deliver(message, &ack_code);
    if (result == Result::kRetry) {
      if (metrics_ != nullptr) metrics_->Outbound("retried");
      if (!store_->MarkAttempted(message.id).ok()) {
        log_(absl::StrCat("event=outbox store_unavailable id=", message.id));
      }
      return false;
    }
    if (!store_->MarkDelivered(message.id).ok()) {
      // Sent but still queued: it goes again after the back-off (the
      // receiver sees a resend with the same MSH-10).
      log_(absl::StrCat("event=outbox store_unavailable id=", message.id));
      return false;
    }
    depth_.fetch_sub(1, std::memory_order_relaxed);
    const bool delivered = result == Result::kDelivered;
    if (metrics_ != nullptr) {
      metrics_->Outbound(delivered ? "delivered" : "rejected");
    }
    log_(absl::StrCat("event=outbound id=", message.id,
                      " attempt=", message.attempts + 1,
                      " result=", delivered ? "delivered" : "rejected",
                      " ack=", ack_code, delivered ? "" : " (given up)"));
  }
  return true;
}

OutboxSender::Result OutboxSender::Deliver(
    const PatientStateStore::OutboundMessage& message, std::string* ack_code) {
  const int attempt = message.attempts + 1;
  if (client_ == nullptr) {
    absl::StatusOr<std::unique_ptr<MllpClient>> client =
        MllpClient::Connect(options_.target, options_.client);
    if (!client.ok()) {
      log_(absl::StrCat("event=outbound id=", message.id, " attempt=", attempt,
                        " result=retry cause=connect code=",
                        absl::StatusCodeToString(client.status().code())));
      return Result::kRetry;
    }
    client_ = *std::move(client);
  }
  absl::StatusOr<std::string> reply = client_->Send(message.message);
  if (!reply.ok()) {
    client_.reset();
    log_(absl::StrCat("event=outbound id=", message.id, " attempt=", attempt,
                      " result=retry cause=send code=",
                      absl::StatusCodeToString(reply.status().code())));
    return Result::kRetry;
  }
  absl::StatusOr<Er7Message> ack = Er7Message::Parse(*reply);
  const std::string code = ack.ok() ? ack->Get("MSA-1") : "";
  *ack_code = code;
  if (code == "AA" || code == "CA") return Result::kDelivered;
  if (code == "AR" || code == "CR") return Result::kRejected;
  client_.reset();
  log_(absl::StrCat(
      "event=outbound id=", message.id, " attempt=", attempt,
      " result=retry cause=",
      code.empty()
          ? std::string("unreadable_reply")
          : absl::StrCat("ack_",
                         code == "AE" || code == "CE" ? code : "other")));
  return Result::kRetry;
}

}  // namespace needlecheck::hl7v2
