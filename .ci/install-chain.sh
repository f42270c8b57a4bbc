#!/usr/bin/env bash
# Installs the pinned chain tools (solcjs, anvil) into deploy/chain/node_modules.
# Idempotent: does nothing when the lock file's versions are already installed.
set -euo pipefail
cd "$(dirname "$0")/../deploy/chain"

installed() {
  [ -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ] || return 1
  [ -f node_modules/solc/soljson.js ] || return 1
  # npm rewrites this hidden lock when it installs; if it matches, the tree is current.
  [ -f node_modules/.package-lock.json ] || return 1
  [ package-lock.json -ot node_modules/.package-lock.json ] || return 1
}

if installed; then
  echo "chain tools already installed"
else
  # --ignore-scripts: the anvil wrapper's postinstall only checks the binary, which
  # ships inside the platform package.
  npm ci --no-audit --no-fund --ignore-scripts
fi
node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil --version | head -1
