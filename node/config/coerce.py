"""Lax conversion of decoded JSON into the config Structs, reporting every problem.

msgspec.convert stops at the first error, so the schema is walked field by field
(using msgspec.inspect) and each scalar is converted on its own. A value that fails
is reported with its JSON path and replaced by a placeholder, so the walk goes on
and the caller gets all problems at once. Coercion follows the original node's
pydantic lax mode: "3000" -> 3000, "true"/"yes"/"1" -> True, 3000.0 -> 3000.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi

from node.config.report import Report, dict_key_path, index_path, key_path
from node.config.secret_fields import is_secret

# Validates (and may normalise) one converted field value; reports via Report.
FieldCheck = Callable[[Any, str, Report], Any]
FieldChecks = Mapping[tuple[type[Any], str], FieldCheck]

# Keys older versions of the original used; they are ignored, with a hint.
LEGACY_KEYS = {
    "log_path": "replaced by log.path in v1.1.0",
    "snapshot_sync": "moved to chain.snapshot_sync in v1.0.0",
    "chain.coordinator_address": "replaced by chain.registry_address in v1.0.0",
    "chain.rpc_ws": "never used; the node reads chain.rpc_url",
}

# pydantic's lax bool strings, which existing files may use
_BOOL_STRINGS = {
    "1": True, "on": True, "t": True, "true": True, "y": True, "yes": True,
    "0": False, "off": False, "f": False, "false": False, "n": False, "no": False,
}  # fmt: skip

_SCALARS: dict[type[mi.Type], type[Any]] = {
    mi.IntType: int,
    mi.FloatType: float,
    mi.BoolType: bool,
    mi.StrType: str,
}


class Converter:
    def __init__(self, report: Report, checks: FieldChecks) -> None:
        self._report = report
        self._checks = checks

    def struct(self, raw: object, typ: mi.StructType, path: str) -> Any:
        if not isinstance(raw, dict):
            self._report.error(path or "$", f"expected object, got {_json_type(raw)}")
            return placeholder(typ)
        values: dict[str, Any] = {}
        for field in typ.fields:
            field_path = key_path(path, field.encode_name)
            secret = is_secret(typ.cls, field.name)
            if field.encode_name not in raw:
                if field.required:
                    self._report.error(field_path, "required")
                    values[field.name] = placeholder(field.type)
                continue
            before = len(self._report.errors)
            value = self.value(raw[field.encode_name], field.type, field_path, secret)
            check = self._checks.get((typ.cls, field.name))
            if check is not None and len(self._report.errors) == before:
                value = check(value, field_path, self._report)
            values[field.name] = value
        known = {field.encode_name for field in typ.fields}
        for key in raw:
            if key not in known:
                self._warn_unknown(key_path(path, str(key)))
        return typ.cls(**values)

    def value(self, raw: object, typ: mi.Type, path: str, secret: bool) -> Any:
        if isinstance(typ, mi.StructType):
            return self.struct(raw, typ, path)
        if isinstance(typ, mi.UnionType):
            return self._optional(raw, typ, path, secret)
        if isinstance(typ, mi.VarTupleType):
            if not isinstance(raw, list):
                return self._mismatch(raw, typ, path, secret)
            return tuple(
                self.value(item, typ.item_type, index_path(path, i), secret)
                for i, item in enumerate(raw)
            )
        if isinstance(typ, mi.DictType):
            if not isinstance(raw, dict):
                return self._mismatch(raw, typ, path, secret)
            return {
                key: self.value(
                    _stringify_scalar(item) if isinstance(typ.value_type, mi.StrType) else item,
                    typ.value_type,
                    dict_key_path(path, key),
                    secret,
                )
                for key, item in raw.items()
            }
        if isinstance(typ, mi.LiteralType):
            return self._literal(raw, typ, path, secret)
        return self._scalar(raw, typ, path, secret)

    def _optional(self, raw: object, typ: mi.UnionType, path: str, secret: bool) -> Any:
        others = [t for t in typ.types if not isinstance(t, mi.NoneType)]
        if len(others) != 1 or len(others) == len(typ.types):
            raise TypeError(f"unsupported union in config schema at {path}: {typ}")
        if raw is None:
            return None
        if isinstance(others[0], mi.StructType) and not isinstance(raw, dict):
            self._mismatch(raw, typ, path, secret)
            return None
        return self.value(raw, others[0], path, secret)

    def _literal(self, raw: object, typ: mi.LiteralType, path: str, secret: bool) -> Any:
        if raw in typ.values:
            return raw
        if isinstance(raw, str) and raw.lower() in typ.values:
            return raw.lower()
        choices = ", ".join(json.dumps(v) for v in typ.values)
        self._report.error(path, f"expected one of {choices}, got {_shown(raw, secret)}")
        return typ.values[0]

    def _scalar(self, raw: object, typ: mi.Type, path: str, secret: bool) -> Any:
        target = _SCALARS.get(type(typ))
        if target is None:
            raise TypeError(f"unsupported type in config schema at {path}: {typ}")
        if target is bool and isinstance(raw, str) and raw.lower() in _BOOL_STRINGS:
            return _BOOL_STRINGS[raw.lower()]
        try:
            value = msgspec.convert(raw, target, strict=False)
        except msgspec.ValidationError:
            return self._mismatch(raw, typ, path, secret)
        if target is float and not math.isfinite(value):
            self._report.error(path, f"expected a finite number, got {_shown(raw, secret)}")
            return placeholder(typ)
        problem = _bound_problem(value, typ)
        if problem:
            self._report.error(path, f"{problem}, got {_shown(raw, secret)}")
            return placeholder(typ)
        return value

    def _mismatch(self, raw: object, typ: mi.Type, path: str, secret: bool) -> Any:
        self._report.error(path, f"expected {describe(typ)}, got {_shown(raw, secret)}")
        return placeholder(typ)

    def _warn_unknown(self, path: str) -> None:
        hint = LEGACY_KEYS.get(path)
        suffix = f" ({hint})" if hint else ""
        self._report.warn(path, f"unknown key, ignored{suffix}")


def _bound_problem(value: float, typ: mi.Type) -> str | None:
    if not isinstance(typ, mi.IntType | mi.FloatType):
        return None
    if typ.ge is not None and typ.le is not None and not typ.ge <= value <= typ.le:
        return f"must be between {typ.ge} and {typ.le}"
    if typ.gt is not None and not value > typ.gt:
        return "must be positive" if typ.gt == 0 else f"must be greater than {typ.gt}"
    if typ.ge is not None and not value >= typ.ge:
        return "must not be negative" if typ.ge == 0 else f"must be at least {typ.ge}"
    return None


def describe(typ: mi.Type) -> str:
    if isinstance(typ, mi.StructType | mi.DictType):
        return "object"
    if isinstance(typ, mi.VarTupleType):
        return "array"
    if isinstance(typ, mi.UnionType):
        return " or ".join(describe(t) for t in typ.types)
    if isinstance(typ, mi.NoneType):
        return "null"
    target = _SCALARS.get(type(typ))
    return target.__name__ if target else repr(typ)


def placeholder(typ: mi.Type) -> Any:
    """A stand-in of the right type for an invalid value, so the walk can go on."""
    if isinstance(typ, mi.StructType):
        required = {f.name: placeholder(f.type) for f in typ.fields if f.required}
        return typ.cls(**required)
    if isinstance(typ, mi.UnionType):
        return None
    if isinstance(typ, mi.VarTupleType):
        return ()
    if isinstance(typ, mi.DictType):
        return {}
    if isinstance(typ, mi.LiteralType):
        return typ.values[0]
    target = _SCALARS.get(type(typ))
    return target() if target else None


def _stringify_scalar(raw: object) -> object:
    """Numbers and bools in string maps (container env) become their JSON text."""
    if isinstance(raw, bool | int | float):
        return json.dumps(raw)
    return raw


def _json_type(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "bool"
    if isinstance(raw, dict):
        return "object"
    if isinstance(raw, list):
        return "array"
    return type(raw).__name__


def _shown(raw: object, secret: bool) -> str:
    """The offending value for an error message; for secrets only its JSON type."""
    if secret or isinstance(raw, dict | list) or raw is None:
        return _json_type(raw)
    text = json.dumps(raw)
    return text if len(text) <= 60 else text[:57] + "..."
