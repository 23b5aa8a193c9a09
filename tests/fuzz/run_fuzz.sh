#!/usr/bin/env bash
# tests/fuzz/run_fuzz.sh: a libFuzzer campaign over needlecheck's fuzz
# targets (tests/fuzz/CMakeLists.txt).
#
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
#       configure BUILD_DIR as a libFuzzer build if it has no CMakeCache.txt
#       (clang, ASan + UBSan, -DNEEDLECHECK_FUZZ=ON, fuzz tests only), build
#       every fuzz target (ninja target needlecheck_fuzzers, -j
#       NEEDLECHECK_JOBS, default 2), then fuzz each TARGET (default: all)
#       for SECONDS_PER_TARGET, one after the other.
#   tests/fuzz/run_fuzz.sh --build-only BUILD_DIR [CMAKE_ARG...]
#       configure (if needed) and build, no fuzzing; CMAKE_ARGs (e.g.
#       -DNEEDLECHECK_FUZZ_SECONDS=15, the time of each ctest campaign) go
#       to cmake, on a new or an existing BUILD_DIR.
#   tests/fuzz/run_fuzz.sh --no-build BUILD_DIR SECONDS_PER_TARGET [TARGET...]
#       fuzz already-built targets (what the libfuzzer_campaign_* ctest
#       tests run).
#
# e.g. tests/fuzz/run_fuzz.sh build/fuzz 300            # 5 minutes each
#      tests/fuzz/run_fuzz.sh build/fuzz 60 knowledge_base_fuzz
#
# Each target runs on a fresh copy of its seeds (files and folders listed
# in BUILD_DIR/tests/fuzz/fuzzers.tsv, which CMake writes) with its
# dictionary, -max_len and -timeout (seconds per input) from the same
# file, -rss_limit_mb=FUZZ_RSS_LIMIT_MB (default 2048: more than any target
# needs with ASan; an input that needs more is a bug) and any extra
# libFuzzer flags in FUZZ_EXTRA_ARGS (folders there are read as more seeds,
# e.g. the corpus/ of an earlier run kept elsewhere; FUZZ_EXTRA_ARGS applies
# to every target, so name one target per call then). Its run folder is
# BUILD_DIR/fuzz-runs/TARGET (replaced on every run): corpus/ (the seeds
# plus what the run found, ready for another run with -dict and the same
# flags), fuzz.log (libFuzzer's full output), summary.txt (the line printed
# below) and, on failure, the crash-*/leak-*/timeout-*/oom-* input;
# reproduce with
#   BUILD_DIR/tests/fuzz/TARGET BUILD_DIR/fuzz-runs/TARGET/crash-...
#
# Prints, per target, the executions, executions per second, coverage
# (libFuzzer's cov: edges and ft: features), corpus size and peak RSS; on
# failure, the start of the sanitizer's or libFuzzer's report. Exit status: 0 when every target
# ran its time clean; 1 when any crashed, leaked, timed out, ran out of
# memory or did not run; 2 on a usage error.
set -euo pipefail

die() { printf 'run_fuzz.sh: %s\n' "$*" >&2; exit 2; }
log() { printf '==> %s\n' "$*" >&2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JOBS="${NEEDLECHECK_JOBS:-2}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-2048}"

mode=full
case "${1:-}" in
  --build-only) mode=build; shift ;;
  --no-build) mode=run; shift ;;
  -h | --help) sed -n '2,41s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
