"""The platform's daily round destroys the workspaces whose retention after their permit
has passed: the key is shredded at the TTP and the files are gone."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from datafactory.spe.models import Workspace, WorkspaceStatus
from datafactory.ttp.models import WorkspaceKey
from tests.spe.gate_world import build_gate_world


def test_the_daily_round_destroys_a_workspace_past_its_retention(
    committed, runtime, db, tmp_path
):
    build_gate_world(committed, runtime, tmp_path, spe=runtime.spe)

    def close(session):
        workspace = session.scalar(select(Workspace).where(Workspace.name == "study"))
        workspace.status = WorkspaceStatus.closed.value
        workspace.destroy_after = date.today() - timedelta(days=2)

    committed(close)
    assert runtime.store.list("spe/study/")

    _report, destroyed = runtime.daily_round()

    assert destroyed == ["study"]
    db.expire_all()
    workspace = db.scalar(select(Workspace).where(Workspace.name == "study"))
    assert workspace.status == WorkspaceStatus.destroyed
    assert (
        db.scalar(select(WorkspaceKey).where(WorkspaceKey.workspace == "study")) is None
    )
    assert runtime.store.list("spe/study/") == []
    assert runtime.daily_round()[1] == []  # nothing left to destroy
