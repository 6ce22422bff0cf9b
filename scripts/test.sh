#!/bin/sh
# The whole test suite: lint, typecheck, the simulator's conformance, then every vitest tier. The
# integration tier needs the Go-built control plane; build it first (cached per version outside the
# repo) so its progress shows. vitest runs last so that its summary closes the output.
set -eu
cd "$(dirname "$0")/.."
echo "== lint"; eslint .; prettier --check --log-level warn "**/*.{ts,js}"
echo "== typecheck"; tsc -p tsconfig.json
# A client no one here wrote (schemathesis, from PyPI) checks the simulator against the document.
if [ $# -eq 0 ]; then echo "== conformance (schemathesis)"; sh scripts/conformance.sh; fi
if [ -z "${KUBECONFIG_EXTERNAL:-}" ]; then echo "== control plane build (cached)"; sh scripts/local-cluster.sh build; fi
# --- image tier (test/image/): docker.io and mmdebstrap from Debian when missing, then the base image
# (cached per version), before vitest so that their progress shows. Should either fail, the tier's
# first test fails with the reason in one line. SKIP_IMAGE_TIER=1 skips the tier (its tests count as
# skipped); .ci/run never sets it.
if [ "${SKIP_IMAGE_TIER:-}" = 1 ]; then echo "== image tier: skipped (SKIP_IMAGE_TIER=1)"
elif [ $# -eq 0 ]; then
  echo "== image tier: docker.io and the base image (cached)"
  { sh scripts/docker-engine.sh install && sh scripts/base-image.sh build >/dev/null; } || echo "image tier: not ready (see above)"
fi
# --- end of the image tier's block
echo "== vitest"
mkdir -p .tmp
rm -f .tmp/vitest-report.json
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@" || status=$?
# The plain closing line, from vitest's own report: "N passed, N failed[, N skipped]". A test file
# that fails without a failed test (it did not load, or a hook threw) counts as one failure; no
# report at all (vitest crashed) is a failure too.
node -e '
  let r;
  try { r = JSON.parse(require("fs").readFileSync(".tmp/vitest-report.json", "utf8")); } catch { console.log("vitest: 0 passed, 1 failed"); process.exit(0); }
  const broken = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"));
  for (const f of broken) console.log(`failed to run: ${f.name}: ${(f.message || "").split("\n")[0]}`);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests + broken.length} failed${skipped ? `, ${skipped} skipped` : ""}`);
' || true
exit "$status"
