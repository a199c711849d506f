"""The handler's checklist: the complete application meets every criterion, and each
thing broken shows as not met (or needing attention) under its own code and rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafactory.permits.criteria import (
    ANONYMISATION,
    CODES,
    DATASETS_PROTECTED,
    DIRECT_IDENTIFIERS,
    DURATION,
    PROHIBITED_USES,
    PURPOSES_ALLOWED,
    SENSITIVE_DATA,
    Criterion,
    check_criteria,
)
from datafactory.permits.facts import ApplicantFacts, ApplicationFacts
from datafactory.permits.schemas import (
    ApplicationForm,
    DataForm,
    LegalBasis,
    ProhibitedUse,
)
from tests.permits.test_completeness import (
    DGA,
    MEMBER,
    PI,
    append,
    complete_facts,
    complete_form,
    edit,
)

Break = Callable[
    [ApplicationForm, ApplicationFacts], tuple[ApplicationForm, ApplicationFacts]
]


def by_code(criteria: list[Criterion]) -> dict[str, Criterion]:
    return {c.code: c for c in criteria}


def not_met(form: ApplicationForm, facts: ApplicationFacts) -> dict[str, str]:
    """The outcome of every criterion that is not met cleanly."""
    return {
        c.code: c.outcome for c in check_criteria(form, facts) if c.outcome != "met"
    }


def test_the_complete_application_meets_every_criterion() -> None:
    criteria = check_criteria(complete_form(), complete_facts())
    assert [c.code for c in criteria] == list(CODES)
    assert [c.outcome for c in criteria] == ["met"] * len(CODES)
    assert all(c.message and c.rule for c in criteria)


def test_each_criterion_cites_its_legal_source() -> None:
    ehds = {c.code: c.rule for c in check_criteria(complete_form(), complete_facts())}
    assert ehds == {
        PURPOSES_ALLOWED: "EHDS Art. 53(2)",
        PROHIBITED_USES: "EHDS Art. 54",
        DIRECT_IDENTIFIERS: "EHDS Art. 66 / 68(1)(b)",
        SENSITIVE_DATA: "GDPR Art. 9(2)",
        ANONYMISATION: "EHDS Art. 66(2) / 68(1)(c)",
        DURATION: "EHDS Art. 68(12)",
        DATASETS_PROTECTED: "EHDS Art. 68(1)",
    }
    form, facts = under_the_dga(complete_form(), complete_facts())
    dga = {c.code: c.rule for c in check_criteria(form, facts)}
    assert dga[PROHIBITED_USES] == "DGA Art. 5(5)"
    assert dga[ANONYMISATION] == "DGA Art. 5(3)(a)"
    assert dga[DATASETS_PROTECTED] == "DGA Art. 3(1)"
    unknown = check_criteria(complete_form(), replace(complete_facts(), regime=None))
    assert by_code(unknown)[DURATION].rule == "EHDS Art. 68(12) or DGA Art. 5(2)"
    assert by_code(unknown)[SENSITIVE_DATA].rule == "GDPR Art. 9(2)"


def test_a_regime_of_the_operator_is_cited_by_its_reference() -> None:
    regime = complete_facts().regime
    assert regime is not None
    own = replace(regime, code="lu-stat", reference="Loi du 1er ...")
    criteria = check_criteria(complete_form(), replace(complete_facts(), regime=own))
    assert {c.rule for c in criteria} == {"Loi du 1er ..."}


def test_a_criterion_is_a_frozen_value() -> None:
    criterion = check_criteria(complete_form(), complete_facts())[0]
    with pytest.raises(FrozenInstanceError):
        criterion.outcome = "not_met"  # type: ignore[misc]


# --- one thing broken at a time ------------------------------------------------------


def form_change(path: str, value: Any) -> Break:
    return lambda form, facts: (edit(form, path, value), facts)


def form_append(path: str, item: Any) -> Break:
    return lambda form, facts: (append(form, path, item), facts)


def facts_change(**changes: Any) -> Break:
    return lambda form, facts: (form, replace(facts, **changes))


def both(*breaks: Break) -> Break:
    def apply(
        form: ApplicationForm, facts: ApplicationFacts
    ) -> tuple[ApplicationForm, ApplicationFacts]:
        for one in breaks:
            form, facts = one(form, facts)
        return form, facts

    return apply


def under_the_dga(
    form: ApplicationForm, facts: ApplicationFacts
) -> tuple[ApplicationForm, ApplicationFacts]:
    form = edit(edit(form, "regime", "dga"), "purposes", ["dga-research"])
    return form, replace(facts, regime=DGA)


PUBLIC = ApplicantFacts(public_sector=True, known_emails=frozenset({PI, MEMBER}))
SENSITIVE = {"name": "tumour_site", "justification": "Survival differs by site."}
STAGE_TABLE = {"name": "by_stage", "dataset_id": "cancer", "group_by": ["stage"]}
WITHOUT_IDENTIFIERS = form_change(
    "datasets",
    [
        {"dataset_id": "cancer", "variables": [{"name": "stage"}]},
        {"dataset_id": "hosp", "variables": [{"name": "length_of_stay"}]},
    ],
)

BREAKS: list[tuple[str, Break, dict[str, str]]] = [
    # Purposes (EHDS Art. 53(2)).
    (
        "public-body purpose, private applicant",
        form_change("purposes", ["ehds-53-1-e", "ehds-53-1-b"]),
        {PURPOSES_ALLOWED: "not_met"},
    ),
    (
        "public-body purpose, public applicant",
        both(
            form_change("purposes", ["ehds-53-1-e", "ehds-53-1-b"]),
            facts_change(applicant=PUBLIC),
        ),
        {},
    ),
    (
        "unknown purpose",
        form_change("purposes", ["ehds-53-1-z"]),
        {PURPOSES_ALLOWED: "not_met"},
    ),
    ("no purpose", form_change("purposes", []), {PURPOSES_ALLOWED: "not_met"}),
    (
        "unknown regime",
        facts_change(regime=None),
        {PURPOSES_ALLOWED: "not_met", DURATION: "not_met"},
    ),
    # Prohibited uses (Art. 54).
    (
        "declaration incomplete",
        form_change("prohibited_uses_declared", [ProhibitedUse.advertising_marketing]),
        {PROHIBITED_USES: "not_met"},
    ),
    # Direct identifiers (Art. 66, 68(1)(b)).
    (
        "direct identifier unjustified",
        form_change("datasets.1.variables.0.justification", ""),
        {DIRECT_IDENTIFIERS: "not_met"},
    ),
    (
        "direct identifier in anonymised data",
        form_change("data_form", DataForm.anonymised),
        {DIRECT_IDENTIFIERS: "not_met"},
    ),
    (
        "direct identifier in aggregated data",
        both(
            form_change("data_form", DataForm.aggregated),
            form_change("aggregate_tables", [STAGE_TABLE]),
        ),
        {DIRECT_IDENTIFIERS: "not_met"},
    ),
    (
        "aggregated data without a table",
        both(
            WITHOUT_IDENTIFIERS,
            form_change("data_form", DataForm.aggregated),
            form_change("linkages", []),
        ),
        {ANONYMISATION: "not_met"},
    ),
    (
        "aggregated data as named tables",
        both(
            WITHOUT_IDENTIFIERS,
            form_change("data_form", DataForm.aggregated),
            form_change("linkages", []),
            form_change("aggregate_tables", [STAGE_TABLE]),
        ),
        {},
    ),
    (
        "direct identifier without a data form",
        form_change("data_form", None),
        {DIRECT_IDENTIFIERS: "not_met", ANONYMISATION: "not_met"},
    ),
    (
        "anonymised data without identifiers",
        both(
            WITHOUT_IDENTIFIERS,
            form_change("data_form", DataForm.anonymised),
            form_change("linkages", []),
        ),
        {},
    ),
    # Special categories (GDPR Art. 9(2)).
    (
        "sensitive variable with an Art. 9 ground",
        both(
            form_append("datasets.0.variables", SENSITIVE),
            form_change("legal_bases", [LegalBasis.art6_1_e, LegalBasis.art9_2_j]),
        ),
        {SENSITIVE_DATA: "attention"},
    ),
    (
        "sensitive variable without an Art. 9 ground",
        form_append("datasets.0.variables", SENSITIVE),
        {SENSITIVE_DATA: "not_met"},
    ),
    # The least identifying form (Art. 66(2), 68(1)(c)).
    (
        "pseudonymised for purposes anonymised data serve",
        form_change("purposes", ["ehds-53-1-d"]),
        {ANONYMISATION: "attention"},
    ),
    (
        "pseudonymised for a mix of purposes",
        form_change("purposes", ["ehds-53-1-d", "ehds-53-1-e"]),
        {},
    ),
    (
        "pseudonymised without justification",
        form_change("pseudonymisation_justification", ""),
        {ANONYMISATION: "not_met"},
    ),
    # Duration (Art. 68(12)).
    (
        "longer than ten years",
        form_change("duration_months", 121),
        {DURATION: "not_met"},
    ),
    ("exactly ten years", form_change("duration_months", 120), {}),
    ("no duration", form_change("duration_months", None), {DURATION: "not_met"}),
    (
        "DGA, within five years",
        both(under_the_dga, form_change("duration_months", 60)),
        {},
    ),
    (
        "DGA, beyond five years",
        both(under_the_dga, form_change("duration_months", 61)),
        {DURATION: "not_met"},
    ),
    # Datasets.
    (
        "open dataset",
        form_append(
            "datasets", {"dataset_id": "pop", "variables": [{"name": "commune"}]}
        ),
        {DATASETS_PROTECTED: "not_met"},
    ),
    (
        "unknown dataset",
        form_append("datasets", {"dataset_id": "nope", "variables": []}),
        {DATASETS_PROTECTED: "not_met"},
    ),
    (
        "dataset withdrawn from the catalogue",
        form_append("datasets", {"dataset_id": "gone", "variables": []}),
        {DATASETS_PROTECTED: "not_met"},
    ),
    ("no dataset", form_change("datasets", []), {DATASETS_PROTECTED: "not_met"}),
]


@pytest.mark.parametrize(
    ("broken", "expected"),
    [(b, e) for _, b, e in BREAKS],
    ids=[n for n, _, _ in BREAKS],
)
def test_each_problem_shows_under_its_code(
    broken: Break, expected: dict[str, str]
) -> None:
    form, facts = broken(complete_form(), complete_facts())
    criteria = check_criteria(form, facts)
    assert [c.code for c in criteria] == list(CODES)
    assert not_met(form, facts) == expected


def test_messages_name_what_the_handler_must_look_at() -> None:
    form = append(complete_form(), "datasets.0.variables", SENSITIVE)
    form = edit(form, "legal_bases", [LegalBasis.art6_1_e, LegalBasis.art9_2_j])
    sensitive = by_code(check_criteria(form, complete_facts()))[SENSITIVE_DATA]
    assert "cancer.tumour_site" in sensitive.message
    assert "art9-2-j" in sensitive.message

    form = edit(complete_form(), "data_form", DataForm.aggregated)
    identifiers = by_code(check_criteria(form, complete_facts()))[DIRECT_IDENTIFIERS]
    assert "cancer.patient_id, hosp.patient_id" in identifiers.message
    assert "aggregated" in identifiers.message

    form = edit(complete_form(), "purposes", ["ehds-53-1-a", "ehds-53-1-z"])
    purposes = by_code(check_criteria(form, complete_facts()))[PURPOSES_ALLOWED]
    assert purposes.outcome == "not_met"
    assert "EHDS Art. 53(1)(a)" in purposes.message
    assert "ehds-53-1-z" in purposes.message


def test_the_suggested_forms_are_those_offered() -> None:
    form = edit(complete_form(), "purposes", ["ehds-53-1-c"])
    facts = replace(complete_facts(), applicant=PUBLIC)
    offered = by_code(check_criteria(form, facts))[ANONYMISATION]
    assert offered.outcome == "attention"
    assert "anonymised or aggregated" in offered.message
    only = replace(facts, offered_forms=frozenset({DataForm.pseudonymised}))
    none = by_code(check_criteria(form, only))[ANONYMISATION]
    assert none.outcome == "attention"
    assert "no anonymised or aggregated form is offered" in none.message


# --- properties ----------------------------------------------------------------------


@given(st.sets(st.sampled_from(list(ProhibitedUse))))
def test_the_declaration_is_met_iff_every_use_is_declared(
    declared: set[ProhibitedUse],
) -> None:
    form = edit(complete_form(), "prohibited_uses_declared", sorted(declared))
    outcome = by_code(check_criteria(form, complete_facts()))[PROHIBITED_USES].outcome
    assert (outcome == "met") == (declared == set(ProhibitedUse))
    assert outcome in {"met", "not_met"}


@given(
    st.sets(st.sampled_from(list(ProhibitedUse))),
    st.sampled_from([None, *DataForm]),
    st.integers(min_value=1, max_value=240),
    st.booleans(),
)
def test_every_check_always_answers_once(
    declared: set[ProhibitedUse],
    data_form: DataForm | None,
    months: int,
    public_sector: bool,
) -> None:
    form = edit(complete_form(), "prohibited_uses_declared", sorted(declared))
    form = edit(edit(form, "data_form", data_form), "duration_months", months)
    facts = replace(
        complete_facts(),
        applicant=ApplicantFacts(public_sector=public_sector, known_emails=frozenset()),
    )
    criteria = check_criteria(form, facts)
    assert [c.code for c in criteria] == list(CODES)
    assert {c.outcome for c in criteria} <= {"met", "not_met", "attention"}
