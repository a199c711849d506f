"""The legal criteria a handler checks on an application, each with its source.

These advise; people decide. A machine can see that a private company ticked a purpose
reserved for public bodies, or that a national identification number is asked for in
anonymised form, but not whether the company acts on behalf of a ministry or whether the
project really needs the number. So every check yields one ``Criterion`` even when all is
well (``met``), and the handler reads the whole list beside the application, with the
article each line rests on, before recording their own assessment (EHDS Art. 68(1),
DGA Art. 5(2)-(3)).

``not_met``: the application as it stands does not satisfy the rule. ``attention``: it
may, but a person has to look (special categories of data, pseudonymised data where
anonymised data might do).

Pure: the form and the facts in, the criteria out, always the same codes in the same
order (``CODES``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from datafactory.catalogue.schemas import Sensitivity
from datafactory.permits.completeness import (
    ART9_BASES,
    PROHIBITED_USE_TEXT,
    requested_variables,
)
from datafactory.permits.facts import ApplicationFacts
from datafactory.permits.regimes import Purpose, Regime
from datafactory.permits.schemas import ApplicationForm, DataForm, ProhibitedUse

__all__ = [
    "ANONYMISATION",
    "CODES",
    "DATASETS_PROTECTED",
    "DIRECT_IDENTIFIERS",
    "DURATION",
    "PROHIBITED_USES",
    "PURPOSES_ALLOWED",
    "SENSITIVE_DATA",
    "Criterion",
    "Outcome",
    "check_criteria",
]

Outcome = Literal["met", "not_met", "attention"]

PURPOSES_ALLOWED: Final = "purposes_allowed"
PROHIBITED_USES: Final = "prohibited_uses_declared"
DIRECT_IDENTIFIERS: Final = "direct_identifiers"
SENSITIVE_DATA: Final = "sensitive_data"
ANONYMISATION: Final = "anonymisation"
DURATION: Final = "duration"
DATASETS_PROTECTED: Final = "datasets_protected"

#: Every code ``check_criteria`` returns, in its order.
CODES: Final = (
    PURPOSES_ALLOWED,
    PROHIBITED_USES,
    DIRECT_IDENTIFIERS,
    SENSITIVE_DATA,
    ANONYMISATION,
    DURATION,
    DATASETS_PROTECTED,
)

# The legal source of each check under each regime. A regime configured by an operator
# that is not listed here is cited by its own ``reference``.
_RULES: Final[Mapping[str, Mapping[str, str]]] = {
    PURPOSES_ALLOWED: {"ehds": "EHDS Art. 53(2)", "dga": "DGA Art. 5(2)"},
    PROHIBITED_USES: {"ehds": "EHDS Art. 54", "dga": "DGA Art. 5(5)"},
    DIRECT_IDENTIFIERS: {"ehds": "EHDS Art. 66 / 68(1)(b)", "dga": "DGA Art. 5(3)(a)"},
    SENSITIVE_DATA: {"ehds": "GDPR Art. 9(2)", "dga": "GDPR Art. 9(2)"},
    ANONYMISATION: {"ehds": "EHDS Art. 66(2) / 68(1)(c)", "dga": "DGA Art. 5(3)(a)"},
    DURATION: {"ehds": "EHDS Art. 68(12)", "dga": "DGA Art. 5(2)"},
    DATASETS_PROTECTED: {"ehds": "EHDS Art. 68(1)", "dga": "DGA Art. 3(1)"},
}


@dataclass(frozen=True)
class Criterion:
    """One line of the handler's checklist: which rule, what the machine found."""

    code: str
    rule: str
    outcome: Outcome
    message: str


def check_criteria(form: ApplicationForm, facts: ApplicationFacts) -> list[Criterion]:
    """One criterion per code of ``CODES``, in that order."""
    regime = facts.regime
    found = [
        (PURPOSES_ALLOWED, *_purposes_allowed(form, facts)),
        (PROHIBITED_USES, *_prohibited_uses(form)),
        (DIRECT_IDENTIFIERS, *_direct_identifiers(form, facts)),
        (SENSITIVE_DATA, *_sensitive_data(form, facts)),
        (ANONYMISATION, *_anonymisation(form, facts)),
        (DURATION, *_duration(form, facts)),
        (DATASETS_PROTECTED, *_datasets_protected(form, facts)),
    ]
    return [
        Criterion(code=code, rule=_rule(code, regime), outcome=outcome, message=message)
        for code, outcome, message in found
    ]


