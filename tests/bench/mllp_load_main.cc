// needlecheck-mllp-load: drives an MLLP server (needlecheck-hl7, or
// needlecheck-mllp-echo as the baseline) with HL7 v2 messages over many
// connections and reports throughput and latency.
//
//   needlecheck-mllp-load --target=127.0.0.1:2575 --files=a.hl7,b.hl7
//       [--connections=8] [--messages=10000] [--warmup=2] [--patients=0]
//       [--patient_tag=TAG] [--label=NAME] [--expect_echo]
//       [--reply_timeout=30s] [--tls_ca=PEM [--tls_cert=PEM --tls_key=PEM]
//       [--tls_server_name=NAME]]
//
// Messages: each file holds one ER7 message, or several separated by blank
// lines; segments may end in CR, LF or CRLF (sent with CR). The messages
// are sent round-robin. Every message sent gets a fresh MSH-10 (so a
// listener that remembers answered control ids sees no duplicates) and,
// when it has a PID segment, a patient id that varies: the first component
// of PID-3 gets "-<patient_tag><n>" appended, n = the message's index modulo
// --patients (0: every message its own patient). Two runs with the same
// --patient_tag and --patients name the same patients (an ADT run, then a
// booking run for the patients it created).
//
// Each connection is a thread with a blocking MllpClient sending one
// message and waiting for its reply (the way interface engines send). Each
// connection first sends --warmup messages, not counted; then the clock
// starts and the connections share --messages messages. Latency is from
// the write of a message to the whole reply. Replies are counted by MSA-1
// (AA, AE, AR; anything else, e.g. an echo, as "other"); with
// --expect_echo a reply must equal the message sent.
//
// Output: one human-readable line, then a line starting with "RESULT "
// (key=value pairs) for scripts. Exit code 0; 1 when a connection cannot
// be made or is dropped (a send fails or times out), or a reply differs
// from the message under --expect_echo: load results with a lost message
// are not results.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/transport/mllp_client.h"

ABSL_FLAG(std::string, target, "127.0.0.1:2575", "The MLLP server, HOST:PORT.");
ABSL_FLAG(std::vector<std::string>, files, {},
          "ER7 message files, comma-separated (blank lines separate several "
          "messages in one file).");
ABSL_FLAG(int, connections, 8, "Connections, each sending one at a time.");
ABSL_FLAG(int64_t, messages, 10000, "Messages measured, over all connections.");
ABSL_FLAG(int, warmup, 2, "Messages per connection sent before measuring.");
ABSL_FLAG(int64_t, patients, 0,
          "Distinct patient ids (message index modulo this); 0: one per "
          "message.");
ABSL_FLAG(std::string, patient_tag, "",
          "Text in the varied patient ids (default: this run's tag).");
ABSL_FLAG(std::string, label, "target", "Name of this run in the output.");
ABSL_FLAG(bool, expect_echo, false,
          "Fail unless every reply equals the message sent.");
