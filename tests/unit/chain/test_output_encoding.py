import msgspec
import pytest

from node.chain.output_encoding import OutputEncodingError, encode_onchain_output

# containers.md §6: raw_output = abi.encode(string "hi"), processed_output = "".
PAIR_VECTOR = bytes.fromhex(
    "0000000000000000000000000000000000000000000000000000000000000040"
    "00000000000000000000000000000000000000000000000000000000000000c0"
    "0000000000000000000000000000000000000000000000000000000000000060"
    "0000000000000000000000000000000000000000000000000000000000000020"
    "0000000000000000000000000000000000000000000000000000000000000002"
    "6869000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
)
ENCODED_HI = PAIR_VECTOR[0x60:0xC0]  # abi.encode(string "hi"), 3 words
EMPTY_PAIR = bytes.fromhex(
    "0000000000000000000000000000000000000000000000000000000000000040"
    "0000000000000000000000000000000000000000000000000000000000000060" + "00" * 64
)


def word(n):
    return n.to_bytes(32, "big")


def abi_string(text):
    data = text.encode()
    padded = data + b"\0" * (-len(data) % 32)
    return word(0x20) + word(len(data)) + padded


def raw(obj):
    return msgspec.Raw(msgspec.json.encode(obj))


def five(**values):
    base = dict.fromkeys(
        ("raw_input", "processed_input", "raw_output", "processed_output", "proof"), None
    )
    base.update(values)
    return raw(base)


def test_pair_vector_byte_for_byte():
    inp, out, proof = encode_onchain_output(five(raw_output=ENCODED_HI.hex(), processed_output=""))
    assert out == PAIR_VECTOR
    assert inp == EMPTY_PAIR
    assert proof == b""


def test_input_pair_and_proof_as_is():
    inp, out, proof = encode_onchain_output(
        five(raw_input="0xdead", processed_input="BEEF", proof="0x0102ff")
    )
    assert inp == word(0x40) + word(0x80) + word(2) + b"\xde\xad" + b"\0" * 30 + word(2) + (
        b"\xbe\xef" + b"\0" * 30
    )
    assert out == EMPTY_PAIR
    assert proof == b"\x01\x02\xff"


def test_fallback_vector_byte_for_byte():
    inp, out, proof = encode_onchain_output(msgspec.Raw(b'{"output": "hi"}'))
    assert (inp, proof) == (b"", b"")
    expected = (
        word(0x20) + word(0x10) + bytes.fromhex("7b276f7574707574273a20276869277d") + (b"\0" * 16)
    )
    assert out == expected


def test_fallback_uses_python_repr_of_nested_json():
    body = b'{"a": [1, 2.5, true, false, null], "b": {"c": "it\'s"}, "d": "\\u00e9"}'
    _, out, _ = encode_onchain_output(msgspec.Raw(body))
    text = "{'a': [1, 2.5, True, False, None], 'b': {'c': \"it's\"}, 'd': 'é'}"
    assert out == abi_string(text)


def test_fallback_when_one_key_is_missing():
    obj = {"raw_input": "", "processed_input": "", "raw_output": "00", "processed_output": ""}
    _, out, _ = encode_onchain_output(raw(obj))
    assert out == abi_string(
        "{'raw_input': '', 'processed_input': '', 'raw_output': '00', 'processed_output': ''}"
    )


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("raw_output", "xyz", "not a hex string"),
        ("proof", "abc", "odd number of hex digits"),
        ("raw_input", "0xzz", "not a hex string"),
        ("processed_output", "de ad", "not a hex string"),
        ("processed_input", 12, "expected a hex string or null, got a number"),
        ("raw_output", ["00"], "expected a hex string or null, got an array"),
    ],
)
def test_bad_hex_names_the_key(key, value, reason):
    with pytest.raises(OutputEncodingError) as info:
        encode_onchain_output(five(**{key: value}))
    assert (info.value.key, info.value.reason) == (key, reason)
    assert str(info.value) == f"{key}: {reason}"


@pytest.mark.parametrize("body", [b"null", b"[1, 2]", b'"text"', b"42", b"true"])
def test_non_object_output_is_rejected(body):
    with pytest.raises(OutputEncodingError, match="expected a JSON object") as info:
        encode_onchain_output(msgspec.Raw(body))
    assert info.value.key == "output"


def test_missing_or_invalid_output_is_rejected():
    with pytest.raises(OutputEncodingError, match="got nothing"):
        encode_onchain_output(None)
    with pytest.raises(OutputEncodingError, match="not valid JSON"):
        encode_onchain_output(msgspec.Raw(b"{"))
