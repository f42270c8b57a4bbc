"""`check-config`: validate, print the effective config with secrets masked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TextIO

from node.config.loader import ConfigError, load_config
from node.config.mask import masked_config


def check_config_command(path: str | None, env: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """Exit status 0 when the config is valid, 1 with every error listed otherwise."""
    try:
        loaded = load_config(path, env)
    except ConfigError as e:
        for warning in e.warnings:
            print(f"warning: {warning}", file=err)
        for error in e.errors:
            print(f"error: {error}", file=err)
        return 1
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    print(json.dumps(masked_config(loaded.config), indent=2), file=out)
    return 0
