#!/usr/bin/env bash
# tests/bench/run_hl7_bench.sh: needlecheck-hl7 versus a bare MLLP echo of
# the same messages, in one run, at several connection counts:
#   ADT  ADT^A04 patient updates (allergies, diagnoses, Fitzpatrick type):
#        parse, state store transaction, ACK
#   SIU  SIU^S12 microneedling bookings for the patients the ADT run stored:
#        parse, state load, Screen on needlecheckd, ACK with the alerts
# and prints messages/s, p50, p99, the ACK codes and the ratio to the echo.
#
#   tests/bench/run_hl7_bench.sh [BUILD_DIR]        (default: build/release)
#
# Builds nothing: BUILD_DIR must hold service/needlecheckd,
# adapters/hl7v2/needlecheck-hl7 and
# tests/bench/{needlecheck-mllp-echo,needlecheck-mllp-load}. needlecheckd
# runs with the bundled knowledge base and its SQLite ledger, needlecheck-hl7
# with its SQLite state store, both under a temporary folder; every server
# listens on a free loopback port and is stopped on exit. Every message gets
# a fresh MSH-10 and, per connection count, its own patient ids, so the
# store sees MESSAGES new patients per ADT run and the SIU run books them.
# Environment knobs:
#   CONNECTIONS="1 8 64" MESSAGES=2000 WARMUP=2
#   ECHO_ONLY=1   only the echo runs (no needlecheckd, no needlecheck-hl7)
# The load generator fails (and the row says so) when a connection drops.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"

BUILD_DIR="${1:-build/release}"
CONNECTIONS="${CONNECTIONS:-1 8 64}"
MESSAGES="${MESSAGES:-2000}"
WARMUP="${WARMUP:-2}"
ECHO_ONLY="${ECHO_ONLY:-0}"

DAEMON="${BUILD_DIR}/service/needlecheckd"
HL7="${BUILD_DIR}/adapters/hl7v2/needlecheck-hl7"
ECHO="${BUILD_DIR}/tests/bench/needlecheck-mllp-echo"
LOAD="${BUILD_DIR}/tests/bench/needlecheck-mllp-load"
ADT_FILE="${REPO_ROOT}/tests/bench/hl7/adt_a04.hl7"
SIU_FILE="${REPO_ROOT}/tests/bench/hl7/siu_s12_microneedling.hl7"

BENCH_NAME=run_hl7_bench.sh
# shellcheck source=tests/bench/bench_common.sh
source "${REPO_ROOT}/tests/bench/bench_common.sh"
NEEDED=("${ECHO}" "${LOAD}")
if [[ "${ECHO_ONLY}" != 1 ]]; then NEEDED+=("${DAEMON}" "${HL7}"); fi
require_binaries "build ${BUILD_DIR} first (docs/performance.md), or ECHO_ONLY=1" \
  "${NEEDED[@]}"
make_work_dir

start_server mllp-echo "${ECHO}" --listen=127.0.0.1:0
ECHO_PORT="${PORT}"
HL7_PORT=""
if [[ "${ECHO_ONLY}" != 1 ]]; then
  start_server needlecheckd "${DAEMON}" --listen=127.0.0.1:0 \
    --data_dir="${WORK}/needlecheckd"
  SCREEN_PORT="${PORT}"
  mkdir -p "${WORK}/hl7"
  start_server needlecheck-hl7 "${HL7}" --listen=127.0.0.1:0 \
    --screening_service="127.0.0.1:${SCREEN_PORT}" --data_dir="${WORK}/hl7"
  HL7_PORT="${PORT}"
  echo "needlecheckd on 127.0.0.1:${SCREEN_PORT}," \
    "needlecheck-hl7 on 127.0.0.1:${HL7_PORT}," \
    "needlecheck-mllp-echo on 127.0.0.1:${ECHO_PORT}"
else
  echo "needlecheck-mllp-echo on 127.0.0.1:${ECHO_PORT} (ECHO_ONLY=1)"
