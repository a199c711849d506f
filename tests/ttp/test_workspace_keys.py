"""Workspace keys at the TTP: made at random, kept only wrapped under the master key,
bound to their workspace, checked against the master key's check value, and shredded for
good; the ledger names the workspace and the master version, never the key."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select, update

from datafactory.core import ledger
from datafactory.core.errors import Conflict
from datafactory.ttp import domains
from datafactory.ttp.errors import KeyCustodyError
from datafactory.ttp.keys import EnvCustody, KeyFileCustody
from datafactory.ttp.models import WorkspaceKey
from datafactory.ttp.workspace_keys import (
    WORKSPACE_KEY_BYTES,
    WorkspaceKeyDestroyed,
    issue_workspace_key,
    shred_workspace_key,
    workspace_key,
)
from tests.ttp.world import CLI_OPERATOR, ledger_entries, ledger_text, ttp_config


@pytest.fixture
def config(tmp_path):
    return ttp_config(tmp_path)


def issue(committed, config, workspace="permit-prm-2026-00001"):
    return committed(
        lambda s: issue_workspace_key(s, config, CLI_OPERATOR.ref, workspace)
    )


def test_a_key_is_random_kept_wrapped_and_given_back_unchanged(committed, db, config):
    key = issue(committed, config)
    other = issue(committed, config, "demo")
    assert len(key) == WORKSPACE_KEY_BYTES and key != other
    row = db.scalar(select(WorkspaceKey).where(WorkspaceKey.workspace == "demo"))
    assert row.master_version == 1 and other not in row.wrapped
    assert committed(lambda s: workspace_key(s, config, "demo")) == other
    assert committed(lambda s: workspace_key(s, config, "permit-prm-2026-00001")) == key


def test_issue_and_shredding_are_ledgered_without_the_key(committed, db, config):
    key = issue(committed, config)
    assert committed(
        lambda s: shred_workspace_key(s, CLI_OPERATOR.ref, "permit-prm-2026-00001")
    )
    assert [e.action for e in ledger_entries(db)] == [
        "ttp.key.first_used",
        "ttp.workspace_key.issued",
        "ttp.workspace_key.shredded",
    ]
    text = ledger_text(db)
    assert key.hex() not in text and base64.b64encode(key).decode() not in text
    assert ledger.verify(db).ok


def test_a_shredded_key_is_gone_for_good(committed, db, config):
    issue(committed, config)
    committed(
        lambda s: shred_workspace_key(s, CLI_OPERATOR.ref, "permit-prm-2026-00001")
    )
    assert db.scalar(select(WorkspaceKey)) is None
    with pytest.raises(WorkspaceKeyDestroyed, match="key was destroyed"):
        committed(lambda s: workspace_key(s, config, "permit-prm-2026-00001"))
    assert not committed(
        lambda s: shred_workspace_key(s, CLI_OPERATOR.ref, "permit-prm-2026-00001")
    )


def test_a_workspace_has_one_key(committed, config):
    issue(committed, config)
    with pytest.raises(Conflict, match="has a key already"):
        issue(committed, config)


def test_a_wrapped_key_moved_to_another_workspace_does_not_open(committed, config):
    issue(committed, config, "alpha")
    issue(committed, config, "beta")

    def swap(session):
        alpha = session.scalar(
            select(WorkspaceKey).where(WorkspaceKey.workspace == "alpha")
        )
        session.execute(
            update(WorkspaceKey)
            .where(WorkspaceKey.workspace == "beta")
            .values(wrapped=alpha.wrapped)
        )

    committed(swap)
    with pytest.raises(KeyCustodyError, match="altered or moved"):
        committed(lambda s: workspace_key(s, config, "beta"))


def test_a_wrong_master_key_is_refused_before_unwrapping(committed, config, tmp_path):
    issue(committed, config)
    other = ttp_config(tmp_path, custody=KeyFileCustody(tmp_path / "elsewhere.json"))
    with pytest.raises(KeyCustodyError, match="check value differs"):
        committed(lambda s: workspace_key(s, other, "permit-prm-2026-00001"))


def test_a_key_made_before_a_rotation_opens_with_its_own_master_version(
    committed, config, tmp_path
):
    old = issue(committed, config, "old")
    committed(lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config))
    new = issue(committed, config, "new")
    assert committed(lambda s: workspace_key(s, config, "old")) == old
    assert committed(lambda s: workspace_key(s, config, "new")) == new
    versions = committed(
        lambda s: dict(
            s.execute(select(WorkspaceKey.workspace, WorkspaceKey.master_version)).all()
        )
    )
    assert versions == {"old": 1, "new": 2}
    only_first = base64.b64encode(config.custody.master_key(1)).decode()
    env = ttp_config(tmp_path, custody=EnvCustody(f"1:{only_first}"))
    assert committed(lambda s: workspace_key(s, env, "old")) == old
    with pytest.raises(KeyCustodyError, match="version 2 is missing"):
        committed(lambda s: workspace_key(s, env, "new"))
