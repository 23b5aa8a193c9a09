#!/usr/bin/env bash
# tests/bench/run_cds_bench.sh: needlecheck-cds-hooks of two builds under
# needlecheck-cds-loadgen, alternating in one run, so that a change is
# compared with its base on the same (shared, noisy) machine.
#
#   tests/bench/run_cds_bench.sh BASE_BUILD_DIR NEW_BUILD_DIR
#   env: RESOURCES (default 50), CONCURRENCY ("8 64"), ROUNDS (3),
#        DURATION (5s), WARMUP (1s)
#
# Builds nothing: each build dir must hold service/needlecheckd,
# adapters/cds_hooks/needlecheck-cds-hooks and
# tests/bench/needlecheck-cds-loadgen (docs/performance.md). Each round
# starts needlecheckd and the gateway of BASE, then of NEW (the order
# swaps every round), runs the load generator of that build at each
# concurrency, and prints one ROW per (round, build, concurrency): requests/s,
# p50/p99, read errors, and the CPU (user + system) per request of the
# gateway and of needlecheckd over the warm-up and the measured window. At
# the end: the median of each figure per build and concurrency, and
# NEW / BASE.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BASE_DIR="${1:?usage: run_cds_bench.sh BASE_BUILD_DIR NEW_BUILD_DIR}"
NEW_DIR="${2:?usage: run_cds_bench.sh BASE_BUILD_DIR NEW_BUILD_DIR}"
RESOURCES="${RESOURCES:-50}"
CONCURRENCY="${CONCURRENCY:-8 64}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-1s}"
BENCH_NAME=run_cds_bench.sh
# shellcheck source=tests/bench/bench_common.sh
source "${REPO_ROOT}/tests/bench/bench_common.sh"
for dir in "${BASE_DIR}" "${NEW_DIR}"; do
  require_binaries "build ${dir} first (docs/performance.md)" \
    "${dir}/service/needlecheckd" \
    "${dir}/adapters/cds_hooks/needlecheck-cds-hooks" \
    "${dir}/tests/bench/needlecheck-cds-loadgen"
done
make_work_dir
TICKS_PER_S="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# us_per_request TICKS RPS: CPU microseconds per request over warm-up and
# window (requests/s x both; the warm-up runs at about the same rate).
us_per_request() {
  awk -v t="$1" -v hz="${TICKS_PER_S}" -v rps="$2" \
    -v secs="$(awk -v d="${DURATION%s}" -v w="${WARMUP%s}" 'BEGIN {print d + w}')" \
    'BEGIN { if (rps > 0) printf "%.0f", t / hz * 1e6 / (rps * secs); else print "-" }'
}

# run_build LABEL DIR ROUND: one build, every concurrency level.
run_build() {
  local label="$1" dir="$2" round="$3" c out line rc
  local data="${WORK}/data-${label}-${round}"
  start_server "needlecheckd-${label}-${round}" "${dir}/service/needlecheckd" \
    --listen=127.0.0.1:0 --data_dir="${data}"
  local screen_port="${PORT}" screen_pid="${LAST_PID}"
  start_server "cds-${label}-${round}" \
    "${dir}/adapters/cds_hooks/needlecheck-cds-hooks" --listen=127.0.0.1:0 \
    --screening_service="127.0.0.1:${screen_port}" --insecure_no_auth \
    --threads=64
  local gateway_port="${PORT}" gateway_pid="${LAST_PID}"
  for c in ${CONCURRENCY}; do
    out="${WORK}/loadgen-${label}-${round}-${c}.txt"
    local g0 d0
    g0="$(cpu_ticks "${gateway_pid}")"
    d0="$(cpu_ticks "${screen_pid}")"
    rc=0
    "${dir}/tests/bench/needlecheck-cds-loadgen" \
      --target="127.0.0.1:${gateway_port}" --concurrency="${c}" \
      --resources="${RESOURCES}" --duration="${DURATION}" \
      --warmup="${WARMUP}" >"${out}" 2>&1 || rc=$?
    local g=$(($(cpu_ticks "${gateway_pid}") - g0))
    local d=$(($(cpu_ticks "${screen_pid}") - d0))
    line="$(grep '^RESULT kind=http ' "${out}" || true)"
    if [[ -z "${line}" ]]; then
      echo "ROW round=${round} build=${label} c=${c} failed exit=${rc}"
      cat "${out}"
      continue
    fi
    local rps
    rps="$(field rps "${line}")"
    echo "ROW round=${round} build=${label} resources=${RESOURCES} c=${c}" \
      "rps=${rps} p50_ms=$(field p50_ms "${line}")" \
      "p99_ms=$(field p99_ms "${line}") errors=$(field errors "${line}")" \
      "parse_ms=$(field parse_ms "${line}") render_ms=$(field render_ms "${line}")" \
      "gateway_cpu_us=$(us_per_request "${g}" "${rps}")" \
      "needlecheckd_cpu_us=$(us_per_request "${d}" "${rps}")"
  done
  kill -TERM "${gateway_pid}" "${screen_pid}"
  wait "${gateway_pid}" "${screen_pid}" 2>/dev/null || true
}

echo "base ${BASE_DIR}, new ${NEW_DIR}, ${RESOURCES} resources," \
  "$(nproc) cores shared by client and servers, load $(cut -d' ' -f1-3 /proc/loadavg)"
ROWS_FILE="${WORK}/rows.txt"
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then order="base new"; else order="new base"; fi
  for label in ${order}; do
    if [[ "${label}" == base ]]; then dir="${BASE_DIR}"; else dir="${NEW_DIR}"; fi
    run_build "${label}" "${dir}" "${round}" | tee -a "${ROWS_FILE}"
  done
done

echo
echo "Medians over ${ROUNDS} rounds (new / base in brackets):"
for c in ${CONCURRENCY}; do
  for key in rps p50_ms p99_ms errors parse_ms gateway_cpu_us needlecheckd_cpu_us; do
    base="$(grep "build=base .* c=${c} " "${ROWS_FILE}" | sed -n "s/.* ${key}=\([^ ]*\).*/\1/p" |
      sort -g | awk '{v[NR]=$1} END {if (NR) print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')"
    new="$(grep "build=new .* c=${c} " "${ROWS_FILE}" | sed -n "s/.* ${key}=\([^ ]*\).*/\1/p" |
      sort -g | awk '{v[NR]=$1} END {if (NR) print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')"
    ratio="$(awk -v a="${base}" -v b="${new}" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')"
    echo "MEDIAN c=${c} ${key} base=${base} new=${new} (${ratio})"
  done
done
