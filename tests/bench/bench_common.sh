# tests/bench/bench_common.sh: what the bench scripts share; sourced by
# run_grpc_bench.sh, run_hl7_bench.sh and run_replicas_bench.sh, which set
# BENCH_NAME, and WORK (a temporary folder) and an array PIDS, themselves or
# with make_work_dir, before using it.

# require_binaries HINT BINARY...: exits 2, naming the first missing one and
# HINT, unless every BINARY is executable.
require_binaries() {
  local hint="$1" bin
  shift
  for bin in "$@"; do
    [[ -x "${bin}" ]] || {
      echo "${BENCH_NAME}: ${bin} not found; ${hint}" >&2
      exit 2
    }
  done
}

# make_work_dir: WORK, a new temporary folder, and PIDS, empty; on exit the
# servers in PIDS are stopped (SIGTERM, then waited for) and WORK removed.
make_work_dir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/needlecheck-bench.XXXXXX")"
  PIDS=()
  trap stop_servers_and_clean_up EXIT
}
stop_servers_and_clean_up() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "${pid}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "${pid}" 2>/dev/null || true; done
  rm -rf "${WORK}"
}

# start_server NAME BINARY ARGS...: starts it in the background (log in
# ${WORK}/NAME.log), waits for its "listening on HOST:PORT" line and sets
# PORT; records the pid in PIDS and LAST_PID.
start_server() {
  local name="$1" bin="$2"
  shift 2
  local log="${WORK}/${name}.log"
  : >"${log}" # exists before the first look, however late the child runs
  "${bin}" "$@" >"${log}" 2>&1 &
  PIDS+=("$!")
  LAST_PID=$!
  local pid=$! tries=0
  PORT=""
  while [[ -z "${PORT}" ]]; do
    PORT="$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "${log}" | head -n1)"
    [[ -n "${PORT}" ]] && break
    if ! kill -0 "${pid}" 2>/dev/null || ((tries >= 300)); then
      echo "${BENCH_NAME}: ${name} did not start:" >&2
      cat "${log}" >&2
      exit 1
    fi
    sleep 0.1
    tries=$((tries + 1))
  done
}

# field KEY LINE: the value of KEY=value in LINE.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
