#!/usr/bin/env bash
# Installs everything the node, its tests and the dev chain need on a Debian 12 machine:
# Debian packages, a Python virtualenv in .venv with the project and its test extras,
# and the pinned npm chain tools. Idempotent; run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(docker.io redis-server debootstrap busybox-static docker-registry apache2-utils
              docker-compose python3-venv python3-pip git procps iproute2)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

bash .ci/install-chain.sh >/dev/null
echo "install: done"
