"""Workspace outputs: sealed with the workspace key, checked for type and size, read back
only by the platform (the airlock releases them), and shredded with the workspace."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from datafactory.core.errors import Conflict, Gone, InvalidInput, NotFound
from datafactory.core.ledger import LedgerEntry
from datafactory.spe import workspaces
from datafactory.spe.crypto import ObjectUnreadable
from datafactory.spe.jobs.models import OutputKind, WorkspaceOutput
from datafactory.spe.models import WorkspaceStatus
from datafactory.spe.outputs import (
    get_output,
    guess_kind,
    list_outputs,
    read_output,
    save_output,
)
from tests.spe.jobs_world import build, spe_config
from tests.ttp.world import Clock

TABLE = b"sex,n\nF,200\nM,100\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def spe(runtime, tmp_path):
    return spe_config(runtime.store, tmp_path, Clock(), max_output_bytes=1000)


@pytest.fixture
def world(committed, spe):
    return committed(lambda s: build(s, spe))


def save(db, world, spe, **change):
    values = {
        "name": "by_sex.csv",
        "kind": OutputKind.table,
        "media_type": "text/csv",
        "data": TABLE,
        "origin": "query:12",
        "code": "SELECT sex, COUNT(*) AS n FROM person GROUP BY sex",
        **change,
    }
    workspace = workspaces.get_workspace(db, world.workspace_name)
    return save_output(db, world.member_actor, spe, workspace, **values)


def test_an_output_is_sealed_with_the_workspace_key_and_reads_back(db, world, spe):
    output = save(db, world, spe)
    db.commit()
    stored = spe.store.read(output.storage_key)
    assert TABLE not in stored and b"F,200" not in stored
    assert output.storage_key.startswith("spe/jobs/outputs/")
    assert output.sha256 == hashlib.sha256(TABLE).hexdigest()
    assert output.bytes == len(TABLE)
    assert output.code_sha256 == hashlib.sha256(output.code.encode()).hexdigest()
    assert output.created_by == world.member.id
    assert read_output(db, spe, output) == TABLE
    entry = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "spe.output.saved")
    ).one()
    assert entry.subject == f"spe-output:{output.id}"
    assert output.sha256 in entry.details and "F,200" not in entry.details


def test_outputs_are_listed_by_workspace_and_origin(db, world, spe, committed):
    other = committed(lambda s: build(s, spe, name="other")).workspace_name
    first = save(db, world, spe)
    second = save(
        db,
        world,
        spe,
        name="f.png",
        kind="figure",
        media_type="image/png",
        data=PNG,
        origin="job:3",
    )
    workspace = workspaces.get_workspace(db, world.workspace_name)
    assert [o.id for o in list_outputs(db, workspace)] == [first.id, second.id]
    assert [o.id for o in list_outputs(db, workspace, origin="job:3")] == [second.id]
    assert get_output(db, workspace, second.id) is second
    with pytest.raises(NotFound):
        get_output(db, workspaces.get_workspace(db, other), first.id)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "video"}, "kind"),
        ({"media_type": "image/png"}, "media_type"),
        ({"kind": "figure", "media_type": "text/csv"}, "media_type"),
        ({"data": b"x" * 1001}, "data"),
        ({"name": "../etc/passwd"}, "name"),
        ({"name": "a\nb.csv"}, "name"),
        ({"origin": "upload:1"}, "origin"),
    ],
)
def test_outputs_of_the_wrong_kind_size_name_or_origin_are_refused(
    db, world, spe, change, field
):
    with pytest.raises(InvalidInput) as refused:
        save(db, world, spe, **change)
    assert field in {e.field for e in refused.value.errors}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"kind": "figure", "media_type": "image/png", "data": b"GIF89a"}, "not a PNG"),
        ({"data": b"\xff\xfe\x00binary"}, "not UTF-8"),
        ({"data": b"a,b\n\x00\n"}, "NUL"),
        (
            {
                "kind": "figure",
                "media_type": "image/svg+xml",
                "data": b'<svg><script>fetch("/api")</script></svg>',
            },
            "no scripts",
        ),
        (
            {
                "kind": "figure",
                "media_type": "image/svg+xml",
                "data": b'<svg><image href="https://evil.example/x.png"/></svg>',
            },
            "no scripts",
        ),
        (
            {
                "kind": "figure",
                "media_type": "image/svg+xml",
                "data": b'<svg onload="alert(1)"></svg>',
            },
            "no scripts",
        ),
    ],
)
def test_content_must_be_what_its_type_says(db, world, spe, change, why):
    with pytest.raises(InvalidInput, match=why):
        save(db, world, spe, **change)


def test_a_matplotlib_style_svg_is_accepted(db, world, spe):
    svg = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink"><defs><path id="g1" d="M0 0"/>'
        b'</defs><use xlink:href="#g1"/></svg>'
    )
    output = save(
        db,
        world,
        spe,
        name="f.svg",
        kind="figure",
        media_type="image/svg+xml",
        data=svg,
    )
    assert read_output(db, spe, output) == svg


def test_a_workspace_that_is_not_ready_takes_no_outputs(db, world, spe):
    workspace = workspaces.get_workspace(db, world.workspace_name)
    workspace.status = WorkspaceStatus.closed.value
    with pytest.raises(Conflict, match="takes no new outputs"):
        save(db, world, spe)


def test_an_altered_output_does_not_open(db, world, spe):
    output = save(db, world, spe)
    other = save(db, world, spe, name="other.csv", data=b"a\n1\n")
    # The ciphertext of another output, under this one's name: the key is the same, the
    # associated data is not.
    spe.store.write(output.storage_key, spe.store.read(other.storage_key))
    with pytest.raises(ObjectUnreadable):
        read_output(db, spe, output)


def test_a_destroyed_workspace_shreds_its_outputs(db, world, spe):
    output = save(db, world, spe)
    workspace = workspaces.get_workspace(db, world.workspace_name)
    workspaces.destroy_workspace(
        db, workspaces.SYSTEM, spe, workspace, "The permit ended."
    )
    assert not spe.store.exists(output.storage_key)
    with pytest.raises(Gone):
        read_output(db, spe, db.get(WorkspaceOutput, output.id))


def test_a_job_file_gets_its_kind_from_its_type_and_content():
    assert guess_kind("text/csv", b"a,b") == OutputKind.table
    assert guess_kind("image/svg+xml", b"<svg/>") == OutputKind.figure
    summary = b"OLS Regression Results\nDep. Variable: y\nDf Residuals: 98"
    assert guess_kind("text/plain", summary) == OutputKind.regression
    assert guess_kind("text/plain", b"hello") == OutputKind.text
    assert guess_kind("application/json", b"{}") == OutputKind.text
