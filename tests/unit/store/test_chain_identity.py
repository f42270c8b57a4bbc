"""The chain database follows the chain it describes: another chain gets an empty file."""

from __future__ import annotations

from pathlib import Path

from node.store.chain_db import ChainDb
from node.store.chain_identity import ChainIdentity, open_chain_db, recorded_identity
from node.store.sync_store import BlockRef, SyncStore

DEV = ChainIdentity(31337, "0x" + "ab" * 32)
DEV_RESTARTED = ChainIdentity(31337, "0x" + "cd" * 32)
OTHER_NETWORK = ChainIdentity(8453, "0x" + "ab" * 32)


def cursor_after(path: str, identity: ChainIdentity) -> int | None:
    db, _ = open_chain_db(path, identity)
    try:
        state = SyncStore(db).state()
        return None if state.cursor is None else state.cursor.number
    finally:
        db.close()


def remember_cursor(path: str, identity: ChainIdentity, block: int) -> None:
    db, _ = open_chain_db(path, identity)
    try:
        SyncStore(db).begin_snapshot(BlockRef(block, f"0x{block:064x}", 1000), next_id=1)
    finally:
        db.close()


def test_same_chain_keeps_its_state(tmp_path: Path) -> None:
    path = str(tmp_path / "chain.sqlite3")
    remember_cursor(path, DEV, 40)
    db, moved = open_chain_db(path, ChainIdentity(31337, DEV.genesis_hash.upper()))
    try:
        assert moved is None
        assert SyncStore(db).state().snapshot is not None
    finally:
        db.close()


def test_restarted_dev_chain_sets_the_old_file_aside(tmp_path: Path) -> None:
    path = str(tmp_path / "chain.sqlite3")
    remember_cursor(path, DEV, 40)
    db, moved = open_chain_db(path, DEV_RESTARTED, clock=lambda: 1700000000.0)
    try:
        assert SyncStore(db).state().snapshot is None
        assert recorded_identity(db) == DEV_RESTARTED
    finally:
        db.close()
    assert moved == f"{path}.31337-ababababab.1700000000"
    old = ChainDb(moved)
    try:  # nothing was deleted: the old chain's state is all there
        assert recorded_identity(old) == DEV
        assert SyncStore(old).state().snapshot is not None
    finally:
        old.close()


def test_another_network_with_the_same_data_dir_starts_empty(tmp_path: Path) -> None:
    path = str(tmp_path / "chain.sqlite3")
    remember_cursor(path, DEV, 40)
    db, moved = open_chain_db(path, OTHER_NETWORK)
    try:
        assert moved is not None
        assert SyncStore(db).state().snapshot is None
    finally:
        db.close()


def test_a_file_from_before_identities_is_adopted(tmp_path: Path) -> None:
    path = str(tmp_path / "chain.sqlite3")
    legacy = ChainDb(path)
    SyncStore(legacy).begin_snapshot(BlockRef(7, f"0x{7:064x}", 1000), next_id=1)
    legacy.close()
    db, moved = open_chain_db(path, DEV)
    try:
        assert moved is None
        assert SyncStore(db).state().snapshot is not None
        assert recorded_identity(db) == DEV
    finally:
        db.close()
