# tests/bench/bench_common.sh: what the gRPC bench scripts share; sourced
# by run_grpc_bench.sh and run_replicas_bench.sh, which set BENCH_NAME and
# WORK (a temporary folder) and an array PIDS before using it.

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
