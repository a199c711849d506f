"""The aggregated form names its tables: the schema refuses what no workspace could
hold, completeness says in plain words what is missing, the handler's checklist sees a
table-less aggregated application, and the permit freezes the tables into its scope
and its signed JWS."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from datafactory.identity import policy, tokens
from datafactory.permits import credentials
from datafactory.permits.completeness import check_completeness, is_complete
from datafactory.permits.config import PermitsConfig
from datafactory.permits.criteria import ANONYMISATION, check_criteria
from datafactory.permits.models import Permit
from datafactory.permits.schemas import TABLE_NAME, ApplicationForm, DataForm
from tests.permits.test_completeness import complete_facts, complete_form, edit
from tests.permits.test_procedure import Clock, draft, grant
from tests.permits.world import World, build_world
from tests.permits.world import complete_form as world_form


@pytest.fixture
def config(runtime) -> PermitsConfig:
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    return dataclasses.replace(runtime.permits, now=clock, base_url="http://testserver")


@pytest.fixture
def world(committed) -> World:
    return committed(build_world)


BY_STAGE = {
    "name": "survivors_by_stage",
    "dataset_id": "cancer",
    "group_by": ["stage", "diagnosis_date"],
    "justification": "Survival differs by stage, so we count patients by stage.",
}


def aggregated(*tables: dict[str, Any]) -> ApplicationForm:
    form = edit(complete_form(), "data_form", DataForm.aggregated)
    return edit(form, "aggregate_tables", list(tables))


def gaps_at(form: ApplicationForm) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for gap in check_completeness(form, complete_facts()):
        if gap.field.startswith("aggregate_tables"):
            found.setdefault(gap.field, []).append(f"{gap.severity}: {gap.message}")
    return found


# --- the schema --------------------------------------------------------------------


def test_a_table_is_named_like_a_workspace_table() -> None:
    with pytest.raises(ValidationError) as refused:
        aggregated({**BY_STAGE, "name": "Survivors by stage"})
    (error,) = refused.value.errors()
    assert error["loc"] == ("aggregate_tables", 0, "name")
    assert "lower-case letters, digits and _" in error["msg"]


def test_each_table_has_its_own_name_and_at_most_four_groups() -> None:
    with pytest.raises(ValidationError) as twice:
        aggregated(BY_STAGE, {**BY_STAGE, "dataset_id": "hosp"})
    assert twice.value.errors()[0]["loc"] == ("aggregate_tables",)
    assert "survivors_by_stage is used more than once" in str(twice.value)

    with pytest.raises(ValidationError) as wide:
        aggregated({**BY_STAGE, "group_by": ["a", "b", "c", "d", "e"]})
    assert wide.value.errors()[0]["loc"] == ("aggregate_tables", 0, "group_by")


@given(st.from_regex(TABLE_NAME, fullmatch=True))
def test_every_name_the_pattern_allows_is_accepted(name: str) -> None:
    form = ApplicationForm.model_validate(
        {"aggregate_tables": [{"name": name, "dataset_id": "cancer"}]}
    )
    assert form.aggregate_tables[0].name == name


@given(st.text(min_size=1, max_size=70).filter(lambda n: n.lower() != n or " " in n))
def test_names_with_capitals_or_spaces_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        ApplicationForm.model_validate(
            {"aggregate_tables": [{"name": name, "dataset_id": "cancer"}]}
        )


# --- completeness ------------------------------------------------------------------


def test_an_aggregated_application_with_its_tables_is_complete() -> None:
    form = aggregated(BY_STAGE)
    assert gaps_at(form) == {}
    assert is_complete(check_completeness(form, complete_facts()))


def test_an_aggregated_application_without_a_table_cannot_be_submitted() -> None:
    form = aggregated()
    assert gaps_at(form) == {
        "aggregate_tables": [
            "missing: Name at least one aggregate table: with aggregated data, the"
            " workspace holds only the tables you name."
        ]
    }
    assert not is_complete(check_completeness(form, complete_facts()))


def test_a_table_counts_requested_non_identifying_variables_of_a_requested_dataset() -> (
    None
):
    form = aggregated(
        {**BY_STAGE, "group_by": ["stage", "tumour_site", "patient_id"]},
        {**BY_STAGE, "name": "stays", "dataset_id": "gone", "group_by": ["answer"]},
        {**BY_STAGE, "name": "empty", "group_by": [], "justification": ""},
    )
    gaps = gaps_at(form)
    assert gaps["aggregate_tables.0.group_by"] == [
        "missing: Table survivors_by_stage groups by 'tumour_site', not requested from"
        " dataset cancer: tick the variable under the dataset or untick it in the"
        " table.",
        "missing: Table survivors_by_stage cannot use 'patient_id': it directly"
        " identifies people, and aggregated data hold no identifier.",
    ]
    assert gaps["aggregate_tables.1.dataset_id"] == [
        "missing: Table stays counts dataset gone, which you do not request: add the"
        " dataset or remove the table."
    ]
    assert gaps["aggregate_tables.2.group_by"] == [
        "missing: Choose the variables table empty counts people by (one to 4)."
    ]
    assert gaps["aggregate_tables.2.justification"][0].startswith("weak: Explain")


def test_measures_are_requested_and_not_also_groups() -> None:
    form = aggregated(
        {**BY_STAGE, "measures": ["stage", "hiv_status"]},
    )
    gaps = gaps_at(form)
    assert any("sums 'hiv_status'" in m for m in gaps["aggregate_tables.0.measures"])
    assert any(
        "both groups by and sums" in m for m in gaps["aggregate_tables.0.measures"]
    )


def test_tables_of_another_form_are_ignored_and_the_applicant_told() -> None:
    form = edit(aggregated(BY_STAGE), "data_form", DataForm.pseudonymised)
    gaps = gaps_at(form)
    assert list(gaps) == ["aggregate_tables"]
    assert gaps["aggregate_tables"][0].startswith("weak: You named aggregate tables")


def test_the_checklist_flags_an_aggregated_application_without_tables() -> None:
    def anonymisation(form: ApplicationForm) -> tuple[str, str]:
        found = {c.code: c for c in check_criteria(form, complete_facts())}
        return found[ANONYMISATION].outcome, found[ANONYMISATION].message

    assert anonymisation(aggregated())[0] == "not_met"
    outcome, message = anonymisation(aggregated(BY_STAGE))
    assert outcome == "met" and "survivors_by_stage" in message


# --- the permit --------------------------------------------------------------------


def test_the_permit_freezes_the_tables_into_its_scope_and_jws(
    runtime,
    committed,
    config,
    world,
):
    form = world_form(world)
    form["data_form"] = "aggregated"
    form["aggregate_tables"] = [
        {
            "name": "people_by_age_sex",
            "dataset_id": world.register,
            "group_by": ["birth_year", "sex"],
            "justification": "Prevalence by age group and sex is the outcome.",
        }
    ]
    app_id = draft(committed, config, world, form)
    grant(committed, config, world, app_id)

    permit = committed(lambda s: s.scalars(select(Permit)).one())
    frozen = [
        {
            "name": "people_by_age_sex",
            "dataset": world.register,
            "group_by": ["birth_year", "sex"],
            "measures": [],
        }
    ]
    assert permit.scope["aggregate_tables"] == frozen
    claims = credentials.verify(
        permit.token,
        credentials.jwks([config.permit_key]),
        leeway=10**9,
        issuer="http://testserver",
    )
    assert claims["permit"]["aggregate_tables"] == frozen


def test_a_pseudonymised_permit_holds_no_aggregate_table(
    runtime,
    committed,
    config,
    world,
):
    form = world_form(world)
    form["aggregate_tables"] = [
        {"name": "left_over", "dataset_id": world.register, "group_by": ["sex"]}
    ]
    app_id = draft(committed, config, world, form)
    grant(committed, config, world, app_id)

    permit = committed(lambda s: s.scalars(select(Permit)).one())
    assert permit.scope["form"] == "pseudonymised"
    assert permit.scope["aggregate_tables"] == []


def test_the_api_refuses_a_bad_table_with_a_problem_at_its_field(
    client, committed, world
):
    def issue(session):
        return tokens.create_token(
            session,
            world.actor(world.researcher),
            name="test",
            scopes=policy.token_scopes(),
            days=30,
            max_days=365,
        ).secret

    headers = {"Authorization": f"Bearer {committed(issue)}"}
    form = world_form(world)
    form["data_form"] = "aggregated"
    form["aggregate_tables"] = [
        {"name": "By age", "dataset_id": world.register, "group_by": ["birth_year"]}
    ]
    answer = client.post("/api/v1/applications", json={"form": form}, headers=headers)

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    (error,) = answer.json()["errors"]
    assert error["field"] == "form.aggregate_tables.0.name"
    assert "lower-case letters, digits and _" in error["message"]
