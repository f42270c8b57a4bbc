"""Which config values are secrets: never echoed in errors, masked in output."""

from __future__ import annotations

from typing import Any

from node.config.schema import Chain, Config, Container, DockerCredentials, Redis, Wallet

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

# Objects holding a secret: a wrongly typed value there (say, a bare key string
# written where the wallet object belongs) is not echoed either.
_SECRET_HOLDERS: frozenset[tuple[type[Any], str]] = frozenset(
    {(Config, "docker"), (Chain, "wallet")}
)


def is_secret(owner: type[Any], field: str) -> bool:
    """True if errors about this field must not echo its value."""
    pair = (owner, field)
    return pair in SECRET_FIELDS or pair in SECRET_VALUED_MAPS or pair in _SECRET_HOLDERS
