#!/bin/sh
# The whole test suite: lint, typecheck, then every vitest tier. The integration tier needs the
# Go-built control plane; build it first (cached per version outside the repo) so its progress shows.
set -eu
cd "$(dirname "$0")/.."
echo "== lint"; eslint .
echo "== typecheck"; tsc -p tsconfig.json
if [ -z "${KUBECONFIG_EXTERNAL:-}" ]; then echo "== control plane build (cached)"; sh scripts/local-cluster.sh build; fi
echo "== vitest"; vitest run "$@"
# A client no one here wrote (schemathesis, from PyPI) checks the simulator against the document.
if [ $# -eq 0 ]; then echo "== conformance (schemathesis)"; sh scripts/conformance.sh; fi
