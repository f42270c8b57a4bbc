"""Where the node reaches a workflow container (containers.md §1).

The host depends on where the node itself runs: inside the official node image
(``RUNTIME=docker``) the host's published ports are behind
``host.docker.internal``; anywhere else they are on ``localhost``.
"""

from __future__ import annotations

import socket
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


def publish_host(spec: Container, env: Mapping[str, str]) -> str:
    """The host address a managed container's port is published on.

    Loopback by default, so workflow containers are not exposed beyond this host. A
    node that runs in Docker itself reaches them through ``host.docker.internal``
    (the Docker bridge gateway), which a loopback-only port does not answer on, so
    there the gateway address is used.
    """
    if spec.publish_host:
        return spec.publish_host
    if env.get("RUNTIME") != "docker":
        return "127.0.0.1"
    try:
        return socket.gethostbyname(DOCKER_RUNTIME_HOST)
    except OSError:
        return "0.0.0.0"  # no gateway name: publish on every address rather than be unreachable
