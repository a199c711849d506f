"""Keyed pseudonyms: key derivation, encoding, check character, batch paths."""

from __future__ import annotations

import hashlib
import hmac
import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.privacy import matricule
from datafactory.privacy.pseudonyms import (
    ALPHABET,
    HKDF_SALT,
    PSEUDONYM_LENGTH,
    Pseudonymiser,
    derive_domain_key,
    is_well_formed,
)

MASTER = bytes(range(32))
# The pseudonym of 1893120105732 in domain "demo", key version 1, under MASTER.
KNOWN = "GJHAGMHQX4FS1T38TEREJBXRTZ"
OTHER_MASTER = bytes(range(1, 33))


# --- an independent reference implementation -----------------------------------------
def reference_hkdf(master: bytes, domain: str, version: int) -> bytes:
    """RFC 5869 by hand with the standard library: extract, then one block of expand."""
    prk = hmac.new(HKDF_SALT, master, hashlib.sha256).digest()
    info = f"datafactory/pseudonym-domain/v1/{domain}/{version}".encode()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def gf32_times(a: int, b: int) -> int:
    """Multiplication in GF(2)[x] / (x^5 + x^2 + 1): carry-less product, then reduce."""
    product = 0
    for bit in range(5):
        if b >> bit & 1:
            product ^= a << bit
    for bit in range(8, 4, -1):
        if product >> bit & 1:
            product ^= 0b100101 << (bit - 5)
    return product


def powers_of_x(n: int) -> list[int]:
    powers = [1]
    for _ in range(n - 1):
        powers.append(gf32_times(powers[-1], 0b10))
    return powers


WEIGHTS = powers_of_x(26)[::-1]  # x^25 .. x^0


def syndrome(values: list[int]) -> int:
    """sum of x^(25 - i) * v_i over the 26 characters; 0 for a well-formed pseudonym."""
    total = 0
    for weight, value in zip(WEIGHTS, values, strict=True):
        total ^= gf32_times(weight, value)
    return total


def test_the_weights_are_distinct_and_not_zero():
    assert len(set(powers_of_x(31))) == 31  # x has order 31: x^5 + x^2 + 1 is primitive
    assert 0 not in WEIGHTS


def reference_pseudonym(key: bytes, identifier: str) -> str:
    digest = hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).digest()
    bits = format(int.from_bytes(digest, "big"), "0256b")[:125]
    values = [int(bits[i : i + 5], 2) for i in range(0, 125, 5)]
    check = syndrome([*values, 0])  # the check character has weight x^0 = 1
    assert syndrome([*values, check]) == 0
    return "".join(ALPHABET[v] for v in [*values, check])


# --- key derivation ------------------------------------------------------------------
def test_domain_key_is_rfc5869_hkdf_sha256():
    key = derive_domain_key(MASTER, "permit-2026-0042", 3)
    assert len(key) == 32
    assert key == reference_hkdf(MASTER, "permit-2026-0042", 3)


def test_domain_keys_differ_by_domain_version_and_master():
    keys = {
        derive_domain_key(MASTER, "a", 1),
        derive_domain_key(MASTER, "b", 1),
        derive_domain_key(MASTER, "a", 2),
        derive_domain_key(OTHER_MASTER, "a", 1),
        derive_domain_key(MASTER, "a/1", 2),
        derive_domain_key(MASTER, "a", 12),
    }
    assert len(keys) == 6


def test_a_short_master_key_is_refused():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        derive_domain_key(b"x" * 31, "a", 1)
    with pytest.raises(TypeError):
        derive_domain_key("x" * 32, "a", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("domain", "version"), [("", 1), ("a", -1), ("a", True)])
def test_bad_domain_or_version_is_refused(domain, version):
    with pytest.raises(ValueError):
        derive_domain_key(MASTER, domain, version)


def test_a_short_domain_key_is_refused_and_the_key_is_never_shown():
    with pytest.raises(ValueError, match="domain key"):
        Pseudonymiser(b"k" * 16)
    key = derive_domain_key(MASTER, "a", 1)
    assert key.hex() not in repr(Pseudonymiser(key))
    assert "hidden" in repr(Pseudonymiser(key))


