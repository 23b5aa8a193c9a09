#!/usr/bin/env bash
# The batch audit benchmark (issue 4): needlecheck-audit end to end on a
# generated export, against the I/O-and-parse ceiling measured in the same
# run (needlecheck-export-parse-baseline: read + simdjson-parse every line).
#
#   tests/bench/run_audit_bench.sh BUILD_DIR [PATIENTS] [WORK_DIR] [SYNTH_FLAGS...]
#
# BUILD_DIR must be a Release build with the benchmarks and tests/tools
# (docs/performance.md, "Batch audit", has the commands). PATIENTS defaults to
# 100000. Prints resources/s, patients/s, peak RSS of the tool and of
# needlecheckd, and the ratio to the ceiling; keeps WORK_DIR (default: a new
# temp dir) for inspection. Not a test: nothing asserts a speed.
set -euo pipefail

build="${1:?usage: run_audit_bench.sh BUILD_DIR [PATIENTS] [WORK_DIR]}"
patients="${2:-100000}"
work="${3:-$(mktemp -d /tmp/needlecheck-audit-bench.XXXXXX)}"
shift $(($# < 3 ? $# : 3)) || true
synth_flags=("$@")

synth="${build}/tests/tools/synth/needlecheck-synth"
audit="${build}/adapters/batch/needlecheck-audit"
baseline="${build}/tests/bench/needlecheck-export-parse-baseline"
daemon="${build}/service/needlecheckd"
for binary in "${synth}" "${audit}" "${baseline}" "${daemon}"; do
  [[ -x "${binary}" ]] || { echo "missing ${binary}" >&2; exit 2; }
done
mkdir -p "${work}"

echo "== export: ${patients} patients in ${work}/export ${synth_flags[*]:-}"
rm -rf "${work}/export" "${work}/out" "${work}/data"
"${synth}" --out "${work}/export" --patients "${patients}" --seed 1 \
  "${synth_flags[@]}"
du -sh "${work}/export"

echo "== ceiling: read + simdjson-parse every line (second of two runs)"
"${baseline}" "${work}/export" >/dev/null
baseline_line="$("${baseline}" "${work}/export")"
echo "${baseline_line}"
baseline_lines_per_s="$(sed -E 's/.*lines_per_s=([0-9.]+).*/\1/' <<<"${baseline_line}")"

echo "== needlecheckd"
"${daemon}" --listen=127.0.0.1:0 --data_dir="${work}/data" --ledger=none \
  --ready_file="${work}/ready" >"${work}/needlecheckd.log" 2>&1 &
daemon_pid=$!
trap 'kill ${daemon_pid} 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [[ -s "${work}/ready" ]] && break; sleep 0.1; done
address="$(cat "${work}/ready")"

echo "== needlecheck-audit"
daemon_cpu() {  # user + system seconds of needlecheckd so far
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/${daemon_pid}/stat"
}
daemon_cpu_before="$(daemon_cpu)"
/usr/bin/time -v -o "${work}/audit.time" \
  "${audit}" "${work}/export" --out "${work}/out" --service "${address}" \
  --progress=lines --progress_interval=5s 2>"${work}/audit.log"
daemon_hwm_kb="$(awk '/VmHWM/ {print $2}' "/proc/${daemon_pid}/status")"
daemon_cpu_s="$(awk -v a="$(daemon_cpu)" -v b="${daemon_cpu_before}" 'BEGIN {print a - b}')"
tool_cpu_s="$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "${work}/audit.time")"
kill "${daemon_pid}"; wait "${daemon_pid}" 2>/dev/null || true
trap - EXIT

elapsed="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "${work}/audit.time")"
seconds="$(awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }' <<<"${elapsed}")"
rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "${work}/audit.time")"
lines="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["input"]["lines"])' "${work}/out/summary.json")"
audited="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["patients"]["audited"])' "${work}/out/summary.json")"
sessions="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sessions"]["total"])' "${work}/out/summary.json")"
grep -E "done in" "${work}/audit.log" || true

echo "== planted findings (expected_findings.ndjson) against findings.ndjson"
python3 - "${work}/export/expected_findings.ndjson" "${work}/out/findings.ndjson" <<'PY'
import json, sys
expected = {}
with open(sys.argv[1]) as f:
    for line in f:
        e = json.loads(line)
        expected[e["session_id"]] = e
found, wrong = 0, 0
with open(sys.argv[2]) as f:
    for line in f:
        g = json.loads(line)
        e = expected.pop(g["session_id"], None)
        found += 1
        days = g["days_since_previous_session"]
        if (e is None or e["patient_id"] != g["patient_id"]
                or e["session_date"] != g["session_date"]
                or e["verdict"] != g["verdict"]
                or e.get("performer") != g["performer"]
                or e.get("location") != g["location"]
                or e.get("days_since_previous_session") != days):
            wrong += 1
print(f"planted: {found} findings, {wrong} differ from the expected, {len(expected)} expected not found")
sys.exit(0 if wrong == 0 and not expected else 1)
PY
python3 - "$lines" "$audited" "$sessions" "$seconds" "$rss_kb" "$daemon_hwm_kb" "$baseline_lines_per_s" "$tool_cpu_s" "$daemon_cpu_s" <<'PY'
import sys
lines, patients, sessions = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seconds, rss_kb, daemon_kb, ceiling = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
tool_cpu, daemon_cpu = float(sys.argv[8]), float(sys.argv[9])
rate = lines / seconds
print(f"audit: {lines} resources, {patients} patients, {sessions} sessions in {seconds:.1f} s")
print(f"audit: {rate:,.0f} resources/s, {patients / seconds:,.0f} patients/s")
print(f"ceiling: {ceiling:,.0f} resources/s (read + parse)")
print(f"ratio audit/ceiling: {rate / ceiling:.3f}")
print(f"peak RSS: needlecheck-audit {rss_kb / 1024:.1f} MiB, needlecheckd {daemon_kb / 1024:.1f} MiB")
print(f"CPU: needlecheck-audit {tool_cpu:.1f} s, needlecheckd {daemon_cpu:.1f} s (wall {seconds:.1f} s)")
PY