ABSL_FLAG(absl::Duration, reply_timeout, absl::Seconds(30),
          "Per message: sending it and reading its reply.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5), "Per connection.");
ABSL_FLAG(std::string, tls_ca, "", "CA of the server certificate: TLS.");
ABSL_FLAG(std::string, tls_cert, "", "Client certificate (mutual TLS).");
ABSL_FLAG(std::string, tls_key, "", "Client key (mutual TLS).");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name the server certificate must carry (default: the host).");

namespace needlecheck::bench {
namespace {

// A message with the places of MSH-10 and of PID-3's first id, so that
// variants are built by concatenation.
struct Template {
  std::string text;
  size_t control_begin = 0, control_end = 0;
  bool has_patient = false;
  size_t patient_begin = 0, patient_end = 0;
};

// The end of the field value starting at `at` (field separator or segment
// end).
size_t FieldEnd(const std::string& m, size_t at, char fs) {
  while (at < m.size() && m[at] != fs && m[at] != '\r') ++at;
  return at;
}

// Position after the `n`th field separator of the segment at `seg`, or
// npos when the segment is shorter.
size_t AfterSeparator(const std::string& m, size_t seg, char fs, int n) {
  size_t at = seg;
  for (int found = 0; found < n; ++at) {
    if (at >= m.size() || m[at] == '\r') return std::string::npos;
    if (m[at] == fs) ++found;
  }
  return at;
}

bool MakeTemplate(std::string text, Template* t, std::string* error) {
  if (text.size() < 8 || text.compare(0, 3, "MSH") != 0) {
    *error = "does not start with MSH";
    return false;
  }
  const char fs = text[3];
  const char cs = text[4], rs = text[5];
  t->text = std::move(text);
  const std::string& m = t->text;
  // MSH-1 is the separator itself: MSH-10 follows the 9th separator.
  const size_t control = AfterSeparator(m, 0, fs, 9);
  if (control == std::string::npos) {
    *error = "has no MSH-10";
    return false;
  }
  t->control_begin = control;
  t->control_end = FieldEnd(m, control, fs);
  const size_t pid = m.find(absl::StrCat("\rPID", std::string(1, fs)));
  if (pid != std::string::npos) {
    const size_t id = AfterSeparator(m, pid + 1, fs, 3);
    if (id != std::string::npos) {
      size_t end = id;
      while (end < m.size() && m[end] != fs && m[end] != '\r' && m[end] != cs &&
             m[end] != rs) {
        ++end;
      }
      t->has_patient = true;
      t->patient_begin = id;
      t->patient_end = end;
    }
  }
  return true;
}

std::string Build(const Template& t, const std::string& control,
                  const std::string& patient_suffix) {
  const std::string& m = t.text;
  if (!t.has_patient) {
    return absl::StrCat(m.substr(0, t.control_begin), control,
                        m.substr(t.control_end));
  }
  return absl::StrCat(m.substr(0, t.control_begin), control,
                      m.substr(t.control_end, t.patient_end - t.control_end),
                      patient_suffix, m.substr(t.patient_end));
}

// Messages of one file: segments split on CR, LF or CRLF and joined with
// CR; blank lines separate messages.
bool ReadMessages(const std::string& path, std::vector<Template>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "needlecheck-mllp-load: cannot read %s\n",
                 path.c_str());
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  // One line end each: CRLF, CR or LF.
  std::string normal;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      normal.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      normal.push_back(text[i]);
    }
  }
  std::string current;
  auto flush = [&]() -> bool {
    if (current.empty()) return true;
    Template t;
    std::string error;
    if (!MakeTemplate(std::move(current), &t, &error)) {
      std::fprintf(stderr, "needlecheck-mllp-load: a message in %s %s\n",
                   path.c_str(), error.c_str());
      return false;
    }
    out->push_back(std::move(t));
    current.clear();
    return true;
  };
  for (absl::string_view line : absl::StrSplit(normal, '\n')) {
    if (absl::StripAsciiWhitespace(line).empty()) {
      if (!flush()) return false;  // a blank line ends a message
      continue;
    }
    absl::StrAppend(&current, line, "\r");
  }
  return flush();
}

// "AA", "AE", "AR" from MSA-1, or "" for anything else.
std::string AckCode(const std::string& reply) {
  if (reply.size() < 8 || reply.compare(0, 3, "MSH") != 0) return "";
  const char fs = reply[3];
  const size_t msa = reply.find(absl::StrCat("\rMSA", std::string(1, fs)));
  if (msa == std::string::npos) return "";
  const size_t begin = msa + 5;
  const std::string code =
      reply.substr(begin, FieldEnd(reply, begin, fs) - begin);
  return code == "AA" || code == "AE" || code == "AR" ? code : "";
}

// A short id unique to this run (MSH-10 is 20 characters in HL7 2.5).
std::string RunTag() {
  const uint64_t seed = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())) ^
                        (static_cast<uint64_t>(getpid()) << 20);
  const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string tag;
  uint64_t v = seed;
  for (int i = 0; i < 6; ++i, v /= 36) tag.push_back(digits[v % 36]);
  return tag;
}

struct Totals {
  std::vector<int64_t> latencies_us;
  int64_t aa = 0, ae = 0, ar = 0, other = 0, mismatched = 0;
};

