#!/bin/sh
# promtool (Prometheus's rule checker and rule unit-test runner), built from its Go module and cached
# per version outside the repo, the way scripts/local-cluster.sh builds the control plane.
#
#   promtool.sh build          build if needed (progress on stderr); print the path of the binary
#   promtool.sh [ARGS...]      build if needed, then run promtool ARGS (e.g. check rules FILE)
#
# The module is pinned here. Prometheus 3.x publishes its Go module as v0.3XX.Y for release v3.XX.Y.
set -eu

module=github.com/prometheus/prometheus
version=v0.316.0
release=v3.16.0 # the Prometheus release of that module version: the cache key and promtool --version
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/cedana-operator"

say() { echo "promtool: $*" >&2; }
die() { say "$*"; exit 1; }

build() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH (promtool is built from source)"
  # The machine's toolchain, never one fetched by go; a static binary like upstream's.
  GOTOOLCHAIN=local CGO_ENABLED=0
  export GOTOOLCHAIN CGO_ENABLED
  # Rule checks and rule tests need no service discovery: remove_all_sd drops its 25 cloud SDKs
  # (Prometheus's own build tag), which halves the build.
  tags=remove_all_sd
  ldflags="-s -w -X github.com/prometheus/common/version.Version=${release#v} -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.BuildUser=cedana-operator"
  # Everything that decides what the binary is goes into the cache key.
  key=$({
    go version
    echo "$module@$version|$tags|$ldflags"
  } | sha256sum | cut -c1-12)
  dir="$cache_root/promtool-$release-$key"
  if [ -x "$dir/bin/promtool" ]; then
    echo "$dir/bin/promtool"
    return 0
  fi
  mkdir -p "$cache_root"
  # Built aside and renamed into place in one step: an interrupted build leaves no half cache.
  tmp=$(mktemp -d "$cache_root/.build-promtool-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
  start=$(date +%s)
  say "building promtool $release ($module@$version) into $cache_root; from a cold Go cache this takes a few minutes"
  # go install pkg@version: the module's own go.mod and the checksum database decide the dependencies.
  GOBIN="$tmp/bin" go install -trimpath -tags "$tags" -ldflags "$ldflags" "$module/cmd/promtool@$version" >&2
  [ -x "$tmp/bin/promtool" ] || die "the build finished without $tmp/bin/promtool"
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    [ -x "$dir/bin/promtool" ] || die "could not move the build into $dir"
    rm -rf "$tmp" # a concurrent build of the same key finished first
  fi
  trap - EXIT INT TERM
  for old in "$cache_root/promtool-"*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
  done
  say "built in $(($(date +%s) - start))s: $dir/bin/promtool"
  echo "$dir/bin/promtool"
}

case "${1:-}" in
  build) build ;;
  '') die "usage: $0 build | ARGS... (run promtool ARGS)" ;;
  *)
    bin=$(build)
    exec "$bin" "$@"
    ;;
esac
