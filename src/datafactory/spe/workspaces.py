"""Workspaces: one per permit, its members the permit's users, its files sealed with a key
the trusted third party holds.

Life of a workspace::

    permit GRANTED ─► awaiting_preparation ─► preparing ─► ready ─┐   (preparation job)
                                                  └─► failed      │
    permit AMENDED / RENEWED: members and end date follow         │
    permit REVOKED / EXPIRED ─► closed ─► destroyed  ◄────────────┘
                           (at once)   (retention_days later: key shredded, files deleted)

Access is denied by default: only a member of a ready workspace may read its data, and the
caller (the gate, a job) ledgers each read. Everything stored under ``spe/<workspace>/`` is
sealed with the workspace key (:mod:`datafactory.spe.crypto`), so shredding that one key at
the TTP makes every copy of every file unreadable, backups included.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.permits import clocks
from datafactory.permits.config import PermitListener
from datafactory.permits.issuing import IN_FORCE
from datafactory.permits.models import Permit
from datafactory.spe import crypto
from datafactory.spe import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.spe.config import SpeConfig
from datafactory.spe.events import (
    WorkspaceClosed,
    WorkspaceCreated,
    WorkspaceDestroyed,
    WorkspaceMembersChanged,
    WorkspaceRenamed,
    WorkspaceTableStored,
)
from datafactory.spe.models import ENDED, Workspace, WorkspaceStatus, WorkspaceTable
from datafactory.spe.tables import TableSpec, measured
from datafactory.ttp import workspace_keys

SYSTEM = Actor.system("spe")
"""Who acts when a permit's life changes a workspace."""
RETENTION = Actor.system("spe-retention")

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


# --- names and lookups ------------------------------------------------------------------


def name_for_permit(permit: Permit) -> str:
    return f"permit-{permit.reference.lower()}"


def prefix_of(workspace: Workspace) -> str:
    """Every stored object of the workspace lives under this prefix."""
    return f"spe/{workspace.name}/"


def table_key(workspace: Workspace, table: str) -> str:
    return f"{prefix_of(workspace)}tables/{table}.parquet.enc"


def get_workspace(session: Session, name: str) -> Workspace:
    """The workspace called ``name``, or NotFound. Callers check access."""
    workspace = session.scalar(select(Workspace).where(Workspace.name == name.strip()))
    if workspace is None:
        raise NotFound(f"There is no workspace {name[:80]!r}.")
    return workspace


def workspaces_of_permit(session: Session, permit_id: int) -> list[Workspace]:
    return list(
        session.scalars(
            select(Workspace)
            .where(Workspace.permit_id == permit_id)
            .order_by(Workspace.id)
        )
    )


def list_workspaces(session: Session, actor: Actor) -> list[Workspace]:
    """A member's workspaces; every workspace for SPE operators and auditors."""
    overseer = policy.allowed(actor, "spe.workspace.oversee")
    if not overseer:
        policy.ensure(actor, "spe.workspace.use")
    everything = session.scalars(select(Workspace).order_by(Workspace.name)).all()
    if overseer:
        return list(everything)
    return [w for w in everything if actor.person_id in w.members]


def _ensure_manager(actor: Actor) -> None:
    # The permits listener and the retention job act as the system, never a web request.
    if not actor.is_system:
        policy.ensure(actor, "spe.workspace.manage")


def _ensure_not_destroyed(workspace: Workspace) -> None:
    if workspace.destroyed:
        raise Gone(
            f"Workspace {workspace.name} was destroyed: its key was shredded and its "
            "files deleted."
        )


