#!/usr/bin/env bash
# deploy/container/stage.sh BINARY_DIR STAGE_DIR
#
# Gathers what the needlecheck image adds on top of Debian's runtime
# libraries, for both deploy/container/Containerfile and build.sh:
#   STAGE_DIR/rootfs/usr/bin/        needlecheckd, needlecheck,
#                                    needlecheck-cds-hooks, needlecheck-audit,
#                                    needlecheck-hl7
#                                    from the CMake build folder BINARY_DIR
#                                    (debug sections stripped)
#   STAGE_DIR/rootfs/usr/share/needlecheck/microneedling.textproto
#                                    the bundled knowledge base
#   STAGE_DIR/runtime-packages       the Debian packages holding every shared
#                                    library the binaries load (ldd, then
#                                    dpkg -S), one a line, sorted
# Run it where the binaries were built: their libraries must be installed.
# Fails (exit 1) when a binary is missing or a library does not resolve.
set -euo pipefail

die() { printf 'deploy/container/stage.sh: %s\n' "$*" >&2; exit 1; }

(($# == 2)) || { echo "usage: deploy/container/stage.sh BINARY_DIR STAGE_DIR" >&2; exit 2; }
binary_dir="$1"
stage="$2"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Where each binary lies in a CMake build folder of this project.
binaries=(
  service/needlecheckd
  tools/cli/needlecheck
  adapters/cds_hooks/needlecheck-cds-hooks
  adapters/batch/needlecheck-audit
  adapters/hl7v2/needlecheck-hl7
)

# package_of FILE: the Debian package that ships FILE. Debian 12 merges /lib
# into /usr/lib, and dpkg knows each file under one of the two names.
package_of() {
  local file="$1" name candidate
  for name in "${file}" "$(readlink -f "${file}")"; do
    for candidate in "${name}" "/usr${name}" "${name#/usr}"; do
      if dpkg-query -S "${candidate}" 2>/dev/null | head -n1 | cut -d: -f1; then
        return 0
      fi
    done
  done
  die "no Debian package ships ${file}"
}

mkdir -p "${stage}/rootfs/usr/bin" "${stage}/rootfs/usr/share/needlecheck"
libraries=()
for binary in "${binaries[@]}"; do
  path="${binary_dir}/${binary}"
  [[ -x "${path}" ]] || die "${path} is missing (build it first)"
  if ldd "${path}" | grep -q 'not found'; then
    die "${path}: $(ldd "${path}" | grep 'not found' | tr -s ' \t' ' ')"
  fi
  # "libfoo.so.1 => /path (0x...)" and the loader's "/lib64/ld-... (0x...)".
  while read -r library; do
    libraries+=("${library}")
  done < <(ldd "${path}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  strip --strip-debug -o "${stage}/rootfs/usr/bin/${binary##*/}" "${path}"
done
cp "${repo_root}/service/kb/data/microneedling.textproto" \
  "${stage}/rootfs/usr/share/needlecheck/microneedling.textproto"

for library in $(printf '%s\n' "${libraries[@]}" | sort -u); do
  package_of "${library}"
done | sort -u >"${stage}/runtime-packages"
