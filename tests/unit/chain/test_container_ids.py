import itertools

import pytest

from node.chain.container_ids import (
    ContainerIdResolver,
    container_id_hash,
    parse_container_hash,
)

HELLO_WORLD = "5768661526084c7b4d30f7224ed6c74ade98db3c6c395c55400a17f34a547e22"
A_B = "0deeac3a841600829c99f8116bb997da266d4c47a720b00e6ace9594de82dd54"


def test_spec_vectors():
    assert container_id_hash(["hello-world"]).hex() == HELLO_WORLD
    assert container_id_hash(["a", "b"]).hex() == A_B
    assert container_id_hash(("a", "b")) != container_id_hash(("b", "a"))


def test_resolver_finds_every_ordered_selection_of_few_ids():
    ids = ["a", "b", "c", "d"]
    resolver = ContainerIdResolver(ids)
    expected = [c for n in range(1, 5) for c in itertools.permutations(ids, n)]
    assert len(resolver) == len(expected) == 64
    for chain in expected:
        assert resolver.resolve(container_id_hash(chain)) == chain
    assert resolver.resolve(bytes.fromhex(A_B)) == ("a", "b")


def test_unknown_hash_and_repeated_ids_are_not_resolved():
    resolver = ContainerIdResolver(["a", "b"])
    assert resolver.resolve(bytes.fromhex(HELLO_WORLD)) is None
    assert resolver.resolve(container_id_hash(["a", "a"])) is None
    assert resolver.resolve(b"\x00" * 32) is None


def test_long_lists_are_capped_at_three_containers():
    ids = [f"svc-{i}" for i in range(8)]
    resolver = ContainerIdResolver(ids)
    assert resolver.max_chain_length == 3
    assert len(resolver) == 8 + 8 * 7 + 8 * 7 * 6
    assert resolver.resolve(container_id_hash(["svc-7", "svc-0", "svc-3"])) == (
        "svc-7",
        "svc-0",
        "svc-3",
    )
    assert resolver.resolve(container_id_hash(ids[:4])) is None


def test_explicit_cap_and_duplicate_ids():
    resolver = ContainerIdResolver(["a", "b", "a", "c"], max_chain_length=2)
    assert len(resolver) == 3 + 6
    assert resolver.resolve(container_id_hash(["c", "a"])) == ("c", "a")


def test_five_ids_are_indexed_in_full():
    resolver = ContainerIdResolver("abcde")
    assert len(resolver) == 5 + 20 + 60 + 120 + 120
    assert resolver.resolve(container_id_hash(list("edcba"))) == tuple("edcba")


@pytest.mark.parametrize("prefix", ["", "0x", "0X"])
def test_resolve_hex(prefix):
    resolver = ContainerIdResolver(["hello-world"])
    assert resolver.resolve_hex(prefix + HELLO_WORLD) == ("hello-world",)
    assert resolver.resolve_hex(prefix + HELLO_WORLD.upper()) == ("hello-world",)


@pytest.mark.parametrize("value", ["", "0x", "0x1234", HELLO_WORLD + "00", "zz" * 32])
def test_malformed_hex_hash(value):
    assert parse_container_hash(value) is None
    assert ContainerIdResolver(["hello-world"]).resolve_hex(value) is None
