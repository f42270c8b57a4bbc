#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root) to a running node with an example workflow
# beside a local dev chain. Ctrl-C stops the node (it drains, then stops its containers)
# and the dev chain.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install.sh                 # Debian packages, .venv with the node, npm chain tools
bash .ci/start-dockerd.sh           # a Docker engine, if none answers
bash .ci/build-test-images.sh       # the example workflow image (built locally, no registry)

work=.quickstart
mkdir -p "$work"
# Each run starts a new dev chain, so what the node kept about the last one (chain cursor,
# claims, wallet transactions, jobs) no longer applies.
rm -rf "$work/chain.json" "$work/data"
.venv/bin/infernet-node devchain --write-config "$work/chain.json" >"$work/devchain.log" 2>&1 &
devchain=$!
trap 'kill "$devchain" 2>/dev/null || true; wait "$devchain" 2>/dev/null || true' EXIT

for _ in $(seq 1 600); do
    [ -s "$work/chain.json" ] && break
    kill -0 "$devchain" 2>/dev/null || { cat "$work/devchain.log" >&2; exit 1; }
    sleep 0.2
done
[ -s "$work/chain.json" ] || { echo "dev chain did not come up" >&2; exit 1; }

.venv/bin/python deploy/quickstart_config.py config.sample.json "$work/chain.json" \
    >"$work/config.json"
echo "quickstart: node config in $work/config.json; REST API on http://127.0.0.1:4000"
echo "quickstart: off-chain, try  .venv/bin/infernet-node jobs submit hello-world '{\"hello\": \"world\"}' --wait 10"
echo "quickstart: on-chain,  try  .venv/bin/python deploy/quickstart_request.py 'hello chain'"
.venv/bin/infernet-node run --config "$work/config.json"