# --- the checks: each returns (outcome, message) --------------------------------------


def _purposes_allowed(
    form: ApplicationForm, facts: ApplicationFacts
) -> tuple[Outcome, str]:
    regime = facts.regime
    if regime is None:
        return (
            "not_met",
            "The legal framework is unknown, so no purpose can be checked.",
        )
    if not form.purposes:
        return "not_met", "No purpose is given."
    known = {p.code: p for p in regime.purposes}
    problems = []
    unknown = [code for code in form.purposes if code not in known]
    if unknown:
        problems.append(
            f"Not purposes of the {regime.code.upper()} regime: {_list(unknown)}."
        )
    reserved = [
        known[code]
        for code in form.purposes
        if code in known and known[code].public_bodies_only
    ]
    if reserved and not facts.applicant.public_sector:
        # Art. 53(2) also admits those acting on behalf of a public-sector body, which the
        # platform does not record: the handler checks the purpose detail.
        listed = "; ".join(f"{p.label.en} ({p.article})" for p in reserved)
        problems.append(
            "Reserved for public-sector bodies, and the applicant is not recorded as"
            f" one: {listed}. Check whether it acts on behalf of a public-sector body."
        )
    if problems:
        return "not_met", " ".join(problems)
    labels = "; ".join(known[code].label.en for code in form.purposes)
    return "met", f"Every purpose is open to this applicant: {labels}."


def _prohibited_uses(form: ApplicationForm) -> tuple[Outcome, str]:
    absent = [use for use in ProhibitedUse if use not in form.prohibited_uses_declared]
    if absent:
        listed = "; ".join(PROHIBITED_USE_TEXT[use] for use in absent)
        return "not_met", f"The applicant has not declared they will not: {listed}."
    return "met", "The applicant declared every prohibited use."


def _direct_identifiers(
    form: ApplicationForm, facts: ApplicationFacts
) -> tuple[Outcome, str]:
    identifiers = [
        v
        for v in requested_variables(form, facts)
        if v.sensitivity is Sensitivity.direct_identifier
    ]
    if not identifiers:
        return "met", "No direct identifier is requested."
    names = _list(f"{v.dataset_id}.{v.name}" for v in identifiers)
    problems = []
    unjustified = [v for v in identifiers if not v.justification.strip()]
    if unjustified:
        problems.append(
            "not justified: " + _list(f"{v.dataset_id}.{v.name}" for v in unjustified)
        )
    # A direct identifier can only reach the secure processing environment replaced by
    # a pseudonym; anonymised or aggregated data contain none by definition.
    if form.data_form is not DataForm.pseudonymised:
        chosen = form.data_form.value if form.data_form else "no form"
        problems.append(f"they require pseudonymised data, but {chosen} is asked")
    if problems:
        return (
            "not_met",
            f"Direct identifiers requested ({names}); {'; '.join(problems)}.",
        )
    return (
        "met",
        f"Direct identifiers requested ({names}), each justified, in pseudonymised form:"
        " check that each is necessary.",
    )


def _sensitive_data(
    form: ApplicationForm, facts: ApplicationFacts
) -> tuple[Outcome, str]:
    sensitive = [
        f"{v.dataset_id}.{v.name}"
        for v in requested_variables(form, facts)
        if v.sensitivity is Sensitivity.sensitive
    ]
    if not sensitive:
        return "met", "No variable of a special category of data is requested."
    grounds = sorted(b.value for b in set(form.legal_bases) & ART9_BASES)
    if not grounds:
        return (
            "not_met",
            f"Special categories of data requested ({_list(sensitive)}) without a"
            " ground of GDPR Art. 9(2).",
        )
    return (
        "attention",
        f"Special categories of data requested: {_list(sensitive)}; grounds given:"
        f" {_list(grounds)}. Check that each variable is necessary.",
    )


