#!/usr/bin/env bash
# tests/bench/run_replicas_bench.sh: Screen under the same gRPC load, in one
# run, against
#   sqlite x1    one needlecheckd, SQLite ledger
#   postgres x1  one needlecheckd, PostgreSQL ledger
#   postgres x3  three needlecheckd sharing that PostgreSQL database, the
#                load generator spreading round-robin over an ipv4: list
# and prints calls/s, p50, p99, errors and what the ledger committed per
# second: screenings (needlecheck_ledger_screenings_committed_total summed
# over the replicas, scraped before and after the load, over the load's
# warm-up + measured time) and alert rows (screenings x the alerts per
# call), and the screenings the ledger refused (its queue full: those
# calls were answered without alert ids).
#
#   tests/bench/run_replicas_bench.sh [BUILD_DIR]     (default: build/release)
#
# Builds nothing: BUILD_DIR must hold service/needlecheckd and
# tests/bench/needlecheck-loadgen. Needs PostgreSQL 15's server programs
# (PG_BIN, default /usr/lib/postgresql/15/bin) and psql: a throwaway cluster
# is made in a temporary folder (as the `postgres` user when run as root),
# reached over its unix socket only, with PostgreSQL's default durability
# (fsync on); it is stopped and deleted on exit, as are the servers, which
# listen on free loopback ports. Environment knobs:
#   DURATION=10s WARMUP=2s PAYLOAD=typical CONCURRENCY=16 CHANNELS=4
# All replicas, the database and the load generator share this machine's
# cores: the figures compare set-ups on one machine, they do not show
# what three machines would do.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"

BUILD_DIR="${1:-build/release}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
PAYLOAD="${PAYLOAD:-typical}"
CONCURRENCY="${CONCURRENCY:-16}"
CHANNELS="${CHANNELS:-4}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

DAEMON="${BUILD_DIR}/service/needlecheckd"
LOADGEN="${BUILD_DIR}/tests/bench/needlecheck-loadgen"
for bin in "${DAEMON}" "${LOADGEN}" "${PG_BIN}/initdb" "${PG_BIN}/pg_ctl"; do
  [[ -x "${bin}" ]] || {
    echo "run_replicas_bench.sh: ${bin} not found (build ${BUILD_DIR};" \
      "PostgreSQL 15: apt-get install postgresql-15)" >&2
    exit 2
  }
done
command -v curl >/dev/null || {
  echo "run_replicas_bench.sh: curl is needed to read /metrics" >&2
  exit 2
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/needlecheck-bench.XXXXXX")"
# The cluster's folder: its own, so that the postgres user may enter it.
PGDIR="$(mktemp -d "${TMPDIR:-/tmp}/needlecheck-bench-pg.XXXXXX")"
PGPORT=5432 # only names the unix socket: listen_addresses is empty
PIDS=()
as_pg() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "${pid}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "${pid}" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_servers
  as_pg "${PG_BIN}/pg_ctl" -D "${PGDIR}/data" -m immediate stop \
    >/dev/null 2>&1 || true
  rm -rf "${WORK}" "${PGDIR}"
}
trap cleanup EXIT

BENCH_NAME=run_replicas_bench.sh
# shellcheck source=tests/bench/bench_common.sh
source "${REPO_ROOT}/tests/bench/bench_common.sh"

# The cluster.
((EUID == 0)) && chown postgres "${PGDIR}"
as_pg "${PG_BIN}/initdb" -D "${PGDIR}/data" -U postgres --auth=trust \
  >"${WORK}/initdb.log" 2>&1 || {
  cat "${WORK}/initdb.log" >&2
  exit 1
}
as_pg "${PG_BIN}/pg_ctl" -D "${PGDIR}/data" -l "${PGDIR}/server.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='${PGDIR}' -p ${PGPORT} -c max_connections=200" \
  start >/dev/null
psql -h "${PGDIR}" -p "${PGPORT}" -U postgres -qAt -c "CREATE DATABASE needlecheck" postgres
DSN="host=${PGDIR} port=${PGPORT} dbname=needlecheck user=postgres"

METRICS=()
# start_replica NAME LEDGER_ARGS...: a needlecheckd with its metrics
# endpoint; appends "127.0.0.1:PORT" to ADDRESSES and its URL to METRICS.
start_replica() {
  local name="$1"
  shift
  start_server "${name}" "${DAEMON}" --listen=127.0.0.1:0 \
    --metrics_listen=127.0.0.1:0 --data_dir="${WORK}/${name}" "$@"
  ADDRESSES+=("127.0.0.1:${PORT}")
  local log="${WORK}/${name}.log" url="" tries=0
  while [[ -z "${url}" ]] && ((tries < 300)); do
    url="$(sed -n 's/.*metrics at \(http:[^ ]*\).*/\1/p' "${log}" | head -n1)"
    [[ -n "${url}" ]] || sleep 0.1
    tries=$((tries + 1))
  done
  [[ -n "${url}" ]] || {
    echo "run_replicas_bench.sh: ${name} printed no metrics URL" >&2
    exit 1
  }
  METRICS+=("${url}")
}

