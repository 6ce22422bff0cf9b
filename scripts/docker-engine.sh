#!/bin/sh
# A Docker engine of the image tier's own (test/image/): Debian's docker.io, started as root with no
# bridge, no iptables or masquerading rules, on a socket of its own. Containers use the host's network.
#
#   docker-engine.sh install                   docker.io and mmdebstrap from Debian when missing (root)
#   docker-engine.sh up --dir DIR [--watch-pid PID]
#                                              start; the last stdout line is DOCKER_HOST=unix://...
#   docker-engine.sh status --dir DIR          what runs
#   docker-engine.sh down --dir DIR            stop what up started (by pid) and remove DIR
#
# An engine that already runs (DOCKER_HOST, or /var/run/docker.sock answering) is used as it is and
# never stopped. Otherwise dockerd gets DIR for its socket, pid files, logs and exec root (short: a
# unix socket path has at most 107 bytes), and images and layers go to a data root cached outside
# the repo, ${XDG_CACHE_HOME:-~/.cache}/cedana-operator/docker-<dockerd version>/, so the base image
# and unchanged build steps are reused. Only one engine at a time may use it (a lock): a second
# run's engine gets a data root in DIR, thrown away with it. --watch-pid takes the engine down by
# itself once that process is gone.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
self="$repo/scripts/docker-engine.sh"
# alive, running (the pid checks)
. "$repo/scripts/processes.sh"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/cedana-operator"
marker=.cedana-docker-engine # in every state dir: down removes only directories that carry it

say() { echo "docker-engine: $*" >&2; }
die() { say "$*"; exit 1; }

