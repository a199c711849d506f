"""The citizen lookup lists exactly the domains that hold a person, never a pseudonym, and
the ledger names the person only by a keyed hash."""

from __future__ import annotations

import dataclasses
import json

import pytest

from datafactory.core.errors import Forbidden, InvalidInput
from datafactory.identity.actor import Actor
from datafactory.ttp import domains, files, lookup
from datafactory.ttp.lookup import DomainRef
from datafactory.ttp.policy import CITIZEN_TRACKER
from tests.ttp.world import (
    CLI_OPERATOR,
    build_team,
    ledger_entries,
    ledger_text,
    matricules,
    read_csv,
    spaced,
    ttp_config,
    write_csv,
)


@pytest.fixture
def config(tmp_path):
    return ttp_config(tmp_path)


@pytest.fixture
def team(committed):
    return committed(build_team)


@pytest.fixture
def people():
    return matricules(5, seed=3)


def fill(committed, config, tmp_path, domain, numbers):
    source = write_csv(tmp_path / "in.csv", [{"id": n} for n in numbers])
    committed(
        lambda s: files.pseudonymise_file(
            s,
            CLI_OPERATOR,
            config,
            domain=domain,
            column="id",
            source=source,
            target=tmp_path / "out.csv",
        )
    )
    return [r["id"] for r in read_csv(tmp_path / "out.csv")]


@pytest.fixture
def world(committed, config, team, people, tmp_path):
    """permit:PRM-2026-00001 holds people 0 and 1, sector:health 0 and 2, sector:jobs 1;
    person 3 is nowhere. sector:health is rotated after person 0 went in."""
    for name in (f"permit:{team.permit_reference}", "sector:health", "sector:jobs"):
        committed(
            lambda s, name=name: domains.create_domain(
                s, CLI_OPERATOR, config, name=name
            )
        )
    made = fill(
        committed, config, tmp_path, f"permit:{team.permit_reference}", people[:2]
    )
    made += fill(committed, config, tmp_path, "sector:health", [people[0]])
    committed(lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config))
    committed(
        lambda s: domains.rotate_domain(s, CLI_OPERATOR, config, name="sector:health")
    )
    made += fill(committed, config, tmp_path, "sector:health", [people[2]])
    made += fill(committed, config, tmp_path, "sector:jobs", [people[1]])
    return made


def holding(committed, config, number, actor=CLI_OPERATOR):
    return committed(
        lambda s: lookup.domains_holding(s, actor, config, matricule=number)
    )


def test_the_lookup_lists_exactly_the_domains_holding_the_person(
    committed, config, team, people, world
):
    permit = DomainRef(
        f"permit:{team.permit_reference}", "permit", "created", team.permit_reference
    )
    health = DomainRef("sector:health", "sector", "rotated", None)
    jobs = DomainRef("sector:jobs", "sector", "created", None)
    assert holding(committed, config, people[0]) == [permit, health]
    assert holding(committed, config, spaced(people[1])) == [permit, jobs]
    assert holding(committed, config, people[2]) == [health]
    assert holding(committed, config, people[3]) == []


def test_the_answer_and_the_ledger_hold_no_pseudonym_and_no_number(
    committed, db, config, people, world
):
    found = holding(committed, config, people[0])
    shown = json.dumps([dataclasses.asdict(r) for r in found])
    assert not any(p in shown for p in world)
    entries = ledger_entries(db, "ttp.lookup")
    details = json.loads(entries[-1].details)
    assert details["domains"] == 2 and details["key_version"] == 2
    assert entries[-1].subject == f"citizen:{details['person_ref']}"
    text = ledger_text(db)
    assert not any(number in text for number in people)
    assert not any(p in text for p in world)


def test_the_same_person_gets_the_same_ledger_name_and_others_another(
    committed, db, config, people, world
):
    holding(committed, config, people[0])
    holding(committed, config, spaced(people[0]))
    holding(committed, config, people[1])
    refs = [
        json.loads(e.details)["person_ref"] for e in ledger_entries(db, "ttp.lookup")
    ]
    assert refs[0] == refs[1] != refs[2]


def test_an_invalid_number_says_why_without_repeating_it(committed, config, world):
    with pytest.raises(InvalidInput) as refused:
        holding(committed, config, "1985 0101 123 46")
    message = json.dumps(refused.value.problem())
    assert "Luhn" in message or "Verhoeff" in message
    assert "1985" not in message


def test_operators_and_the_citizen_tracker_may_look_up_nobody_else(
    committed, config, team, people, world
):
    for who in (team.outsider, team.citizen):
        with pytest.raises(Forbidden):
            holding(committed, config, people[0], team.actor(who))
    tracker = Actor.system("citizen-tracker")
    assert tracker.ref == CITIZEN_TRACKER
    assert len(holding(committed, config, people[0], tracker)) == 2
    assert len(holding(committed, config, people[0], team.actor(team.alice))) == 2
