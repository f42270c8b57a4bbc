"""Where the node reaches a workflow container (containers.md §1).

The host depends on where the node itself runs: inside the official node image
(``RUNTIME=docker``) the host's published ports are behind
``host.docker.internal``; anywhere else they are on ``localhost``.
"""

from __future__ import annotations

from collections.abc import Mapping

from node.config.schema import Container

DOCKER_RUNTIME_HOST = "host.docker.internal"
LOCAL_HOST = "localhost"


def container_host(env: Mapping[str, str]) -> str:
    """The host name for a container's published port, given the node's environment."""
    return DOCKER_RUNTIME_HOST if env.get("RUNTIME") == "docker" else LOCAL_HOST


def container_base_url(spec: Container, env: Mapping[str, str]) -> str:
    """Base URL of a container's service: its configured ``url`` or ``http://host:port``."""
    if spec.url:
        return spec.url.rstrip("/")
    return f"http://{container_host(env)}:{spec.port}"
