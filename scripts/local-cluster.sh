#!/bin/sh
# A real Kubernetes control plane on loopback for the integration tests: etcd and kube-apiserver
# (and with --full kube-controller-manager, kube-scheduler and kwok's fake nodes), built from the Go
# modules pinned in test/controlplane/ and cached per version outside the repo.
#
#   local-cluster.sh build                    build if needed (progress on stderr); print the bin dir
#   local-cluster.sh up [--full] [--dir DIR] [--nodes N] [--watch-pid PID]
#                                             start; the last stdout line is KUBECONFIG=<path>
#   local-cluster.sh status [--dir DIR]       what runs
#   local-cluster.sh down [--dir DIR]         stop what up started (by pid) and remove its state
#   local-cluster.sh apiserver-stop [--kill] [--dir DIR]
#                                             stop kube-apiserver only (an outage; by pid: SIGTERM,
#                                             or with --kill SIGKILL at once, as a crash)
#   local-cluster.sh apiserver-start [--dir DIR]
#                                             start it again on the same port with the same flags, wait
#                                             until it is ready, and restart any of kube-controller-manager,
#                                             kube-scheduler and kwok that exited meanwhile (as a kubelet
#                                             restarts static pods: they exit once they cannot renew a lease)
#   local-cluster.sh pin vX.Y.Z               move test/controlplane/go.mod to another release
#
# State (certificates, data, logs, pid files, kubeconfig) lives in one directory per cluster:
# --dir, else ${TMPDIR:-/tmp}/cedana-operator-cluster. --watch-pid makes the cluster go down by
# itself once that process is gone, so a killed test run leaves nothing behind.
set -eu
# POSIX sh has no local variables: each function below keeps its own variable names.

repo=$(cd "$(dirname "$0")/.." && pwd)
self="$repo/scripts/local-cluster.sh"
# alive, running (the pid checks)
. "$repo/scripts/processes.sh"
mods="$repo/test/controlplane"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/cedana-operator"
marker=.cedana-local-cluster # in every state dir: down removes only directories that carry it

say() { echo "local-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# build

go_env() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH (the control plane is built from source)"
  # The machine's toolchain, never one fetched by go; static binaries like upstream's.
  GOTOOLCHAIN=local CGO_ENABLED=0
  export GOTOOLCHAIN CGO_ENABLED
}

k8s_version() {
  sed -n 's/^require k8s\.io\/kubernetes \(v[0-9][^ ]*\).*/\1/p; s/^[[:space:]]*k8s\.io\/kubernetes \(v[0-9][^ ]*\).*/\1/p' \
    "$mods/go.mod" | head -n 1
}

mod_field() { # module dir, module path, template
  (cd "$1" && go list -m -f "$3" "$2")
}

