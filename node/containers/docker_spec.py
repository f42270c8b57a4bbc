"""How a configured container maps onto Docker: labels, config hash and create arguments.

The config hash covers every setting that shapes the running container, plus
the image id, so that a changed config or a newly pulled image leads to a
fresh container instead of silently keeping the old one (the original node's
quirk, containers.md §10).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

from docker.types import DeviceRequest

from node.config.schema import Container
from node.containers.docker_errors import ContainerStartError

# Where a port is published when nobody resolved it (node.containers.addressing does).
LOOPBACK = "127.0.0.1"
LABEL_MANAGED = "infernet-node.managed"
LABEL_NODE = "infernet-node.node"
LABEL_CONFIG_HASH = "infernet-node.config-hash"


def config_hash(spec: Container, image_id: str) -> str:
    settings = {
        "image": spec.image,
        "image_id": image_id,
        "command": spec.command,
        "env": spec.env,
        "publish_host": spec.publish_host or LOOPBACK,
        "port": spec.port,
        "container_port": spec.container_port,
        "volumes": list(spec.volumes),
        "gpu": spec.gpu,
    }
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def managed_labels(node_id: str) -> dict[str, str]:
    return {LABEL_MANAGED: "true", LABEL_NODE: node_id}


def managed_label_filter(node_id: str) -> list[str]:
    """Docker ``label`` filter selecting this node's containers (entries are ANDed)."""
    return [f"{key}={value}" for key, value in managed_labels(node_id).items()]


def create_kwargs(spec: Container, node_id: str, digest: str) -> dict[str, Any]:
    """Arguments for ``client.containers.create`` (restarts are the node's job, not Docker's)."""
    try:
        command = shlex.split(spec.command)
    except ValueError as exc:
        raise ContainerStartError(spec.id, f"field 'command' cannot be split: {exc}") from exc
    return {
        "image": spec.image,
        "command": command or None,
        "name": spec.id,
        "labels": {**managed_labels(node_id), LABEL_CONFIG_HASH: digest},
        "environment": dict(spec.env),
        "ports": {f"{spec.container_port}/tcp": (spec.publish_host or LOOPBACK, spec.port)},
        "volumes": list(spec.volumes),
        "device_requests": (
            [DeviceRequest(count=-1, capabilities=[["gpu"]])] if spec.gpu else None
        ),
        "restart_policy": {"Name": "no"},
    }