# counter NAME: the value of the counter NAME so far, summed over METRICS.
counter() {
  local url total=0 n
  for url in "${METRICS[@]}"; do
    n="$(curl -fsS "${url}" | sed -n "s/^$1 \([0-9.e+]*\)\$/\1/p")"
    total="$(awk -v a="${total}" -v b="${n:-0}" 'BEGIN { printf "%.0f", a + b }')"
  done
  echo "${total}"
}

seconds() { awk -v d="$1" 'BEGIN { sub(/s$/, "", d); print d + 0 }'; }

ROWS=()
STATUS=0
# run LABEL: the load against ADDRESSES (a list when several); one row.
run() {
  local label="$1" target out rc=0
  if ((${#ADDRESSES[@]} == 1)); then
    target="${ADDRESSES[0]}"
  else
    target="ipv4:$(IFS=,; echo "${ADDRESSES[*]}")"
  fi
  out="${WORK}/loadgen-${label// /-}.txt"
  local before after refused_before refused_after
  before="$(counter needlecheck_ledger_screenings_committed_total)"
  refused_before="$(counter needlecheck_ledger_screenings_refused_total)"
  "${LOADGEN}" --target="${target}" --concurrency="${CONCURRENCY}" \
    --channels="${CHANNELS}" --duration="${DURATION}" --warmup="${WARMUP}" \
    --payload="${PAYLOAD}" >"${out}" 2>&1 || rc=$?
  sleep 1 # the last batch (flush window 200 ms)
  after="$(counter needlecheck_ledger_screenings_committed_total)"
  refused_after="$(counter needlecheck_ledger_screenings_refused_total)"
  cat "${out}"
  local line alerts
  line="$(grep '^RESULT label=target ' "${out}" || true)"
  if ((rc != 0)) || [[ -z "${line}" ]]; then
    STATUS=1
    ROWS+=("$(printf '%-12s | %s' "${label}" "loadgen failed (exit ${rc})")")
    return
  fi
  alerts="$(sed -n 's/.* answers the check call with \([0-9]*\) alerts.*/\1/p' "${out}" | head -n1)"
  local window screenings_per_s
  window="$(awk -v w="$(seconds "${WARMUP}")" -v d="$(seconds "${DURATION}")" 'BEGIN { print w + d }')"
  screenings_per_s="$(awk -v a="${before}" -v b="${after}" -v t="${window}" 'BEGIN { printf "%.0f", (b - a) / t }')"
  ROWS+=("$(printf '%-12s | %9s | %8s | %8s | %6s | %14s | %12s | %8s' \
    "${label}" "$(field calls_per_s "${line}")" "$(field p50_us "${line}")" \
    "$(field p99_us "${line}")" "$(field errors "${line}")" \
    "${screenings_per_s}" "$((screenings_per_s * ${alerts:-0}))" \
    "$((refused_after - refused_before))")")
}

echo "run_replicas_bench.sh: build ${BUILD_DIR}, $(nproc) cores shared by" \
  "every replica, PostgreSQL and the load generator"

ADDRESSES=()
METRICS=()
start_replica sqlite1 --ledger=sqlite
run "sqlite x1"
stop_servers

ADDRESSES=()
METRICS=()
start_replica pg1 --ledger=postgres --ledger_dsn="${DSN}"
run "postgres x1"
stop_servers

ADDRESSES=()
METRICS=()
for i in 1 2 3; do
  start_replica "pg3-${i}" --ledger=postgres --ledger_dsn="${DSN}"
done
run "postgres x3"
stop_servers
ROWS_IN_DB="$(psql -h "${PGDIR}" -p "${PGPORT}" -U postgres -qAt \
  -c "SELECT (SELECT COUNT(*) FROM screenings) || ' screenings, ' || (SELECT COUNT(*) FROM alerts) || ' alerts'" needlecheck)"

echo
echo "Screen, payload ${PAYLOAD}, concurrency ${CONCURRENCY} over ${CHANNELS}" \
  "channels, warm-up ${WARMUP}, measured ${DURATION}; latencies in" \
  "microseconds; committed per second over warm-up + measured time"
printf '%-12s | %9s | %8s | %8s | %6s | %14s | %12s | %8s\n' \
  set-up calls/s "p50 us" "p99 us" errors "screenings/s" "alert rows/s" refused
printf '%s\n' "-------------+-----------+----------+----------+--------+----------------+--------------+---------"
printf '%s\n' "${ROWS[@]}"
echo "PostgreSQL holds ${ROWS_IN_DB} after both PostgreSQL runs."
exit "${STATUS}"
