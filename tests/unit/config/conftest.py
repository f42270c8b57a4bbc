from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).parents[3]

# anvil's well-known account #1 key: a valid, public test key
TEST_KEY = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
TEST_ADDRESS = "0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C"


@pytest.fixture
def original_sample() -> dict[str, Any]:
    """A fresh copy of the original node's sample config, for tests to modify."""
    with open(FIXTURES / "original.sample.json") as f:
        return copy.deepcopy(json.load(f))


def container(**fields: Any) -> dict[str, Any]:
    """A minimal valid managed container entry."""
    return {"id": "c", "image": "img:latest", **fields}