# --- pseudonyms ----------------------------------------------------------------------
def test_known_answer():
    """Pins the whole construction; changing it would orphan every stored pseudonym."""
    p = Pseudonymiser(derive_domain_key(MASTER, "demo", 1))
    assert p.one("1893120105732") == reference_pseudonym(
        derive_domain_key(MASTER, "demo", 1), "1893120105732"
    )
    assert p.one("1893120105732") == KNOWN


def test_one_many_and_column_agree_with_the_reference():
    key = derive_domain_key(MASTER, "demo", 1)
    p = Pseudonymiser(key)
    ids = matricule.generate_many(random.Random(1), 3000) + ["", "é", "x" * 1000]
    expected = [reference_pseudonym(key, i) for i in ids]
    assert [p.one(i) for i in ids] == expected
    assert p.many(ids) == expected
    assert p.column(pa.array(ids, pa.string())).to_pylist() == expected


text_ids = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@given(st.binary(min_size=32, max_size=64), text_ids)
def test_same_key_and_identifier_give_the_same_pseudonym(key, identifier):
    assert Pseudonymiser(key).one(identifier) == Pseudonymiser(bytes(key)).one(
        identifier
    )
    assert Pseudonymiser(key).one(identifier) == reference_pseudonym(key, identifier)


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20), text_ids)
def test_different_domains_give_different_pseudonyms(domain_a, domain_b, identifier):
    if domain_a == domain_b:
        return
    a = Pseudonymiser(derive_domain_key(MASTER, domain_a, 1)).one(identifier)
    b = Pseudonymiser(derive_domain_key(MASTER, domain_b, 1)).one(identifier)
    assert a != b


def test_two_domains_show_no_relation():
    """Same 1000 people in two domains: their pseudonyms agree no more than chance."""
    ids = matricule.generate_many(random.Random(11), 1000)
    a = Pseudonymiser(derive_domain_key(MASTER, "permit-a", 1)).many(ids)
    b = Pseudonymiser(derive_domain_key(MASTER, "permit-b", 1)).many(ids)
    # Shared first characters: expected 1000/32 = 31.25 (sd 5.5); two: 0.98.
    assert 10 <= sum(x[0] == y[0] for x, y in zip(a, b, strict=True)) <= 55
    assert sum(x[:2] == y[:2] for x, y in zip(a, b, strict=True)) <= 8
    # Equal characters at equal positions: expected 25 000 / 32 = 781 (sd 27.5).
    same = sum(
        x[i] == y[i]
        for x, y in zip(a, b, strict=True)
        for i in range(PSEUDONYM_LENGTH - 1)
    )
    assert 781 - 6 * 28 <= same <= 781 + 6 * 28
    # Agreeing bits of the 125: expected 62 500 (sd 177).
    agree = sum(
        125
        - bin(int.from_bytes(hmac_bits(x)) ^ int.from_bytes(hmac_bits(y))).count("1")
        for x, y in zip(a, b, strict=True)
    )
    assert abs(agree - 62_500) <= 6 * 177
    # And the same people are never given the same pseudonym.
    assert not set(a) & set(b)


def hmac_bits(pseudonym: str) -> bytes:
    value = 0
    for char in pseudonym[:25]:
        value = value << 5 | ALPHABET.index(char)
    return value.to_bytes(16, "big")


# --- format and check character --------------------------------------------------------
def test_pseudonyms_are_well_formed():
    p = Pseudonymiser(derive_domain_key(MASTER, "demo", 1))
    for pseudonym in p.many(matricule.generate_many(random.Random(2), 2000)):
        assert len(pseudonym) == PSEUDONYM_LENGTH == 26
        assert set(pseudonym) <= set(ALPHABET)
        assert is_well_formed(pseudonym)


