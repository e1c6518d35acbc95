#!/usr/bin/env bash
# Checks the Kubernetes manifests under deploy/ offline: yamllint on every
# file, then each kustomization rendered with `kubectl kustomize` and
# validated against the Kubernetes 1.32 schemas that kubernetes-validate
# bundles. Installs yamllint and kubernetes-validate from PyPI when missing.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSION=1.32.0

# Both tools run as modules of this python3, so a fresh install needs no
# PATH or pyenv shim update.
missing=()
python3 -c 'import yamllint' 2>/dev/null || missing+=(yamllint)
python3 -c 'import kubernetes_validate' 2>/dev/null || missing+=(kubernetes-validate)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} from PyPI"
    python3 -m pip install --quiet "${missing[@]}"
fi
if ! command -v kubectl >/dev/null 2>&1; then
    echo "kubectl is missing. Install kubectl to render the kustomizations." >&2
    exit 1
fi

# --strict also fails on warnings, such as a missing document start.
echo "yamllint deploy/"
python3 -m yamllint --strict deploy/

rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT

# kubernetes-validate only warns about a kind it has no schema for, so this
# check fails on any WARN line, and every resource of a kustomization must
# be a built-in kind. deploy/monitoring/prometheusrule.yaml is a custom
# resource, so it gets yamllint only.
validate() {
    local file=$1 output
    output=$(python3 -m kubernetes_validate --strict --quiet -k "$KUBERNETES_VERSION" "$file") || {
        echo "$output" >&2
        echo "$file failed validation against Kubernetes $KUBERNETES_VERSION" >&2
        return 1
    }
    if grep -q '^WARN' <<<"$output"; then
        echo "$output" >&2
        echo "$file contains a kind without a bundled schema" >&2
        return 1
    fi
}

for dir in deploy/base deploy/overlays/*/; do
    dir=${dir%/}
    name=$(echo "$dir" | tr '/' '-')
    echo "kubectl kustomize $dir"
    kubectl kustomize "$dir" >"$rendered/$name.yaml"
    validate "$rendered/$name.yaml"
done

echo "kubernetes-validate deploy/secret.example.yaml"
validate deploy/secret.example.yaml

echo "deploy/ manifests passed"
