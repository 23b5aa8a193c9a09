#!/usr/bin/env bash
# container_image_test.sh BINARY_DIR SOURCE_DIR
#
# Builds the container image with deploy/container/build.sh from the binaries
# of the CMake build folder BINARY_DIR (NEEDLECHECK_BINARY_DIR, so nothing is
# compiled again) into a fresh temporary folder, then checks it:
#  - OUTPUT.tar is an OCI archive buildah loads;
#  - its configuration (user 65532:65532, working folder and volume
#    /var/lib/needlecheck, entrypoint, ports) is the one
#    deploy/container/Containerfile declares;
#  - every binary's shared libraries resolve inside the image root, and the
#    data folder belongs to 65532;
#  - the default command serves: needlecheckd reaches SERVING on 50051 and on
#    the health port 50052 (the image's own `needlecheck health`), writing its
#    ledger under /var/lib/needlecheck as uid 65532;
#  - --listen and --data_dir given as arguments win: it serves on the other
#    port only and writes its ledger under the other folder.
# The image runs with `buildah run --isolation chroot` inside a network
# namespace of its own (unshare --net), so the fixed ports collide with
# nothing. Needs root; exits 77 (skipped) when buildah cannot run here, unless
# CI=true, where that is a failure.
set -euo pipefail

binary_dir="$(realpath "${1:?usage: container_image_test.sh BINARY_DIR SOURCE_DIR}")"
source_dir="$(realpath "${2:?usage: container_image_test.sh BINARY_DIR SOURCE_DIR}")"

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
skip() {
  if [[ "${CI:-}" == "true" ]]; then fail "CI=true but $*"; fi
  printf 'SKIP: %s\n' "$*" >&2
  exit 77
}

# The checks that run inside the private network namespace (see the end).
# run_image ARG...: runs ARG... in the image's container in the background,
# with the folder ${work}/volume mounted on the image's volume
# /var/lib/needlecheck, as a deployment mounts its persistent volume.
run_image() {
  "${buildah[@]}" run --isolation chroot \
    --volume "${work}/volume:/var/lib/needlecheck" "${container}" -- "$@" &
}

# wait_serving ADDRESS: polls the image's `needlecheck health` until it
# prints SERVING (at most 60 s).
wait_serving() {
  local address="$1" i out=""
  for ((i = 0; i < 120; i++)); do
    if out="$("${buildah[@]}" run --isolation chroot "${container}" -- \
      /usr/bin/needlecheck health --server "${address}" --timeout 2s 2>&1)" &&
      [[ "${out}" == *SERVING* ]]; then
      echo "${address}: ${out}"
      return 0
    fi
    sleep 0.5
  done
  fail "${address} was not SERVING within 60 s: ${out}"
}

# not_serving ADDRESS: the image's health probe gets no answer there.
not_serving() {
  if "${buildah[@]}" run --isolation chroot "${container}" -- \
    /usr/bin/needlecheck health --server "$1" --timeout 2s >/dev/null 2>&1; then
    fail "something answers on $1"
  fi
}

# stop_image PID: stops the daemon started by run_image.
stop_image() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# expect_ledger FILE: the ledger FILE exists, written by uid 65532.
expect_ledger() {
  [[ -f "$1" ]] || fail "no ledger at $1"
  [[ "$(stat -c %u:%g "$1")" == "65532:65532" ]] ||
    fail "$1 belongs to $(stat -c %u:%g "$1"), not 65532:65532"
}

inside_netns() {
  # Whatever way this ends, no server outlives it.
  trap 'kill -TERM $(jobs -p) 2>/dev/null || true; wait' EXIT
  ip link set lo up

  echo "--- default command: ${entrypoint[*]} ${cmd[*]}"
  run_image "${entrypoint[@]}" "${cmd[@]}"
  local pid=$!
  wait_serving 127.0.0.1:50052
  wait_serving 127.0.0.1:50051
  expect_ledger "${work}/volume/ledger.sqlite3"
  stop_image "${pid}"

  echo "--- overridden: --listen=127.0.0.1:50061 --data_dir=/tmp/needlecheck-other"
  run_image "${entrypoint[@]}" "${cmd[@]}" --listen=127.0.0.1:50061 \
    --data_dir=/tmp/needlecheck-other
  pid=$!
  wait_serving 127.0.0.1:50061
  not_serving 127.0.0.1:50051
  expect_ledger "${root}/tmp/needlecheck-other/ledger.sqlite3"
  stop_image "${pid}"
}

((EUID == 0)) || skip "not root (buildah with vfs storage and chroot isolation needs root here)"
command -v buildah >/dev/null || skip "buildah is not installed (deploy/local.sh TEST_PACKAGES)"
command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (deploy/local.sh TEST_PACKAGES)"
unshare --net true 2>/dev/null || skip "no network namespaces here (unshare --net)"

work="$(mktemp -d "${TMPDIR:-/tmp}/needlecheck-image-test.XXXXXX")"
buildah=(buildah --root "${work}/storage" --runroot "${work}/run" --storage-driver vfs)
container=""
cleanup() {
  if [[ -n "${container}" ]]; then
    "${buildah[@]}" umount "${container}" >/dev/null 2>&1 || true
    "${buildah[@]}" rm "${container}" >/dev/null 2>&1 || true
  fi
  rm -rf "${work}"
}
trap cleanup EXIT

