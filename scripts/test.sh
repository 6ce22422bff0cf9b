#!/bin/sh
# The whole test suite: lint, typecheck, the simulator's conformance, then every vitest tier. The
# integration tier needs the Go-built control plane; build it first (cached per version outside the
# repo) so its progress shows. vitest runs last so that its summary closes the output.
set -eu
cd "$(dirname "$0")/.."
echo "== lint"; eslint .
echo "== typecheck"; tsc -p tsconfig.json
# A client no one here wrote (schemathesis, from PyPI) checks the simulator against the document.
if [ $# -eq 0 ]; then echo "== conformance (schemathesis)"; sh scripts/conformance.sh; fi
if [ -z "${KUBECONFIG_EXTERNAL:-}" ]; then echo "== control plane build (cached)"; sh scripts/local-cluster.sh build; fi
echo "== vitest"
mkdir -p .tmp
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@" || status=$?
# The plain closing line, from vitest's own report: "N passed, N failed[, N skipped]".
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest-report.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' || true
exit "$status"
