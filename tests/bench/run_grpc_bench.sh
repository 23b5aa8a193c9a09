#!/usr/bin/env bash
# tests/bench/run_grpc_bench.sh: needlecheckd versus the echo server under the
# same gRPC load, at concurrency 1, 8 and 64; prints a table.
#
#   tests/bench/run_grpc_bench.sh [BUILD_DIR]        (default: build/release)
#
# Builds nothing: BUILD_DIR must hold service/needlecheckd and
# tests/bench/{needlecheck-echo-server,needlecheck-loadgen} (see
# docs/performance.md). Both servers listen on free loopback ports
# (127.0.0.1:0) and are stopped on exit. Environment knobs:
#   DURATION=10s WARMUP=2s PAYLOAD=typical|large CONCURRENCY="1 8 64"
#   CHANNELS=4
# Run time is about (WARMUP + DURATION) x 2 x the number of concurrencies.
# Besides calls/s and latency, each row gives the screenings needlecheckd's
# ledger refused during that run ("refused": answered without alert ids,
# cheaper than a recorded one, so a Screen figure with refusals flatters),
# and each server's CPU per call (user + system time of the process over
# the warm-up and the measured window, divided by calls/s times both): on a
# machine shared with other work the CPU figures vary less than calls/s.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"

BUILD_DIR="${1:-build/release}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
PAYLOAD="${PAYLOAD:-typical}"
CONCURRENCY="${CONCURRENCY:-1 8 64}"
CHANNELS="${CHANNELS:-4}"

DAEMON="${BUILD_DIR}/service/needlecheckd"
ECHO="${BUILD_DIR}/tests/bench/needlecheck-echo-server"
LOADGEN="${BUILD_DIR}/tests/bench/needlecheck-loadgen"
BENCH_NAME=run_grpc_bench.sh
# shellcheck source=tests/bench/bench_common.sh
source "${REPO_ROOT}/tests/bench/bench_common.sh"
require_binaries "build ${BUILD_DIR} first (docs/performance.md)" \
  "${DAEMON}" "${ECHO}" "${LOADGEN}"
make_work_dir

start_server needlecheckd "${DAEMON}" --listen=127.0.0.1:0 --data_dir="${WORK}/data" \
  --metrics_listen=127.0.0.1:0
SCREEN_PORT="${PORT}"
SCREEN_PID="${LAST_PID}"
METRICS_PORT="$(sed -n 's/.* metrics=[^ ]*:\([0-9][0-9]*\).*/\1/p' "${WORK}/needlecheckd.log" | head -n1)"
start_server echo "${ECHO}" --listen=127.0.0.1:0
ECHO_PORT="${PORT}"
ECHO_PID="${LAST_PID}"
TICKS_PER_S="$(getconf CLK_TCK)"

# cpu_ticks PID: user + system CPU of the process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# ledger_counter NAME: needlecheckd's needlecheck_ledger_NAME_total.
ledger_counter() {
  curl -s "http://127.0.0.1:${METRICS_PORT}/metrics" |
    sed -n "s/^needlecheck_ledger_$1_total \([0-9.e+]*\)$/\1/p" |
    awk '{printf "%d", $1}'
}
# cpu_us_per_call TICKS RESULT_LINE: the server's CPU per call over the
# warm-up and the measured window (calls/s x both), in microseconds.
cpu_us_per_call() {
  local calls_per_s
  calls_per_s="$(field calls_per_s "$2")"
  awk -v t="$1" -v hz="${TICKS_PER_S}" -v cps="${calls_per_s}" \
    -v secs="$(awk -v d="${DURATION%s}" -v w="${WARMUP%s}" 'BEGIN {print d + w}')" \
    'BEGIN { if (cps > 0) printf "%.0f", t / hz * 1e6 / (cps * secs); else print "-" }'
}
echo "needlecheckd on 127.0.0.1:${SCREEN_PORT}, echo server on 127.0.0.1:${ECHO_PORT}" \
  "(build ${BUILD_DIR}, $(nproc) cores shared by the client and both servers)"

ROWS=()
STATUS=0
for c in ${CONCURRENCY}; do
  out="${WORK}/loadgen-${c}.txt"
  rc=0
  screen_cpu0="$(cpu_ticks "${SCREEN_PID}")"
  echo_cpu0="$(cpu_ticks "${ECHO_PID}")"
  refused0="$(ledger_counter screenings_refused)"
  "${LOADGEN}" --target="127.0.0.1:${SCREEN_PORT}" \
    --compare="127.0.0.1:${ECHO_PORT}" --concurrency="${c}" \
    --channels="${CHANNELS}" --duration="${DURATION}" --warmup="${WARMUP}" \
    --payload="${PAYLOAD}" >"${out}" 2>&1 || rc=$?
  cat "${out}"
  screen_ticks=$(($(cpu_ticks "${SCREEN_PID}") - screen_cpu0))
  echo_ticks=$(($(cpu_ticks "${ECHO_PID}") - echo_cpu0))
  refused=$(($(ledger_counter screenings_refused) - refused0))
  if ((rc != 0)); then STATUS=1; fi
  screen="$(grep '^RESULT label=target ' "${out}" || true)"
  echo_line="$(grep '^RESULT label=compare ' "${out}" || true)"
  ratio="$(grep '^RATIO ' "${out}" || true)"
  if [[ -z "${screen}" || -z "${echo_line}" ]]; then
    ROWS+=("$(printf '%11s | %s' "${c}" "loadgen failed (exit ${rc})")")
    continue
  fi
  ROWS+=("$(printf '%11s | %14s | %9s | %9s | %6s | %8s | %12s | %9s | %9s | %11s | %11s | %8s' \
    "${c}" \
    "$(field calls_per_s "${screen}")" "$(field p50_us "${screen}")" \
    "$(field p99_us "${screen}")" "$(field errors "${screen}")" "${refused}" \
    "$(field calls_per_s "${echo_line}")" "$(field p50_us "${echo_line}")" \
    "$(field p99_us "${echo_line}")" "$(field throughput "${ratio}")" \
    "$(cpu_us_per_call "${screen_ticks}" "${screen}")" \
    "$(cpu_us_per_call "${echo_ticks}" "${echo_line}")")")
  echo "CPU concurrency=${c} needlecheckd_us_per_call=$(cpu_us_per_call "${screen_ticks}" "${screen}")" \
    "echo_us_per_call=$(cpu_us_per_call "${echo_ticks}" "${echo_line}")" \
    "screenings_refused=${refused}"
done

echo
echo "Screen (needlecheckd) vs Echo, payload ${PAYLOAD}, ${CHANNELS} channels," \
  "warm-up ${WARMUP}, measured ${DURATION}; latencies in microseconds"
printf '%11s | %14s | %9s | %9s | %6s | %8s | %12s | %9s | %9s | %11s | %11s | %8s\n' \
  concurrency "Screen calls/s" "p50 us" "p99 us" errors refused "Echo calls/s" \
  "p50 us" "p99 us" "Screen/Echo" "CPU us/call" "echo CPU"
printf '%s\n' "------------+----------------+-----------+-----------+--------+----------+--------------+-----------+-----------+-------------+-------------+---------"
printf '%s\n' "${ROWS[@]}"
exit "${STATUS}"