cmd_install() {
  missing=""
  command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
  command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
  [ -n "$missing" ] || return 0
  [ "$(id -u)" = 0 ] || die "installing$missing from Debian needs root (or install them yourself)"
  command -v apt-get >/dev/null 2>&1 || die "no apt-get here: install$missing yourself"
  say "installing$missing from Debian"
  apt-get update -qq >&2
  # shellcheck disable=SC2086 # the list splits on purpose
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

# ---------------------------------------------------------------------------------------------
# processes: pid files, checked against the state dir (alive and running: scripts/processes.sh)

stop_pid() { # pid file, seconds to wait after SIGTERM
  alive "$1" || { rm -f "$1"; return 0; }
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  t=0
  while running "$pid" && [ $t -lt $(($2 * 10)) ]; do
    sleep 0.1
    t=$((t + 1))
  done
  if running "$pid"; then
    say "pid $pid did not stop on SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# dockerd stops its containers (each within its own stop timeout) and its containerd on SIGTERM.
stop_all() {
  stop_pid "$dir/run/watchdog.pid" 2
  stop_pid "$dir/run/dockerd.pid" 40
  stop_pid "$dir/exec/containerd/containerd.pid" 10
  # After a SIGKILL only: what is still mounted under the state dir.
  awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

dk() { docker -H "unix://$dir/docker.sock" "$@"; }

answers() { # DOCKER_HOST value
  DOCKER_HOST=$1 timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

parse_args() {
  dir="" watch_pid=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir=${2:?--dir needs a value}; shift 2 ;;
      --dir=*) dir=${1#--dir=}; shift ;;
      --watch-pid) watch_pid=${2:?--watch-pid needs a value}; shift 2 ;;
      --watch-pid=*) watch_pid=${1#--watch-pid=}; shift ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [ -n "$dir" ] || die "--dir is required"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd) # absolute: it is matched against command lines
}

cmd_up() {
  parse_args "$@"
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH (sh scripts/docker-engine.sh install)"
  if [ -n "${DOCKER_HOST:-}" ]; then
    answers "$DOCKER_HOST" || die "DOCKER_HOST=$DOCKER_HOST does not answer"
    touch "$dir/$marker"
    echo external >"$dir/mode"
    say "using the engine at DOCKER_HOST=$DOCKER_HOST"
    echo "DOCKER_HOST=$DOCKER_HOST"
    return 0
  fi
  if [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then
    touch "$dir/$marker"
    echo external >"$dir/mode"
    say "using the engine at /var/run/docker.sock"
    echo "DOCKER_HOST=unix:///var/run/docker.sock"
    return 0
  fi
  if alive "$dir/run/dockerd.pid"; then
    say "already running in $dir"
    echo "DOCKER_HOST=unix://$dir/docker.sock"
    return 0
  fi
  [ ! -f "$dir/$marker" ] || { stop_all; find "$dir" -mindepth 1 -delete; }
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty and not an engine state dir; give an empty or new --dir"
  command -v dockerd >/dev/null 2>&1 || die "dockerd is not installed (sh scripts/docker-engine.sh install, as root, installs Debian's docker.io)"
  [ "$(id -u)" = 0 ] || die "dockerd needs root (uid $(id -u) here)"
  [ ${#dir} -le 60 ] || die "--dir $dir is too long for the engine's unix sockets (60 characters at most)"
  touch "$dir/$marker"
  mkdir -p "$dir/run" "$dir/logs" "$dir/exec"
  echo '{}' >"$dir/daemon.json" # not /etc/docker/daemon.json: nothing of a system engine's settings

  version=$(dockerd --version | sed -n 's/^Docker version \([^,]*\),.*/\1/p' | tr -c 'A-Za-z0-9.\n' '-')
  cache="$cache_root/docker-${version:-unknown}"
  mkdir -p "$cache"
  # The lock on the cached data root is held by dockerd itself (fd 9, inherited) for as long as it runs.
  exec 9>"$cache/lock"
  if flock -n 9; then
    data="$cache/data"
  else
    data="$dir/data"
    say "another engine uses $cache/data; this one gets a data root of its own in $dir"
  fi
  echo "$data" >"$dir/data-root"
  # Its own containerd namespace: should a system containerd be there, dockerd uses it.
  dockerd --bridge=none --iptables=false --ip-masq=false --ip6tables=false \
    --data-root "$data" --exec-root "$dir/exec" --pidfile "$dir/run/dockerd-self.pid" \
    -H "unix://$dir/docker.sock" --config-file "$dir/daemon.json" \
    --containerd-namespace cedana-operator-tests --containerd-plugins-namespace cedana-operator-tests-plugins \
    --log-level warn </dev/null >"$dir/logs/dockerd.log" 2>&1 &
  echo $! >"$dir/run/dockerd.pid"
  exec 9>&-
  trap 'stop_all; exit 130' INT TERM
  i=0
  until dk version >/dev/null 2>&1; do
    if ! alive "$dir/run/dockerd.pid"; then
      say "last lines of $dir/logs/dockerd.log:"
      tail -n 20 "$dir/logs/dockerd.log" >&2
      why=$(grep -E 'level=(error|fatal)|failed to start' "$dir/logs/dockerd.log" | tail -n 1 | sed 's/.*msg="\([^"]*\)".*/\1/')
      stop_all
      die "dockerd exited: ${why:-see its log above}"
    fi
    [ $i -lt 600 ] || { stop_all; die "dockerd did not answer on $dir/docker.sock within 60 s"; }
    sleep 0.1
    i=$((i + 1))
  done
  # Left over from a run that was killed: stopped containers, and images no tag or build needs.
  dk container prune -f >/dev/null 2>&1 || true
  dk image prune -f --filter until=24h >/dev/null 2>&1 || true # recent ones are the build cache
  if [ -n "$watch_pid" ]; then
    # shellcheck disable=SC2016 # expanded by the inner sh
    nohup sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec sh "$2" down --dir "$3"' \
      watchdog "$watch_pid" "$self" "$dir" </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/run/watchdog.pid"
  fi
  trap - INT TERM
  echo own >"$dir/mode"
  say "up: dockerd $version (pid $(cat "$dir/run/dockerd.pid")), data root $data; log $dir/logs/dockerd.log"
  echo "DOCKER_HOST=unix://$dir/docker.sock"
}

cmd_down() {
  parse_args "$@"
  if [ ! -f "$dir/$marker" ]; then
    rmdir "$dir" 2>/dev/null || true
    say "no engine state in $dir"
    return 0
  fi
  if [ "$(cat "$dir/mode" 2>/dev/null)" = external ]; then
    rm -rf "$dir"
    return 0
  fi
  stop_all
  rm -rf "$dir"
  say "down: stopped and removed $dir"
}

cmd_status() {
  parse_args "$@"
  [ -f "$dir/$marker" ] || { rmdir "$dir" 2>/dev/null || true; echo "no engine in $dir"; return 1; }
  if [ "$(cat "$dir/mode" 2>/dev/null)" = external ]; then echo "using an engine this script did not start"; return 0; fi
  if alive "$dir/run/dockerd.pid"; then
    echo "dockerd: running (pid $(cat "$dir/run/dockerd.pid")), data root $(cat "$dir/data-root")"
    echo "DOCKER_HOST=unix://$dir/docker.sock"
  else
    echo "dockerd: NOT running (log $dir/logs/dockerd.log)"
    return 1
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  install) cmd_install ;;
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  *) die "usage: $0 install | up --dir DIR [--watch-pid PID] | status --dir DIR | down --dir DIR" ;;
esac
