#!/usr/bin/env bash
# Recompiles deploy/contracts and fails when node/chain/artifacts differ from the result.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/install-chain.sh"
node "$here/../deploy/chain/build.mjs" --check