int Run() {
  std::vector<Template> templates;
  for (const std::string& path : absl::GetFlag(FLAGS_files)) {
    if (!ReadMessages(path, &templates)) return 1;
  }
  if (templates.empty()) {
    std::fprintf(stderr, "needlecheck-mllp-load: no messages (--files)\n");
    return 1;
  }
  const int connections = std::max(1, absl::GetFlag(FLAGS_connections));
  const int64_t total = std::max<int64_t>(1, absl::GetFlag(FLAGS_messages));
  const int warmup = std::max(0, absl::GetFlag(FLAGS_warmup));
  const int64_t patients = absl::GetFlag(FLAGS_patients);
  const bool expect_echo = absl::GetFlag(FLAGS_expect_echo);
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string run_tag = RunTag();
  std::string patient_tag = absl::GetFlag(FLAGS_patient_tag);
  if (patient_tag.empty()) patient_tag = run_tag;

  hl7v2::MllpClientOptions options;
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.reply_timeout = absl::GetFlag(FLAGS_reply_timeout);
  options.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);

  std::vector<std::unique_ptr<hl7v2::MllpClient>> clients;
  for (int c = 0; c < connections; ++c) {
    absl::StatusOr<std::unique_ptr<hl7v2::MllpClient>> client =
        hl7v2::MllpClient::Connect(target, options);
    if (!client.ok()) {
      std::fprintf(stderr, "needlecheck-mllp-load: connection %d to %s: %s\n",
                   c, target.c_str(), client.status().ToString().c_str());
      return 1;
    }
    clients.push_back(std::move(*client));
  }

  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  absl::BlockingCounter warmed(connections);
  absl::Notification go;
  absl::Mutex mu;
  Totals totals;
  // Message `index` (warm-up indices come after the measured ones).
  auto message = [&](int64_t index) {
    const std::string control = absl::StrCat(run_tag, "-", index);
    const int64_t patient = patients > 0 ? index % patients : index;
    return Build(templates[index % templates.size()], control,
                 absl::StrCat("-", patient_tag, patient));
  };
  auto worker = [&](int c) {
    Totals mine;
    auto send = [&](int64_t index, bool measured) -> bool {
      const std::string text = message(index);
      const absl::Time start = absl::Now();
      absl::StatusOr<std::string> reply = clients[c]->Send(text);
      const absl::Duration took = absl::Now() - start;
      if (!reply.ok()) {
        if (!failed.exchange(true)) {
          std::fprintf(stderr,
                       "needlecheck-mllp-load: connection %d dropped: %s\n", c,
                       reply.status().ToString().c_str());
        }
        return false;
      }
      if (expect_echo && *reply != text) ++mine.mismatched;
      if (!measured) return true;
      mine.latencies_us.push_back(absl::ToInt64Microseconds(took));
      const std::string code = AckCode(*reply);
      if (code == "AA") {
        ++mine.aa;
      } else if (code == "AE") {
        ++mine.ae;
      } else if (code == "AR") {
        ++mine.ar;
      } else {
        ++mine.other;
      }
      return true;
    };
    for (int w = 0; w < warmup && !failed; ++w) {
      if (!send(total + int64_t{c} * warmup + w, false)) break;
    }
    warmed.DecrementCount();
    go.WaitForNotification();
    for (int64_t i; !failed && (i = next.fetch_add(1)) < total;) {
      if (!send(i, true)) break;
    }
    absl::MutexLock lock(&mu);
    totals.latencies_us.insert(totals.latencies_us.end(),
                               mine.latencies_us.begin(),
                               mine.latencies_us.end());
    totals.aa += mine.aa;
    totals.ae += mine.ae;
    totals.ar += mine.ar;
    totals.other += mine.other;
    totals.mismatched += mine.mismatched;
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) threads.emplace_back(worker, c);
  warmed.Wait();
  const absl::Time start = absl::Now();
  go.Notify();
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);

  std::vector<int64_t>& lat = totals.latencies_us;
  std::sort(lat.begin(), lat.end());
  auto percentile = [&](double p) -> int64_t {
    if (lat.empty()) return 0;
    const size_t at = static_cast<size_t>(p * (lat.size() - 1) + 0.5);
    return lat[std::min(at, lat.size() - 1)];
  };
  const int64_t done = static_cast<int64_t>(lat.size());
  const double rate = seconds > 0 ? done / seconds : 0;
  const std::string label = absl::GetFlag(FLAGS_label);
  std::printf(
      "%s (%s): %d connections, %lld messages in %.2f s: %.1f msg/s, p50 "
      "%.2f ms, p99 %.2f ms, max %.2f ms; AA %lld, AE %lld, AR %lld, other "
      "%lld%s\n",
      label.c_str(), target.c_str(), connections, static_cast<long long>(done),
      seconds, rate, percentile(0.50) / 1000.0, percentile(0.99) / 1000.0,
      (lat.empty() ? 0 : lat.back()) / 1000.0,
      static_cast<long long>(totals.aa), static_cast<long long>(totals.ae),
      static_cast<long long>(totals.ar), static_cast<long long>(totals.other),
      failed ? " (a connection was dropped)" : "");
  std::printf(
      "RESULT label=%s connections=%d messages=%lld msgs_per_s=%.1f "
      "p50_us=%lld p99_us=%lld max_us=%lld aa=%lld ae=%lld ar=%lld "
      "other=%lld mismatched=%lld dropped=%d\n",
      label.c_str(), connections, static_cast<long long>(done), rate,
      static_cast<long long>(percentile(0.50)),
      static_cast<long long>(percentile(0.99)),
      static_cast<long long>(lat.empty() ? 0 : lat.back()),
      static_cast<long long>(totals.aa), static_cast<long long>(totals.ae),
      static_cast<long long>(totals.ar), static_cast<long long>(totals.other),
      static_cast<long long>(totals.mismatched), failed ? 1 : 0);
  std::fflush(stdout);
  if (totals.mismatched > 0) {
    std::fprintf(stderr,
                 "needlecheck-mllp-load: %lld replies differ from the message "
                 "sent (--expect_echo)\n",
                 static_cast<long long>(totals.mismatched));
  }
  return failed || totals.mismatched > 0 ? 1 : 0;
}

}  // namespace
}  // namespace needlecheck::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "needlecheck-mllp-load: HL7 v2 messages over MLLP at a fixed number of "
      "connections; prints msg/s, latency percentiles and ACK codes.");
  absl::ParseCommandLine(argc, argv);
  return needlecheck::bench::Run();
}
