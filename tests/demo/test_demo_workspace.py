"""The demo's secure processing environment: the workspace ``demo`` of the researcher's
permit is prepared with at least 5,000 people, answers the CLI at once, and holds one
approved release whose SQL is on the permit's public archive."""

from __future__ import annotations

import json
import sys

import pytest
from sqlalchemy import select

from datafactory import demo
from datafactory.cli.main import main
from datafactory.demo.applications import load_applications
from datafactory.demo.holders import load_holders
from datafactory.demo.workspace import DEMO_WORKSPACE, RELEASE_SQL, load_workspace
from datafactory.permits.models import Permit
from datafactory.spe.airlock.archive import permit_archive
from datafactory.spe.airlock.models import ReleaseRequest
from datafactory.spe.models import Workspace, WorkspaceStatus
from datafactory.spe.workspaces import table_specs


@pytest.fixture
def loaded(runtime, committed):
    committed(demo.load)
    committed(lambda s: load_applications(s, runtime.permits))
    load_holders(runtime)
    return load_workspace(runtime)


def test_the_demo_workspace_is_prepared_released_and_archived(runtime, db, loaded):
    """One demo load serves every check: loading it takes a while."""
    workspace = db.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
    assert workspace.status == WorkspaceStatus.ready
    specs = table_specs(db, workspace)
    person = [c.name for c in specs["person"].columns]
    assert person == ["pseudonym", "birth_year", "sex", "commune", "nationality"]
    assert {"pseudonym", "year", "care_type", "amount"} <= {
        c.name for c in specs["claim"].columns
    }
    assert loaded["workspace_person"] >= 5000
    assert loaded["workspace_claim"] > loaded["workspace_person"]

    request = db.scalars(select(ReleaseRequest)).one()
    assert request.status == "approved"
    permit = db.get(Permit, workspace.permit_id)
    archive = permit_archive(db, permit.reference)
    assert [e.text for e in archive.entries] == [RELEASE_SQL]
    assert permit.results_url.endswith(f"/permits/{permit.reference}/archive")

    assert load_workspace(runtime) == {}  # loading again changes nothing


def test_the_cli_answers_the_demo_query_at_once(monkeypatch, capsys, settings, loaded):
    monkeypatch.setenv("DATAFACTORY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATAFACTORY_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("DATAFACTORY_SECRET_KEY", "cli-test-secret-key-long-enough-000")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # what loading the demo logged
        monkeypatch.setattr(sys, "argv", ["datafactory", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run(
        "spe",
        "query",
        "--workspace",
        "demo",
        "--user",
        "researcher",
        "--json",
        "SELECT sex, COUNT(*) AS people FROM person GROUP BY sex",
    )
    assert code == 0
    answer = json.loads(out)
    assert sorted(r[0] for r in answer["rows"]) == ["F", "M"]
    assert sum(r[1] for r in answer["rows"]) >= 5000

    code, _, err = run(
        "spe",
        "query",
        "--workspace",
        "demo",
        "--user",
        "researcher",
        "SELECT pseudonym FROM person",
    )
    assert code == 1
    assert "refused" in err
    assert "Traceback" not in err

    code, _, err = run(
        "spe", "prepare", "--workspace", "demo", "--as", "ttp@demo.datafactory.lu"
    )
    assert code == 1
    assert "is ready" in err  # prepared once: its tables are not replaced under it
