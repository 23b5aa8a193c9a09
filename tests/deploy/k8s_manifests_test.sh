#!/bin/bash
# Renders every kustomization of deploy/k8s with `kubectl kustomize` (offline)
# and checks the objects with k8s_manifests_check.js: the Kubernetes schemas
# (npm kubernetes-models, pinned, installed into BUILD_DIR/k8s-npm when
# missing) and the deployment's invariants. Also checks that the knowledge
# base the base's configMapGenerator ships is the bundled one.
# Exit 77 (skipped) when kubectl, node or (with no installed cache) npm is
# missing, unless CI=true.
#   k8s_manifests_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir="$1"
source_dir="$2"
readonly MODELS_VERSION=4.5.1  # node >= 14; Kubernetes 1.3x schemas
readonly YAML_VERSION=2.8.1

missing=()
for tool in kubectl node; do
  command -v "${tool}" >/dev/null || missing+=("${tool}")
done
if ((${#missing[@]})); then
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAIL: ${missing[*]} not installed (required when CI=true)"
    exit 1
  fi
  echo "SKIP: ${missing[*]} not installed"
  exit 77
fi

npm_dir="${build_dir}/k8s-npm"
if [[ "$(node -p "try { require('${npm_dir}/node_modules/kubernetes-models/package.json').version } catch (e) { '' }")" != "${MODELS_VERSION}" ||
      ! -f "${npm_dir}/node_modules/yaml/package.json" ]]; then
  if ! command -v npm >/dev/null; then
    if [[ "${CI:-}" == "true" ]]; then
      echo "FAIL: npm not installed (required when CI=true)"
      exit 1
    fi
    echo "SKIP: npm not installed and ${npm_dir} holds no kubernetes-models"
    exit 77
  fi
  mkdir -p "${npm_dir}"
  # A lock so that two test runs on one build folder do not install at once.
  exec 9>"${npm_dir}/.lock"
  flock 9
  npm install --prefix "${npm_dir}" --no-audit --no-fund --no-save \
    --loglevel=error "kubernetes-models@${MODELS_VERSION}" \
    "yaml@${YAML_VERSION}"
  flock -u 9
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/k8s-manifests.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
k8s="${source_dir}/deploy/k8s"
declare -A kustomizations=(
  [single-node]=overlays/single-node
  [production]=overlays/production
  [single-node-audit]=overlays/single-node/audit
  [production-audit]=overlays/production/audit
  [audit-merge]=audit/merge
)
for name in "${!kustomizations[@]}"; do
  if ! kubectl kustomize "${k8s}/${kustomizations[${name}]}" \
      >"${work}/${name}.yaml"; then
    echo "FAIL: kubectl kustomize ${kustomizations[${name}]}"
    exit 1
  fi
done

if ! cmp "${source_dir}/service/kb/data/microneedling.textproto" \
    "${k8s}/base/knowledge-base/microneedling.textproto"; then
  echo "FAIL: deploy/k8s/base/knowledge-base/microneedling.textproto differs" \
    "from service/kb/data/microneedling.textproto: copy it again"
  exit 1
fi

node "${source_dir}/tests/deploy/k8s_manifests_check.js" \
  "${npm_dir}/node_modules" "${source_dir}" "${work}"
