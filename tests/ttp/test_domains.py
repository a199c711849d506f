"""Pseudonym domains on the real database: created, rotated, retired; a wrong or missing
master key is caught before it makes a pseudonym; the tables match the migration."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from datafactory.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from datafactory.permits.models import Permit
from datafactory.ttp import domains
from datafactory.ttp.errors import DomainRetired, KeyCustodyError, UnknownDomain
from datafactory.ttp.keys import EnvCustody, KeyFileCustody
from datafactory.ttp.models import MasterKeyCheck, PseudonymDomain
from tests.support.schema import differences
from tests.ttp.world import (
    CLI_OPERATOR,
    build_team,
    ledger_entries,
    make_permit,
    ttp_config,
)


@pytest.fixture
def team(committed):
    return committed(build_team)


@pytest.fixture
def config(tmp_path):
    return ttp_config(tmp_path)


def create(committed, config, actor, **fields):
    return committed(lambda s: domains.create_domain(s, actor, config, **fields).name)


def test_a_sector_domain_starts_on_the_current_master_key(committed, db, config):
    assert (
        create(committed, config, CLI_OPERATOR, name="sector:health") == "sector:health"
    )
    domain = db.scalar(select(PseudonymDomain))
    assert (domain.kind, domain.status, domain.key_version) == ("sector", "created", 1)
    assert domain.key_versions == [1] and domain.permit_id is None
    assert [e.action for e in ledger_entries(db)] == [
        "ttp.key.first_used",
        "ttp.domain.created",
    ]
    assert db.get(MasterKeyCheck, 1) is not None


def test_a_bare_name_takes_the_kind_and_a_permit_domain_names_its_permit(
    committed, db, config, team
):
    assert create(committed, config, CLI_OPERATOR, name="jobs") == "sector:jobs"
    made = create(
        committed, config, CLI_OPERATOR, name="", permit_reference=team.permit_reference
    )
    assert made == f"permit:{team.permit_reference}"
    domain = db.scalar(select(PseudonymDomain).where(PseudonymDomain.name == made))
    assert domain.kind == "permit" and domain.permit_id is not None


def test_a_permit_domain_needs_a_permit_in_force(committed, config, team):
    with pytest.raises(NotFound, match="no permit PRM-1999-00001"):
        create(committed, config, CLI_OPERATOR, name="permit:PRM-1999-00001")
    committed(lambda s: make_permit(s, team.alice, "PRM-2026-00002", "REVOKED"))
    with pytest.raises(Conflict, match="REVOKED"):
        create(committed, config, CLI_OPERATOR, name="permit:PRM-2026-00002")


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "project:x"},
        {"name": "sector:"},
        {"name": "sector:has space"},
        {"name": "sector:x", "kind": "permit"},
        {"name": "sector:x", "permit_reference": "PRM-2026-00001"},
    ],
    ids=["unknown-kind", "empty", "space", "kind-mismatch", "sector-with-permit"],
)
def test_a_bad_domain_name_is_refused(committed, config, fields):
    from datafactory.ttp.models import DomainKind

    if "kind" in fields:
        fields = {**fields, "kind": DomainKind(fields["kind"])}
    with pytest.raises(InvalidInput, match="not a valid pseudonym domain name"):
        create(committed, config, CLI_OPERATOR, **fields)


def test_a_domain_is_created_once(committed, config):
    create(committed, config, CLI_OPERATOR, name="sector:health")
    with pytest.raises(Conflict, match="exists already"):
        create(committed, config, CLI_OPERATOR, name="sector:health")


def test_only_ttp_operators_manage_domains(committed, config, team):
    with pytest.raises(Forbidden):
        create(committed, config, team.actor(team.outsider), name="sector:x")
    with pytest.raises(Forbidden):
        committed(lambda s: domains.list_domains(s, team.actor(team.citizen)))
    create(committed, config, team.actor(team.alice), name="sector:x")
    names = committed(
        lambda s: [d.name for d in domains.list_domains(s, team.actor(team.bob))]
    )
    assert names == ["sector:x"]


def test_an_unknown_domain_is_a_clear_error(committed, config):
    with pytest.raises(UnknownDomain, match="no pseudonym domain 'sector:nowhere'"):
        committed(
            lambda s: domains.rotate_domain(
                s, CLI_OPERATOR, config, name="sector:nowhere"
            )
        )


def test_rotation_moves_a_domain_to_the_new_master_key_and_records_both(
    committed, db, config
):
    create(committed, config, CLI_OPERATOR, name="sector:health")
    with pytest.raises(Conflict, match="rotate the master key first"):
        committed(
            lambda s: domains.rotate_domain(
                s, CLI_OPERATOR, config, name="sector:health"
            )
        )
    version = committed(
        lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config, expected_version=1)
    )
    assert version == 2
    with pytest.raises(Conflict, match="current master key version is 2, not 1"):
        committed(
            lambda s: domains.rotate_master_key(
                s, CLI_OPERATOR, config, expected_version=1
            )
        )
    committed(
        lambda s: domains.rotate_domain(s, CLI_OPERATOR, config, name="sector:health")
    )
    domain = db.scalar(select(PseudonymDomain))
    assert (domain.status, domain.key_version, domain.key_versions) == (
        "rotated",
        2,
        [1, 2],
    )
    assert domain.rotated_at == config.now()
    rotated = [e for e in ledger_entries(db) if e.action == "ttp.domain.rotated"]
    assert '"from_version":1' in rotated[0].details
    assert '"to_version":2' in rotated[0].details
    assert [e.action for e in ledger_entries(db, "ttp.key")] == [
        "ttp.key.first_used",
        "ttp.key.first_used",
        "ttp.key.rotated",
    ]


def test_a_retired_domain_can_be_neither_rotated_nor_retired_again(committed, config):
    create(committed, config, CLI_OPERATOR, name="sector:health")
    committed(
        lambda s: domains.retire_domain(
            s, CLI_OPERATOR, config, name="sector:health", reason="register closed"
        )
    )
    committed(lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config))
    for step in (
        lambda s: domains.rotate_domain(s, CLI_OPERATOR, config, name="sector:health"),
        lambda s: domains.retire_domain(
            s, CLI_OPERATOR, config, name="sector:health", reason="again"
        ),
    ):
        with pytest.raises(DomainRetired, match="retired and makes no new pseudonyms"):
            committed(step)


def test_a_different_key_under_a_known_version_is_refused(
    committed, db, config, tmp_path
):
    create(committed, config, CLI_OPERATOR, name="sector:health")
    other = ttp_config(tmp_path, custody=KeyFileCustody(tmp_path / "elsewhere.json"))
    with pytest.raises(KeyCustodyError, match="check value differs"):
        create(committed, other, CLI_OPERATOR, name="sector:jobs")
    assert (
        db.scalar(select(PseudonymDomain).where(PseudonymDomain.name == "sector:jobs"))
        is None
    )


def test_a_missing_key_version_is_a_clear_error(committed, config, tmp_path):
    create(committed, config, CLI_OPERATOR, name="sector:health")
    committed(lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config))
    committed(
        lambda s: domains.rotate_domain(s, CLI_OPERATOR, config, name="sector:health")
    )
    only_first = base64.b64encode(config.custody.master_key(1)).decode()
    env = ttp_config(tmp_path, custody=EnvCustody(f"1:{only_first}"))
    from datafactory.ttp import lookup

    with pytest.raises(KeyCustodyError, match="version 2 is missing from the setting"):
        committed(
            lambda s: lookup.domains_holding(
                s, CLI_OPERATOR, env, matricule="1893120105732"
            )
        )


def test_the_tables_match_the_migration(runtime):
    ours = {
        "pseudonym_domains",
        "domain_pseudonyms",
        "reidentification_requests",
        "ttp_key_checks",
    }
    assert differences(runtime.engine, ours) == []


def test_a_revoked_or_expired_permit_retires_its_domain(committed, db, config, team):
    name = f"permit:{team.permit_reference}"
    create(committed, config, CLI_OPERATOR, name=name)

    def revoke(session):
        permit = session.scalar(
            select(Permit).where(Permit.reference == team.permit_reference)
        )
        permit.status = "REVOKED"
        domains.retire_with_permit(session, permit, "AMENDED")
        assert domains.open_domain(session, name).status == "created"
        domains.retire_with_permit(session, permit, "REVOKED")
        domains.retire_with_permit(session, permit, "REVOKED")  # once is enough

    committed(revoke)
    domain = db.scalar(select(PseudonymDomain).where(PseudonymDomain.name == name))
    assert domain.status == "retired"
    retired = [e for e in ledger_entries(db) if e.action == "ttp.domain.retired"]
    assert len(retired) == 1 and retired[0].actor == "system:permits"
    assert "permit PRM-2026-00001 revoked" in retired[0].details
