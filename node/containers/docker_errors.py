"""Errors the Docker adapter raises, each with a message fit to show an operator."""

from __future__ import annotations


class ImageUnavailable(Exception):
    """An image could neither be pulled nor found locally."""

    def __init__(self, image: str, reason: str) -> None:
        super().__init__(f"image {image!r} is unavailable: {reason}")
        self.image = image
        self.reason = reason


class ContainerStartError(Exception):
    """A managed container could not be created, started or made ready."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"container {name!r}: {reason}")
        self.name = name
        self.reason = reason


class DockerEngineUnavailable(Exception):
    """The Docker engine did not answer."""
