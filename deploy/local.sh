#!/usr/bin/env bash
# deploy/local.sh: build and run needlecheck on one Debian 12 machine.
#
#   deploy/local.sh run    install missing Debian packages, build Release into
#                          build/release, start needlecheckd on 127.0.0.1:50051
#                          with the bundled knowledge base and --data_dir=./data,
#                          the CDS Hooks service needlecheck-cds-hooks on
#                          127.0.0.1:8080 (loopback, --insecure_no_auth: a local
#                          trial) and the HL7 v2 listener needlecheck-hl7 on
#                          127.0.0.1:2575 (MLLP, state in ./data), print how to
#                          try them; runs in the foreground until Ctrl-C.
#   deploy/local.sh test   install missing packages (and the test-only ones),
#                          build build/test (RelWithDebInfo;
#                          NEEDLECHECK_SANITIZE=1 turns on AddressSanitizer +
#                          UBSan) and run every test with ctest; then build
#                          the libFuzzer targets with clang into build/fuzz
#                          and fuzz each for NEEDLECHECK_FUZZ_SECONDS
#                          (default 15; 0 skips this) with ctest there
#                          (tests libfuzzer_campaign_*). The exit code is
#                          non-zero when either ctest run fails.
#   deploy/local.sh install [PKG...]
#                          install those of PKG (default: the build packages
#                          below) that are missing; deploy/container uses it.
#
# Works from any directory. Packages come from Debian's own archive through
# apt-get, and only when one is missing (sudo is used when not root).
set -euo pipefail

# Debian 12 packages the build needs. One array, so later work can append.
PACKAGES=(
  build-essential
  cmake
  ninja-build
  pkg-config
  libgrpc++-dev
  protobuf-compiler-grpc
  libprotobuf-dev
  protobuf-compiler
  libabsl-dev
  libre2-dev
  libsimdjson-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libsqlite3-dev
  libpq-dev
  libssl-dev
  golang-github-gogo-googleapis-dev  # google/rpc/*.proto
  libevent-dev          # needlecheck-cds-hooks, needlecheck-hl7: event loop + OpenSSL bufferevents
  libcurl4-openssl-dev  # needlecheck-cds-hooks: FHIR server client
  nlohmann-json3-dev    # needlecheck-cds-hooks: card and discovery JSON
  zlib1g-dev            # needlecheck-audit: .ndjson.gz exports
  libgoogle-perftools-dev  # needlecheckd: tcmalloc (-DNEEDLECHECK_TCMALLOC=OFF: glibc malloc)
)

# Packages only the tests need, installed by `test` and never by `run` (so a
# trial machine stays lean). chromium: report_chromium_test renders
# needlecheck-audit's report.html in headless Chromium (no console errors,
# charts present, a screenshot); with CI=true the test fails without it.
# clang + libclang-rt-14-dev: the libFuzzer build (build/fuzz; libFuzzer and
# the sanitizer runtimes come with libclang-rt).
TEST_PACKAGES=(
  chromium
  openssl  # cds_hooks and needlecheckd TLS tests: certificates; s_client
  prometheus  # metrics_test: promtool check metrics on both /metrics outputs
  clang               # the libFuzzer build (build/fuzz) CI runs
  libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes for clang 14
  # container_image_test: deploy/container/build.sh makes the runtime root
  # from Debian packages (mmdebstrap) and the OCI archive (buildah).
  mmdebstrap
  buildah
  # k8s_manifests_test: node runs the schema check; it also needs npm (with
  # NodeSource's nodejs, or Debian's npm package) and kubectl (Kubernetes'
  # apt repository), which Debian 12 does not ship.
  nodejs
  postgresql-15  # PostgreSQL ledger tests: throwaway clusters (initdb, pg_ctl)
  python3-hl7    # hl7_listener_test: Debian's mllp_send as a real MLLP peer
  iproute2       # hl7v2_mllp_server_test: ss reads a listening socket's backlog
)

