"""Secrets taken from environment variables instead of the file.

Environment values win over the file; empty variables count as unset.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

PRIVATE_KEY_VAR = "INFERNET_PRIVATE_KEY"
DOCKER_USERNAME_VAR = "INFERNET_DOCKER_USERNAME"
DOCKER_PASSWORD_VAR = "INFERNET_DOCKER_PASSWORD"
REDIS_PASSWORD_VAR = "INFERNET_REDIS_PASSWORD"
BEARER_VAR_PREFIX = "INFERNET_BEARER_"


def bearer_var(container_id: str) -> str:
    """INFERNET_BEARER_<ID>: the id upper-cased, every non-alphanumeric char as '_'."""
    return BEARER_VAR_PREFIX + re.sub(r"[^A-Z0-9]", "_", container_id.upper())


def _section(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The object at parent[key], created if missing or null; None if it is not an object."""
    if parent.get(key) is None:
        parent[key] = {}
    section = parent[key]
    return section if isinstance(section, dict) else None


def apply_environment(raw: object, env: Mapping[str, str]) -> tuple[object, dict[str, str]]:
    """A copy of the decoded file with secrets from `env` filled in, and a map from
    each filled JSON path to the variable it came from."""
    if not isinstance(raw, dict):
        return raw, {}
    result: dict[str, Any] = copy.deepcopy(raw)
    sources: dict[str, str] = {}

    def put(section: dict[str, Any] | None, key: str, path: str, var: str) -> None:
        if env.get(var) and section is not None:
            section[key] = env[var]
            sources[path] = var

    if env.get(PRIVATE_KEY_VAR):
        chain = _section(result, "chain")
        wallet = _section(chain, "wallet") if chain is not None else None
        put(wallet, "private_key", "chain.wallet.private_key", PRIVATE_KEY_VAR)
    if env.get(DOCKER_USERNAME_VAR) or env.get(DOCKER_PASSWORD_VAR):
        docker = _section(result, "docker")
        put(docker, "username", "docker.username", DOCKER_USERNAME_VAR)
        put(docker, "password", "docker.password", DOCKER_PASSWORD_VAR)
    if env.get(REDIS_PASSWORD_VAR):
        put(_section(result, "redis"), "password", "redis.password", REDIS_PASSWORD_VAR)
    containers = result.get("containers")
    if isinstance(containers, list):
        for i, container in enumerate(containers):
            if isinstance(container, dict) and isinstance(container.get("id"), str):
                put(container, "bearer", f"containers[{i}].bearer", bearer_var(container["id"]))
    return result, sources
