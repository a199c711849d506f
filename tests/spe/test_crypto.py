"""Sealed workspace files: any change of a single byte, another workspace, another name or
another key, and the file no longer opens."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.spe.crypto import (
    MAGIC,
    OVERHEAD,
    ObjectUnreadable,
    open_sealed,
    seal,
)

KEY = bytes(range(32))
WHERE = {"workspace": "permit-prm-2026-00001", "object_key": "spe/w/tables/person.enc"}


def test_a_sealed_object_opens_with_its_key_workspace_and_name():
    sealed = seal(KEY, b"pseudonym,birth_year\n", **WHERE)
    assert sealed.startswith(MAGIC) and len(sealed) == OVERHEAD + 21
    assert b"birth_year" not in sealed
    assert open_sealed(KEY, sealed, **WHERE) == b"pseudonym,birth_year\n"


def test_two_seals_of_the_same_data_differ():
    assert seal(KEY, b"same", **WHERE) != seal(KEY, b"same", **WHERE)


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=200),
    position=st.integers(min_value=0),
    delta=st.integers(min_value=1, max_value=255),
)
def test_any_single_byte_edit_fails_to_open(data, position, delta):
    sealed = bytearray(seal(KEY, data, **WHERE))
    position %= len(sealed)
    sealed[position] = (sealed[position] + delta) % 256
    with pytest.raises(ObjectUnreadable):
        open_sealed(KEY, bytes(sealed), **WHERE)


@settings(max_examples=100, deadline=None)
@given(
    data=st.binary(max_size=100),
    workspace=st.text(min_size=1, max_size=30),
    object_key=st.text(min_size=1, max_size=60),
)
def test_another_workspace_or_name_fails_to_open(data, workspace, object_key):
    sealed = seal(KEY, data, **WHERE)
    if workspace != WHERE["workspace"]:
        with pytest.raises(ObjectUnreadable):
            open_sealed(
                KEY, sealed, workspace=workspace, object_key=WHERE["object_key"]
            )
    if object_key != WHERE["object_key"]:
        with pytest.raises(ObjectUnreadable):
            open_sealed(
                KEY, sealed, workspace=WHERE["workspace"], object_key=object_key
            )


def test_another_key_a_truncated_file_or_a_foreign_file_fails_to_open():
    sealed = seal(KEY, b"data", **WHERE)
    with pytest.raises(ObjectUnreadable, match="does not open"):
        open_sealed(secrets.token_bytes(32), sealed, **WHERE)
    with pytest.raises(ObjectUnreadable, match="not a sealed"):
        open_sealed(KEY, sealed[:10], **WHERE)
    with pytest.raises(ObjectUnreadable, match="not a sealed"):
        open_sealed(KEY, b"PAR1" + sealed[4:], **WHERE)
    with pytest.raises(ObjectUnreadable, match="format version 2"):
        open_sealed(KEY, MAGIC + b"\x02" + sealed[5:], **WHERE)


def test_the_workspace_and_name_cannot_be_shifted_between_each_other():
    sealed = seal(KEY, b"data", workspace="ab", object_key="c")
    with pytest.raises(ObjectUnreadable):
        open_sealed(KEY, sealed, workspace="a", object_key="bc")


def test_a_key_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"short", b"data", **WHERE)