# Everything that decides what the binaries are goes into the cache key, so a changed pin, tool
# list, flag or Go release builds afresh instead of reusing a stale cache.
build_plan() {
  kver=$(k8s_version)
  [ -n "$kver" ] || die "no k8s.io/kubernetes requirement in $mods/go.mod"
  kminor=${kver#v1.}
  kminor=${kminor%%.*}
  kdate=$(mod_field "$mods" k8s.io/kubernetes '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}')
  helmver=$(mod_field "$mods/extras" helm.sh/helm/v3 '{{.Version}}')
  k8s_pkgs="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl go.etcd.io/etcd/server/v3"
  extra_pkgs="sigs.k8s.io/kwok/cmd/kwok helm.sh/helm/v3/cmd/helm"
  # The tags upstream's hack/lib/golang.sh uses for release binaries.
  tags=selinux,notest,grpcnotrace
  x=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x="$x -X $p.gitVersion=$kver -X $p.gitMajor=1 -X $p.gitMinor=$kminor -X $p.gitTreeState=clean -X $p.buildDate=${kdate:-1970-01-01T00:00:00Z}"
  done
  k8s_ldflags="-s -w$x"
  extra_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helmver"
  # kwok's default node and pod stages (what kwokctl feeds it), copied from its module.
  kwok_stages="kustomize/stage/node/fast/node-initialize.yaml kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml kustomize/stage/pod/fast/pod-ready.yaml kustomize/stage/pod/fast/pod-complete.yaml kustomize/stage/pod/fast/pod-delete.yaml"
  key=$({
    go version
    echo "$k8s_pkgs|$extra_pkgs|$tags|$k8s_ldflags|$extra_ldflags|$kwok_stages"
    cat "$mods/go.mod" "$mods/go.sum" "$mods/tools.go" "$mods/extras/go.mod" "$mods/extras/go.sum" "$mods/extras/tools.go"
  } | sha256sum | cut -c1-12)
  bindir="$cache_root/k8s-$kver-$key/bin"
}

have_bins() {
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm; do
    [ -x "$1/$b" ] || return 1
  done
  [ -s "$1/../share/kwok-stages.yaml" ]
}

cmd_build() {
  go_env
  build_plan
  if have_bins "$bindir"; then
    echo "$bindir"
    return 0
  fi
  mkdir -p "$cache_root"
  # Built aside and renamed into place in one step: an interrupted build leaves no half cache.
  tmp=$(mktemp -d "$cache_root/.build-$kver-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
  start=$(date +%s)
  say "building Kubernetes $kver (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd) into $cache_root; from a cold Go build cache this takes 10-15 min on 2 cores"
  # One go build for all of them, so the packages they share compile once.
  # shellcheck disable=SC2086 # the package lists split on purpose
  (cd "$mods" && go build -trimpath -tags "$tags" -ldflags "$k8s_ldflags" -o "$tmp/bin/" $k8s_pkgs) >&2
  mv "$tmp/bin/server" "$tmp/bin/etcd" # etcd's main package is go.etcd.io/etcd/server/v3
  say "building kwok and helm ($(($(date +%s) - start))s so far)"
  # shellcheck disable=SC2086
  (cd "$mods/extras" && go build -trimpath -ldflags "$extra_ldflags" -o "$tmp/bin/" $extra_pkgs) >&2
  mkdir "$tmp/share"
  kwokdir=$(mod_field "$mods/extras" sigs.k8s.io/kwok '{{.Dir}}')
  for f in $kwok_stages; do
    cat "$kwokdir/$f"
    echo "---"
  done >"$tmp/share/kwok-stages.yaml"
  have_bins "$tmp/bin" || die "the build finished without every program in $tmp/bin"
  final=$(dirname "$bindir")
  if ! mv -T "$tmp" "$final" 2>/dev/null; then
    have_bins "$bindir" || die "could not move the build into $final"
    rm -rf "$tmp" # a concurrent build of the same key finished first
  fi
  trap - EXIT INT TERM
  # Older builds of this version are stale now (a cluster still running keeps its open binaries).
  for old in "$cache_root/k8s-$kver-"*; do
    [ "$old" = "$final" ] || rm -rf "$old"
  done
  say "built in $(($(date +%s) - start))s: $bindir"
  echo "$bindir"
}

# Rewrites test/controlplane/go.mod for another Kubernetes release: the staging modules replaced by
# their published twins, etcd at the version Kubernetes pins, and nothing else above its pins.
cmd_pin() {
  v=${1:-}
  case "$v" in v1.*.*) ;; *) die "usage: $0 pin v1.X.Y" ;; esac
  go_env
  sv="v0.${v#v1.}"
  kmod=$(cd "$mods" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [ -f "$kmod" ] || die "could not download k8s.io/kubernetes@$v"
  etcdv=$(sed -n 's/^[[:space:]]*go\.etcd\.io\/etcd\/server\/v3 \(v[^ ]*\).*/\1/p' "$kmod" | head -n 1)
  [ -n "$etcdv" ] || die "k8s.io/kubernetes@$v does not pin go.etcd.io/etcd/server/v3"
  {
    sed -n '1,/^module /p' "$mods/go.mod" | sed '$d' | sed "s/v0\.[0-9]*\.[0-9]*[^ ]* twins/$sv twins/"
    printf 'module cedana-operator/test/controlplane\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$(sed -n 's/^go //p' "$kmod")" "$v"
    sed -n 's/^[[:space:]]*\(k8s\.io\/[a-z0-9-]*\) => \.\/staging\/.*/\1/p' "$kmod" | while read -r m; do
      printf '\t%s => %s %s\n' "$m" "$m" "$sv"
    done
    echo ")"
  } >"$mods/go.mod.new"
  mv "$mods/go.mod.new" "$mods/go.mod"
  rm -f "$mods/go.sum"
  (cd "$mods" && go get "k8s.io/kubernetes@$v" "go.etcd.io/etcd/server/v3@$etcdv" && go mod tidy)
  say "pinned Kubernetes $v with etcd $etcdv; kwok and helm stay as pinned in test/controlplane/extras"
}

# ---------------------------------------------------------------------------------------------
# processes

# Starts a program in the background with its output in logs/NAME.log and its pid in run/NAME.pid.
# stdin and every output go to files: a caller reading our stdout must see it close when up exits.
spawn() { # name, program, args...
  name=$1
  shift
  "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

stop() { # names...: SIGTERM all, wait up to 15 s, then SIGKILL the rest
  pids=""
  for n in "$@"; do
    f="$dir/run/$n.pid"
    if alive "$f"; then
      pid=$(cat "$f")
      [ "$pid" = "$$" ] || { kill -TERM "$pid" 2>/dev/null || true; pids="$pids $pid"; }
    fi
    rm -f "$f"
  done
  [ -n "$pids" ] || return 0
  t=0
  while [ $t -lt 150 ]; do
    left=""
    for pid in $pids; do running "$pid" && left="$left $pid"; done
    [ -n "$left" ] || return 0
    sleep 0.1
    t=$((t + 1))
  done
  for pid in $left; do
    say "pid $pid did not stop on SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Clients first, then the apiserver, then etcd, so each shuts down against a live backend.
stop_all() {
  stop watchdog kwok kube-scheduler kube-controller-manager
  stop kube-apiserver
  stop etcd
}

log_tail() { # name
  f="$dir/logs/$1.log"
  [ -f "$f" ] || return 0
  say "last lines of $f:"
  tail -n 40 "$f" >&2
}

# Fails up: the log that tells why, then nothing left running (the logs stay for a look).
fail() { # log name, message
  log_tail "$1"
  stop_all
  die "$2 (state and logs kept in $dir; '$0 down --dir $dir' removes them)"
}

# ---------------------------------------------------------------------------------------------
# ports

# A port is taken when any socket, in any state, uses it locally (IPv4 or IPv6).
port_used() { # port
  awk -v h="$(printf ':%04X' "$1")" 'substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Sets $port to a random free port below the kernel's ephemeral range (which outgoing connections
# draw from) and not handed out before. Another process may still take it before the server binds:
# the callers retry when the log says the address was in use.
free_port() {
  lo=20000
  hi=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$hi" -gt $((lo + 1000)) ] || { lo=61000; hi=65000; }
  n=0
  while [ $n -lt 200 ]; do
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    port=$((lo + r % (hi - lo)))
    case " $taken " in
      *" $port "*) ;;
      *) port_used "$port" || { taken="$taken $port"; return 0; } ;;
    esac
    n=$((n + 1))
  done
  die "found no free port"
}

# True when the process behind the pid file holds a listening socket on the port: a socket of
# some other process on the same port (0.0.0.0, or a race) must not pass for our server.
listening() { # pid file, port
  inodes=$(awk -v h="$(printf ':%04X' "$2")" '$4 == "0A" && substr($2, length($2) - 4) == h { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  [ -n "$inodes" ] || return 1
  fds=$(ls -l "/proc/$(cat "$1")/fd" 2>/dev/null) || return 1
  for ino in $inodes; do
    case "$fds" in *"socket:[$ino]"*) return 0 ;; esac
  done
  return 1
}

in_use_error() { # name: did it die because its address was taken?
  grep -qi 'address already in use' "$dir/logs/$1.log" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# certificates and kubeconfig

gen_pki() {
  pki="$dir/pki"
  mkdir -p "$pki"
  cat >"$pki/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
EOF
  key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key" 2>/dev/null; }
  signed() { # name, subject, extensions section
    key "$1"
    openssl req -new -key "$pki/$1.key" -subj "$2" -config "$pki/openssl.cnf" -out "$pki/$1.csr"
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
      -days 30 -extfile "$pki/openssl.cnf" -extensions "$3" -out "$pki/$1.crt" 2>/dev/null
    rm -f "$pki/$1.csr"
  }
  key ca
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=cedana-local-cluster-ca" -config "$pki/openssl.cnf" \
    -extensions ca -days 30 -out "$pki/ca.crt"
  signed apiserver "/CN=kube-apiserver" server
  signed admin "/O=system:masters/CN=cedana-admin" client
  # Service-account tokens: signed with this key, verified with its public half.
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
}

b64() { base64 <"$1" | tr -d '\n'; }

write_kubeconfig() { # port
  cat >"$dir/kubeconfig.new" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$1
    certificate-authority-data: $(b64 "$dir/pki/ca.crt")
users:
- name: cedana-admin
  user:
    client-certificate-data: $(b64 "$dir/pki/admin.crt")
    client-key-data: $(b64 "$dir/pki/admin.key")
contexts:
- name: local
  context:
    cluster: local
    user: cedana-admin
current-context: local
EOF
  mv "$dir/kubeconfig.new" "$dir/kubeconfig"
}

# Its discovery cache goes to the state dir, not ~/.kube.
kc() { "$bindir/kubectl" --kubeconfig "$dir/kubeconfig" --cache-dir "$dir/kube-cache" --request-timeout=10s "$@"; }

# ---------------------------------------------------------------------------------------------
# servers

# Sets $why: how a server that did not come up ended (its exit status or signal), or that it runs
# and does not answer. Its log may say nothing: etcd at --log-level warn is silent until it serves.
# Not in a $(...): only this shell can wait for its children.
outcome() { # name, seconds waited
  opid=$(cat "$dir/run/$1.pid" 2>/dev/null || true)
  if [ -n "$opid" ] && running "$opid"; then
    why="it still runs, not answering after $2 s"
    return 0
  fi
  st=0
  [ -z "$opid" ] || wait "$opid" 2>/dev/null || st=$?
  if [ "$st" -gt 128 ]; then why="it was killed by signal $((st - 128))"; else why="it exited with status $st"; fi
}

start_etcd() {
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    free_port
    etcd_port=$port
    free_port
    peer_port=$port
    spawn etcd "$bindir/etcd" --name local --data-dir "$dir/etcd" \
      --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
      --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
      --initial-cluster "local=http://127.0.0.1:$peer_port" --initial-cluster-state new \
      --unsafe-no-fsync --quota-backend-bytes 2147483648 --log-level warn
    # Throwaway data: no fsync keeps it fast.
    i=0
    while [ $i -lt 300 ]; do
      listening "$dir/run/etcd.pid" "$etcd_port" && return 0
      alive "$dir/run/etcd.pid" || break
      sleep 0.1
      i=$((i + 1))
    done
    if in_use_error etcd && [ $attempt -lt 3 ]; then
      stop etcd
      rm -rf "$dir/etcd"
      continue
    fi
    outcome etcd 30
    fail etcd "etcd did not start: $why"
  done
}

start_apiserver() {
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    free_port
    api_port=$port
    # Without --full nothing creates the default service account, so pods could not be admitted.
    if [ "$full" = 1 ]; then admission=""; else admission="--disable-admission-plugins=ServiceAccount"; fi
    # shellcheck disable=SC2086 # $admission is empty or one flag
    spawn kube-apiserver "$bindir/kube-apiserver" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
      --etcd-servers="http://127.0.0.1:$etcd_port" \
      --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
      --client-ca-file="$dir/pki/ca.crt" \
      --service-account-issuer=https://kubernetes.default.svc.cluster.local \
      --service-account-key-file="$dir/pki/sa.pub" --service-account-signing-key-file="$dir/pki/sa.key" \
      --service-cluster-ip-range=10.96.0.0/16 \
      --authorization-mode=RBAC --allow-privileged=true --profiling=false $admission \
      --endpoint-reconciler-type=none
    write_kubeconfig "$api_port"
    i=0
    while [ $i -lt 600 ]; do
      if listening "$dir/run/kube-apiserver.pid" "$api_port" && kc get --raw=/readyz >/dev/null 2>&1; then return 0; fi
      alive "$dir/run/kube-apiserver.pid" || break
      sleep 0.2
      i=$((i + 1))
    done
    if in_use_error kube-apiserver && [ $attempt -lt 3 ]; then
      stop kube-apiserver
      continue
    fi
    outcome kube-apiserver 120
    fail kube-apiserver "kube-apiserver did not become ready: $why"
  done
}

start_full() {
  kubeconfig="$dir/kubeconfig"
  # Secure ports 0: they serve nothing, so there is no port to pick and no listener off loopback.
  spawn kube-controller-manager "$bindir/kube-controller-manager" --kubeconfig="$kubeconfig" \
    --secure-port=0 --leader-elect=true \
    --root-ca-file="$dir/pki/ca.crt" --service-account-private-key-file="$dir/pki/sa.key" \
    --kube-api-qps=100 --kube-api-burst=200 --flex-volume-plugin-dir="$dir/flexvolume" \
    --concurrent-gc-syncs=10 --concurrent-namespace-syncs=10
  spawn kube-scheduler "$bindir/kube-scheduler" --kubeconfig="$kubeconfig" --secure-port=0 --leader-elect=true
  # No --server-address or --node-port: kwok then opens no port at all.
  spawn kwok "$bindir/kwok" --kubeconfig="$kubeconfig" --config="$(dirname "$bindir")/share/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip=127.0.0.1 --cidr=10.244.0.0/16 --node-lease-duration-seconds=40

  n=0
  while [ $n -lt "$nodes" ]; do
    # No taint: ordinary pods must schedule onto these fake nodes.
    cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$n
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-$n
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
---
EOF
    n=$((n + 1))
  done >"$dir/nodes.yaml"
  kc apply -f "$dir/nodes.yaml" >/dev/null || fail kube-apiserver "could not create the fake nodes"

  # Ready = each component has shown its hand: kwok's nodes Ready and untainted (the node controller
  # lifts its not-ready taint), kcm's default service account, the scheduler's leader lease.
  i=0
  while :; do
    for c in kube-controller-manager kube-scheduler kwok; do
      if ! alive "$dir/run/$c.pid"; then
        outcome "$c" 0
        fail "$c" "$c exited: $why"
      fi
    done
    ready=$(kc get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"/"}{.spec.taints}{" "}{end}' 2>/dev/null || true)
    count=0
    for r in $ready; do [ "$r" = "True/" ] && count=$((count + 1)); done
    if [ "$count" -eq "$nodes" ] &&
      kc get serviceaccount default -n default >/dev/null 2>&1 &&
      [ -n "$(kc get lease kube-scheduler -n kube-system -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)" ]; then
      return 0
    fi
    [ $i -lt 240 ] || fail kube-controller-manager "the full control plane did not settle within 120 s (nodes: $ready)"
    sleep 0.5
    i=$((i + 1))
  done
}

# ---------------------------------------------------------------------------------------------
# outages: kube-apiserver stopped and started again

save_cmdline() { # name: run/NAME.cmdline, one argument a line (no argument we pass has a newline)
  f="$dir/run/$1.pid"
  alive "$f" || return 0
  tr '\0' '\n' <"/proc/$(cat "$f")/cmdline" >"$dir/run/$1.cmdline"
}

# Starts NAME again from run/NAME.cmdline, its output appended to its log.
respawn() { # name
  name=$1
  set --
  while IFS= read -r a; do set -- "$@" "$a"; done <"$dir/run/$name.cmdline"
  [ $# -gt 0 ] || die "empty command line in $dir/run/$name.cmdline"
  echo "--- local-cluster: restarted $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$dir/logs/$name.log"
  "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

port_listened() { # port: some socket listens on it (IPv4 or IPv6)
  awk -v h="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

cluster_dir_or_die() {
  [ -f "$dir/$marker" ] || die "no cluster state in $dir"
  [ -f "$dir/ports" ] && [ -f "$dir/run/kube-apiserver.cmdline" ] && [ -f "$dir/bindir" ] ||
    die "$dir holds no finished 'up' (no ports, command line or bindir): cannot stop or start its apiserver"
  bindir=$(cat "$dir/bindir")
  api_port=$(sed -n 's/.*api_port=\([0-9]*\).*/\1/p' "$dir/ports")
  [ -n "$api_port" ] || die "no api_port in $dir/ports"
}

cmd_apiserver_stop() {
  kill_at_once=0
  [ "${1:-}" != --kill ] || { kill_at_once=1; shift; }
  parse_dir_args "$@"
  cluster_dir_or_die
  if ! alive "$dir/run/kube-apiserver.pid"; then
    say "kube-apiserver is not running in $dir"
    return 0
  fi
  if [ $kill_at_once = 1 ]; then
    # A crash: SIGKILL, no graceful shutdown (which drains watches and can take 15 s and more).
    pid=$(cat "$dir/run/kube-apiserver.pid")
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/run/kube-apiserver.pid"
    i=0
    while running "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    # A Go process's leader thread shows as a zombie while its other threads still tear down (and
    # hold its sockets): gone means its port is no longer listened on.
    i=0
    while port_listened "$api_port" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  else
    stop kube-apiserver
  fi
  touch "$dir/apiserver-stopped"
  say "kube-apiserver stopped (port $api_port); '$0 apiserver-start --dir $dir' starts it again"
}

cmd_apiserver_start() {
  parse_dir_args "$@"
  cluster_dir_or_die
  if alive "$dir/run/kube-apiserver.pid"; then
    say "kube-apiserver is already running in $dir"
    return 0
  fi
  # Same port as before, so clients (the kubeconfig, the operator) need no change. Connections of
  # the stopped server linger in TIME_WAIT on it, which does not keep it from binding (SO_REUSEADDR);
  # a listener would (a server still exiting: waited for, up to 10 s).
  i=0
  while port_listened "$api_port" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if port_listened "$api_port"; then
    die "another process listens on port $api_port of the stopped kube-apiserver; cannot start it on the same port"
  fi
  respawn kube-apiserver
  i=0
  while [ $i -lt 600 ]; do
    if listening "$dir/run/kube-apiserver.pid" "$api_port" && kc get --raw=/readyz >/dev/null 2>&1; then break; fi
    if ! alive "$dir/run/kube-apiserver.pid"; then
      log_tail kube-apiserver
      die "kube-apiserver exited while starting again (log above)"
    fi
    sleep 0.2
    i=$((i + 1))
  done
  [ $i -lt 600 ] || { log_tail kube-apiserver; stop kube-apiserver; die "kube-apiserver did not become ready again within 120 s"; }
  rm -f "$dir/apiserver-stopped"
  for name in kube-controller-manager kube-scheduler kwok; do
    [ -f "$dir/run/$name.cmdline" ] || continue
    alive "$dir/run/$name.pid" && continue
    say "$name exited during the outage; starting it again"
    respawn "$name"
  done
  say "kube-apiserver ready again on https://127.0.0.1:$api_port"
}

# ---------------------------------------------------------------------------------------------
# commands

parse_dir_args() {
  dir="${TMPDIR:-/tmp}/cedana-operator-cluster"
  full=0 nodes=3 watch_pid=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir=${2:?--dir needs a value}; shift 2 ;;
      --dir=*) dir=${1#--dir=}; shift ;;
      --full) full=1; shift ;;
      --nodes) nodes=${2:?--nodes needs a value}; shift 2 ;;
      --nodes=*) nodes=${1#--nodes=}; shift ;;
      --watch-pid) watch_pid=${2:?--watch-pid needs a value}; shift 2 ;;
      --watch-pid=*) watch_pid=${1#--watch-pid=}; shift ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  case "$nodes" in '' | *[!0-9]*) die "--nodes wants a number" ;; esac
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd) # absolute: it is matched against command lines
}

cmd_up() {
  parse_dir_args "$@"
  if alive "$dir/run/kube-apiserver.pid"; then
    say "already running in $dir ($(cat "$dir/mode" 2>/dev/null || echo unknown mode))"
    echo "KUBECONFIG=$dir/kubeconfig"
    return 0
  fi
  if [ -f "$dir/$marker" ]; then
    say "clearing the remains of a cluster that stopped in $dir"
    stop_all
    find "$dir" -mindepth 1 -delete
  elif [ -n "$(ls -A "$dir")" ]; then
    die "$dir is not empty and not a cluster state dir; give an empty or new --dir"
  fi
  bindir=$(cmd_build)
  chmod 700 "$dir" # it holds private keys
  touch "$dir/$marker"
  mkdir -p "$dir/logs" "$dir/run"
  # Interrupted half way: stop what has started (the state stays for down to remove).
  trap 'stop_all; exit 130' INT TERM
  taken=""
  gen_pki
  start_etcd
  start_apiserver
  if [ "$full" = 1 ]; then
    start_full
    echo "full, $nodes kwok nodes" >"$dir/mode"
  else
    echo "apiserver and etcd only" >"$dir/mode"
  fi
  # What apiserver-start needs to bring a stopped server back as it was: its port, and the exact
  # command line of each restartable server (one argument a line).
  echo "api_port=$api_port etcd_port=$etcd_port" >"$dir/ports"
  for n in kube-apiserver kube-controller-manager kube-scheduler kwok; do save_cmdline "$n"; done
  echo "$bindir" >"$dir/bindir"
  if [ -n "$watch_pid" ]; then
    # Goes down by itself once the watched process is gone (a test run killed with SIGKILL).
    # shellcheck disable=SC2016 # expanded by the inner sh
    nohup sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec sh "$2" down --dir "$3"' \
      watchdog "$watch_pid" "$self" "$dir" </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/run/watchdog.pid"
  fi
  trap - INT TERM
  say "up in $dir ($(cat "$dir/mode")): apiserver https://127.0.0.1:$api_port, etcd 127.0.0.1:$etcd_port; logs in $dir/logs"
  echo "KUBECONFIG=$dir/kubeconfig"
}

cmd_down() {
  parse_dir_args "$@"
  if [ ! -f "$dir/$marker" ]; then
    rmdir "$dir" 2>/dev/null || true # parse_dir_args may just have made it
    say "no cluster state in $dir"
    return 0
  fi
  stop_all
  rm -rf "$dir"
  say "down: stopped and removed $dir"
}

cmd_status() {
  parse_dir_args "$@"
  if [ ! -f "$dir/$marker" ]; then
    rmdir "$dir" 2>/dev/null || true
    echo "no cluster in $dir"
    return 1
  fi
  echo "cluster in $dir: $(cat "$dir/mode" 2>/dev/null || echo "not up (starting, or failed to start)")"
  [ ! -f "$dir/apiserver-stopped" ] || echo "  kube-apiserver: stopped by apiserver-stop (apiserver-start starts it again)"
  running=0
  for n in etcd kube-apiserver kube-controller-manager kube-scheduler kwok watchdog; do
    f="$dir/run/$n.pid"
    [ -f "$f" ] || continue
    if alive "$f"; then
      echo "  $n: running (pid $(cat "$f"))"
      running=1
    else
      echo "  $n: NOT running (pid file $f; log $dir/logs/$n.log)"
    fi
  done
  echo "KUBECONFIG=$dir/kubeconfig"
  [ $running = 1 ]
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  build) cmd_build ;;
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  apiserver-stop) cmd_apiserver_stop "$@" ;;
  apiserver-start) cmd_apiserver_start "$@" ;;
  pin) cmd_pin "$@" ;;
  *) die "usage: $0 build | up [--full] [--dir DIR] [--nodes N] [--watch-pid PID] | status [--dir DIR] | down [--dir DIR] | apiserver-stop [--kill] [--dir DIR] | apiserver-start [--dir DIR] | pin vX.Y.Z" ;;
esac