def ensure_member(session: Session, actor: Actor, workspace: Workspace) -> None:
    """Deny by default: only a member of a ready workspace may use its data."""
    del session  # membership is on the row; kept for a uniform service signature
    policy.ensure(actor, "spe.workspace.use")
    _ensure_not_destroyed(workspace)
    if actor.person_id is None or actor.person_id not in workspace.members:
        raise Forbidden(f"You are not a member of workspace {workspace.name}.")
    if workspace.status == WorkspaceStatus.closed:
        raise Forbidden(
            f"Workspace {workspace.name} is closed: its permit ended, and it will be "
            "destroyed."
        )
    if not workspace.ready:
        raise Forbidden(
            f"Workspace {workspace.name} is not ready yet ({workspace.status}): the "
            "trusted third party prepares its data first."
        )


def ensure_viewer(session: Session, actor: Actor, workspace: Workspace) -> None:
    """Who may see a workspace's page (status, preparation report, tables' shapes):
    its members in any state, SPE operators and auditors. Others get NotFound."""
    del session
    policy.ensure(actor, "spe.workspace.use")
    if policy.allowed(actor, "spe.workspace.oversee"):
        return
    if actor.person_id is None or actor.person_id not in workspace.members:
        raise NotFound(f"There is no workspace {workspace.name!r}.")


# --- created, changed and closed with the permit ----------------------------------------


def _users(permit: Permit) -> list[int]:
    return sorted({int(u) for u in permit.scope.get("users", [])})


def create_workspace(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    *,
    permit: Permit,
    name: str | None = None,
) -> Workspace:
    """A workspace for ``permit`` (in force), named ``permit-<reference>`` unless
    ``name`` is given, with the permit's users as members and a fresh key at the TTP."""
    _ensure_manager(actor)
    name = name_for_permit(permit) if name is None else name.strip()
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{name[:80]!r} is not a valid workspace name.",
            errors=[
                FieldError(
                    "name", "Use lower-case letters, digits and '-' (80 at most)."
                )
            ],
        )
    if permit.status not in IN_FORCE:
        raise Conflict(
            f"Permit {permit.reference} is {permit.status}; a workspace is made only "
            "for a permit in force."
        )
    if session.scalar(select(Workspace.id).where(Workspace.name == name)):
        raise Conflict(f"The workspace {name} exists already.")
    workspace = Workspace(
        name=name,
        permit_id=permit.id,
        status=WorkspaceStatus.awaiting_preparation.value,
        members=_users(permit),
        created_by=actor.ref,
        created_at=config.now(),
        permit_ends_on=permit.ends_on,
    )
    session.add(workspace)
    session.flush()
    workspace_keys.issue_workspace_key(session, config.ttp, actor.ref, name)
    ledger.record(
        session,
        actor.ref,
        WorkspaceCreated(
            workspace_id=workspace.id,
            workspace=name,
            permit_id=permit.id,
            permit_reference=permit.reference,
            members=tuple(workspace.members),
            permit_ends_on=permit.ends_on.isoformat(),
        ),
    )
    return workspace


def rename_workspace(
    session: Session, actor: Actor, config: SpeConfig, workspace: Workspace, name: str
) -> Workspace:
    """Give a workspace that holds nothing yet another name. Its key is bound to its
    name, so the TTP shreds the old key and issues one for the new name; once data is
    stored, a workspace keeps its name."""
    _ensure_manager(actor)
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise InvalidInput(f"{name[:80]!r} is not a valid workspace name.")
    if workspace.status != WorkspaceStatus.awaiting_preparation or table_rows(
        session, workspace
    ):
        raise Conflict(
            f"Workspace {workspace.name} holds data already and keeps its name."
        )
    if session.scalar(select(Workspace.id).where(Workspace.name == name)):
        raise Conflict(f"The workspace {name} exists already.")
    before = workspace.name
    workspace_keys.shred_workspace_key(session, actor.ref, before)
    workspace.name = name
    session.flush()
    workspace_keys.issue_workspace_key(session, config.ttp, actor.ref, name)
    ledger.record(
        session,
        actor.ref,
        WorkspaceRenamed(workspace_id=workspace.id, before=before, workspace=name),
    )
    return workspace


