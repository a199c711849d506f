"""Is the application complete? What is missing or weak, in words a researcher can act on.

EHDS Art. 68(4) starts the decision clock only on a *complete* application, and gives the
applicant four weeks to complete one that is not. Most of those weeks are lost to
back-and-forth about things a machine can see: a purpose not ticked, a variable that is
not in the data dictionary, a colleague without an account. So the form checks itself
before submission, field by field, and says how to fix each problem.

Two severities: ``missing`` blocks submission (the handler could not even start), ``weak``
is advice (the handler may well ask about it, but a person decides). Every gap names the
field it is about with a dotted path into the form (``datasets.0.variables.2.justification``)
so that the page can put the message next to the field.

Pure: the form and the facts in, the gaps out, in the order of the form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final, NamedTuple

from datafactory.catalogue.schemas import Sensitivity
from datafactory.permits.facts import ApplicationFacts, DatasetFacts, normalise_email
from datafactory.permits.regimes import Purpose
from datafactory.permits.schemas import (
    MAX_GROUPS,
    ApplicationForm,
    DataForm,
    Gap,
    LegalBasis,
    ProhibitedUse,
    VariableRequest,
)

__all__ = [
    "ABSTRACT_MAX_WORDS",
    "ABSTRACT_MIN_WORDS",
    "ART6_BASES",
    "ART9_BASES",
    "JUSTIFICATION_MIN_WORDS",
    "MISSING",
    "PROHIBITED_USE_TEXT",
    "PSEUDONYMISATION_MIN_WORDS",
    "PURPOSE_DETAIL_MIN_WORDS",
    "WEAK",
    "RequestedVariable",
    "check_completeness",
    "is_complete",
    "requested_variables",
]

MISSING: Final = "missing"
WEAK: Final = "weak"

# The abstract is published in the register as the lay summary, which is at most 250
# words; under 30 words it rarely says what the project is and why it matters.
ABSTRACT_MIN_WORDS: Final = 30
ABSTRACT_MAX_WORDS: Final = 250
# Art. 67 asks for a *detailed* explanation of the intended use and expected benefit;
# a sentence or two never gives the handler enough to judge necessity (Art. 68(1)(b)).
PURPOSE_DETAIL_MIN_WORDS: Final = 50
# Art. 66(3) / 68(1)(c): the applicant must *demonstrate* that anonymised data would not
# do. That takes an argument, not a phrase.
PSEUDONYMISATION_MIN_WORDS: Final = 25
# A variable or a linkage needs a reason, and "needed" or "for analysis" is not one.
JUSTIFICATION_MIN_WORDS: Final = 5

ART6_BASES: Final = frozenset(b for b in LegalBasis if b.value.startswith("art6"))
ART9_BASES: Final = frozenset(b for b in LegalBasis if b.value.startswith("art9"))

#: What the applicant declares they will not do, as the form shows it (EHDS Art. 54(1),
#: recital 62).
PROHIBITED_USE_TEXT: Final[Mapping[ProhibitedUse, str]] = {
    ProhibitedUse.detrimental_decisions: (
        "take decisions detrimental to a person or group based on the data"
    ),
    ProhibitedUse.discrimination_jobs_insurance_credit: (
        "take decisions on jobs, insurance, credit or other terms that discriminate"
        " based on the data"
    ),
    ProhibitedUse.advertising_marketing: "use the data for advertising or marketing",
    ProhibitedUse.harmful_products: (
        "develop products or services that may harm people, public health or society"
    ),
    ProhibitedUse.unethical_activities: (
        "carry out activities that conflict with the ethical provisions of national law"
    ),
    ProhibitedUse.reidentification: "try to re-identify anyone in the data",
    ProhibitedUse.third_party_access: (
        "give access to the data to anyone not named in the permit"
    ),
}


def check_completeness(form: ApplicationForm, facts: ApplicationFacts) -> list[Gap]:
    """The gaps of ``form``, in the order of its fields; empty when nothing is left."""
    return list(_gaps(form, facts))


def is_complete(gaps: list[Gap]) -> bool:
    """Whether the application may be submitted: nothing ``missing`` (``weak`` is advice)."""
    return all(gap.severity != MISSING for gap in gaps)


class RequestedVariable(NamedTuple):
    """A requested variable found in the data dictionary of an existing dataset."""

    dataset_id: str
    name: str
    justification: str
    sensitivity: Sensitivity


def requested_variables(
    form: ApplicationForm, facts: ApplicationFacts
) -> list[RequestedVariable]:
    """Each requested variable that is in the dictionary of an existing dataset, once,
    in the order of the form.

    Unknown datasets and variables are left out: their sensitivity is unknown, and the
    completeness check already says they must be fixed.
    """
    seen: set[tuple[str, str]] = set()
    found: list[RequestedVariable] = []
    for request in form.datasets:
        dataset = facts.dataset(request.dataset_id)
        if dataset is None:
            continue
        for variable in request.variables:
            key = (request.dataset_id, variable.name)
            sensitivity = dataset.variables.get(variable.name)
            if sensitivity is None or key in seen:
                continue
            seen.add(key)
            found.append(
                RequestedVariable(
                    request.dataset_id,
                    variable.name,
                    variable.justification,
                    sensitivity,
                )
            )
    return found


# --- the checks, in the order of the form ------------------------------------------------


def _gaps(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    yield from _regime(form, facts)
    yield from _people(form, facts)
    yield from _summary(form)
    yield from _purposes(form, facts)
    yield from _legal_bases(form, facts)
    yield from _datasets(form, facts)
    yield from _data_form(form, facts)
    yield from _linkages(form)
    yield from _aggregate_tables(form, facts)
    yield from _period(form, facts)
    yield from _ethics(form, facts)
    yield from _declaration(form)
    yield from _plans(form, facts)


def _regime(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    if _blank(form.regime):
        yield _missing(
            "regime",
            "Choose the legal framework of your application (European Health Data"
            " Space or Data Governance Act).",
        )
    elif facts.regime is None:
        yield _missing(
            "regime",
            f"The legal framework '{form.regime}' is not one this authority applies:"
            " choose one from the list.",
        )
    if form.organisation_id is None:
        yield _missing(
            "organisation_id",
            "Choose the organisation you apply for: the permit is granted to it.",
        )


def _people(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    # Only account holders can be named in a permit and sign in to the secure processing
    # environment (EHDS Art. 68(10), 73), so an unknown address blocks submission.
    applicant = facts.applicant
    pi = form.principal_investigator
    if _blank(pi):
        yield _missing(
            "principal_investigator",
            "Give the e-mail of the principal investigator: the person responsible for"
            " the use of the data.",
        )
    elif not applicant.knows(pi):
        yield _missing(
            "principal_investigator",
            f"The principal investigator {pi.strip()} is not registered: ask them to"
            " create an account first.",
        )
    seen: set[str] = set()
    for i, member in enumerate(form.team):
        email = normalise_email(member.email)
        if email in seen:
            yield _weak(
                f"team.{i}.email",
                f"Team member {member.email.strip()} is listed twice: remove one.",
            )
            continue
        seen.add(email)
        if not applicant.knows(member.email):
            yield _missing(
                f"team.{i}.email",
                f"Team member {member.email.strip()} is not registered: ask them to"
                " create an account first.",
            )
        if _blank(member.role):
            yield _weak(
                f"team.{i}.role",
                f"Say what {member.email.strip()} will do in the project: the handler"
                " checks that everyone who sees the data needs to.",
            )


def _summary(form: ApplicationForm) -> Iterator[Gap]:
    if _blank(form.title):
        yield _missing("title", "Give your project a title.")
    words = _words(form.abstract)
    if words == 0:
        yield _missing(
            "abstract",
            "Write a short summary of your project for the public: it is published in"
            " the register of applications.",
        )
    elif words < ABSTRACT_MIN_WORDS:
        yield _weak(
            "abstract",
            f"The public summary has {words} words: say in at least"
            f" {ABSTRACT_MIN_WORDS} what the project is about and why it matters.",
        )
    elif words > ABSTRACT_MAX_WORDS:
        yield _weak(
            "abstract",
            f"The public summary has {words} words: the register publishes at most"
            f" {ABSTRACT_MAX_WORDS}, so shorten it.",
        )


def _purposes(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    if not form.purposes:
        yield _missing("purposes", "Choose at least one purpose.")
    elif facts.regime is not None:
        known = _purpose_index(facts)
        for i, code in enumerate(form.purposes):
            purpose = known.get(code)
            if purpose is None:
                yield _missing(
                    f"purposes.{i}",
                    f"'{code}' is not a purpose under this legal framework: choose"
                    " one from the list.",
                )
            elif purpose.public_bodies_only and not facts.applicant.public_sector:
                # Weak, not missing: a body acting on behalf of a public-sector body may
                # use these purposes too (Art. 53(2)), which the platform cannot see.
                yield _weak(
                    f"purposes.{i}",
                    f"The purpose '{purpose.label.en}' is reserved for public-sector"
                    f" bodies ({purpose.article}); explain in the purpose detail if you"
                    " act on behalf of one, or choose another purpose.",
                )
    words = _words(form.purpose_detail)
    if words == 0:
        yield _missing(
            "purpose_detail",
            "Explain how you will use the data, what you expect to learn and how it"
            " serves the purposes you chose.",
        )
    elif words < PURPOSE_DETAIL_MIN_WORDS:
        yield _weak(
            "purpose_detail",
            f"The explanation of your purpose has {words} words: describe the research"
            " question, the method and the expected benefit, so that the handler can"
            " see why you need each dataset.",
        )


def _legal_bases(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    bases = set(form.legal_bases)
    if not bases & ART6_BASES:
        yield _missing(
            "legal_bases",
            "Choose the ground of GDPR Art. 6(1) on which you process personal data"
            " (for example a task in the public interest, Art. 6(1)(e), or legitimate"
            " interests, Art. 6(1)(f)).",
        )
    sensitive = [
        _variable_name(v)
        for v in requested_variables(form, facts)
        if v.sensitivity is Sensitivity.sensitive
    ]
    if sensitive and not bases & ART9_BASES:
        yield _missing(
            "legal_bases",
            f"You request special categories of data ({', '.join(sensitive)}): choose a"
            " ground of GDPR Art. 9(2) as well (for research, usually Art. 9(2)(j)).",
        )


def _datasets(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    if not form.datasets:
        yield _missing("datasets", "Choose at least one dataset.")
        return
    seen: set[str] = set()
    for i, request in enumerate(form.datasets):
        at = f"datasets.{i}"
        if request.dataset_id in seen:
            yield _missing(
                f"{at}.dataset_id",
                f"Dataset {request.dataset_id} is requested twice: put all its"
                " variables under one entry.",
            )
            continue
        seen.add(request.dataset_id)
        dataset = facts.dataset(request.dataset_id)
        if dataset is None:
            yield _missing(
                f"{at}.dataset_id",
                f"There is no dataset {request.dataset_id} in the catalogue: choose the"
                " dataset from the catalogue.",
            )
            continue
        name = _dataset_name(dataset)
        if not dataset.protected:
            # Asking for a permit for open data only costs everyone a month.
            yield _missing(
                f"{at}.dataset_id",
                f"Dataset {name} is open data: download it from the catalogue, no"
                " permit is needed.",
            )
            continue
        yield from _variables(at, request.variables, dataset, name)


def _variables(
    at: str,
    variables: list[VariableRequest],
    dataset: DatasetFacts,
    name: str,
) -> Iterator[Gap]:
    if not dataset.variables:
        yield _missing(
            f"{at}.variables",
            f"Dataset {name} has no data dictionary yet, so its variables cannot be"
            " requested: contact the data authority.",
        )
        return
    if not variables:
        # Data minimisation (EHDS Art. 66(1)): a permit names the variables, never
        # "everything".
        yield _missing(
            f"{at}.variables",
            f"Choose the variables you need from dataset {name}.",
        )
        return
    seen: set[str] = set()
    for j, variable in enumerate(variables):
        here = f"{at}.variables.{j}"
        if variable.name in seen:
            yield _missing(
                f"{here}.name",
                f"Variable '{variable.name}' of dataset {name} is requested twice:"
                " remove one.",
            )
            continue
        seen.add(variable.name)
        sensitivity = dataset.variables.get(variable.name)
        if sensitivity is None:
            yield _missing(
                f"{here}.name",
                f"Variable '{variable.name}' is not in the data dictionary of dataset"
                f" {name}: choose it from the dictionary.",
            )
            continue
        words = _words(variable.justification)
        if sensitivity is Sensitivity.direct_identifier and words == 0:
            yield _missing(
                f"{here}.justification",
                f"Variable '{variable.name}' directly identifies people: explain why"
                " your project cannot do without it.",
            )
        elif words < JUSTIFICATION_MIN_WORDS:
            yield _weak(
                f"{here}.justification",
                f"Explain in a sentence why you need variable '{variable.name}':"
                " the handler must check that every variable is necessary.",
            )


def _data_form(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    chosen = form.data_form
    if chosen is None:
        yield _missing(
            "data_form",
            "Choose the form of the data: anonymised, pseudonymised or aggregated.",
        )
        return
    if form.datasets and chosen not in facts.offered_forms:
        offered = ", ".join(sorted(f.value for f in facts.offered_forms)) or "none"
        yield _missing(
            "data_form",
            f"The requested datasets cannot be delivered {chosen.value}: choose one of"
            f" the forms offered for them ({offered}).",
        )
    if chosen is DataForm.pseudonymised:
        words = _words(form.pseudonymisation_justification)
        if words == 0:
            yield _missing(
                "pseudonymisation_justification",
                "Explain why your purpose cannot be achieved with anonymised data:"
                " pseudonymised data are given only then.",
            )
        elif words < PSEUDONYMISATION_MIN_WORDS:
            yield _weak(
                "pseudonymisation_justification",
                "Explain in more detail why anonymised data would not do, for example"
                " because you follow people over time or link datasets.",
            )
    else:
        identifiers = [
            _variable_name(v)
            for v in requested_variables(form, facts)
            if v.sensitivity is Sensitivity.direct_identifier
        ]
        if identifiers:
            yield _weak(
                "data_form",
                f"{chosen.value.capitalize()} data cannot contain direct identifiers"
                f" ({', '.join(identifiers)}): remove them or choose pseudonymised data.",
            )


def _linkages(form: ApplicationForm) -> Iterator[Gap]:
    requested = set(form.dataset_ids())
    for i, linkage in enumerate(form.linkages):
        left, right = linkage.datasets
        if left == right:
            yield _missing(
                f"linkages.{i}.datasets",
                f"A linkage joins two different datasets; this one names {left} twice.",
            )
        else:
            absent = [d for d in (left, right) if d not in requested]
            if absent:
                yield _missing(
                    f"linkages.{i}.datasets",
                    f"A linkage may only join requested datasets: add {_names(absent)}"
                    " to your datasets or remove the linkage.",
                )
        words = _words(linkage.justification)
        if words == 0:
            yield _missing(
                f"linkages.{i}.justification",
                f"Explain why you need to link {left} and {right}: linking raises the"
                " risk of re-identification.",
            )
        elif words < JUSTIFICATION_MIN_WORDS:
            yield _weak(
                f"linkages.{i}.justification",
                f"Explain in a sentence why you need to link {left} and {right}.",
            )


def _aggregate_tables(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    # Aggregated data are exactly the tables the permit names (data minimisation, EHDS
    # Art. 66(1)): nothing else reaches the workspace, so an aggregated application
    # without a table would be granted nothing usable.
    tables = form.aggregate_tables
    if form.data_form is not DataForm.aggregated:
        if tables:
            yield _weak(
                "aggregate_tables",
                "You named aggregate tables, but they are prepared only for aggregated"
                " data: they are ignored unless you choose the aggregated form.",
            )
        return
    if not tables:
        yield _missing(
            "aggregate_tables",
            "Name at least one aggregate table: with aggregated data, the workspace"
            " holds only the tables you name.",
        )
        return
    requested = {d.dataset_id: d for d in form.datasets}
    for i, table in enumerate(tables):
        at = f"aggregate_tables.{i}"
        request = requested.get(table.dataset_id)
        if request is None:
            yield _missing(
                f"{at}.dataset_id",
                f"Table {table.name} counts dataset {table.dataset_id}, which you do"
                " not request: add the dataset or remove the table.",
            )
            continue
        if not table.group_by:
            yield _missing(
                f"{at}.group_by",
                f"Choose the variables table {table.name} counts people by (one to"
                f" {MAX_GROUPS}).",
            )
        asked = {v.name for v in request.variables}
        dictionary = facts.dataset(table.dataset_id)
        for field, role, names in (
            ("group_by", "groups by", table.group_by),
            ("measures", "sums", table.measures),
        ):
            absent = [n for n in names if n not in asked]
            if absent:
                yield _missing(
                    f"{at}.{field}",
                    f"Table {table.name} {role} {_names(absent)}, not requested from"
                    f" dataset {table.dataset_id}: tick the variable under the dataset"
                    " or untick it in the table.",
                )
            identifying = [
                n
                for n in names
                if n in asked
                and dictionary is not None
                and dictionary.variables.get(n) is Sensitivity.direct_identifier
            ]
            if identifying:
                yield _missing(
                    f"{at}.{field}",
                    f"Table {table.name} cannot use {_names(identifying)}: it directly"
                    " identifies people, and aggregated data hold no identifier.",
                )
        both = [n for n in table.measures if n in table.group_by]
        if both:
            yield _missing(
                f"{at}.measures",
                f"Table {table.name} both groups by and sums {_names(both)}: choose"
                " one.",
            )
        if _words(table.justification) < JUSTIFICATION_MIN_WORDS:
            yield _weak(
                f"{at}.justification",
                f"Explain in a sentence why you need table {table.name}: the handler"
                " checks that every table is necessary.",
            )


def _period(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    if form.start_date is None:
        yield _missing("start_date", "Give the date on which you want to start.")
    if form.duration_months is None:
        yield _missing(
            "duration_months",
            "Say for how many months you need access to the data.",
        )
    elif (
        facts.regime is not None
        and form.duration_months > facts.regime.clocks.max_permit_months
    ):
        longest = facts.regime.clocks.max_permit_months
        yield _weak(
            "duration_months",
            f"A permit lasts at most {longest} months under this framework: ask for"
            " that and apply for a renewal later if needed.",
        )


def _ethics(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    ethics = form.ethics
    if not ethics.status:
        yield _missing(
            "ethics.status",
            "Say whether an ethics committee approved the project, whether its"
            " opinion is pending, or why none is required.",
        )
    elif ethics.status == "pending":
        yield _weak(
            "ethics.status",
            "The ethics opinion is pending: send it as soon as you have it, since the"
            " decision may wait for it.",
        )
    elif ethics.status == "approved":
        if _blank(ethics.committee):
            yield _weak("ethics.committee", "Name the ethics committee that approved.")
        if _blank(ethics.reference):
            yield _weak(
                "ethics.reference", "Give the reference of the ethics approval."
            )
        if ethics.attachment_id is None:
            yield _missing(
                "ethics.attachment_id", "Attach the ethics committee's approval."
            )
    if (
        ethics.attachment_id is not None
        and ethics.attachment_id not in facts.attachment_ids
    ):
        yield _missing(
            "ethics.attachment_id",
            "The ethics approval file is not attached to this application: upload it"
            " again.",
        )


def _declaration(form: ApplicationForm) -> Iterator[Gap]:
    # Every item must be ticked: EHDS Art. 54 forbids these uses whatever the applicant
    # says, and the declaration is what a later revocation (Art. 63) rests on.
    absent = [use for use in ProhibitedUse if use not in form.prohibited_uses_declared]
    if absent:
        listed = "; ".join(PROHIBITED_USE_TEXT[use] for use in absent)
        yield _missing(
            "prohibited_uses_declared",
            f"Declare that you will not: {listed}.",
        )


def _plans(form: ApplicationForm, facts: ApplicationFacts) -> Iterator[Gap]:
    if _blank(form.funding):
        yield _weak(
            "funding",
            "Say who funds the project, or that it has no funding: the handler checks"
            " for conflicts of interest.",
        )
    if _blank(form.publication_plan):
        # The EHDS sets a deadline for publishing results; the DGA sets none.
        deadline = (
            ": they must be made public within 18 months of the end of the"
            " processing (EHDS Art. 61(4))"
            if facts.regime is not None and facts.regime.code == "ehds"
            else ""
        )
        yield _weak(
            "publication_plan", f"Say how you will publish the results{deadline}."
        )


# --- helpers -----------------------------------------------------------------------------


def _missing(field: str, message: str) -> Gap:
    return Gap(field=field, message=message, severity=MISSING)


def _weak(field: str, message: str) -> Gap:
    return Gap(field=field, message=message, severity=WEAK)


def _blank(text: str) -> bool:
    return not text.strip()


def _words(text: str) -> int:
    return len(text.split())


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _variable_name(variable: RequestedVariable) -> str:
    return f"'{variable.name}' of {variable.dataset_id}"


def _dataset_name(dataset: DatasetFacts) -> str:
    return f"'{dataset.title}' ({dataset.id})" if dataset.title else dataset.id


def _purpose_index(facts: ApplicationFacts) -> dict[str, Purpose]:
    if facts.regime is None:
        return {}
    return {p.code: p for p in facts.regime.purposes}
