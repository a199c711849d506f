"""The completeness check: a complete application has no gap, and each thing left out or
wrong shows up at its own field, with the severity that decides whether it blocks.

The complete application and its facts are built here and reused by test_criteria.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafactory.catalogue.schemas import Sensitivity
from datafactory.permits.completeness import (
    ABSTRACT_MAX_WORDS,
    MISSING,
    PROHIBITED_USE_TEXT,
    WEAK,
    check_completeness,
    is_complete,
)
from datafactory.permits.facts import (
    ApplicantFacts,
    ApplicationFacts,
    DatasetFacts,
)
from datafactory.permits.regimes import load_regimes
from datafactory.permits.schemas import (
    ApplicationForm,
    DataForm,
    LegalBasis,
    ProhibitedUse,
)

EHDS = load_regimes().get("ehds")
DGA = load_regimes().get("dga")
PI = "ana.pi@lih.lu"
MEMBER = "bo.stats@lih.lu"


def text(words: int, word: str = "data") -> str:
    """A text of exactly ``words`` words."""
    return " ".join([word] * words)


CATALOGUE: dict[str, DatasetFacts] = {
    "cancer": DatasetFacts(
        id="cancer",
        title="National cancer registry",
        exists=True,
        protected=True,
        variables={
            "patient_id": Sensitivity.direct_identifier,
            "birth_year": Sensitivity.quasi_identifier,
            "diagnosis_date": Sensitivity.quasi_identifier,
            "tumour_site": Sensitivity.sensitive,
            "stage": Sensitivity.other,
        },
    ),
    "hosp": DatasetFacts(
        id="hosp",
        title="Hospital stays",
        exists=True,
        protected=True,
        variables={
            "patient_id": Sensitivity.direct_identifier,
            "length_of_stay": Sensitivity.other,
            "hiv_status": Sensitivity.sensitive,
        },
    ),
    "pop": DatasetFacts(
        id="pop",
        title="Population by commune",
        exists=True,
        protected=False,
        variables={"commune": Sensitivity.other},
    ),
    "gone": DatasetFacts(
        id="gone",
        title="Withdrawn survey",
        exists=False,
        protected=True,
        variables={"answer": Sensitivity.other},
    ),
    "nodict": DatasetFacts(
        id="nodict",
        title="Registry without dictionary",
        exists=True,
        protected=True,
        variables={},
    ),
}


def complete_form() -> ApplicationForm:
    """An application that leaves nothing out, under the EHDS, by a private research
    institute asking pseudonymised data for scientific research (Art. 53(1)(e))."""
    return ApplicationForm.model_validate(
        {
            "regime": "ehds",
            "organisation_id": 7,
            "principal_investigator": PI,
            "team": [{"email": MEMBER, "role": "Statistician"}],
            "title": "Survival after colorectal cancer by length of first stay",
            "abstract": text(40, "summary"),
            "purposes": ["ehds-53-1-e"],
            "purpose_detail": text(60, "purpose"),
            "legal_bases": [LegalBasis.art6_1_e],
            "datasets": [
                {
                    "dataset_id": "cancer",
                    "variables": [
                        {
                            "name": "patient_id",
                            "justification": "Needed to link the registry to stays.",
                        },
                        {
                            "name": "diagnosis_date",
                            "justification": "Start of follow-up for survival time.",
                        },
                        {
                            "name": "stage",
                            "justification": "Main confounder of survival by stay.",
                        },
                    ],
                },
                {
                    "dataset_id": "hosp",
                    "variables": [
                        {
                            "name": "patient_id",
                            "justification": "Needed to link the stays to registry.",
                        },
                        {
                            "name": "length_of_stay",
                            "justification": "The exposure of interest in the study.",
                        },
                    ],
                },
            ],
            "data_form": DataForm.pseudonymised,
            "pseudonymisation_justification": text(30, "because"),
            "linkages": [
                {
                    "datasets": ["cancer", "hosp"],
                    "justification": "Survival depends on the hospital stay.",
                }
            ],
            "start_date": date(2026, 3, 1),
            "duration_months": 36,
            "ethics": {
                "status": "approved",
                "committee": "Comité National d'Éthique de Recherche",
                "reference": "CNER 202512/01",
                "attachment_id": 11,
            },
            "prohibited_uses_declared": list(ProhibitedUse),
            "funding": "Fonds National de la Recherche, grant C25/BM/123",
            "publication_plan": "Open-access article and a public dashboard.",
        }
    )


def complete_facts() -> ApplicationFacts:
    return ApplicationFacts(
        applicant=ApplicantFacts(
            public_sector=False, known_emails=frozenset({PI, MEMBER})
        ),
        datasets=CATALOGUE,
        regime=EHDS,
        offered_forms=frozenset(DataForm),
        attachment_ids=frozenset({11, 12}),
    )


def edit(form: ApplicationForm, path: str, value: Any) -> ApplicationForm:
    """``form`` with the answer at the dotted ``path`` replaced by ``value``, validated."""
    data = form.model_dump()
    *parents, leaf = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return ApplicationForm.model_validate(data)


def cleared(form: ApplicationForm, path: str) -> ApplicationForm:
    """``form`` with the answer at ``path`` removed: an empty text or list, or None."""
    current: Any = form.model_dump()
    for part in path.split("."):
        current = current[int(part)] if isinstance(current, list) else current[part]
    # An enum member is a str too, but its empty answer is None, not "".
    empty: Any = (
        [] if isinstance(current, list) else "" if type(current) is str else None
    )
    return edit(form, path, empty)


def append(form: ApplicationForm, path: str, item: Any) -> ApplicationForm:
    current: Any = form.model_dump()
    for part in path.split("."):
        current = current[int(part)] if isinstance(current, list) else current[part]
    return edit(form, path, [*current, item])


def pairs(form: ApplicationForm, facts: ApplicationFacts) -> list[tuple[str, str]]:
    return [(g.field, g.severity) for g in check_completeness(form, facts)]


# --- the complete application --------------------------------------------------------


def test_the_complete_application_has_no_gap() -> None:
    gaps = check_completeness(complete_form(), complete_facts())
    assert gaps == []
    assert is_complete(gaps)


def test_an_empty_draft_is_missing_every_required_answer() -> None:
    facts = replace(complete_facts(), regime=None)
    fields = {
        g.field
        for g in check_completeness(ApplicationForm(), facts)
        if g.severity == MISSING
    }
    assert fields == {
        "regime",
        "organisation_id",
        "principal_investigator",
        "title",
        "abstract",
        "purposes",
        "purpose_detail",
        "legal_bases",
        "datasets",
        "data_form",
        "start_date",
        "duration_months",
        "ethics.status",
        "prohibited_uses_declared",
    }


def test_e_mails_are_compared_without_case_or_spaces() -> None:
    form = edit(complete_form(), "principal_investigator", " Ana.PI@LIH.lu ")
    form = edit(form, "team.0.email", "BO.stats@lih.lu")
    assert pairs(form, complete_facts()) == []


# --- one thing broken at a time ------------------------------------------------------

Break = Callable[
    [ApplicationForm, ApplicationFacts], tuple[ApplicationForm, ApplicationFacts]
]


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


SENSITIVE = {"name": "tumour_site", "justification": "Survival differs by tumour site."}

BREAKS: list[tuple[str, Break, list[tuple[str, str]]]] = [
    # The framework, the organisation and the people.
    (
        "no regime",
        both(form_change("regime", ""), facts_change(regime=None)),
        [("regime", MISSING)],
    ),
    (
        "unknown regime",
        both(form_change("regime", "gdpr"), facts_change(regime=None)),
        [("regime", MISSING)],
    ),
    (
        "no organisation",
        form_change("organisation_id", None),
        [("organisation_id", MISSING)],
    ),
    (
        "no PI",
        form_change("principal_investigator", ""),
        [("principal_investigator", MISSING)],
    ),
    (
        "PI without account",
        form_change("principal_investigator", "carl@uni.lu"),
        [("principal_investigator", MISSING)],
    ),
    (
        "member without account",
        form_append("team", {"email": "dee@uni.lu", "role": "GP"}),
        [("team.1.email", MISSING)],
    ),
    (
        "member listed twice",
        form_append("team", {"email": MEMBER, "role": "Analyst"}),
        [("team.1.email", WEAK)],
    ),
    ("member without role", form_change("team.0.role", ""), [("team.0.role", WEAK)]),
    # What the project is.
    ("no title", form_change("title", "  "), [("title", MISSING)]),
    ("no abstract", form_change("abstract", ""), [("abstract", MISSING)]),
    ("short abstract", form_change("abstract", text(29)), [("abstract", WEAK)]),
    (
        "long abstract",
        form_change("abstract", text(ABSTRACT_MAX_WORDS + 1)),
        [("abstract", WEAK)],
    ),
    ("abstract at the limit", form_change("abstract", text(ABSTRACT_MAX_WORDS)), []),
    ("no purpose", form_change("purposes", []), [("purposes", MISSING)]),
    (
        "unknown purpose",
        form_change("purposes", ["ehds-53-1-e", "ehds-53-1-z"]),
        [("purposes.1", MISSING)],
    ),
    (
        "purpose of the other regime",
        form_change("purposes", ["dga-research"]),
        [("purposes.0", MISSING)],
    ),
    (
        "public-body purpose, private applicant",
        form_change("purposes", ["ehds-53-1-a"]),
        [("purposes.0", WEAK)],
    ),
    (
        "public-body purpose, public applicant",
        both(
            form_change("purposes", ["ehds-53-1-a"]),
            facts_change(
                applicant=ApplicantFacts(
                    public_sector=True, known_emails=frozenset({PI, MEMBER})
                )
            ),
        ),
        [],
    ),
    (
        "no purpose detail",
        form_change("purpose_detail", ""),
        [("purpose_detail", MISSING)],
    ),
    (
        "short purpose detail",
        form_change("purpose_detail", text(20)),
        [("purpose_detail", WEAK)],
    ),
    # Legal bases.
    ("no legal basis", form_change("legal_bases", []), [("legal_bases", MISSING)]),
    (
        "only an Art. 9 basis",
        form_change("legal_bases", [LegalBasis.art9_2_j]),
        [("legal_bases", MISSING)],
    ),
    (
        "sensitive data without Art. 9 basis",
        form_append("datasets.0.variables", SENSITIVE),
        [("legal_bases", MISSING)],
    ),
    (
        "sensitive data with an Art. 9 basis",
        both(
            form_append("datasets.0.variables", SENSITIVE),
            form_change("legal_bases", [LegalBasis.art6_1_e, LegalBasis.art9_2_j]),
        ),
        [],
    ),
    # Datasets and variables.
    (
        "no dataset",
        form_change("datasets", []),
        [("datasets", MISSING), ("linkages.0.datasets", MISSING)],
    ),
    (
        "unknown dataset",
        form_append("datasets", {"dataset_id": "nope", "variables": [{"name": "x"}]}),
        [("datasets.2.dataset_id", MISSING)],
    ),
    (
        "dataset no longer in the catalogue",
        form_append(
            "datasets", {"dataset_id": "gone", "variables": [{"name": "answer"}]}
        ),
        [("datasets.2.dataset_id", MISSING)],
    ),
    (
        "open dataset",
        form_append(
            "datasets", {"dataset_id": "pop", "variables": [{"name": "commune"}]}
        ),
        [("datasets.2.dataset_id", MISSING)],
    ),
    (
        "dataset twice",
        form_append("datasets", {"dataset_id": "hosp", "variables": []}),
        [("datasets.2.dataset_id", MISSING)],
    ),
    (
        "dataset without dictionary",
        form_append("datasets", {"dataset_id": "nodict", "variables": [{"name": "x"}]}),
        [("datasets.2.variables", MISSING)],
    ),
    (
        "no variable",
        form_change("datasets.1.variables", []),
        [("datasets.1.variables", MISSING)],
    ),
    (
        "variable not in the dictionary",
        form_append(
            "datasets.0.variables", {"name": "shoe_size", "justification": text(9)}
        ),
        [("datasets.0.variables.3.name", MISSING)],
    ),
    (
        "variable of the other dataset",
        form_append(
            "datasets.1.variables", {"name": "stage", "justification": text(9)}
        ),
        [("datasets.1.variables.2.name", MISSING)],
    ),
    (
        "variable twice",
        form_append(
            "datasets.0.variables", {"name": "stage", "justification": text(9)}
        ),
        [("datasets.0.variables.3.name", MISSING)],
    ),
    (
        "direct identifier unjustified",
        form_change("datasets.0.variables.0.justification", " "),
        [("datasets.0.variables.0.justification", MISSING)],
    ),
    (
        "direct identifier briefly justified",
        form_change("datasets.0.variables.0.justification", "linkage"),
        [("datasets.0.variables.0.justification", WEAK)],
    ),
    (
        "other variable unjustified",
        form_change("datasets.0.variables.2.justification", ""),
        [("datasets.0.variables.2.justification", WEAK)],
    ),
    (
        "quasi-identifier briefly justified",
        form_change("datasets.0.variables.1.justification", "follow-up start"),
        [("datasets.0.variables.1.justification", WEAK)],
    ),
    # The form of the data.
    ("no data form", form_change("data_form", None), [("data_form", MISSING)]),
    (
        "data form not offered",
        facts_change(
            offered_forms=frozenset({DataForm.anonymised, DataForm.aggregated})
        ),
        [("data_form", MISSING)],
    ),
    (
        "nothing offered",
        facts_change(offered_forms=frozenset()),
        [("data_form", MISSING)],
    ),
    (
        "anonymised with direct identifiers",
        form_change("data_form", DataForm.anonymised),
        [("data_form", WEAK)],
    ),
    (
        "no pseudonymisation justification",
        form_change("pseudonymisation_justification", ""),
        [("pseudonymisation_justification", MISSING)],
    ),
    (
        "short pseudonymisation justification",
        form_change("pseudonymisation_justification", text(10)),
        [("pseudonymisation_justification", WEAK)],
    ),
    # Linkages.
    (
        "linkage to an unrequested dataset",
        form_change("linkages.0.datasets", ["cancer", "pop"]),
        [("linkages.0.datasets", MISSING)],
    ),
    (
        "linkage of a dataset with itself",
        form_change("linkages.0.datasets", ["hosp", "hosp"]),
        [("linkages.0.datasets", MISSING)],
    ),
    (
        "linkage unjustified",
        form_change("linkages.0.justification", ""),
        [("linkages.0.justification", MISSING)],
    ),
    (
        "linkage briefly justified",
        form_change("linkages.0.justification", "for survival"),
        [("linkages.0.justification", WEAK)],
    ),
    # Period.
    ("no start date", form_change("start_date", None), [("start_date", MISSING)]),
    (
        "no duration",
        form_change("duration_months", None),
        [("duration_months", MISSING)],
    ),
    (
        "longer than a permit lasts",
        form_change("duration_months", 121),
        [("duration_months", WEAK)],
    ),
    ("as long as a permit lasts", form_change("duration_months", 120), []),
    # Ethics.
    (
        "no ethics status",
        form_change("ethics.status", ""),
        [("ethics.status", MISSING)],
    ),
    (
        "ethics pending",
        form_change("ethics.status", "pending"),
        [("ethics.status", WEAK)],
    ),
    ("ethics not required", form_change("ethics", {"status": "not_required"}), []),
    (
        "approval not attached",
        form_change("ethics.attachment_id", None),
        [("ethics.attachment_id", MISSING)],
    ),
    (
        "someone else's file",
        form_change("ethics.attachment_id", 99),
        [("ethics.attachment_id", MISSING)],
    ),
    ("no committee", form_change("ethics.committee", ""), [("ethics.committee", WEAK)]),
    (
        "no approval reference",
        form_change("ethics.reference", ""),
        [("ethics.reference", WEAK)],
    ),
    # Declaration and plans.
    (
        "one prohibited use not declared",
        form_change(
            "prohibited_uses_declared",
            [u for u in ProhibitedUse if u is not ProhibitedUse.reidentification],
        ),
        [("prohibited_uses_declared", MISSING)],
    ),
    (
        "nothing declared",
        form_change("prohibited_uses_declared", []),
        [("prohibited_uses_declared", MISSING)],
    ),
    ("no funding", form_change("funding", ""), [("funding", WEAK)]),
    (
        "no publication plan",
        form_change("publication_plan", ""),
        [("publication_plan", WEAK)],
    ),
]


@pytest.mark.parametrize(
    ("broken", "expected"),
    [(b, e) for _, b, e in BREAKS],
    ids=[n for n, _, _ in BREAKS],
)
def test_each_problem_shows_at_its_field(
    broken: Break, expected: list[tuple[str, str]]
) -> None:
    form, facts = broken(complete_form(), complete_facts())
    assert pairs(form, facts) == expected


def test_undeclared_uses_are_named_in_plain_words() -> None:
    declared = [
        u for u in ProhibitedUse if u is not ProhibitedUse.advertising_marketing
    ]
    form = edit(complete_form(), "prohibited_uses_declared", declared)
    (gap,) = check_completeness(form, complete_facts())
    assert PROHIBITED_USE_TEXT[ProhibitedUse.advertising_marketing] in gap.message
    assert PROHIBITED_USE_TEXT[ProhibitedUse.reidentification] not in gap.message


def test_messages_speak_to_the_researcher() -> None:
    open_data = append(
        complete_form(), "datasets", {"dataset_id": "pop", "variables": []}
    )
    (gap,) = check_completeness(open_data, complete_facts())
    assert gap.message == (
        "Dataset 'Population by commune' (pop) is open data: download it from the"
        " catalogue, no permit is needed."
    )
    stranger = append(complete_form(), "team", {"email": "dee@uni.lu", "role": "GP"})
    (gap,) = check_completeness(stranger, complete_facts())
    assert gap.message == (
        "Team member dee@uni.lu is not registered: ask them to create an account first."
    )
    unknown = append(
        complete_form(),
        "datasets.0.variables",
        {"name": "foo", "justification": text(9)},
    )
    (gap,) = check_completeness(unknown, complete_facts())
    assert gap.message.startswith(
        "Variable 'foo' is not in the data dictionary of dataset 'National cancer registry'"
    )
    assert check_completeness(cleared(complete_form(), "purposes"), complete_facts())[
        0
    ].message == ("Choose at least one purpose.")


def test_the_publication_deadline_is_cited_only_under_the_ehds() -> None:
    form = edit(complete_form(), "publication_plan", "")
    (ehds,) = check_completeness(form, complete_facts())
    assert "18 months" in ehds.message
    dga = edit(edit(form, "regime", "dga"), "purposes", ["dga-research"])
    (gap,) = check_completeness(dga, replace(complete_facts(), regime=DGA))
    assert gap.message == "Say how you will publish the results."


def test_weak_gaps_do_not_block_submission() -> None:
    form = edit(complete_form(), "funding", "")
    gaps = check_completeness(form, complete_facts())
    assert gaps and is_complete(gaps)
    assert not is_complete(check_completeness(cleared(form, "title"), complete_facts()))


# --- properties ----------------------------------------------------------------------


@given(st.sets(st.sampled_from(list(ProhibitedUse))))
def test_the_declaration_gap_appears_iff_a_use_is_not_declared(
    declared: set[ProhibitedUse],
) -> None:
    form = edit(complete_form(), "prohibited_uses_declared", sorted(declared))
    fields = [g.field for g in check_completeness(form, complete_facts())]
    assert ("prohibited_uses_declared" in fields) == (declared != set(ProhibitedUse))


def required_paths(form: ApplicationForm) -> list[str]:
    """Every answer of ``form`` that a complete application must give."""
    paths = [
        "regime",
        "organisation_id",
        "principal_investigator",
        "title",
        "abstract",
        "purposes",
        "purpose_detail",
        "legal_bases",
        "datasets",
        "data_form",
        "start_date",
        "duration_months",
        "ethics.status",
        "prohibited_uses_declared",
    ]
    if form.data_form is DataForm.pseudonymised:
        paths.append("pseudonymisation_justification")
    if form.ethics.status == "approved":
        paths.append("ethics.attachment_id")
    for i, request in enumerate(form.datasets):
        paths.append(f"datasets.{i}.variables")
        for j, variable in enumerate(request.variables):
            if (
                CATALOGUE[request.dataset_id].variables[variable.name]
                is Sensitivity.direct_identifier
            ):
                paths.append(f"datasets.{i}.variables.{j}.justification")
    paths.extend(f"linkages.{i}.justification" for i in range(len(form.linkages)))
    if form.data_form is DataForm.aggregated:
        paths.append("aggregate_tables")
        paths.extend(
            f"aggregate_tables.{i}.group_by" for i in range(len(form.aggregate_tables))
        )
    return paths


PROTECTED = ["cancer", "hosp"]


@st.composite
def complete_applications(draw: st.DrawFn) -> ApplicationForm:
    """Complete applications of many shapes: one or two datasets, any non-empty choice of
    variables, any team, either data form, with or without ethics approval."""
    ids = draw(
        st.lists(st.sampled_from(PROTECTED), min_size=1, max_size=2, unique=True)
    )
    datasets = []
    sensitive = False
    for dataset_id in ids:
        names = draw(
            st.lists(
                st.sampled_from(sorted(CATALOGUE[dataset_id].variables)),
                min_size=1,
                unique=True,
            )
        )
        sensitive |= any(
            CATALOGUE[dataset_id].variables[n] is Sensitivity.sensitive for n in names
        )
        datasets.append(
            {
                "dataset_id": dataset_id,
                "variables": [
                    {"name": n, "justification": text(6, "reason")} for n in names
                ],
            }
        )
    team = draw(st.sampled_from([[], [{"email": MEMBER, "role": "Statistician"}]]))
    data_form = draw(st.sampled_from(list(DataForm)))
    # The aggregated form counts people by requested variables that identify nobody.
    groups = [
        v["name"]
        for v in datasets[0]["variables"]
        if CATALOGUE[ids[0]].variables[v["name"]] is not Sensitivity.direct_identifier
    ][:4]
    if data_form is DataForm.aggregated and not groups:
        data_form = DataForm.pseudonymised
    tables = (
        [
            {
                "name": "counts",
                "dataset_id": ids[0],
                "group_by": groups,
                "justification": text(6, "reason"),
            }
        ]
        if data_form is DataForm.aggregated
        else []
    )
    ethics = draw(
        st.sampled_from(
            [
                {
                    "status": "approved",
                    "committee": "CNER",
                    "reference": "R1",
                    "attachment_id": 12,
                },
                {"status": "not_required"},
            ]
        )
    )
    linkages = (
        [{"datasets": ids, "justification": text(8, "because")}]
        if len(ids) == 2 and draw(st.booleans())
        else []
    )
    bases = [LegalBasis.art6_1_e, *([LegalBasis.art9_2_j] if sensitive else [])]
    data = complete_form().model_dump()
    data.update(
        datasets=datasets,
        team=team,
        data_form=data_form,
        ethics=ethics,
        linkages=linkages,
        legal_bases=bases,
        aggregate_tables=tables,
    )
    return ApplicationForm.model_validate(data)


@given(complete_applications(), st.data())
def test_removing_any_required_answer_leaves_a_missing_gap_at_its_field(
    form: ApplicationForm, data: st.DataObject
) -> None:
    facts = complete_facts()
    assert is_complete(check_completeness(form, facts))
    path = data.draw(st.sampled_from(required_paths(form)), label="removed")
    gaps = check_completeness(cleared(form, path), facts)
    assert (path, MISSING) in {(g.field, g.severity) for g in gaps}
