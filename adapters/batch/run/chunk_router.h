// ChunkRouter: routes a chunk of NDJSON lines and maps the resources to
// keep (ResourceRouter::RoutePadded, then MapRouted) on the calling thread
// and one helper thread, so that reading an export uses both cores of a
// machine where needlecheckd is idle until the auditing phase.
//
// Contract
// - Route(lines, keep) fills each RoutedLine's `route`, `routed` and, for a
//   line routed without error whose `keep(routed)` is true, `fragment`,
//   exactly as one ResourceRouter routing and mapping the lines one after
//   the other would (each line's result depends on that line alone). It
//   returns when every line is done; the caller then uses the results in
//   line order, so what it stores and reports does not depend on which
//   thread took which line.
// - `keep` is called from both threads: it must be thread-safe (a pure
//   function of its argument).
// - Each line's text must have NdjsonLineReader::kPadding readable bytes
//   after it (RoutePadded's condition).
// - One caller thread at a time. The helper thread is started by the
//   constructor when `threads` is 2 (1: everything on the calling thread)
//   and joined by the destructor. Lines over 256 KiB are routed by the
//   calling thread only, so a very long line grows one parser, not two.
#ifndef ADAPTERS_BATCH_RUN_CHUNK_ROUTER_H_
#define ADAPTERS_BATCH_RUN_CHUNK_ROUTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "adapters/batch/export/resource_route.h"

namespace needlecheck::batch {

struct RoutedLine {
  absl::string_view text;  // in
  absl::Status route;      // out: RoutePadded's status
  RouteResult routed;      // out, when route is OK
  std::string fragment;    // out, when route is OK and kept
  bool deferred = false;   // internal: left by the helper to the caller
};

class ChunkRouter {
 public:
  // `threads`: 1 or 2.
  explicit ChunkRouter(int threads);
  ~ChunkRouter();
  ChunkRouter(const ChunkRouter&) = delete;
  ChunkRouter& operator=(const ChunkRouter&) = delete;

  void Route(std::vector<RoutedLine>& lines,
             absl::FunctionRef<bool(const RouteResult&)> keep);

 private:
  // Takes lines of the current chunk until none is left (the helper
  // leaves long lines, marked deferred, to the calling thread).
  void Work(ResourceRouter& router, bool helper);
  void RouteLine(ResourceRouter& router, RoutedLine& line);
  void HelperLoop();
  bool HelperHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HelperIdle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ResourceRouter router_;
  ResourceRouter helper_router_;
  absl::Mutex mu_;
  // The chunk being routed (set by Route, read by both threads).
  std::vector<RoutedLine>* lines_ = nullptr;
  const absl::FunctionRef<bool(const RouteResult&)>* keep_ = nullptr;
  std::atomic<size_t> next_{0};
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;   // chunks handed out
  uint64_t helper_seen_ ABSL_GUARDED_BY(mu_) = 0;  // the helper's last
  bool helper_busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread helper_;
};

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_CHUNK_ROUTER_H_
