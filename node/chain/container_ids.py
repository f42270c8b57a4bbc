"""Subscription ``containerId`` hashes and their reverse lookup (onchain.md §2).

``containerId = keccak256(abi.encode(string ",".join(ids)))``: the ABI encoding
of the string is hashed, not its raw bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

# With up to this many configured containers every ordered selection is
# indexed (5 ids -> 325 hashes); with more, only chains up to
# ``LONG_LIST_MAX_CHAIN`` long are (20 ids -> 7,220 hashes), because the full
# table grows like n!·e and is unusable beyond ~9 ids.
FULL_TABLE_MAX_IDS = 5
LONG_LIST_MAX_CHAIN = 3


def container_id_hash(ids: Sequence[str]) -> bytes:
    """The 32-byte ``containerId`` of a container chain (in execution order)."""
    return keccak(abi_encode(["string"], [",".join(ids)]))


def parse_container_hash(value: str) -> bytes | None:
    """A ``0x``-optional 64-digit hex string as 32 bytes; None if malformed."""
    digits = value[2:] if value[:2].lower() == "0x" else value
    if len(digits) != 64:
        return None
    try:
        return bytes.fromhex(digits)
    except ValueError:
        return None


class ContainerIdResolver:
    """Maps ``containerId`` hashes back to the chains this node can run.

    The table is built once from the configured ids. It holds every ordered
    selection of distinct ids (every permutation of every non-empty subset)
    when there are at most ``FULL_TABLE_MAX_IDS`` ids; otherwise only chains
    of at most ``LONG_LIST_MAX_CHAIN`` containers, so longer chains over a long
    container list are not recognised. ``max_chain_length`` overrides the cap.
    Ids containing ``","`` cannot be told apart once joined and are left out.
    """

    def __init__(self, ids: Iterable[str], *, max_chain_length: int | None = None) -> None:
        unique = tuple(dict.fromkeys(i for i in ids if i and "," not in i))
        if max_chain_length is None:
            full = len(unique) <= FULL_TABLE_MAX_IDS
            max_chain_length = len(unique) if full else LONG_LIST_MAX_CHAIN
        self.max_chain_length = min(max_chain_length, len(unique))
        self._table: dict[bytes, tuple[str, ...]] = {}
        for length in range(1, self.max_chain_length + 1):
            for chain in itertools.permutations(unique, length):
                self._table[container_id_hash(chain)] = chain

    def __len__(self) -> int:
        return len(self._table)

    def resolve(self, hash32: bytes) -> tuple[str, ...] | None:
        """The chain whose ``containerId`` is ``hash32``, or None if not ours."""
        return self._table.get(bytes(hash32))

    def resolve_hex(self, value: str) -> tuple[str, ...] | None:
        """Like ``resolve`` for a ``0x``-optional hex string (None if malformed)."""
        hash32 = parse_container_hash(value)
        return None if hash32 is None else self.resolve(hash32)