def _follow_permit(
    session: Session, workspace: Workspace, permit: Permit, what: str
) -> None:
    before, after = set(workspace.members), set(_users(permit))
    workspace.members = sorted(after)
    workspace.permit_ends_on = permit.ends_on
    session.flush()
    ledger.record(
        session,
        SYSTEM.ref,
        WorkspaceMembersChanged(
            workspace_id=workspace.id,
            workspace=workspace.name,
            permit_reference=permit.reference,
            change=what,
            members=tuple(workspace.members),
            added=tuple(sorted(after - before)),
            removed=tuple(sorted(before - after)),
            permit_ends_on=permit.ends_on.isoformat(),
        ),
    )


def _ended_on(permit: Permit, what: str) -> date:
    if what == "REVOKED":
        return min(permit.ends_on, clocks.local_date(permit.changed_at))
    return permit.ends_on


def _close(
    session: Session, config: SpeConfig, workspace: Workspace, permit: Permit, what: str
) -> None:
    workspace.status = WorkspaceStatus.closed.value
    workspace.closed_at = config.now()
    workspace.destroy_after = _ended_on(permit, what) + timedelta(
        days=config.retention_days
    )
    session.flush()
    ledger.record(
        session,
        SYSTEM.ref,
        WorkspaceClosed(
            workspace_id=workspace.id,
            workspace=workspace.name,
            reason=f"permit {permit.reference} {what.lower()}",
            destroy_after=workspace.destroy_after.isoformat(),
        ),
    )


def on_permit(session: Session, config: SpeConfig, permit: Permit, what: str) -> None:
    """What a permit's change does to its workspaces, in the permit's transaction."""
    live = [
        w for w in workspaces_of_permit(session, permit.id) if w.status not in ENDED
    ]
    if what in ("GRANTED", "AMENDED", "RENEWED") and not live:
        # A permit granted before the secure processing environment existed gets its
        # workspace on its first change.
        create_workspace(session, SYSTEM, config, permit=permit)
    elif what in ("AMENDED", "RENEWED"):
        for workspace in live:
            _follow_permit(session, workspace, permit, what)
    elif what in ("REVOKED", "EXPIRED"):
        for workspace in live:
            _close(session, config, workspace, permit, what)


def workspace_for_permit(config: SpeConfig) -> PermitListener:
    """The permits listener (``PermitsConfig.listeners``) of the secure processing
    environment."""

    def listener(session: Session, permit: Permit, what: str) -> None:
        on_permit(session, config, permit, what)

    return listener


# --- sealed objects ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredObject:
    storage_key: str
    bytes: int
    """Size of the ciphertext."""
    sha256: str
    """Of the plaintext."""


def _key(session: Session, config: SpeConfig, workspace: Workspace) -> bytes:
    _ensure_not_destroyed(workspace)
    return workspace_keys.workspace_key(session, config.ttp, workspace.name)


def _check_object_key(workspace: Workspace, object_key: str) -> None:
    if not object_key.startswith(prefix_of(workspace)):
        raise InvalidInput(
            f"{object_key!r} is not a file of workspace {workspace.name}: its files "
            f"live under {prefix_of(workspace)}."
        )


def encrypt_object(
    session: Session,
    config: SpeConfig,
    workspace: Workspace,
    object_key: str,
    data: bytes,
) -> bytes:
    """Seal ``data`` for ``object_key`` (under ``spe/<workspace>/``) with the workspace
    key; the sealed bytes open only under that key, in that workspace."""
    _check_object_key(workspace, object_key)
    key = _key(session, config, workspace)
    return crypto.seal(key, data, workspace=workspace.name, object_key=object_key)


def decrypt_object(
    session: Session,
    config: SpeConfig,
    workspace: Workspace,
    object_key: str,
    blob: bytes,
) -> bytes:
    _check_object_key(workspace, object_key)
    key = _key(session, config, workspace)
    return crypto.open_sealed(
        key, blob, workspace=workspace.name, object_key=object_key
    )