start=${SECONDS}
NEEDLECHECK_BINARY_DIR="${binary_dir}" "${source_dir}/deploy/container/build.sh" "${work}/image.tar"
echo "build.sh took $((SECONDS - start)) s; image $(du -h "${work}/image.tar" | cut -f1)"

# A valid OCI archive: buildah loads it.
tar -tf "${work}/image.tar" | grep -qx 'oci-layout' || fail "no oci-layout in the archive"
container="$("${buildah[@]}" from --quiet "oci-archive:${work}/image.tar")" ||
  fail "buildah cannot load oci-archive:${work}/image.tar"
root="$("${buildah[@]}" mount "${container}")"

# config_list FIELD / config_keys FIELD: one line per item of the list (or
# key of the map) .OCIv1.Config.FIELD.
config_list() {
  "${buildah[@]}" inspect --format "{{range .OCIv1.Config.$1}}{{.}}
{{end}}" "${container}" | sed '/^$/d'
}
config_keys() {
  "${buildah[@]}" inspect --format "{{range \$k, \$v := .OCIv1.Config.$1}}{{\$k}}
{{end}}" "${container}" | sed '/^$/d'
}
user="$("${buildah[@]}" inspect --format '{{.OCIv1.Config.User}}' "${container}")"
workdir="$("${buildah[@]}" inspect --format '{{.OCIv1.Config.WorkingDir}}' "${container}")"
mapfile -t entrypoint < <(config_list Entrypoint)
mapfile -t cmd < <(config_list Cmd)
volumes="$(config_keys Volumes | sort | paste -sd' ')"
ports="$(config_keys ExposedPorts | sort | paste -sd' ')"

[[ "${user}" == "65532:65532" ]] || fail "User is '${user}', not 65532:65532"
[[ "${workdir}" == /var/lib/needlecheck ]] || fail "WorkingDir is '${workdir}'"
[[ "${volumes}" == /var/lib/needlecheck ]] || fail "Volumes are '${volumes}'"
[[ "${entrypoint[0]}" == /usr/bin/needlecheckd ]] || fail "Entrypoint is '${entrypoint[*]}'"
for flag in --listen=0.0.0.0:50051 --data_dir=/var/lib/needlecheck; do
  [[ " ${entrypoint[*]} ${cmd[*]} " == *" ${flag} "* ]] || fail "the default command lacks ${flag}"
done

# The Containerfile's final stage declares the same.
containerfile="${source_dir}/deploy/container/Containerfile"
# instruction NAME: the argument of the last NAME line of the Containerfile.
instruction() { sed -nE "s/^$1[[:space:]]+//p" "${containerfile}" | tail -n1; }
# json_words '["a", "b"]': a b
json_words() { sed -E 's/^\[//; s/\]$//; s/"[[:space:]]*,[[:space:]]*"/ /g; s/"//g'; }
[[ "$(instruction USER)" == "${user}" ]] || fail "Containerfile USER $(instruction USER) != ${user}"
[[ "$(instruction WORKDIR)" == "${workdir}" ]] || fail "Containerfile WORKDIR $(instruction WORKDIR) != ${workdir}"
[[ "$(instruction VOLUME | json_words)" == "${volumes}" ]] ||
  fail "Containerfile VOLUME $(instruction VOLUME) != ${volumes}"
[[ "$(instruction ENTRYPOINT | json_words)" == "${entrypoint[*]}" ]] ||
  fail "Containerfile ENTRYPOINT $(instruction ENTRYPOINT) != ${entrypoint[*]}"
[[ "$(instruction CMD | json_words)" == "${cmd[*]}" ]] ||
  fail "Containerfile CMD $(instruction CMD) != ${cmd[*]}"
container_ports="$(instruction EXPOSE | tr ' ' '\n' | sed '/\//!s|$|/tcp|' | sort | paste -sd' ')"
[[ "${container_ports}" == "${ports}" ]] || fail "Containerfile EXPOSE ${container_ports} != ${ports}"
echo "configuration: User ${user}, WorkingDir ${workdir}, Volumes ${volumes}, ports ${ports}; the same as the Containerfile"

# Every binary is there and its libraries resolve inside the root.
for binary in needlecheckd needlecheck needlecheck-cds-hooks needlecheck-audit needlecheck-hl7; do
  [[ -x "${root}/usr/bin/${binary}" ]] || fail "/usr/bin/${binary} is missing"
  libraries="$(chroot "${root}" /lib64/ld-linux-x86-64.so.2 --list "/usr/bin/${binary}")" ||
    fail "/usr/bin/${binary} does not load in the image: ${libraries}"
  if grep -q 'not found' <<<"${libraries}"; then
    fail "/usr/bin/${binary}: $(grep 'not found' <<<"${libraries}")"
  fi
done
[[ -f "${root}/usr/share/needlecheck/microneedling.textproto" ]] || fail "the knowledge base is missing"
[[ "$(stat -c %u:%g "${root}/var/lib/needlecheck")" == "65532:65532" ]] ||
  fail "/var/lib/needlecheck is not owned by 65532:65532"
echo "binaries: all shared libraries resolve inside the image"

install -d -o 65532 -g 65532 -m 0750 "${work}/volume"
export -f run_image wait_serving not_serving stop_image expect_ledger inside_netns fail
export root container work
# Arrays do not cross exec: pass them as declarations.
unshare --net -- bash -c "set -euo pipefail; $(declare -p buildah entrypoint cmd); inside_netns"
echo "PASS: container image ($((SECONDS - start)) s)"
