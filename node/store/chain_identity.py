"""Which chain the chain database belongs to.

Everything in ``chain.sqlite3`` (sync cursor, block hashes, tracked
subscriptions, interval claims, wallet transactions and nonces) describes one
chain. Pointed at another chain (another network, or a dev chain started
afresh, where subscription 1 is a different request and the wallet's nonce is
back to 0), that state would make the node skip intervals it never served and
fill nonce "holes" that do not exist. So the file records the chain id and the
hash of block 0; when either differs at start, the old file is set aside
(renamed, never deleted) and the node starts with an empty one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import msgspec

from node.store.chain_db import ChainDb

log = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS chain_identity (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    chain_id INTEGER NOT NULL,
    genesis_hash TEXT NOT NULL)"""


class ChainIdentity(msgspec.Struct, frozen=True):
    chain_id: int
    genesis_hash: str  # hash of block 0, lower-case hex

    def describe(self) -> str:
        return f"chain {self.chain_id} (genesis {self.genesis_hash[:10]}...)"


def recorded_identity(db: ChainDb) -> ChainIdentity | None:
    with db.transaction() as conn:
        conn.execute(_SCHEMA)
        row = conn.execute("SELECT chain_id, genesis_hash FROM chain_identity").fetchone()
    return None if row is None else ChainIdentity(int(row[0]), str(row[1]))


def record_identity(db: ChainDb, identity: ChainIdentity) -> None:
    with db.transaction() as conn:
        conn.execute(_SCHEMA)
        conn.execute("INSERT OR REPLACE INTO chain_identity (only_row, chain_id, genesis_hash)"
                     " VALUES (1, ?, ?)", (identity.chain_id, identity.genesis_hash.lower()))


def open_chain_db(path: str, identity: ChainIdentity, *,
                  clock: Callable[[], float] = time.time) -> tuple[ChainDb, str | None]:
    """The chain database for ``identity``, and where an older file for another chain was
    moved (None when there was none). A file from before identities were recorded is
    adopted as it is."""
    identity = ChainIdentity(identity.chain_id, identity.genesis_hash.lower())
    db = ChainDb(path)
    try:
        found = recorded_identity(db)
        if found is None or found == identity:
            if found is None:
                record_identity(db, identity)
            return db, None
    except BaseException:
        db.close()
        raise
    db.close()
    moved = f"{path}.{found.chain_id}-{found.genesis_hash[2:12]}.{int(clock())}"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, moved + suffix)
    log.warning("chain database belongs to another chain; set aside, starting empty",
                extra={"found": found.describe(), "now": identity.describe(), "moved_to": moved})
    db = ChainDb(path)
    record_identity(db, identity)
    return db, moved
