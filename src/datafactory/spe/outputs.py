"""Workspace outputs: files made inside a workspace, stored encrypted, waiting for the airlock.

The query gate and the sandboxed jobs save what they produce here. An output is sealed
with the workspace key (so shredding the key shreds it too) and kept with the code that
made it and that code's SHA-256, which the public archive shows on release. Its row holds
the SHA-256 of the plaintext: the checkers review, and the airlock releases, exactly those
bytes.

Members never download an output from here. :func:`read_output` serves the airlock's
checks, the checkers' review and the workspace's own pages; access is the caller's to
check (``workspaces.ensure_member`` inside the workspace, the airlock's rules outside).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import Conflict, FieldError, InvalidInput, NotFound
from datafactory.identity.actor import Actor
from datafactory.spe import crypto
from datafactory.spe import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs.events import OutputSaved
from datafactory.spe.jobs.models import OutputKind, WorkspaceOutput
from datafactory.spe.models import Workspace
from datafactory.spe.workspaces import load_object, store_object

MEDIA_TYPES: dict[str, frozenset[str]] = {
    OutputKind.table: frozenset({"text/csv"}),
    OutputKind.figure: frozenset({"image/png", "image/svg+xml"}),
    OutputKind.text: frozenset({"text/plain", "text/markdown", "application/json"}),
    OutputKind.regression: frozenset({"text/plain"}),
    OutputKind.evidence: frozenset({"application/json"}),
}
"""The media types each kind of output may have."""

SUFFIXES = {
    "text/csv": ".csv",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/json": ".json",
}

_NAME = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._ -]{0,99}(/[A-Za-z0-9][A-Za-z0-9._ -]{0,99})*"
)
_ORIGIN = re.compile(r"(job|query):[A-Za-z0-9-]{1,40}")
_PNG = b"\x89PNG\r\n\x1a\n"
# What an SVG must not hold: a checker's browser would run it or fetch from elsewhere.
_SVG_ACTIVE = re.compile(
    rb"<\s*(script|foreignobject|iframe|embed|object)\b"
    rb"|\son[a-z]+\s*="
    rb"|javascript:"
    rb"|(xlink:)?href\s*=\s*[\"'](?!#|data:image/(png|jpeg);)",
    re.IGNORECASE,
)
_REGRESSION = re.compile(r"Regression Results|Dep\. Variable|Df Residuals")


def guess_kind(media_type: str, data: bytes) -> OutputKind:
    """The kind of a file a job left: by its type, and a text that reads like a
    statsmodels summary is a regression (the airlock checks its degrees of freedom)."""
    if media_type == "text/csv":
        return OutputKind.table
    if media_type.startswith("image/"):
        return OutputKind.figure
    if media_type == "text/plain" and _REGRESSION.search(
        data[:65536].decode("utf-8", errors="replace")
    ):
        return OutputKind.regression
    return OutputKind.text


def _check(
    config: SpeConfig,
    *,
    name: str,
    kind: str,
    media_type: str,
    data: bytes,
    origin: str,
) -> None:
    errors: list[FieldError] = []
    if len(name) > 200 or not _NAME.fullmatch(name) or ".." in name.split("/"):
        errors.append(
            FieldError("name", "Use letters, digits, '.', '_', '-', spaces and '/'.")
        )
    if kind not in MEDIA_TYPES:
        errors.append(FieldError("kind", f"One of {', '.join(MEDIA_TYPES)}."))
    elif media_type not in MEDIA_TYPES[kind]:
        errors.append(
            FieldError(
                "media_type",
                f"A {kind} is one of {', '.join(sorted(MEDIA_TYPES[kind]))}.",
            )
        )
    if not _ORIGIN.fullmatch(origin):
        errors.append(FieldError("origin", "job:<id> or query:<id>."))
    limit = config.sandbox.max_output_bytes
    if len(data) > limit:
        errors.append(FieldError("data", f"At most {limit} bytes."))
    if errors:
        raise InvalidInput(f"Output {name[:80]!r} cannot be saved.", errors=errors)
    problem = _content_problem(media_type, data)
    if problem:
        raise InvalidInput(
            f"Output {name[:80]!r} cannot be saved: {problem}.",
            errors=[FieldError("data", problem)],
        )


def _content_problem(media_type: str, data: bytes) -> str | None:
    """Why the bytes are not what the media type says, or None."""
    if media_type == "image/png":
        return None if data.startswith(_PNG) else "it is not a PNG image"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    if "\x00" in text:
        return "it holds NUL characters"
    if media_type == "image/svg+xml":
        if "<svg" not in text[:4096].lower():
            return "it is not an SVG image"
        if _SVG_ACTIVE.search(data):
            return "an SVG may hold no scripts, event handlers or links to elsewhere"
    return None


def save_output(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    workspace: Workspace,
    *,
    name: str,
    kind: str,
    media_type: str,
    data: bytes,
    origin: str,
    code: str,
    created_by: int | None = None,
) -> WorkspaceOutput:
    """Seal ``data`` with the workspace key and record it as an output of ``origin``.

    ``code`` is the SQL or the script that produced it. ``created_by`` is the member it
    belongs to, by default the actor (a job's worker passes the job's author). The caller
    has checked that the actor may act in the workspace."""
    author = created_by if created_by is not None else actor.person_id
    if author is None:
        raise InvalidInput("An output belongs to a member: say which.")
    _check(
        config, name=name, kind=kind, media_type=media_type, data=data, origin=origin
    )
    if not workspace.ready:
        raise Conflict(
            f"Workspace {workspace.name} is {workspace.status}: it takes no new outputs."
        )
    suffix = SUFFIXES[media_type]
    stored = store_object(
        session,
        config,
        workspace,
        f"outputs/{secrets.token_hex(16)}{suffix}.enc",
        data,
    )
    code_sha256 = hashlib.sha256(code.encode()).hexdigest()
    output = WorkspaceOutput(
        workspace_id=workspace.id,
        name=name,
        kind=str(kind),
        media_type=media_type,
        origin=origin,
        code=code,
        code_sha256=code_sha256,
        storage_key=stored.storage_key,
        bytes=len(data),
        sha256=stored.sha256,
        created_by=author,
        created_at=config.now(),
    )
    session.add(output)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        OutputSaved(
            output_id=output.id,
            workspace_id=workspace.id,
            workspace=workspace.name,
            name=name,
            kind=str(kind),
            media_type=media_type,
            origin=origin,
            bytes=len(data),
            sha256=stored.sha256,
            code_sha256=code_sha256,
        ),
    )
    return output


def read_output(session: Session, config: SpeConfig, output: WorkspaceOutput) -> bytes:
    """The plaintext of ``output``, checked against the hash recorded when it was saved.
    The caller checks access; this never serves a member a download."""
    workspace = session.get(Workspace, output.workspace_id)
    if workspace is None:  # pragma: no cover - a foreign key guards it
        raise NotFound(f"Output {output.id} has no workspace.")
    plain = load_object(session, config, workspace, output.storage_key)
    if hashlib.sha256(plain).hexdigest() != output.sha256:
        raise crypto.ObjectUnreadable(
            f"Output {output.id} of workspace {workspace.name} is not the file its "
            "record names (its SHA-256 differs)."
        )
    return plain


def list_outputs(
    session: Session, workspace: Workspace, *, origin: str | None = None
) -> list[WorkspaceOutput]:
    """The workspace's outputs, oldest first; only those of ``origin`` when given."""
    query = select(WorkspaceOutput).where(WorkspaceOutput.workspace_id == workspace.id)
    if origin is not None:
        query = query.where(WorkspaceOutput.origin == origin)
    return list(session.scalars(query.order_by(WorkspaceOutput.id)))


def get_output(
    session: Session, workspace: Workspace, output_id: int
) -> WorkspaceOutput:
    """Output ``output_id`` of ``workspace``, or NotFound (also for another workspace's)."""
    output = session.get(WorkspaceOutput, output_id)
    if output is None or output.workspace_id != workspace.id:
        raise NotFound(f"Workspace {workspace.name} has no output {output_id}.")
    return output
