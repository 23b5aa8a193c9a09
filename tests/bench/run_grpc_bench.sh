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

start_server needlecheckd "${DAEMON}" --listen=127.0.0.1:0 --data_dir="${WORK}/data"
SCREEN_PORT="${PORT}"
start_server echo "${ECHO}" --listen=127.0.0.1:0
ECHO_PORT="${PORT}"
echo "needlecheckd on 127.0.0.1:${SCREEN_PORT}, echo server on 127.0.0.1:${ECHO_PORT}" \
  "(build ${BUILD_DIR}, $(nproc) cores shared by the client and both servers)"

ROWS=()
STATUS=0
for c in ${CONCURRENCY}; do
  out="${WORK}/loadgen-${c}.txt"
  rc=0
  "${LOADGEN}" --target="127.0.0.1:${SCREEN_PORT}" \
    --compare="127.0.0.1:${ECHO_PORT}" --concurrency="${c}" \
    --channels="${CHANNELS}" --duration="${DURATION}" --warmup="${WARMUP}" \
    --payload="${PAYLOAD}" >"${out}" 2>&1 || rc=$?
  cat "${out}"
  if ((rc != 0)); then STATUS=1; fi
  screen="$(grep '^RESULT label=target ' "${out}" || true)"
  echo_line="$(grep '^RESULT label=compare ' "${out}" || true)"
  ratio="$(grep '^RATIO ' "${out}" || true)"
  if [[ -z "${screen}" || -z "${echo_line}" ]]; then
    ROWS+=("$(printf '%11s | %s' "${c}" "loadgen failed (exit ${rc})")")
    continue
  fi
  ROWS+=("$(printf '%11s | %14s | %9s | %9s | %6s | %12s | %9s | %9s | %11s' \
    "${c}" \
    "$(field calls_per_s "${screen}")" "$(field p50_us "${screen}")" \
    "$(field p99_us "${screen}")" "$(field errors "${screen}")" \
    "$(field calls_per_s "${echo_line}")" "$(field p50_us "${echo_line}")" \
    "$(field p99_us "${echo_line}")" "$(field throughput "${ratio}")")")
done

echo
echo "Screen (needlecheckd) vs Echo, payload ${PAYLOAD}, ${CHANNELS} channels," \
  "warm-up ${WARMUP}, measured ${DURATION}; latencies in microseconds"
printf '%11s | %14s | %9s | %9s | %6s | %12s | %9s | %9s | %11s\n' \
  concurrency "Screen calls/s" "p50 us" "p99 us" errors "Echo calls/s" \
  "p50 us" "p99 us" "Screen/Echo"
printf '%s\n' "------------+----------------+-----------+-----------+--------+--------------+-----------+-----------+------------"
printf '%s\n' "${ROWS[@]}"
exit "${STATUS}"