def store_object(
    session: Session, config: SpeConfig, workspace: Workspace, path: str, data: bytes
) -> StoredObject:
    """Seal ``data`` and write it to ``spe/<workspace>/<path>`` in the file store."""
    object_key = prefix_of(workspace) + path
    sealed = encrypt_object(session, config, workspace, object_key, data)
    config.store.write(object_key, sealed)
    return StoredObject(object_key, len(sealed), hashlib.sha256(data).hexdigest())


def load_object(
    session: Session, config: SpeConfig, workspace: Workspace, storage_key: str
) -> bytes:
    _check_object_key(workspace, storage_key)
    _ensure_not_destroyed(workspace)
    blob = config.store.read(storage_key)
    return decrypt_object(session, config, workspace, storage_key, blob)


# --- tables -----------------------------------------------------------------------------


def _check_table(spec: TableSpec, data: pa.Table) -> pa.Table:
    if not _TABLE.fullmatch(spec.name):
        raise InvalidInput(
            f"{spec.name[:80]!r} is not a valid workspace table name.",
            errors=[
                FieldError(
                    "name", "Use lower-case letters, digits and '_' (63 at most)."
                )
            ],
        )
    declared = [c.name for c in spec.columns]
    if sorted(declared) != sorted(data.column_names):
        raise InvalidInput(
            f"The data of table {spec.name} has the columns "
            f"{', '.join(data.column_names)}; its declaration names "
            f"{', '.join(declared)}."
        )
    return data.select(declared)


def store_table(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    workspace: Workspace,
    spec: TableSpec,
    data: pa.Table,
) -> WorkspaceTable:
    """Seal ``data`` as Parquet into the workspace, replacing a table of that name."""
    _ensure_manager(actor)
    _ensure_not_destroyed(workspace)
    if workspace.status == WorkspaceStatus.closed:
        raise Conflict(f"Workspace {workspace.name} is closed; nothing is added to it.")
    data = _check_table(spec, data)
    try:
        spec = measured(spec, data)
    except ValueError as error:
        raise InvalidInput(f"{error}.") from None
    buffer = io.BytesIO()
    pq.write_table(data, buffer, compression="zstd")
    stored = store_object(
        session, config, workspace, f"tables/{spec.name}.parquet.enc", buffer.getvalue()
    )
    row = session.scalar(
        select(WorkspaceTable).where(
            WorkspaceTable.workspace_id == workspace.id,
            WorkspaceTable.name == spec.name,
        )
    )
    replaced = row is not None
    if row is None:
        row = WorkspaceTable(workspace_id=workspace.id, name=spec.name)
        session.add(row)
    row.spec = spec.to_json()
    row.rows = data.num_rows
    row.storage_key = stored.storage_key
    row.bytes = stored.bytes
    row.sha256 = stored.sha256
    row.created_by = actor.ref
    row.created_at = config.now()
    session.flush()
    ledger.record(
        session,
        actor.ref,
        WorkspaceTableStored(
            workspace_id=workspace.id,
            workspace=workspace.name,
            table=spec.name,
            rows=row.rows,
            columns=tuple(c.name for c in spec.columns),
            storage_key=stored.storage_key,
            bytes=stored.bytes,
            sha256=stored.sha256,
            replaced=replaced,
        ),
    )
    return row


def table_rows(session: Session, workspace: Workspace) -> list[WorkspaceTable]:
    return list(
        session.scalars(
            select(WorkspaceTable)
            .where(WorkspaceTable.workspace_id == workspace.id)
            .order_by(WorkspaceTable.name)
        )
    )


def table_specs(session: Session, workspace: Workspace) -> dict[str, TableSpec]:
    """The tables' declarations, without reading any data."""
    return {r.name: TableSpec.from_json(r.spec) for r in table_rows(session, workspace)}


