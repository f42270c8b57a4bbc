"""Which config values are secrets: never echoed in errors, masked in output."""

from __future__ import annotations

from typing import Any

from node.config.schema import Container, DockerCredentials, Redis, Wallet

MASK = "***"

# (struct, field) pairs whose value is a secret.
SECRET_FIELDS: frozenset[tuple[type[Any], str]] = frozenset(
    {
        (Wallet, "private_key"),
        (DockerCredentials, "password"),
        (Redis, "password"),
        (Container, "bearer"),
    }
)

# Fields whose values commonly carry secrets (API keys in container environments):
# their values are masked and never echoed, their keys are shown.
SECRET_VALUED_MAPS: frozenset[tuple[type[Any], str]] = frozenset({(Container, "env")})


def is_secret(owner: type[Any], field: str) -> bool:
    return (owner, field) in SECRET_FIELDS or (owner, field) in SECRET_VALUED_MAPS
