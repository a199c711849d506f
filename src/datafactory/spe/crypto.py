"""Encryption of a workspace's files with its key (AES-256-GCM).

A sealed object is ``b"DFWS" | version | nonce (12 bytes) | ciphertext and tag``. The
associated data names the format, the workspace and the object's storage key, so a file
copied to another workspace, renamed, or altered by a single byte no longer opens. Nonces
are random: a workspace key seals far fewer than 2**32 objects over its life, well inside
the bound for random 96-bit nonces.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from datafactory.core.errors import DatafactoryError

MAGIC = b"DFWS"
VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
_HEADER = MAGIC + bytes([VERSION])
OVERHEAD = len(_HEADER) + NONCE_BYTES + 16
"""Bytes a sealed object has beyond its plaintext: header, nonce and GCM tag."""


class ObjectUnreadable(DatafactoryError):
    """A stored object does not open with its workspace's key: it was altered, moved or
    belongs to another workspace. Never carries any of its content."""

    slug = "spe-object-unreadable"
    title = "A workspace file does not open"


def _associated(workspace: str, object_key: str) -> bytes:
    # Length-prefixed, so no choice of names can shift bytes from one into the other.
    parts = (workspace.encode(), object_key.encode())
    return _HEADER + b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def seal(key: bytes, data: bytes, *, workspace: str, object_key: str) -> bytes:
    """Encrypt ``data`` for object ``object_key`` of ``workspace``."""
    if len(key) != KEY_BYTES:
        raise ValueError("a workspace key has 32 bytes")
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, data, _associated(workspace, object_key))
    return _HEADER + nonce + sealed


def open_sealed(key: bytes, blob: bytes, *, workspace: str, object_key: str) -> bytes:
    """The plaintext of ``blob``, or :class:`ObjectUnreadable`."""
    where = f"{object_key!r} of workspace {workspace}"
    if len(blob) < OVERHEAD or not blob.startswith(MAGIC):
        raise ObjectUnreadable(f"The file {where} is not a sealed workspace file.")
    if blob[len(MAGIC)] != VERSION:
        raise ObjectUnreadable(
            f"The file {where} is sealed in format version {blob[len(MAGIC)]}, which "
            "this version of the platform does not read."
        )
    nonce = blob[len(_HEADER) : len(_HEADER) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(
            nonce,
            blob[len(_HEADER) + NONCE_BYTES :],
            _associated(workspace, object_key),
        )
    except InvalidTag:
        raise ObjectUnreadable(
            f"The file {where} does not open with the workspace key: it was altered, "
            "moved from elsewhere, or sealed with another key."
        ) from None