def _anonymisation(
    form: ApplicationForm, facts: ApplicationFacts
) -> tuple[Outcome, str]:
    chosen = form.data_form
    if chosen is None:
        return "not_met", "No data form is chosen."
    if chosen is DataForm.aggregated:
        # Aggregated data are exactly the tables named: none named, nothing to assess.
        names = [t.name for t in form.aggregate_tables]
        if not names:
            return (
                "not_met",
                "Aggregated data are requested, but no aggregate table is named.",
            )
        return (
            "met",
            f"Aggregated data are requested, as {len(names)} named table(s):"
            f" {_list(names)}. Check that each is necessary.",
        )
    if chosen is not DataForm.pseudonymised:
        return "met", f"{chosen.value.capitalize()} data are requested."
    if not form.pseudonymisation_justification.strip():
        return (
            "not_met",
            "Pseudonymised data are requested without explaining why anonymised data"
            " would not do.",
        )
    purposes = _purposes(form, facts.regime)
    # Only when every purpose is known: an unknown one might need pseudonymised data.
    every_known = bool(purposes) and len(purposes) == len(form.purposes)
    if every_known and all(p.allows_anonymised for p in purposes):
        # Art. 66(2): anonymised where the purpose can be achieved with it. These purposes
        # usually can, so the handler should weigh the justification and may propose the
        # less identifying form.
        alternatives = [
            f.value
            for f in (DataForm.anonymised, DataForm.aggregated)
            if f in facts.offered_forms
        ]
        suggestion = (
            f"consider {' or '.join(alternatives)} data instead"
            if alternatives
            else "no anonymised or aggregated form is offered for these datasets"
        )
        return (
            "attention",
            "Pseudonymised data are requested for purposes that anonymised data"
            f" usually serve: {suggestion}.",
        )
    return (
        "met",
        "Pseudonymised data are requested with a justification, for purposes that may"
        " need them.",
    )


def _duration(form: ApplicationForm, facts: ApplicationFacts) -> tuple[Outcome, str]:
    regime = facts.regime
    if regime is None:
        return "not_met", "The legal framework is unknown, so no maximum applies."
    longest = regime.clocks.max_permit_months
    months = form.duration_months
    if months is None:
        return "not_met", "No duration is given."
    if months > longest:
        return (
            "not_met",
            f"{months} months asked; a permit lasts at most {longest} months.",
        )
    return "met", f"{months} months asked, within the maximum of {longest}."


def _datasets_protected(
    form: ApplicationForm, facts: ApplicationFacts
) -> tuple[Outcome, str]:
    if not form.datasets:
        return "not_met", "No dataset is requested."
    ids = list(dict.fromkeys(form.dataset_ids()))
    unknown = [d for d in ids if facts.dataset(d) is None]
    open_data = [
        d
        for d in ids
        if (found := facts.dataset(d)) is not None and not found.protected
    ]
    problems = []
    if unknown:
        problems.append(f"Not in the catalogue: {_list(unknown)}.")
    if open_data:
        problems.append(f"Open data, which need no permit: {_list(open_data)}.")
    if problems:
        return "not_met", " ".join(problems)
    return "met", f"Every dataset is in the catalogue and protected: {_list(ids)}."


# --- helpers ---------------------------------------------------------------------------


def _rule(code: str, regime: Regime | None) -> str:
    rules = _RULES[code]
    if regime is None:
        # Unknown framework: cite every source the check could rest on.
        return " or ".join(dict.fromkeys(rules.values()))
    return rules.get(regime.code, regime.reference)


def _purposes(form: ApplicationForm, regime: Regime | None) -> list[Purpose]:
    """The regime's purposes the form names; unknown codes are left out."""
    if regime is None:
        return []
    known = {p.code: p for p in regime.purposes}
    return [known[code] for code in form.purposes if code in known]


def _list(items: Iterable[str]) -> str:
    return ", ".join(items)
