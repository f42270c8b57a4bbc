"""Reads config.json, fills secrets from the environment and validates it whole.

Path: the explicit argument, else INFERNET_CONFIG_PATH, else "config.json".

Secrets may come from environment variables instead of the file (the
environment wins; empty variables count as unset):

* INFERNET_PRIVATE_KEY      -> chain.wallet.private_key (creates chain.wallet if missing)
* INFERNET_DOCKER_USERNAME  -> docker.username
* INFERNET_DOCKER_PASSWORD  -> docker.password
* INFERNET_REDIS_PASSWORD   -> redis.password
* INFERNET_BEARER_<ID>      -> containers[i].bearer of the container whose id, upper-cased
  with every non-alphanumeric character replaced by "_", is <ID>
  (id "hello-world" -> INFERNET_BEARER_HELLO_WORLD)

Every problem is reported at once as `<json path>: <message>`; values at secret
paths are never echoed. Unknown keys are accepted and returned as warnings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec.inspect as mi

from node.config.coerce import Converter
from node.config.environment import apply_environment
from node.config.formats import FIELD_CHECKS
from node.config.report import Report
from node.config.rules import check_cross_fields
from node.config.schema import Config

CONFIG_PATH_VAR = "INFERNET_CONFIG_PATH"
DEFAULT_CONFIG_PATH = "config.json"


def _config_type() -> mi.StructType:
    typ = mi.type_info(Config)
    if not isinstance(typ, mi.StructType):
        raise TypeError("Config must be a msgspec Struct")
    return typ


_CONFIG_TYPE = _config_type()


class ConfigError(Exception):
    """The config cannot be used; `errors` lists every problem found."""

    def __init__(
        self, errors: tuple[str, ...], warnings: tuple[str, ...] = (), path: str = ""
    ) -> None:
        self.errors = errors
        self.warnings = warnings
        self.path = path
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" {self.path}" if self.path else ""
        count = f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''}"
        return f"invalid config{where} ({count}):\n" + "\n".join(f"  {e}" for e in self.errors)


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    warnings: tuple[str, ...]
    path: str


def parse_config(raw: object, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Validate an already-decoded JSON document."""
    return _build(raw, os.environ if env is None else env, path="")


def load_config(path: str | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    environment = os.environ if env is None else env
    resolved = path or environment.get(CONFIG_PATH_VAR) or DEFAULT_CONFIG_PATH
    return _build(_read_json(resolved), environment, path=resolved)


def _build(raw: object, env: Mapping[str, str], path: str) -> LoadedConfig:
    filled, sources = apply_environment(raw, env)
    report = Report(env_sources=sources)
    config: Config = Converter(report, FIELD_CHECKS).struct(filled, _CONFIG_TYPE, "")
    check_cross_fields(config, report)
    if report.errors:
        raise ConfigError(tuple(report.errors), tuple(report.warnings), path)
    return LoadedConfig(config=config, warnings=tuple(report.warnings), path=path)


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> object:
    raise _NotJson(f"{name} is not valid JSON")


def _read_json(path: str) -> object:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigError((f"{path}: file not found",), path=path) from None
    except OSError as e:
        raise ConfigError((f"{path}: cannot read: {e.strerror or e}",), path=path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError((f"{path}: not UTF-8 text (byte {e.start})",), path=path) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        message = f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}"
        raise ConfigError((message,), path=path) from None
    except ValueError as e:  # NaN/Infinity, or an integer with too many digits
        raise ConfigError((f"{path}: invalid JSON: {e}",), path=path) from None
