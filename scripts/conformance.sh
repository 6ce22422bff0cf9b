#!/bin/sh
# Conformance of the simulator, checked by a client no one here wrote: schemathesis generates
# requests from openapi/cedana.json (valid and invalid ones, plus stateful sequences) and checks
# every answer against the document. Exits non-zero on any failure.
#   sh scripts/conformance.sh            # CONFORMANCE_MAX_EXAMPLES (100) per operation, CONFORMANCE_SEED (1)
# schemathesis is installed once into a venv cached outside the repo, keyed by its version.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
version=${SCHEMATHESIS_VERSION:-4.32.5}
max_examples=${CONFORMANCE_MAX_EXAMPLES:-100}
seed=${CONFORMANCE_SEED:-1}
venv=$(sh "$root/scripts/pypi-venv.sh" schemathesis "$version")

work=$(mktemp -d)
sim_pid=
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SIM_TOKEN="conformance-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export SIM_TOKEN
# The token goes through the environment, not the command line.
CEDANA_AUTH_TOKEN="$SIM_TOKEN" "$root/bin/cedana-operator" simulator --listen 127.0.0.1:0 --step-ms 50 --log-level warn >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!

url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^cedana simulator listening on //p' "$work/sim.out")
  [ -n "$url" ] && break
  kill -0 "$sim_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "conformance: the simulator did not start" >&2
  cat "$work/sim.err" >&2
  exit 1
fi

# Data for the operations that need an existing id (see test/contract/schemathesis.toml).
SIM_POD_ID=conformance-pod
export SIM_POD_ID
SIM_CHECKPOINT_ID=$(python3 - "$url" <<'PY'
import json, os, sys, urllib.request
url, token = sys.argv[1], os.environ["SIM_TOKEN"]
def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.read().decode()
call("POST", "/v2/checkpoint/pod", {"pod_id": os.environ["SIM_POD_ID"], "pod_name": "conformance", "namespace": "default"})
print(call("POST", "/v2/checkpoints"))
PY
)
export SIM_CHECKPOINT_ID

cd "$work"
started=$(date +%s)
status=0
# The full report goes to a file; the output gets its summary, or all of it on failure.
mkdir -p "$root/.tmp"
log="$root/.tmp/conformance.log"
"$venv/bin/st" --config-file "$root/test/contract/schemathesis.toml" run "$root/openapi/cedana.json" \
  --url "$url" --checks all --max-examples "$max_examples" --seed "$seed" --no-color >"$log" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
  sed -n '/^API Operations:/,/^Seed:/p' "$log"
  echo "(the whole report: $log)"
else
  cat "$log"
fi
echo "conformance: schemathesis $version, $max_examples examples per operation, seed $seed: exit $status in $(( $(date +%s) - started ))s" >&2
exit "$status"
