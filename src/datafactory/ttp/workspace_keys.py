"""The keys of the secure processing environment's workspaces, held by the TTP.

Each workspace gets a random 256-bit key when it is created. The database keeps it only
wrapped: AES-256-GCM under a key-encryption key derived by HKDF from the master key version
that was current then, with the workspace's name as associated data. Unwrapping needs the
master key, which never enters the database, and every master key is checked against its
check value first (:class:`~datafactory.ttp.keyring.Keyring`). Shredding deletes the row:
without it, every file sealed with the workspace key is noise.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import Conflict, Gone
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.errors import KeyCustodyError
from datafactory.ttp.events import WorkspaceKeyIssued, WorkspaceKeyShredded
from datafactory.ttp.keyring import Keyring
from datafactory.ttp.models import WorkspaceKey

WORKSPACE_KEY_BYTES = 32
_NONCE_BYTES = 12
_READER = "system:ttp-workspace-keys"
"""Who the ledger names if reading a key is the first use of a master key version."""


class WorkspaceKeyDestroyed(Gone):
    slug = "ttp-workspace-key-destroyed"
    title = "The workspace's key was destroyed"


def _wrapping_key(master: bytes, version: int) -> AESGCM:
    """Its HKDF info differs from every other key derived from the master key."""
    info = b"datafactory/ttp/workspace-key-wrap/v1\x00" + str(version).encode()
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        master
    )
    return AESGCM(kek)


def _associated(workspace: str, version: int) -> bytes:
    return b"datafactory-workspace-key\x00" + workspace.encode() + b"\x00%d" % version


def issue_workspace_key(
    session: Session, config: TtpConfig, actor_ref: str, workspace: str
) -> bytes:
    """Make, wrap and keep a new key for ``workspace``; the caller seals with it."""
    if session.scalar(
        select(WorkspaceKey.id).where(WorkspaceKey.workspace == workspace)
    ):
        raise Conflict(f"Workspace {workspace} has a key already.")
    keyring = Keyring(session, config, actor_ref)
    version = keyring.current_version()
    master = keyring.master(version)
    key = secrets.token_bytes(WORKSPACE_KEY_BYTES)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    wrapped = nonce + _wrapping_key(master, version).encrypt(
        nonce, key, _associated(workspace, version)
    )
    session.add(
        WorkspaceKey(
            workspace=workspace,
            master_version=version,
            wrapped=wrapped,
            created_by=actor_ref,
            created_at=config.now(),
        )
    )
    session.flush()
    ledger.record(session, actor_ref, WorkspaceKeyIssued(workspace, version))
    return key


def _row(session: Session, workspace: str) -> WorkspaceKey:
    row = session.scalar(
        select(WorkspaceKey).where(WorkspaceKey.workspace == workspace)
    )
    if row is None:
        raise WorkspaceKeyDestroyed(
            f"The workspace's key was destroyed (or never made): the files of workspace "
            f"{workspace} can no longer be read."
        )
    return row


def workspace_key(session: Session, config: TtpConfig, workspace: str) -> bytes:
    """The key of ``workspace``, unwrapped with its checked master key."""
    row = _row(session, workspace)
    master = Keyring(session, config, _READER).master(row.master_version)
    wrapped = bytes(row.wrapped)
    try:
        return _wrapping_key(master, row.master_version).decrypt(
            wrapped[:_NONCE_BYTES],
            wrapped[_NONCE_BYTES:],
            _associated(workspace, row.master_version),
        )
    except InvalidTag:
        raise KeyCustodyError(
            f"The wrapped key of workspace {workspace} does not open with master key "
            f"version {row.master_version}: the row was altered or moved."
        ) from None


def shred_workspace_key(session: Session, actor_ref: str, workspace: str) -> bool:
    """Delete the key of ``workspace`` (crypto-shredding). False if there was none."""
    row = session.scalar(
        select(WorkspaceKey).where(WorkspaceKey.workspace == workspace)
    )
    if row is None:
        return False
    version = row.master_version
    session.delete(row)
    session.flush()
    ledger.record(session, actor_ref, WorkspaceKeyShredded(workspace, version))
    return True