esac
(($# >= 1)) || die "usage: run_fuzz.sh [--build-only|--no-build] BUILD_DIR [SECONDS_PER_TARGET [TARGET...]] (--help)"
BUILD_DIR="$(mkdir -p "$1" && cd "$1" && pwd)"
shift
SECONDS_PER_TARGET=0
CMAKE_ARGS=()
if [[ "${mode}" == build ]]; then
  CMAKE_ARGS=("$@")
  set --
else
  (($# >= 1)) || die "SECONDS_PER_TARGET missing"
  [[ "$1" =~ ^[1-9][0-9]*$ ]] || die "SECONDS_PER_TARGET must be a positive integer: $1"
  SECONDS_PER_TARGET="$1"
  shift
fi
MANIFEST="${BUILD_DIR}/tests/fuzz/fuzzers.tsv"

build() {
  if [[ ! -f "${BUILD_DIR}/CMakeCache.txt" ]]; then
    command -v clang++ >/dev/null || die "clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)"
    log "configuring ${BUILD_DIR} (clang, libFuzzer, ASan + UBSan)"
    CC=clang CXX=clang++ cmake -S "${REPO_ROOT}" -B "${BUILD_DIR}" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNEEDLECHECK_SANITIZE=ON \
      -DNEEDLECHECK_FUZZ=ON -DNEEDLECHECK_TEST_DIRS=fuzz \
      -DNEEDLECHECK_BUILD_BENCHMARKS=OFF "${CMAKE_ARGS[@]}" >&2
  elif ((${#CMAKE_ARGS[@]} > 0)); then
    cmake "${BUILD_DIR}" "${CMAKE_ARGS[@]}" >&2
  fi
  [[ -f "${MANIFEST}" ]] ||
    die "${BUILD_DIR} is not a libFuzzer build (configure it with CC=clang CXX=clang++ -DNEEDLECHECK_FUZZ=ON -DNEEDLECHECK_SANITIZE=ON, or use an empty folder)"
  log "building the fuzz targets in ${BUILD_DIR} with ninja -j${JOBS}"
  ninja -C "${BUILD_DIR}" -j"${JOBS}" needlecheck_fuzzers >&2
}

# stat NAME LOG: the value of libFuzzer's final "stat::NAME: value" line.
stat() {
  sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n1
}

# fuzz_one NAME BINARY DICT MAX_LEN TIMEOUT SEED...: one campaign; returns
# non-zero when it failed.
fuzz_one() {
  local name="$1" binary="$2" dict="$3" max_len="$4" timeout="$5"
  shift 5
  local dir="${BUILD_DIR}/fuzz-runs/${name}"
  [[ -x "${binary}" ]] || { printf '%-24s NOT BUILT (%s)\n' "${name}" "${binary}"; return 1; }
  rm -rf "${dir}"
  mkdir -p "${dir}/corpus"
  local seed f n=0
  for seed in "$@"; do
    if [[ -d "${seed}" ]]; then
      for f in "${seed}"/*; do
        [[ -f "${f}" ]] || continue
        n=$((n + 1))
        cp "${f}" "${dir}/corpus/seed-${n}-$(basename "${f}")"
      done
    elif [[ -f "${seed}" ]]; then
      n=$((n + 1))
      cp "${seed}" "${dir}/corpus/seed-${n}-$(basename "${seed}")"
    fi  # a seed folder that is absent here (the shared corpus) is skipped
  done
  chmod -R u+w "${dir}/corpus"  # seeds may come from a read-only folder
  local args=(-max_total_time="${SECONDS_PER_TARGET}" -timeout="${timeout}"
    -rss_limit_mb="${RSS_LIMIT_MB}" -max_len="${max_len}"
    -artifact_prefix="${dir}/" -print_final_stats=1)
  [[ "${dict}" == - ]] || args+=(-dict="${dict}")
  # corpus/ first: libFuzzer writes what it finds to its first folder.
  args+=(corpus)
  # shellcheck disable=SC2206  # word splitting of extra flags is intended
  args+=(${FUZZ_EXTRA_ARGS:-})
  local rc=0
  (cd "${dir}" && UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}" \
    "${binary}" "${args[@]}") >"${dir}/fuzz.log" 2>&1 || rc=$?

  local execs per_sec rss units cov
  execs="$(stat number_of_executed_units "${dir}/fuzz.log")"
  per_sec="$(stat average_exec_per_sec "${dir}/fuzz.log")"
  rss="$(stat peak_rss_mb "${dir}/fuzz.log")"
  units="$(find "${dir}/corpus" -type f | wc -l)"
  cov="$(grep -E '^#[0-9]+' "${dir}/fuzz.log" | tail -n1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)"
  local artifact
  artifact="$(find "${dir}" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) |
    grep -v slow-unit | head -n1 || true)"
  if ((rc == 0)) && [[ -z "${artifact}" ]] && [[ -n "${execs}" ]]; then
    printf '%-24s OK   %10s execs %7s/s  %-20s corpus %5s (%d seeds)  rss %s MB  %ss\n' \
      "${name}" "${execs}" "${per_sec}" "${cov:-cov: ?}" "${units}" "${n}" "${rss:-?}" \
      "${SECONDS_PER_TARGET}" | tee "${dir}/summary.txt"
    return 0
  fi
  printf '%-24s FAIL exit %d  %s execs  %s\n' "${name}" "${rc}" "${execs:-?}" "${cov:-}" |
    tee "${dir}/summary.txt"
  [[ -z "${artifact}" ]] || printf '  input: %s\n  reproduce: %s %s\n' \
    "${artifact}" "${binary}" "${artifact}"
  # The report's first 30 lines (error, stack) and its summary line; or,
  # when there is no report, the end of the log.
  printf '  log: %s\n' "${dir}/fuzz.log"
  local report
  report="$(awk '/ERROR: |runtime error: |==[0-9]+==WARNING: / && !n {n = 1}
    n && n++ <= 30' "${dir}/fuzz.log")"
  if [[ -n "${report}" ]]; then
    printf '%s\n' "${report}"
    grep -E '^SUMMARY: ' "${dir}/fuzz.log" | head -n1 || true
  else
    grep -vE '^#[0-9]+ ' "${dir}/fuzz.log" | tail -n 30
  fi | sed 's/^/  | /'
  return 1
}

if [[ "${mode}" != run ]]; then build; fi
[[ "${mode}" != build ]] || exit 0
[[ -f "${MANIFEST}" ]] ||
  die "${MANIFEST} missing: ${BUILD_DIR} is not a configured libFuzzer build"

declare -A wanted=()
for t in "$@"; do wanted["${t}"]=1; done
failed=0
ran=0
while IFS=$'\t' read -r -a row; do
  ((${#row[@]} >= 5)) || continue
  name="${row[0]}"
  if (($# > 0)) && [[ -z "${wanted[${name}]:-}" ]]; then continue; fi
  unset 'wanted[${name}]'
  ran=$((ran + 1))
  fuzz_one "${row[@]}" || failed=$((failed + 1))
done <"${MANIFEST}"
for t in "${!wanted[@]}"; do
  printf '%-24s UNKNOWN (not in %s)\n' "${t}" "${MANIFEST}"
  failed=$((failed + 1))
done
((ran > 0)) || { echo "no fuzz target ran"; exit 1; }
echo "${ran} target(s) fuzzed ${SECONDS_PER_TARGET}s each, ${failed} failed"
((failed == 0))
