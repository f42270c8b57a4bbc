"""Image pulls: always try the registry first, fall back to a local copy (containers.md §10)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import docker
import requests
from docker.errors import DockerException, ImageNotFound
from docker.utils import parse_repository_tag

from node.config.schema import DockerCredentials
from node.containers.docker_errors import ImageUnavailable

log = logging.getLogger(__name__)

ImageSource = Literal["pulled", "local"]


class PullFailed(Exception):
    """The engine reported an error while pulling."""


def auth_config(credentials: DockerCredentials | None) -> dict[str, str] | None:
    if credentials is None:
        return None
    config = {"username": credentials.username, "password": credentials.password}
    if credentials.registry:
        config["serveraddress"] = credentials.registry
    return config


def progress_text(line: Mapping[str, Any]) -> str:
    """One readable line from a pull progress record."""
    parts = [str(line[key]) for key in ("id", "status", "progress") if line.get(key)]
    return " ".join(parts)


def error_text(exc: BaseException) -> str:
    """The engine's own explanation when there is one (shorter than the full HTTP error)."""
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc) or type(exc).__name__


def pull(
    client: docker.DockerClient,
    image: str,
    credentials: DockerCredentials | None,
    progress: Callable[[str], None] | None,
) -> None:
    """Pull ``image``; raise PullFailed (or a Docker/HTTP error) when the engine could not."""
    repository, tag = parse_repository_tag(image)
    lines: Iterable[Mapping[str, Any]] = client.api.pull(
        repository, tag=tag, stream=True, decode=True, auth_config=auth_config(credentials)
    )
    # Errors after the stream has started arrive as records, not as an HTTP status.
    for line in lines:
        if line.get("error"):
            raise PullFailed(str(line["error"]))
        text = progress_text(line)
        if text:
            log.debug("image pull progress", extra={"image": image, "progress": text})
            if progress is not None:
                progress(text)


def ensure_image(
    client: docker.DockerClient,
    image: str,
    credentials: DockerCredentials | None,
    progress: Callable[[str], None] | None = None,
) -> ImageSource:
    """Make ``image`` available: pulled if possible, else the local copy, else ImageUnavailable."""
    try:
        pull(client, image, credentials, progress)
    except (PullFailed, DockerException, requests.RequestException) as exc:
        pull_error = error_text(exc)
    else:
        log.info("image pulled", extra={"image": image})
        return "pulled"
    try:
        client.images.get(image)
    except ImageNotFound:
        raise ImageUnavailable(
            image, f"pull failed ({pull_error}) and no local copy exists"
        ) from None
    except DockerException as exc:
        raise ImageUnavailable(
            image,
            f"pull failed ({pull_error}) and the local copy could not be checked"
            f" ({error_text(exc)})",
        ) from exc
    log.warning(
        "image pull failed; using the local copy",
        extra={"image": image, "error": pull_error},
    )
    return "local"