JOBS="${NEEDLECHECK_JOBS:-2}"
LISTEN="127.0.0.1:50051"
CDS_HOOKS_LISTEN="127.0.0.1:8080"
HL7_LISTEN="127.0.0.1:2575"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'deploy/local.sh: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,23s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# install_packages PKG...: installs those that dpkg does not report as
# installed.
install_packages() {
  local missing=() pkg status
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)"
    if [[ "${status}" != "install ok installed" ]]; then
      missing+=("${pkg}")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "all $# Debian packages are installed"
    return
  fi
  log "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} as root"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# configure_and_build BUILD_DIR BUILD_TYPE [cmake args...]
configure_and_build() {
  local dir="$1" type="$2"
  shift 2
  log "configuring ${dir} (${type})"
  cmake -S . -B "${dir}" -G Ninja -DCMAKE_BUILD_TYPE="${type}" "$@"
  log "building ${dir} with ninja -j${JOBS}"
  ninja -C "${dir}" -j"${JOBS}"
}

# The bundled knowledge-base file (the one compiled into needlecheckd).
knowledge_base_file() {
  local files=(service/kb/data/*.textproto)
  [[ -f "${files[0]}" ]] || die "no knowledge base under service/kb/data/"
  printf '%s\n' "${files[0]}"
}

# wait_for_port NAME HOST:PORT PID [OTHER_PID...]: waits (up to 60 s) until
# HOST:PORT accepts a connection; when process PID exits first or the time
# runs out, sends SIGTERM to PID and the OTHER_PIDs and dies.
wait_for_port() {
  local name="$1" address="$2" server_pid="$3"
  shift 3
  local host="${address%:*}" port="${address##*:}" waited=0
  until (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null; do
    if ! kill -0 "${server_pid}" 2>/dev/null; then
      kill -TERM "$@" 2>/dev/null || true
      die "${name} exited before it was serving (see its log above)"
    fi
    if ((waited >= 600)); then
      kill -TERM "${server_pid}" "$@" 2>/dev/null || true
      die "${name} was not serving within 60 s"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

cmd_run() {
  install_packages "${PACKAGES[@]}"
  configure_and_build build/release Release -DNEEDLECHECK_BUILD_TESTS=OFF
  local daemon=build/release/service/needlecheckd
  local cli=build/release/tools/cli/needlecheck
  [[ -x "${daemon}" ]] || die "${daemon} was not built"
  local kb
  kb="$(knowledge_base_file)"
  mkdir -p data

  # needlecheckd writes HOST:PORT to the ready file once it is serving; its
  # log goes straight to this terminal.
  local ready
  ready="$(mktemp -u "${TMPDIR:-/tmp}/needlecheckd-ready.XXXXXX")"
  log "starting needlecheckd on ${LISTEN} (knowledge base ${kb}, data ./data)"
  "${daemon}" --listen="${LISTEN}" --knowledge_base="${kb}" --data_dir=./data \
    --ready_file="${ready}" &
  local pid=$!
  # Ctrl-C reaches this script (background jobs ignore SIGINT); pass it on as
  # SIGTERM so needlecheckd drains gracefully.
  trap 'kill -TERM "${pid}" 2>/dev/null || true' INT TERM

  local waited=0
  until [[ -s "${ready}" ]]; do
    if ! kill -0 "${pid}" 2>/dev/null; then
      wait "${pid}" || true
      die "needlecheckd exited before it was serving (see its log above)"
    fi
    if ((waited >= 600)); then
      kill -TERM "${pid}" 2>/dev/null || true
      die "needlecheckd was not serving within 60 s"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done

  local address
  address="$(head -n1 "${ready}")"

  # The CDS Hooks service beside it: loopback only, no JWT (local trial).
  local gateway=build/release/adapters/cds_hooks/needlecheck-cds-hooks
  [[ -x "${gateway}" ]] || die "${gateway} was not built"
  log "starting needlecheck-cds-hooks on ${CDS_HOOKS_LISTEN} (no auth: loopback trial)"
  "${gateway}" --listen="${CDS_HOOKS_LISTEN}" --screening_service="${address}" \
    --insecure_no_auth &
  local gateway_pid=$!
  trap 'kill -TERM "${pid}" "${gateway_pid}" 2>/dev/null || true' INT TERM
  wait_for_port needlecheck-cds-hooks "${CDS_HOOKS_LISTEN}" "${gateway_pid}" "${pid}"

  # The HL7 v2 listener beside them: MLLP on loopback, patient state in
  # ./data/hl7-state.sqlite.
  local hl7=build/release/adapters/hl7v2/needlecheck-hl7
  [[ -x "${hl7}" ]] || die "${hl7} was not built"
  log "starting needlecheck-hl7 on ${HL7_LISTEN} (MLLP, state in ./data)"
  "${hl7}" --listen="${HL7_LISTEN}" --screening_service="${address}" \
    --data_dir=./data &
  local hl7_pid=$!
  trap 'kill -TERM "${pid}" "${gateway_pid}" "${hl7_pid}" 2>/dev/null || true' INT TERM
  wait_for_port needlecheck-hl7 "${HL7_LISTEN}" "${hl7_pid}" "${pid}" "${gateway_pid}"

  cat <<HELP

needlecheckd is serving on ${address} (pid ${pid}). In another terminal, try:

  ${cli} screen --record deploy/examples/record.json --date 2026-12-01 \\
      --area cheeks --area periorbital:0.5 --anesthetic lidocaine
  ${cli} screen --record deploy/examples/record.json --date 2026-12-01 --area cheeks --json
  ${cli} kb show
  ${cli} kb lint ${kb}
  kill -HUP ${pid}     # reload ${kb} after editing it

The example patient has active atopic dermatitis, a lidocaine allergy written
only in a free-text note, and a microneedling session on 2026-11-11.

needlecheck-cds-hooks is serving CDS Hooks 2.0 on http://${CDS_HOOKS_LISTEN}
(pid ${gateway_pid}; no JWT, loopback only). Try:

  curl -s http://${CDS_HOOKS_LISTEN}/cds-services
  curl -s -X POST -H 'Content-Type: application/json' \\
      --data @deploy/examples/cds-hooks-order-sign.json \\
      http://${CDS_HOOKS_LISTEN}/cds-services/microneedling-safety

The order-sign example (the same patient as FHIR R4 prefetch, with a draft
microneedling ServiceRequest for cheeks and under-eyes at 1 mm and a lidocaine
cream order) gets critical cards for the eczema, the lidocaine allergy and the
20-day interval (with an update suggestion moving the order to 2026-12-09), a
warning for the periorbital depth and an info card for the skin type.
Audit the past sessions of a FHIR Bulk Data export (here the public sample in
../shared/corpus) into a folder with findings, a summary and report.html:

  build/release/adapters/batch/needlecheck-audit \\
      ../shared/corpus/fhir-r4-bulk-ndjson --out audit-out --service ${LISTEN}

needlecheck-hl7 is listening for HL7 v2 over MLLP on ${HL7_LISTEN} (pid ${hl7_pid}).
Send it the example ADT feed (anesthetic allergies, eczema, acne, rosacea, a
microneedling session on 2026-10-20) and then a microneedling booking 20 days
later, e.g. with python3-hl7's mllp_send (apt-get install python3-hl7; it
reads MLLP frames from a file); each reply is an ACK, and the booking's
alerts ride in its ERR segments:

  printf '\x0b%s\x1c\x0d' "\$(cat tests/testdata/hl7v2/derm_adt_a04.hl7)" \\
      "\$(cat tests/testdata/hl7v2/derm_siu_s12.hl7)" > derm.mllp
  mllp_send --file derm.mllp --port ${HL7_LISTEN##*:} ${HL7_LISTEN%:*} | tr '\r' '\n'

Press Ctrl-C to stop the servers.

HELP
  local rc=0
  wait "${pid}" || rc=$?
  # A wait interrupted by the trap returns early: wait for the drain.
  if kill -0 "${pid}" 2>/dev/null; then
    wait "${pid}" || rc=$?
  fi
  kill -TERM "${gateway_pid}" "${hl7_pid}" 2>/dev/null || true
  wait "${gateway_pid}" 2>/dev/null || true
  wait "${hl7_pid}" 2>/dev/null || true
  rm -f "${ready}"
  # 143 = ended by our SIGTERM after Ctrl-C: a normal stop.
  if ((rc == 143 || rc == 130)); then rc=0; fi
  return "${rc}"
}

cmd_test() {
  install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  local sanitize=OFF
  if [[ "${NEEDLECHECK_SANITIZE:-0}" == "1" ]]; then sanitize=ON; fi
  configure_and_build build/test RelWithDebInfo -DNEEDLECHECK_SANITIZE="${sanitize}"
  log "running ctest (sanitizers ${sanitize})"
  local rc=0
  local output
  output="$(mktemp "${TMPDIR:-/tmp}/needlecheck-ctest.XXXXXX")"
  # With pipefail the pipeline fails with ctest's exit code.
  (cd build/test && ctest --output-on-failure -j"${JOBS}" --timeout 300) \
    2>&1 | tee "${output}" || rc=$?
  echo
  echo "==> ctest summary (build/test, sanitizers ${sanitize}):"
  grep -E '^[0-9]+% tests passed|^Total Test time' "${output}" || true
  # ctest's "N% tests passed, F tests failed out of T", summed over both runs
  # for one closing line.
  local total=0 failed=0 t f
  read -r f t < <(sed -nE 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+)$/\1 \2/p' "${output}" | tail -n1) || true
  total=$((total + ${t:-0}))
  failed=$((failed + ${f:-0}))

  local fuzz_seconds="${NEEDLECHECK_FUZZ_SECONDS:-15}"
  if [[ "${fuzz_seconds}" != 0 ]]; then
    local fuzz_rc=0
    : >"${output}"
    # Only the fuzz targets and the libraries they link (run_fuzz.sh
    # configures clang, ASan + UBSan and -DNEEDLECHECK_TEST_DIRS=fuzz).
    NEEDLECHECK_JOBS="${JOBS}" tests/fuzz/run_fuzz.sh --build-only build/fuzz \
      -DNEEDLECHECK_FUZZ_SECONDS="${fuzz_seconds}" || fuzz_rc=$?
    if ((fuzz_rc == 0)); then
      log "fuzzing each libFuzzer target for ${fuzz_seconds} s (build/fuzz)"
      (cd build/fuzz && ctest --output-on-failure -j"${JOBS}" -L libfuzzer) \
        2>&1 | tee "${output}" || fuzz_rc=$?
      echo
      echo "==> executions and coverage per target (build/fuzz/fuzz-runs/*/summary.txt):"
      cat build/fuzz/fuzz-runs/*/summary.txt 2>/dev/null || true
    fi
    echo
    echo "==> ctest summary (build/fuzz, libFuzzer ${fuzz_seconds} s per target):"
    grep -E '^[0-9]+% tests passed|^Total Test time' "${output}" ||
      echo "build/fuzz: the libFuzzer build failed"
    if ((rc == 0)); then rc="${fuzz_rc}"; fi
    t=0
    f=0
    read -r f t < <(sed -nE 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+)$/\1 \2/p' "${output}" | tail -n1) || true
    total=$((total + ${t:-0}))
    failed=$((failed + ${f:-0}))
  fi
  rm -f "${output}"
  echo
  echo "ctest: $((total - failed)) passed, ${failed} failed"
  return "${rc}"
}

main() {
  case "${1:-}" in
    run) cmd_run ;;
    test) cmd_test ;;
    install)
      shift
      if (($# == 0)); then set -- "${PACKAGES[@]}"; fi
      install_packages "$@"
      ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
