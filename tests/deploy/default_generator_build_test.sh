#!/usr/bin/env bash
# default_generator_build_test.sh SOURCE_DIR
#
# Configures SOURCE_DIR into a fresh folder with CMake's default generator on
# Linux (Unix Makefiles) and builds needlecheck_test_reflection_proto: the
# smallest target whose protoc step writes into a folder of its own. Make,
# unlike Ninja, does not create the folders of a custom command's outputs,
# so a generated-output folder that nobody creates breaks `cmake --build`
# there (protoc: "gen/: No such file or directory").
set -euo pipefail

src="${1:?usage: default_generator_build_test.sh SOURCE_DIR}"
work="$(mktemp -d "${TMPDIR:-/tmp}/needlecheck-make-build.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

cmake -S "${src}" -B "${work}" -G "Unix Makefiles" \
  -DCMAKE_BUILD_TYPE=Release -DNEEDLECHECK_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "${work}" -j2 --target needlecheck_test_reflection_proto

header="${work}/tests/testing/proto/gen/grpc/reflection/v1alpha/reflection.grpc.pb.h"
if [[ ! -f "${header}" ]]; then
  echo "FAIL: ${header} was not generated" >&2
  exit 1
fi
echo "PASS: Unix Makefiles built needlecheck_test_reflection_proto"