@pytest.mark.parametrize(
    "text",
    [
        "",
        KNOWN[:-1],  # too short
        KNOWN + "0",  # too long
        KNOWN.lower(),  # only the canonical upper case
        KNOWN[:-1] + "Y",  # wrong check character
        KNOWN[:-1] + "I",  # not in the alphabet
        KNOWN[:13] + "-" + KNOWN[13:-1],  # separator
    ],
)
def test_malformed_pseudonyms_are_refused(text):
    assert not is_well_formed(text)


def test_the_known_answer_is_well_formed():
    assert is_well_formed(KNOWN)


def test_is_well_formed_refuses_non_strings():
    assert not is_well_formed(None)  # type: ignore[arg-type]
    assert not is_well_formed(KNOWN.encode())  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32), text_ids)
def test_every_substitution_and_adjacent_transposition_is_caught(key, identifier):
    pseudonym = Pseudonymiser(key).one(identifier)
    assert is_well_formed(pseudonym)
    for position in range(PSEUDONYM_LENGTH):
        for char in ALPHABET:
            if char != pseudonym[position]:
                wrong = pseudonym[:position] + char + pseudonym[position + 1 :]
                assert not is_well_formed(wrong), (pseudonym, wrong)
    for position in range(PSEUDONYM_LENGTH - 1):
        a, b = pseudonym[position], pseudonym[position + 1]
        if a != b:
            wrong = pseudonym[:position] + b + a + pseudonym[position + 2 :]
            assert not is_well_formed(wrong), (pseudonym, wrong)


# --- Arrow columns ---------------------------------------------------------------------
@given(st.lists(st.one_of(st.none(), text_ids), max_size=60), st.integers(0, 5))
def test_column_equals_one_per_element_and_keeps_nulls(values, cut):
    p = Pseudonymiser(MASTER)
    array = pa.array(values, pa.string()).slice(min(cut, len(values)))
    out = p.column(array)
    out.validate(full=True)
    assert out.type == pa.string()
    assert out.to_pylist() == [
        None if v is None else p.one(v) for v in values[min(cut, len(values)) :]
    ]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.string_view()])
def test_column_accepts_every_arrow_string_type(kind):
    p = Pseudonymiser(MASTER)
    values = ["a", None, "1893120105732"]
    out = p.column(pa.array(values, pa.string()).cast(kind))
    assert out.type == pa.string()
    assert out.to_pylist() == [p.one("a"), None, p.one("1893120105732")]


def test_column_of_chunked_and_empty_arrays():
    p = Pseudonymiser(MASTER)
    chunked = pa.chunked_array([["a", None], [], ["b"]], pa.string())
    assert p.column(chunked).to_pylist() == [p.one("a"), None, p.one("b")]
    assert p.column(pa.chunked_array([], pa.string())).to_pylist() == []
    assert p.column(pa.array([], pa.string())).to_pylist() == []
    assert p.column(pa.array([None, None], pa.string())).to_pylist() == [None, None]


def test_column_spans_several_batches():
    p = Pseudonymiser(MASTER)
    ids = [str(i) for i in range(40_000)]
    ids[12_345] = None  # type: ignore[call-overload]
    out = p.column(pa.array(ids, pa.string()))
    assert out.null_count == 1
    assert out[12_345].as_py() is None
    for i in (0, 16_383, 16_384, 39_999):
        assert out[i].as_py() == p.one(str(i))


def test_column_refuses_what_is_not_a_string_column():
    p = Pseudonymiser(MASTER)
    with pytest.raises(TypeError, match="string"):
        p.column(pa.array([1, 2, 3]))
    with pytest.raises(TypeError):
        p.column(["a", "b"])


def test_no_collision_in_200k_generated_matricules():
    """The 10 M run is `uv run python bench/pseudonymise.py --check-collisions`."""
    ids = matricule.generate_many(random.Random(2026), 200_000)
    out = Pseudonymiser(derive_domain_key(MASTER, "collisions", 1)).column(
        pa.array(ids, pa.string())
    )
    assert pc.count_distinct(out).as_py() == 200_000
