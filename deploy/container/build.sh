#!/usr/bin/env bash
# deploy/container/build.sh OUTPUT.tar
#
# Builds the needlecheck container image offline, from Debian packages only,
# and writes it as an OCI archive to OUTPUT.tar (load it with
# `podman load -i OUTPUT.tar` or `skopeo copy oci-archive:OUTPUT.tar ...`).
# The image matches deploy/container/Containerfile: the four binaries and the
# bundled knowledge base on a root holding only the Debian runtime library
# packages they load (mmdebstrap --variant=extract), user 65532:65532, data in
# /var/lib/needlecheck, entrypoint needlecheckd with the container defaults.
#
# Needs root (mmdebstrap, buildah with vfs storage) and the Debian archive of
# /etc/apt/sources.list*; installs mmdebstrap and buildah when missing.
# Environment:
#   NEEDLECHECK_BINARY_DIR  a CMake build folder of this project holding the
#                           binaries already; without it, Release is built
#                           into build/container with CMake's default
#                           generator (the build packages of deploy/local.sh
#                           are installed when missing).
#   NEEDLECHECK_JOBS        parallel compile jobs (default 2).
set -euo pipefail

usage() {
  echo "usage: deploy/container/build.sh OUTPUT.tar" >&2
  exit 2
}
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'deploy/container/build.sh: %s\n' "$*" >&2; exit 1; }

if (($# != 1)) || [[ "$1" != *.tar || "$1" == -* ]]; then usage; fi
output="$(realpath -m -- "$1")"
binary_dir="${NEEDLECHECK_BINARY_DIR:+$(realpath -- "${NEEDLECHECK_BINARY_DIR}")}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
((EUID == 0)) || die "needs root (mmdebstrap and buildah write files owned by other users)"

# The image's configuration; deploy/container/Containerfile says the same
# (container_image_test compares the two).
readonly IMAGE_USER="65532:65532"
readonly DATA_DIR="/var/lib/needlecheck"
readonly ENTRYPOINT='["/usr/bin/needlecheckd", "--listen=0.0.0.0:50051", "--data_dir=/var/lib/needlecheck", "--knowledge_base=/usr/share/needlecheck/microneedling.textproto", "--health_listen=0.0.0.0:50052", "--insecure_plaintext"]'
readonly PORTS=(50051/tcp 50052/tcp)
readonly SUITE=bookworm

"${repo_root}/deploy/local.sh" install mmdebstrap buildah

if [[ -z "${binary_dir}" ]]; then
  "${repo_root}/deploy/local.sh" install
  binary_dir="${repo_root}/build/container"
  log "building Release into ${binary_dir}"
  cmake -S "${repo_root}" -B "${binary_dir}" -DCMAKE_BUILD_TYPE=Release \
    -DNEEDLECHECK_BUILD_TESTS=OFF -DNEEDLECHECK_BUILD_BENCHMARKS=OFF
  cmake --build "${binary_dir}" -j"${NEEDLECHECK_JOBS:-2}" --target \
    needlecheckd needlecheck needlecheck-cds-hooks needlecheck-audit \
    needlecheck-hl7
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/needlecheck-image.XXXXXX")"
# buildah keeps its images and containers in the work folder, not in the
# machine's /var/lib/containers.
buildah=(buildah --root "${work}/storage" --runroot "${work}/run" --storage-driver vfs)
container=""
cleanup() {
  if [[ -n "${container}" ]]; then
    "${buildah[@]}" rm "${container}" >/dev/null 2>&1 || true
  fi
  rm -rf "${work}"
}
trap cleanup EXIT

"${repo_root}/deploy/container/stage.sh" "${binary_dir}" "${work}/stage"

# The machine's Debian sources (the archive apt-get uses here).
sources=()
for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  if [[ -f "${file}" ]] && grep -qE '^[^#]*debian\.org' "${file}"; then
    sources+=("${file}")
  fi
done
((${#sources[@]} > 0)) || die "no Debian archive in /etc/apt/sources.list*"

root="${work}/rootfs"
packages="$(paste -sd, "${work}/stage/runtime-packages")"
log "unpacking ${SUITE} runtime packages into the image root: ${packages}"
mmdebstrap --quiet --variant=extract --include="${packages}" "${SUITE}" "${root}" "${sources[@]}"
# apt's lists and configuration serve no purpose in the image; dpkg's status
# stays, so that image scanners see the packages.
rm -rf "${root}/etc/apt" "${root}/var/lib/apt" "${root}/var/cache/apt" \
  "${root}/usr/share/man" "${root}/usr/share/info" "${root}/usr/share/lintian"
cp -a "${work}/stage/rootfs/." "${root}/"
printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' \
  "needlecheck:x:65532:65532:needlecheck:${DATA_DIR}:/usr/sbin/nologin" >"${root}/etc/passwd"
printf '%s\n' 'root:x:0:' 'needlecheck:x:65532:' >"${root}/etc/group"
install -d -o 65532 -g 65532 -m 0750 "${root}${DATA_DIR}"

log "assembling the image"
container="$("${buildah[@]}" from scratch)"
mount="$("${buildah[@]}" mount "${container}")"
cp -a "${root}/." "${mount}/"
"${buildah[@]}" umount "${container}" >/dev/null
config=(--user "${IMAGE_USER}" --workingdir "${DATA_DIR}" --volume "${DATA_DIR}"
  --env PATH=/usr/bin:/bin --entrypoint "${ENTRYPOINT}"
  --label org.opencontainers.image.title=needlecheck
  --label "org.opencontainers.image.description=needlecheckd, the needlecheck CLI, CDS Hooks gateway and audit tool")
for port in "${PORTS[@]}"; do config+=(--port "${port}"); done
"${buildah[@]}" config "${config[@]}" "${container}"
rm -f "${output}"
"${buildah[@]}" commit --quiet --format oci --disable-compression=false --rm "${container}" \
  "oci-archive:${output}:needlecheck:latest" >/dev/null
container=""
log "wrote ${output} ($(du -h "${output}" | cut -f1))"