class _TableCache:
    """Decrypted tables kept in memory, least recently used out first.

    The gate reads the same tables for every query; decrypting and parsing a large table
    each time would cost more than the query. An entry is named by the workspace, the
    table and the SHA-256 of its plaintext, so a replaced table is never served stale.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, str], pa.Table] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, str, str]) -> pa.Table | None:
        with self._lock:
            table = self._entries.get(key)
            if table is not None:
                self._entries.move_to_end(key)
            return table

    def put(self, key: tuple[str, str, str], table: pa.Table) -> None:
        size = table.nbytes
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = table
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes

    def drop(self, workspace: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == workspace]:
                self._bytes -= self._entries.pop(key).nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


TABLE_CACHE = _TableCache(max_entries=32, max_bytes=4 * 1024**3)


def workspace_tables(
    session: Session, config: SpeConfig, workspace: Workspace
) -> dict[str, tuple[TableSpec, pa.Table]]:
    """Every table of the workspace, decrypted, in memory. The caller has checked access
    (:func:`ensure_member`, or it is the TTP's own job) and ledgers the read."""
    _ensure_not_destroyed(workspace)
    tables: dict[str, tuple[TableSpec, pa.Table]] = {}
    for row in table_rows(session, workspace):
        cache_key = (workspace.name, row.name, row.sha256)
        data = TABLE_CACHE.get(cache_key)
        if data is None:
            data = _read_table(session, config, workspace, row)
            TABLE_CACHE.put(cache_key, data)
        tables[row.name] = (TableSpec.from_json(row.spec), data)
    return tables


def _read_table(
    session: Session, config: SpeConfig, workspace: Workspace, row: WorkspaceTable
) -> pa.Table:
    plain = load_object(session, config, workspace, row.storage_key)
    if hashlib.sha256(plain).hexdigest() != row.sha256:
        raise crypto.ObjectUnreadable(
            f"Table {row.name} of workspace {workspace.name} is not the version its "
            "record names (its SHA-256 differs): prepare the workspace again."
        )
    return pq.read_table(io.BytesIO(plain))


# --- destruction ------------------------------------------------------------------------


def destroy_workspace(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    workspace: Workspace,
    reason: str,
) -> Workspace:
    """Crypto-shred the workspace: its key at the TTP, then every stored file under
    ``spe/<workspace>/``. Rows stay as the record of what existed; nothing opens again."""
    _ensure_manager(actor)
    _ensure_not_destroyed(workspace)
    reason = reason.strip()[:500]
    if not reason:
        raise InvalidInput(
            "Say why the workspace is destroyed.",
            errors=[FieldError("reason", "A reason is required.")],
        )
    shredded = workspace_keys.shred_workspace_key(session, actor.ref, workspace.name)
    TABLE_CACHE.drop(workspace.name)
    deleted = []
    for key in config.store.list(prefix_of(workspace)):
        try:
            config.store.delete(key)
        except NotFound:  # another process deleted it first
            continue
        deleted.append(key)
    workspace.status = WorkspaceStatus.destroyed.value
    workspace.destroyed_at = config.now()
    workspace.destruction_reason = reason
    session.flush()
    ledger.record(
        session,
        actor.ref,
        WorkspaceDestroyed(
            workspace_id=workspace.id,
            workspace=workspace.name,
            reason=reason,
            key_shredded=shredded,
            tables=tuple(r.name for r in table_rows(session, workspace)),
            deleted=tuple(deleted),
        ),
    )
    return workspace


def destroy_due(session: Session, config: SpeConfig, today: date) -> list[str]:
    """Destroy every closed workspace whose retention has passed; the daily job runs
    this. Returns the names destroyed."""
    due = session.scalars(
        select(Workspace)
        .where(
            Workspace.status == WorkspaceStatus.closed.value,
            Workspace.destroy_after < today,
        )
        .order_by(Workspace.id)
    ).all()
    for workspace in due:
        destroy_workspace(
            session,
            RETENTION,
            config,
            workspace,
            f"{config.retention_days} days of retention after the permit ended "
            f"passed on {workspace.destroy_after}",
        )
    return [w.name for w in due]
