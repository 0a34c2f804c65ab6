from __future__ import annotations

import hashlib
import io

import pytest

import peep

ABC_SHA256 = hashlib.sha256(b"abc").hexdigest()
ABC_PEEP = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"


def test_peep_encoding_round_trips() -> None:
    assert peep.hex_to_peep(ABC_SHA256) == ABC_PEEP
    assert peep.peep_to_hex(ABC_PEEP) == ABC_SHA256
    assert peep.peep_to_hex(ABC_PEEP + "=") == ABC_SHA256  # padded form accepted


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("abc", "'abc' is not a sha256 hash (expected 43 characters of URL-safe base64, as 'peep hash' prints)"),
        (ABC_PEEP[:-1], f"{ABC_PEEP[:-1]!r} is not a sha256 hash (expected 43 characters"),
        (ABC_PEEP + "A", "is not a sha256 hash (expected 43 characters"),
        ("+" + ABC_PEEP[1:], "is not a sha256 hash (expected 43 characters"),  # not URL-safe
        (ABC_PEEP[:-1] + "1", "is not a sha256 hash (its last character is off)"),
    ],
)
def test_peep_to_hex_rejects(encoded: str, message: str) -> None:
    with pytest.raises(peep.InvalidHash) as info:
        peep.peep_to_hex(encoded)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("algorithm", "value", "expected"),
    [
        ("sha256", ABC_SHA256.upper(), ABC_SHA256),
        ("sha384", hashlib.sha384(b"").hexdigest(), hashlib.sha384(b"").hexdigest()),
        ("sha512", hashlib.sha512(b"").hexdigest(), hashlib.sha512(b"").hexdigest()),
    ],
)
def test_normalize_hex(algorithm: str, value: str, expected: str) -> None:
    assert peep.normalize_hex(algorithm, value) == expected


@pytest.mark.parametrize(
    ("algorithm", "value", "message"),
    [
        ("md5", "0" * 32, "'md5' is not an allowed hash algorithm (use one of sha256, sha384, sha512)"),
        ("SHA256", ABC_SHA256, "'SHA256' is not an allowed hash algorithm"),
        ("sha256", ABC_SHA256[:-1], "is not a sha256 hash (expected 64 hex digits)"),
        ("sha256", "g" * 64, "'" + "g" * 64 + "' is not a sha256 hash (expected 64 hex digits)"),
        ("sha512", ABC_SHA256, "is not a sha512 hash (expected 128 hex digits)"),
    ],
)
def test_normalize_hex_rejects(algorithm: str, value: str, message: str) -> None:
    with pytest.raises(peep.InvalidHash) as info:
        peep.normalize_hex(algorithm, value)
    assert message in str(info.value)


def test_hashes_match_any_allowed_digest_of_any_algorithm() -> None:
    other = "1" * 64
    hashes = peep.Hashes().with_digest("sha256", other).with_digest("sha256", ABC_SHA256)
    assert hashes.matches({"sha256": ABC_SHA256})
    assert not hashes.matches({"sha256": "2" * 64})
    assert not hashes.matches({"sha512": hashlib.sha512(b"abc").hexdigest()})
    assert not peep.Hashes().matches({"sha256": ABC_SHA256})
    strong = peep.Hashes().with_digest("sha512", hashlib.sha512(b"abc").hexdigest())
    assert strong.matches(peep.hash_stream(io.BytesIO(b"abc"), ("sha256", "sha512")))


def test_hashes_intersection_treats_empty_as_unconstrained() -> None:
    a = peep.Hashes(sha256=frozenset({"a" * 64, "b" * 64}))
    b = peep.Hashes(sha256=frozenset({"b" * 64}))
    assert a.intersection(b) == b
    assert a.intersection(peep.Hashes()) == a
    assert peep.Hashes().intersection(b) == b
    assert not a.intersection(peep.Hashes(sha256=frozenset({"c" * 64})))


def test_hash_stream_feeds_sink_every_byte() -> None:
    data = bytes(range(256)) * 20000  # several chunks
    seen = bytearray()
    digests = peep.hash_stream(io.BytesIO(data), ("sha256", "sha512"), sink=seen.extend)
    assert bytes(seen) == data
    assert digests == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "sha512": hashlib.sha512(data).hexdigest(),
    }


def test_hash_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert peep.hash_file(str(path)) == {"sha256": ABC_SHA256}
