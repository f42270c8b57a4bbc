"""The effective config as plain JSON-able data, with every secret masked."""

from __future__ import annotations

from typing import Any

import msgspec

from node.config.schema import Config
from node.config.secret_fields import MASK, SECRET_FIELDS, SECRET_VALUED_MAPS


def _masked(value: Any) -> Any:
    return MASK if value else value


def _mask_struct(struct: msgspec.Struct) -> dict[str, Any]:
    out: dict[str, Any] = {}
    owner = type(struct)
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if (owner, name) in SECRET_FIELDS:
            out[name] = _masked(value)
        elif (owner, name) in SECRET_VALUED_MAPS:
            out[name] = {key: _masked(item) for key, item in value.items()}
        else:
            out[name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, msgspec.Struct):
        return _mask_struct(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def masked_config(config: Config) -> dict[str, Any]:
    """Secrets that are set become "***"; unset ones stay empty/null so it is
    visible that they are missing. Container env values are masked too."""
    return _mask_struct(config)
