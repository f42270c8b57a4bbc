"""Merge the sample config with the dev chain's fragment (used by deploy/quickstart.sh)."""

from __future__ import annotations

import json
import sys


def merged(sample: dict, fragment: dict) -> dict:
    config = dict(sample)
    chain = dict(config.get("chain") or {})
    chain["rpc_url"] = fragment["rpc_url"]
    chain["registry_address"] = fragment["registry_address"]
    wallet = dict(chain.get("wallet") or {})
    wallet["private_key"] = fragment["private_key"]
    chain["wallet"] = wallet
    wallet["payment_address"] = fragment.get("payment_address")
    chain["trail_head_blocks"] = 0
    chain["enabled"] = True
    config["chain"] = chain
    config["store"] = {"backend": "sqlite", "data_dir": ".quickstart/data"}
    config["log"] = {**config.get("log", {}), "path": ".quickstart/infernet_node.log"}
    return config


def main() -> int:
    sample_path, fragment_path = sys.argv[1], sys.argv[2]
    with open(sample_path) as f:
        sample = json.load(f)
    with open(fragment_path) as f:
        fragment = json.load(f)
    json.dump(merged(sample, fragment), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