fi
echo "(build ${BUILD_DIR}, $(nproc) cores shared by the load generator and" \
  "every server)"

STATUS=0
# load NAME PORT FILE CONNECTIONS EXTRA...: one needlecheck-mllp-load run;
# sets RESULT (its RESULT line, "" when it failed).
load() {
  local name="$1" port="$2" file="$3" c="$4"
  shift 4
  local out="${WORK}/${name}-${c}.txt" rc=0
  "${LOAD}" --target="127.0.0.1:${port}" --files="${file}" \
    --connections="${c}" --messages="${MESSAGES}" --warmup="${WARMUP}" \
    --label="${name}" "$@" >"${out}" 2>&1 || rc=$?
  cat "${out}"
  RESULT="$(grep '^RESULT ' "${out}" || true)"
  if ((rc != 0)); then
    STATUS=1
    RESULT=""
  fi
}

# row KIND CONNECTIONS HL7_RESULT ECHO_RESULT
ROWS=()
row() {
  local kind="$1" c="$2" hl7="$3" echo_line="$4" ratio="-"
  if [[ -z "${echo_line}" ]]; then
    ROWS+=("$(printf '%-4s | %11s | %s' "${kind}" "${c}" "echo run failed")")
    return
  fi
  local hl7_cols acks
  if [[ "${ECHO_ONLY}" == 1 ]]; then
    hl7_cols="$(printf '%10s | %9s | %9s | %14s' - - - -)"
  elif [[ -z "${hl7}" ]]; then
    hl7_cols="$(printf '%-47s' "needlecheck-hl7 run failed")"
  else
    acks="$(field aa "${hl7}")/$(field ae "${hl7}")/$(field ar "${hl7}")"
    hl7_cols="$(printf '%10s | %9s | %9s | %14s' \
      "$(field msgs_per_s "${hl7}")" "$(field p50_us "${hl7}")" \
      "$(field p99_us "${hl7}")" "${acks}")"
    ratio="$(awk -v a="$(field msgs_per_s "${hl7}")" \
      -v b="$(field msgs_per_s "${echo_line}")" \
      'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')"
  fi
  ROWS+=("$(printf '%-4s | %11s | %s | %10s | %9s | %9s | %9s' \
    "${kind}" "${c}" "${hl7_cols}" "$(field msgs_per_s "${echo_line}")" \
    "$(field p50_us "${echo_line}")" "$(field p99_us "${echo_line}")" \
    "${ratio}")")
}

for c in ${CONNECTIONS}; do
  tag="c${c}x" # this connection count's patients: the ADT run stores them
  for kind in ADT SIU; do
    file="${ADT_FILE}"
    [[ "${kind}" == SIU ]] && file="${SIU_FILE}"
    name="$(tr '[:upper:]' '[:lower:]' <<<"${kind}")"
    load "echo-${name}" "${ECHO_PORT}" "${file}" "${c}" --expect_echo
    echo_result="${RESULT}"
    hl7_result=""
    if [[ "${ECHO_ONLY}" != 1 ]]; then
      load "${name}" "${HL7_PORT}" "${file}" "${c}" --patient_tag="${tag}" \
        --patients="${MESSAGES}"
      hl7_result="${RESULT}"
    fi
    row "${kind}" "${c}" "${hl7_result}" "${echo_result}"
  done
done

echo
echo "needlecheck-hl7 vs MLLP echo, ${MESSAGES} messages per run after" \
  "${WARMUP} warm-up messages per connection; latencies in microseconds;" \
  "ACKs AA/AE/AR"
printf '%-4s | %11s | %10s | %9s | %9s | %14s | %10s | %9s | %9s | %9s\n' \
  kind connections "hl7 msg/s" "p50 us" "p99 us" "ACKs" "echo msg/s" \
  "p50 us" "p99 us" "hl7/echo"
printf '%s\n' "-----+-------------+------------+-----------+-----------+----------------+------------+-----------+-----------+----------"
printf '%s\n' "${ROWS[@]}"
exit "${STATUS}"
