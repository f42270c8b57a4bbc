"""Collects every problem found in a config file, each tagged with its JSON path."""

from __future__ import annotations

import json


def key_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def index_path(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


def dict_key_path(parent: str, key: str) -> str:
    return f"{parent}[{json.dumps(key)}]"


class Report:
    """Errors and warnings as `<json path>: <message>` lines, in the order found.

    Paths that failed are remembered so that later cross-field rules can skip
    values that are only placeholders.
    """

    def __init__(self, env_sources: dict[str, str] | None = None) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._failed: set[str] = set()
        # path -> environment variable the value came from, named in its errors
        self._env_sources = env_sources or {}

    def error(self, path: str, message: str) -> None:
        self._failed.add(path)
        self.errors.append(f"{path}: {message}{self._source(path)}")

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}{self._source(path)}")

    def failed(self, path: str) -> bool:
        """True if the value at `path`, or anything containing it, was invalid."""
        return any(
            path == bad or path.startswith(bad + ".") or path.startswith(bad + "[")
            for bad in self._failed
        )

    def _source(self, path: str) -> str:
        var = self._env_sources.get(path)
        return f" (from environment variable {var})" if var else ""
