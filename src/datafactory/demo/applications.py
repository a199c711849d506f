"""Demo access applications: a dozen procedures in every D6.4 state, replayed through the
permits services as they would have happened over the past two years.

Nothing here writes a row: every application is created with ``create_application``, every
step is a command sent through ``procedure.execute`` by a demo person whose part on the
application allows it, and every file goes through ``attach``. Time is the only thing the
demo bends: each step runs with ``PermitsConfig.now`` set to a working day and hour before
today, so deadlines, overdue items, the KPIs and the public register look lived-in on the
day the demo starts.

Loading is idempotent: an application whose title already exists is left alone.
``RESEARCHER_PERMIT_TITLE`` names the permit granted to the demo researcher on the
population register and the health-insurance claims, the one the secure processing
environment prepares a workspace for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetStatus
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Person
from datafactory.permits import clocks, procedure
from datafactory.permits.applications import attach, create_application
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application, Permit
from datafactory.permits.results import set_results_url
from datafactory.permits.schemas import (
    ApplicationCreate,
    ApplicationForm,
    CommandIn,
    ProhibitedUse,
)
from datafactory.permits.workflow import Command, Decision

__all__ = [
    "RESEARCHER_PERMIT_TITLE",
    "RESULTS_PERMIT_TITLE",
    "TITLES",
    "load_applications",
]

RESEARCHER_PERMIT_TITLE = "Diabetes care pathways and employment outcomes"
"""The permit of ``researcher@demo.datafactory.lu`` (University of Luxembourg) on the
"Population register extract" (STATEC) and the "Health-insurance claims" (CNS),
pseudonymised and linked through the trusted third party."""

RESULTS_PERMIT_TITLE = (
    "Employment trajectories of cross-border workers after the 2020 lockdowns"
)
"""An older permit whose results are published: a successful data-sharing case."""

RESEARCHER = "researcher@demo.datafactory.lu"
ANALYST = "analyst@demo.datafactory.lu"
ASSISTANT = "assistant@demo.datafactory.lu"
HANDLER = "handler@demo.datafactory.lu"
DECIDER = "decider@demo.datafactory.lu"
STEWARD_STATEC = "steward.statec@demo.datafactory.lu"
STEWARD_CNS = "steward.cns@demo.datafactory.lu"
STEWARD_ADEM = "steward.adem@demo.datafactory.lu"
STEWARD_IGSS = "steward.igss@demo.datafactory.lu"
APPLICANT = "applicant"
"""In a step, stands for the scenario's applicant."""

# The demo datasets the applications ask for: key -> (publisher slug, English title).
_DATASETS: Mapping[str, tuple[str, str]] = {
    "register": ("statec", "Population register extract"),
    "claims": ("cns", "Health-insurance claims"),
    "employment": ("adem", "Employment histories"),
    "hospital": ("cns", "Hospital stays (individual records)"),
    "dispensing": ("cns", "Medicines dispensed in pharmacies"),
    "care": ("igss", "Long-term care assessments"),
    "pensions": ("igss", "Pension insurance careers"),
    "affiliations": ("igss", "Employee affiliations"),
    "lfs": ("statec", "Labour force survey (microdata)"),
    "school": ("lnds", "School careers and labour market entry (linked data)"),
}

_DECLARED = [use.value for use in ProhibitedUse]
_NO_ETHICS = {"status": "not_required", "committee": "", "reference": ""}
_CNER = "Comité national d'éthique de recherche (CNER)"


# --- what happened, as data --------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """One command, sent ``day`` days before today (moved back to a working day)."""

    day: int
    who: str
    command: Command
    comment: str = ""
    hour: int = 10
    send_form: bool = False
    """Send the scenario's form with the command (``save_draft``, ``submit``)."""
    reviewers: tuple[str, ...] = ()
    recommendation: Decision | None = None
    assistant: str | None = None
    conditions: str = ""


@dataclass(frozen=True)
class _Ethics:
    committee: str
    reference: str


@dataclass(frozen=True)
class _Scenario:
    title: str
    applicant: str
    created: int
    """Days before today the draft was started."""
    form: Mapping[str, Any]
    """The form as the applicant fills it in, with dataset keys of ``_DATASETS`` in place
    of identifiers and ``start_date`` in days from today."""
    steps: tuple[_Step, ...]
    ethics: _Ethics | None = None
    """An approval attached as a PDF right after the draft is started."""
    results_url: str | None = None
    """Where the holder says the results were published, once the permit is granted."""


def _save(day: int) -> _Step:
    return _Step(day, APPLICANT, Command.save_draft, hour=16, send_form=True)


def _submit(day: int) -> _Step:
    return _Step(day, APPLICANT, Command.submit, hour=11)


def _screen(day: int) -> _Step:
    return _Step(day, HANDLER, Command.start_screening, hour=9)


def _process(day: int, comment: str = "") -> _Step:
    return _Step(day, HANDLER, Command.start_processing, comment, hour=14)


def _ask_review(day: int, *reviewers: str) -> _Step:
    return _Step(
        day,
        HANDLER,
        Command.request_review,
        hour=15,
        reviewers=reviewers,
    )


def _review(day: int, steward: str, comment: str, decision: Decision) -> _Step:
    return _Step(
        day, steward, Command.review, comment, hour=11, recommendation=decision
    )


def _recommend(day: int, comment: str, decision: Decision) -> _Step:
    return _Step(
        day, HANDLER, Command.recommend, comment, hour=16, recommendation=decision
    )


def _variables(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "justification": why} for name, why in pairs]


def _dataset(key: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    return {"dataset_id": key, "variables": _variables(*pairs)}


def _linkage(left: str, right: str, why: str) -> dict[str, Any]:
    return {"datasets": [left, right], "justification": why}


# --- the applications, oldest first -------------------------------------------------------

_CROSS_BORDER = _Scenario(
    title=RESULTS_PERMIT_TITLE,
    applicant=RESEARCHER,
    created=745,
    form={
        "regime": "dga",
        "abstract": (
            "Almost half of the people who work in Luxembourg live in France, Belgium"
            " or Germany. When the country locked down in spring 2020, many of them"
            " lost their jobs or had their hours cut, but they do not appear in the"
            " national unemployment figures because they register as job seekers in"
            " their country of residence. This project follows the working lives of"
            " cross-border and resident workers from 2018 to 2023, using the"
            " employment records kept by ADEM and the social security affiliations kept"
            " by the IGSS. We compare how quickly each group returned to work, in which"
            " sectors, and with how many hours, so that labour-market policy can take"
            " the cross-border workforce into account."
        ),
        "purposes": ["dga-research"],
        "purpose_detail": (
            "The research question is whether cross-border workers who lost their job"
            " in Luxembourg between March 2020 and June 2021 returned to work in"
            " Luxembourg as quickly as resident workers, and whether they came back in"
            " the same sector and with the same working time. We estimate survival"
            " models of the time to re-employment, stratified by country of residence"
            " and sector, with the 2018-2019 cohort as a pre-pandemic reference. The"
            " findings feed the Ministry of Labour's assessment of short-time working"
            " and the Greater Region's observatory of cross-border employment."
        ),
        "legal_bases": ["art6-1-e"],
        "datasets": [
            _dataset(
                "employment",
                (
                    "matricule",
                    "Linkage key with the IGSS affiliations; the trusted third party"
                    " replaces it with a project pseudonym before delivery.",
                ),
                ("spell_start", "Start of each spell defines the job-loss date."),
                ("spell_end", "End of each spell gives the time to re-employment."),
                ("status", "Separates employment from registered unemployment."),
                ("nace_sector", "Sector of the job lost and of the job found."),
                ("hours_per_week", "Measures the reduction of working time."),
            ),
            _dataset(
                "affiliations",
                (
                    "matricule",
                    "Linkage key with the ADEM histories, pseudonymised by the"
                    " trusted third party.",
                ),
                ("nace_sector", "Sector of each affiliation, to compare with ADEM."),
                ("start_date", "Start of affiliation marks the return to work."),
                ("end_date", "End of affiliation marks the loss of the job."),
            ),
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "The analysis follows the same person from the loss of a job to the next"
            " one, across several years and across the ADEM and IGSS records, so each"
            " person must keep one pseudonym in both sources. Anonymised or aggregated"
            " data cannot give the time to re-employment of an individual."
        ),
        "linkages": [
            _linkage(
                "employment",
                "affiliations",
                "Cross-border workers appear only in the IGSS affiliations, residents in"
                " both; linking the two gives complete working lives.",
            )
        ],
        "start_date": -690,
        "duration_months": 36,
        "ethics": _NO_ETHICS,
        "funding": "Fonds national de la recherche (FNR), CORE grant C21/SC/0000000",
        "publication_plan": (
            "A working paper in the University's ORBilu repository, an open-access"
            " journal article and a policy brief for the Ministry of Labour."
        ),
    },
    steps=(
        _save(740),
        _submit(735),
        _screen(733),
        _process(728, "Admissible: DGA research purpose, protected data, TTP linkage."),
        _ask_review(727, STEWARD_ADEM, STEWARD_IGSS),
        _review(
            715,
            STEWARD_ADEM,
            "The six variables requested are proportionate; spells before 2018 are"
            " not needed and will not be delivered.",
            Decision.POSITIVE,
        ),
        _review(
            712,
            STEWARD_IGSS,
            "No objection. Employer numbers are not requested, which keeps employers"
            " out of the outputs; sector is enough for this question.",
            Decision.POSITIVE,
        ),
        _recommend(
            705,
            "DGA Art. 5 conditions are met: scientific research, pseudonymised data in"
            " the secure processing environment, linkage through the trusted third"
            " party, minimised variables.",
            Decision.POSITIVE,
        ),
        _Step(
            700,
            DECIDER,
            Command.grant,
            "Granted under DGA Art. 5: the purpose is scientific research in the public"
            " interest, the data are minimised and pseudonymised, and they are processed"
            " only in the secure processing environment.",
            hour=11,
            conditions=(
                "Outputs leave the secure processing environment only after output"
                " checking; no output may single out an employer. Results are published"
                " openly."
            ),
        ),
    ),
    results_url="https://orbilu.uni.lu/handle/10993/61842",
)

_WORKING_TIME = _Scenario(
    title="Working time and qualifications of resident workers by nationality",
    applicant=ANALYST,
    created=215,
    form={
        "regime": "dga",
        "abstract": (
            "Luxembourg's national skills strategy needs to know who works part-time"
            " and why, and how qualifications differ between Luxembourgish, other"
            " European and non-European residents. Datalytics has been commissioned by"
            " the Ministry of Labour to build a set of indicators on working time and"
            " level of education from the labour force survey, broken down by age"
            " group and nationality. Only aggregated tables are requested: no"
            " individual answers leave STATEC, and every cell counts at least twenty"
            " respondents."
        ),
        "purposes": ["dga-policy"],
        "purpose_detail": (
            "The tables feed the Ministry of Labour's mid-term review of the national"
            " skills strategy. We need cross-tabulations of usual weekly hours worked"
            " and highest level of education (ISCED 2011) by ten-year age group,"
            " nationality group (Luxembourgish, other EU, non-EU) and labour status,"
            " for each quarter from 2019 to 2024. The published open tables do not"
            " cross these dimensions, and the ministry needs them to target training"
            " measures at the groups most often in involuntary part-time work."
        ),
        "legal_bases": ["art6-1-f"],
        "datasets": [
            _dataset(
                "lfs",
                ("age", "Ten-year age groups are one dimension of the tables."),
                ("nationality", "Nationality groups are the main breakdown requested."),
                ("education", "Level of education is the second indicator produced."),
                ("status", "Labour status separates employed and unemployed people."),
                ("hours", "Usual hours worked define part-time and full-time work."),
            )
        ],
        "data_form": "aggregated",
        "aggregate_tables": [
            {
                "name": "hours_by_age_nationality",
                "dataset_id": "lfs",
                "group_by": ["age", "nationality", "status"],
                "measures": ["hours"],
                "justification": "Usual hours worked by age, nationality group and"
                " labour status show who works part-time.",
            },
            {
                "name": "education_by_age_nationality",
                "dataset_id": "lfs",
                "group_by": ["age", "nationality", "education"],
                "justification": "Level of education by age and nationality group is"
                " the second indicator of the skills strategy.",
            },
        ],
        "start_date": -180,
        "duration_months": 12,
        "ethics": _NO_ETHICS,
        "funding": "Contract with the Ministry of Labour, Employment and the Social"
        " and Solidarity Economy",
        "publication_plan": (
            "The tables and a methodological note are published on data.public.lu"
            " under CC BY 4.0 once the ministry's review is presented."
        ),
    },
    steps=(
        _save(213),
        _submit(210),
        _screen(206),
        _process(200, "Aggregated outputs only; no review by the holder needed."),
        _recommend(
            190,
            "Aggregated tables with a minimum cell size of twenty: the purpose is"
            " policy-making in the general interest and no personal data leave STATEC.",
            Decision.POSITIVE,
        ),
        _Step(
            185,
            DECIDER,
            Command.grant,
            "Granted under DGA Art. 5: aggregated data for public policy-making; STATEC"
            " applies its statistical disclosure control before delivery.",
            hour=10,
            conditions="Every published cell counts at least twenty respondents.",
        ),
    ),
)

_LONG_COVID = _Scenario(
    title="Long COVID and sick leave among private-sector employees",
    applicant=RESEARCHER,
    created=130,
    form={
        "regime": "ehds",
        "abstract": (
            "Some people who had COVID-19 still suffer months later from fatigue,"
            " breathlessness or trouble concentrating. Little is known about how long"
            " COVID affects people's ability to work in Luxembourg. This study looks at"
            " employees in the private sector who were treated for post-COVID"
            " conditions between 2021 and 2024, and at what happened to their jobs"
            " afterwards: whether they stayed with their employer, changed sector or"
            " left employment. The findings will help the CNS, occupational health"
            " services and employers to plan gradual returns to work."
        ),
        "purposes": ["ehds-53-1-e"],
        "purpose_detail": (
            "We identify a cohort of insured employees with a post-COVID condition"
            " (ICD-10 U09.9) in the health-insurance claims and compare their"
            " subsequent employment with that of employees treated for other acute"
            " respiratory infections, matched on age, sector and calendar time. The"
            " outcomes are the end of the affiliation with the employer, a change of"
            " sector and the time until any new affiliation. Results inform the"
            " national guidance on therapeutic part-time work (mi-temps thérapeutique)"
            " and the occupational health services' follow-up of long COVID."
        ),
        "legal_bases": ["art6-1-e", "art9-2-j"],
        "datasets": [
            _dataset(
                "claims",
                (
                    "matricule",
                    "Linkage key with the IGSS affiliations, replaced by a project"
                    " pseudonym by the trusted third party.",
                ),
                (
                    "claim_date",
                    "Dates the first post-COVID consultation of each person.",
                ),
                (
                    "diagnosis_group",
                    "Identifies post-COVID conditions and comparators.",
                ),
                (
                    "act_code",
                    "Distinguishes rehabilitation from general consultations.",
                ),
            ),
            _dataset(
                "affiliations",
                (
                    "matricule",
                    "Linkage key with the claims, pseudonymised by the trusted third"
                    " party.",
                ),
                ("nace_sector", "Sector is a matching variable and an outcome."),
                ("start_date", "Start of a new affiliation measures return to work."),
                ("end_date", "End of affiliation is the main outcome of the study."),
            ),
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "Each person's treatment must be followed by their employment over up to"
            " three years, across the CNS claims and the IGSS affiliations. That"
            " requires one stable pseudonym per person in both sources; anonymised data"
            " would break the link between a diagnosis and the job that follows."
        ),
        "linkages": [
            _linkage(
                "claims",
                "affiliations",
                "The diagnosis comes from the claims and the employment outcome from"
                " the affiliations; only the linkage connects them.",
            )
        ],
        "start_date": 30,
        "duration_months": 36,
        "funding": "Fonds national de la recherche (FNR), COVID-19 Fast Track",
        "publication_plan": (
            "Open-access article within 18 months of the end of processing, and a"
            " summary for occupational physicians."
        ),
    },
    ethics=_Ethics(_CNER, "CNER 202404/07"),
    steps=(
        _save(128),
        _submit(124),
        _screen(121),
        _process(113),
        _ask_review(112, STEWARD_IGSS),
        _Step(
            60,
            HANDLER,
            Command.remark,
            "IGSS review still outstanding; reminded the steward by e-mail.",
            hour=9,
        ),
        _Step(
            38,
            HANDLER,
            Command.remark,
            "Deadline passed. IGSS confirmed the review is with their legal service;"
            " a decision will follow as soon as it arrives.",
            hour=17,
        ),
    ),
)

_DIABETES = _Scenario(
    title=RESEARCHER_PERMIT_TITLE,
    applicant=RESEARCHER,
    created=118,
    form={
        "regime": "ehds",
        "abstract": (
            "About one adult in fifteen in Luxembourg lives with diabetes. The national"
            " diabetes plan asks whether people receive the recommended follow-up:"
            " regular HbA1c tests, eye and foot examinations, and visits to their"
            " general practitioner. This project measures how people with diabetes use"
            " primary and specialist care over five years, and how their care pathways"
            " differ by age, sex and commune of residence. It links the population"
            " register with health-insurance claims, in pseudonymised form and only"
            " inside the secure processing environment. A second phase, applied for"
            " separately, will add employment histories to study how diabetes care"
            " relates to staying in work."
        ),
        "purposes": ["ehds-53-1-e"],
        "purpose_detail": (
            "Phase 1 builds a cohort of insured residents with at least two claims for"
            " glucose-lowering treatment or diabetes follow-up between 2019 and 2024."
            " For each person we reconstruct the yearly care pathway from the claims"
            " (consultations, laboratory tests, specialist visits, hospital"
            " procedures) and compare it with the follow-up recommended by the"
            " national diabetes plan. Differences by age group, sex and commune of"
            " residence are estimated with multilevel models. The results support the"
            " Ministry of Health's evaluation of the diabetes plan and the design of"
            " primary-care incentives. Employment outcomes are the object of phase 2,"
            " which will be requested as an amendment once the cohort is defined."
        ),
        "legal_bases": ["art6-1-e", "art9-2-j"],
        "datasets": [
            _dataset(
                "register",
                (
                    "matricule",
                    "Linkage key only: the trusted third party uses it to link the"
                    " register with the CNS claims and replaces it with a project"
                    " pseudonym; the research team never sees it.",
                ),
                ("birth_year", "Age groups are the main stratification of the study."),
                (
                    "sex",
                    "Care pathways and complications differ between women and men.",
                ),
                (
                    "commune",
                    "Regional differences in access to care are a research question;"
                    " results are published by canton only.",
                ),
                (
                    "nationality",
                    "Uptake of follow-up differs between Luxembourg nationals and"
                    " residents of other nationalities, the largest groups of the"
                    " country; results are published by broad group only.",
                ),
            ),
            _dataset(
                "claims",
                (
                    "matricule",
                    "Linkage key with the population register, pseudonymised by the"
                    " trusted third party before delivery.",
                ),
                ("claim_date", "Orders the acts of each pathway over the five years."),
                ("year", "The yearly pathway is the unit of the main analysis."),
                ("act_code", "Identifies HbA1c tests, eye and foot examinations."),
                (
                    "care_type",
                    "Separates primary, specialist and hospital care in the pathway.",
                ),
                ("diagnosis_group", "Selects the diabetes cohort and complications."),
                ("amount", "Costs of each pathway for the health-economic analysis."),
            ),
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "A care pathway is the sequence of acts of one person over five years, and"
            " the age, sex and commune of that person come from another dataset."
            " Following people over time and linking the register with the claims is"
            " impossible with anonymised data, whereas aggregated tables cannot show"
            " whether the same person received all recommended examinations."
        ),
        "linkages": [
            _linkage(
                "register",
                "claims",
                "The claims carry no age, sex or commune; the register supplies them"
                " for each insured person of the cohort.",
            )
        ],
        "start_date": -70,
        "duration_months": 36,
        "funding": "Fonds national de la recherche (FNR), CORE grant C23/BM/0000000;"
        " Ministry of Health",
        "publication_plan": (
            "Open-access articles and a public report to the Ministry of Health within"
            " 18 months of the end of processing; code published on the University's"
            " GitLab."
        ),
    },
    ethics=_Ethics(_CNER, "CNER 202309/02"),
    steps=(
        _save(117),
        _Step(
            116,
            APPLICANT,
            Command.invite_assistant,
            hour=9,
            assistant=ASSISTANT,
        ),
        _Step(
            115,
            ASSISTANT,
            Command.comment,
            "Request the matricule in both datasets only as the linkage key: the"
            " trusted third party replaces it with a pseudonym, so justify it that way."
            " If you keep nationality, say which comparison needs it and how small"
            " groups will be protected in the outputs.",
            hour=14,
        ),
        _save(113),
        _submit(112),
        _screen(110),
        _Step(
            108,
            HANDLER,
            Command.request_information,
            "Please explain why the commune of residence is needed rather than the"
            " canton, and how small communes will be protected in the outputs.",
            hour=15,
        ),
        _Step(
            101,
            APPLICANT,
            Command.provide_information,
            "Access to general practitioners differs between neighbouring communes of"
            " the same canton, so the models need the commune. Outputs are published"
            " by canton only, and any model estimate for a commune with fewer than 20"
            " people in the cohort is suppressed at output checking.",
            hour=10,
        ),
        _process(99),
        _ask_review(98, STEWARD_CNS, STEWARD_STATEC),
        _review(
            92,
            STEWARD_STATEC,
            "The register variables are minimal; commune is acceptable with the"
            " announced suppression rule.",
            Decision.POSITIVE,
        ),
        _review(
            88,
            STEWARD_CNS,
            "The claims variables match the protocol. The CNS can deliver 2019-2024;"
            " diagnosis groups follow the CNS grouping, documented in the dictionary.",
            Decision.POSITIVE,
        ),
        _recommend(
            80,
            "EHDS Art. 53(1)(e) scientific research; pseudonymisation justified by"
            " the linkage and the longitudinal design; both holders agree; ethics"
            " approval attached.",
            Decision.POSITIVE,
        ),
        _Step(
            74,
            DECIDER,
            Command.grant,
            "Granted under EHDS Art. 68: the purpose is scientific research related to"
            " the health sector (Art. 53(1)(e)), the data requested are adequate and"
            " limited to the purpose, and the pseudonymised form is justified by the"
            " linkage through the trusted third party.",
            hour=11,
            conditions=(
                "Processing only in the secure processing environment. Outputs by"
                " canton, with cells under 20 persons suppressed. Results published"
                " within 18 months of the end of processing (EHDS Art. 61(4))."
            ),
        ),
    ),
)

_PRESCRIPTIONS = _Scenario(
    title="Prescription histories for personalised supplementary health cover",
    applicant=ANALYST,
    created=100,
    form={
        "regime": "ehds",
        "abstract": (
            "Supplementary health insurance in Luxembourg pays what the CNS does not:"
            " single rooms, dental work, glasses. Datalytics develops a pricing engine"
            " for a group of mutual insurers that wants to offer cover better suited to"
            " each member. The project would train a model on the medicines people"
            " buy in pharmacies to predict which supplementary benefits they are"
            " likely to use in the coming years, and to propose suitable packages to"
            " them. The model would be developed in the secure processing environment"
            " on pseudonymised dispensing records."
        ),
        "purposes": ["ehds-53-1-e-i"],
        "purpose_detail": (
            "We would train gradient-boosted models that predict, from the"
            " therapeutic classes of the medicines dispensed to a person over three"
            " years, their expected use of dental, optical and hospital supplementary"
            " benefits. The trained model would then be deployed by the insurers to"
            " score their members and propose packages and premiums adapted to each"
            " profile. The innovation is a personalised offer that reduces the cost"
            " of cover for members with low expected use."
        ),
        "legal_bases": ["art6-1-f", "art9-2-j"],
        "datasets": [
            _dataset(
                "dispensing",
                (
                    "insured_pseudonym",
                    "Groups the dispensings of the same person over three years.",
                ),
                ("birth_year", "Age is a strong predictor of the use of benefits."),
                ("dispensed_on", "Builds the three-year history of each person."),
                ("atc_code", "Therapeutic classes are the features of the model."),
            )
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "The model learns from the history of each person, so the dispensings of"
            " one person must be grouped under one pseudonym over three years;"
            " anonymised records would lose the sequence the model relies on."
        ),
        "start_date": 0,
        "duration_months": 24,
        "ethics": _NO_ETHICS,
        "funding": "Datalytics S.à r.l. and a group of mutual insurers",
        "publication_plan": "A technical white paper on the modelling approach.",
    },
    steps=(
        _save(99),
        _submit(96),
        _screen(94),
        _process(90),
        _ask_review(89, STEWARD_CNS),
        _review(
            82,
            STEWARD_CNS,
            "The CNS objects: the model would be used to set supplementary insurance"
            " offers and premiums from people's medicines, which is the use EHDS"
            " Art. 54(1)(b) forbids, whatever the declaration says.",
            Decision.NEGATIVE,
        ),
        _recommend(
            76,
            "The declared prohibited uses contradict the purpose detail: scoring"
            " members to adapt premiums and offers falls under EHDS Art. 54(1)(b) and"
            " (c). Refusal recommended.",
            Decision.NEGATIVE,
        ),
        _Step(
            71,
            DECIDER,
            Command.refuse,
            "Refused under EHDS Art. 68(1) and Art. 54(1)(b) and (c). The purpose"
            " detail states that the trained model would be used by insurers to score"
            " their members and adapt offers and premiums to each profile. Electronic"
            " health data may not be used to take decisions on insurance terms, nor"
            " for marketing, even through a model trained in the secure processing"
            " environment. A new application for a purpose under Art. 53(1) that"
            " excludes these uses may be submitted.",
            hour=10,
        ),
    ),
)

_POLYPHARMACY = _Scenario(
    title="Polypharmacy among older people receiving long-term care at home",
    applicant=RESEARCHER,
    created=95,
    form={
        "regime": "ehds",
        "abstract": (
            "Many older people who receive long-term care at home take five or more"
            " medicines a day. Some combinations increase the risk of falls,"
            " confusion and hospital stays. This study describes how many medicines"
            " older people in Luxembourg take, how this changes as their care needs"
            " grow, and which combinations are most common. It links the medicines"
            " dispensed in pharmacies with the assessments of the long-term care"
            " insurance, in pseudonymised form. The results will help pharmacists,"
            " general practitioners and home-care networks to review medication"
            " regularly."
        ),
        "purposes": ["ehds-53-1-e"],
        "purpose_detail": (
            "We follow people aged 65 and over with a long-term care assessment"
            " between 2020 and 2024 and reconstruct their medication from the"
            " dispensing records in the year before and after each assessment. We"
            " measure the prevalence of polypharmacy and of potentially inappropriate"
            " medicines (EU(7)-PIM list) by level of care and main condition, and"
            " estimate how they change when care needs increase. The results support"
            " the national medication review programme planned by the Ministry of"
            " Health and the training of home-care nurses."
        ),
        "legal_bases": ["art6-1-e", "art9-2-j"],
        "datasets": [
            _dataset(
                "dispensing",
                (
                    "insured_pseudonym",
                    "Linkage key with the care assessments; the trusted third party"
                    " maps the CNS pseudonym to a project pseudonym.",
                ),
                ("birth_year", "Selects people aged 65 and over and age groups."),
                ("dispensed_on", "Places each dispensing before or after assessment."),
                ("atc_code", "Medicines are counted and classified by ATC code."),
            ),
            _dataset(
                "care",
                (
                    "matricule",
                    "Linkage key with the dispensing records, pseudonymised by the"
                    " trusted third party; never delivered to the team.",
                ),
                ("assessment_date", "Anchors the year before and after assessment."),
                ("care_level", "Level of care is the main explanatory variable."),
                ("main_condition", "Condition explains part of the medication burden."),
            ),
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "The medicines of each person must be related to that person's successive"
            " care assessments over five years, across two data holders. Only a"
            " common pseudonym per person allows this; aggregated or anonymised data"
            " cannot relate a medication change to a change in care needs."
        ),
        "linkages": [
            _linkage(
                "dispensing",
                "care",
                "Care levels come from the IGSS assessments and medicines from the CNS"
                " dispensing records; the study needs both for each person.",
            )
        ],
        "start_date": 60,
        "duration_months": 30,
        "funding": "Luxembourg Institute of Health collaboration grant",
        "publication_plan": (
            "Open-access article and a practical guide for home-care networks within"
            " 18 months of the end of processing."
        ),
    },
    ethics=_Ethics(_CNER, "CNER 202411/05"),
    steps=(
        _save(93),
        _submit(88),
        _screen(86),
        _process(80),
        _ask_review(80, STEWARD_CNS, STEWARD_IGSS),
        _review(
            66,
            STEWARD_IGSS,
            "The assessment variables are appropriate. Main conditions are coded in"
            " broad groups, so small groups are unlikely.",
            Decision.POSITIVE,
        ),
        _Step(
            25,
            HANDLER,
            Command.extend_deadline,
            "Extended once under EHDS Art. 68(4): linking the CNS insured pseudonym"
            " with the IGSS matricule needs a feasibility test by the trusted third"
            " party, and the CNS review is pending on it.",
            hour=16,
        ),
    ),
)

_SCHOOL_TO_WORK = _Scenario(
    title="School-to-work transitions after vocational training",
    applicant=RESEARCHER,
    created=75,
    form={
        "regime": "dga",
        "abstract": (
            "Each year, several thousand young people leave Luxembourg's secondary"
            " schools with a vocational diploma (DAP, DT or a technician's diploma)."
            " This project asks how many of them are in work five years later, and"
            " whether the type of diploma and the year they left school make a"
            " difference. It uses the linked school and employment data prepared by"
            " the Luxembourg National Data Service, in pseudonymised form, to inform"
            " the reform of vocational training."
        ),
        "purposes": ["dga-research"],
        "purpose_detail": (
            "We estimate the share of school leavers in employment five years after"
            " leaving education, by last diploma obtained and year of leaving, for the"
            " cohorts 2012 to 2018, and model the association between the type of"
            " vocational diploma and employment with logistic regressions adjusted for"
            " year of birth. The results will be used in the evaluation of the 2019"
            " reform of vocational training commissioned by the Ministry of Education."
        ),
        "legal_bases": ["art6-1-e"],
        "datasets": [
            _dataset(
                "school",
                (
                    "pseudonym",
                    "Keeps each school leaver as one record across the linked sources.",
                ),
                ("birth_year", "Adjusts the models for age at leaving school."),
                ("last_diploma", "Type of diploma is the main explanatory variable."),
                ("leaving_year", "Defines the cohorts compared before the reform."),
                ("employed_after_5y", "Employment after five years is the outcome."),
            )
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "The linked dataset exists only in pseudonymised form at LNDS, and the"
            " models need one record per school leaver; aggregated tables would not"
            " allow the adjustment for year of birth within each diploma."
        ),
        "start_date": -30,
        "duration_months": 18,
        "ethics": _NO_ETHICS,
        "funding": "University of Luxembourg, Department of Education and Social Work",
        "publication_plan": "Working paper and open-access article.",
    },
    steps=(
        _save(74),
        _submit(70),
        _screen(66),
        _Step(
            61,
            APPLICANT,
            Command.withdraw,
            "LNDS has since published the aggregated indicators by diploma and cohort"
            " that we needed for the evaluation; individual records are no longer"
            " necessary, so we withdraw the application.",
            hour=12,
        ),
    ),
)

_NURSING_HOMES = _Scenario(
    title="Care needs of nursing-home residents and avoidable hospital admissions",
    applicant=RESEARCHER,
    created=52,
    form={
        "regime": "ehds",
        "abstract": (
            "Residents of nursing homes are often sent to hospital for conditions that"
            " could have been treated where they live, such as dehydration, urinary"
            " infections or falls without fracture. These admissions are distressing"
            " for frail older people and costly for the health system. This study"
            " measures how often such potentially avoidable admissions happen among"
            " nursing-home residents in Luxembourg, and whether they are more common"
            " at some levels of care. It links the long-term care assessments with"
            " individual hospital stays, in pseudonymised form."
        ),
        "purposes": ["ehds-53-1-e"],
        "purpose_detail": (
            "We identify residents of nursing homes from their long-term care"
            " assessments between 2019 and 2024 and follow their hospital stays."
            " Stays are classified as potentially avoidable using a published list of"
            " ambulatory-care-sensitive conditions adapted to long-term care. We"
            " estimate admission rates per 1,000 resident-years by level of care and"
            " main condition, and the length of those stays. The results support the"
            " Ministry of Family's quality framework for nursing homes and the"
            " hospitals' discharge planning."
        ),
        "legal_bases": ["art6-1-e", "art9-2-j"],
        "datasets": [
            _dataset(
                "care",
                (
                    "matricule",
                    "Linkage key with the hospital stays; the trusted third party"
                    " replaces it with a project pseudonym.",
                ),
                ("assessment_date", "Defines the periods each resident is followed."),
                ("care_level", "Admission rates are compared by level of care."),
                ("main_condition", "Adjusts the comparison for the main condition."),
            ),
            _dataset(
                "hospital",
                (
                    "patient_pseudonym",
                    "Linkage key with the assessments, mapped to the project"
                    " pseudonym by the trusted third party.",
                ),
                ("admission_date", "Dates each admission within the follow-up."),
                ("discharge_date", "Length of stay is a secondary outcome."),
                ("diagnosis_group", "Classifies stays as potentially avoidable."),
            ),
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "Admissions must be related to the care level of the same person at the"
            " time of admission, across the IGSS assessments and the hospital records,"
            " and followed over several years. This needs one pseudonym per person in"
            " both sources; anonymised data would lose that link."
        ),
        "linkages": [
            _linkage(
                "care",
                "hospital",
                "Care levels and hospital stays are held by different bodies; the"
                " admission rate by care level needs both for each resident.",
            )
        ],
        "start_date": 45,
        "duration_months": 24,
        "funding": "Ministry of Family Affairs, Integration and the Greater Region",
        "publication_plan": (
            "Report to the Ministry of Family and an open-access article within 18"
            " months of the end of processing."
        ),
    },
    ethics=_Ethics(_CNER, "CNER 202502/11"),
    steps=(
        _save(50),
        _submit(45),
        _screen(41),
        _process(35),
        _Step(
            18,
            HANDLER,
            Command.request_information,
            "The hospital stays carry the CNS patient pseudonym, not the matricule."
            " Please confirm with the trusted third party that it can link the two, and"
            " state how residents who moved between nursing homes are followed.",
            hour=11,
        ),
    ),
)

_ASTHMA = _Scenario(
    title="Paediatric asthma admissions and air quality in the Minett",
    applicant=RESEARCHER,
    created=33,
    form={
        "regime": "ehds",
        "abstract": (
            "Children in the former mining and steel towns of the south of Luxembourg,"
            " the Minett, live close to motorways, building sites and industry. The"
            " Health Directorate wants to know whether days with high fine-particle or"
            " nitrogen dioxide levels are followed by more hospital admissions of"
            " children for asthma. This surveillance study compares weekly counts of"
            " paediatric asthma admissions in the hospitals serving the south with the"
            " air-quality readings of the Belval stations. Only aggregated counts are"
            " requested; no individual record leaves the secure processing"
            " environment."
        ),
        "purposes": ["ehds-53-1-a"],
        "purpose_detail": (
            "On behalf of the Health Directorate's environmental health division, we"
            " build weekly counts of admissions of children aged 0 to 14 for asthma"
            " and wheezing, by hospital and age band, from 2019 to 2025, and relate"
            " them to weekly PM2.5, PM10 and NO2 concentrations from the open Belval"
            " sensor data with time-series regression. The purpose is public health"
            " surveillance: the results set the thresholds at which the Directorate"
            " issues air-quality advice to schools and paediatricians in the south."
        ),
        "legal_bases": ["art6-1-e", "art9-2-i"],
        "datasets": [
            _dataset(
                "hospital",
                ("age_band", "Selects children and splits them into age bands."),
                ("admission_date", "Weekly counts are built from admission dates."),
                ("hospital", "Restricts the counts to hospitals serving the south."),
                ("diagnosis_group", "Identifies admissions for asthma and wheezing."),
            )
        ],
        "data_form": "aggregated",
        "aggregate_tables": [
            {
                "name": "asthma_admissions",
                "dataset_id": "hospital",
                "group_by": [
                    "admission_date",
                    "age_band",
                    "hospital",
                    "diagnosis_group",
                ],
                "justification": "Weekly admissions of children for asthma by age band"
                " and hospital are the outcome of the time-series regression.",
            }
        ],
        "start_date": 35,
        "duration_months": 12,
        "ethics": _NO_ETHICS,
        "funding": "Ministry of Health, Health Directorate",
        "publication_plan": (
            "A surveillance report published by the Health Directorate and an"
            " open-access article."
        ),
    },
    steps=(
        _save(31),
        _submit(29),
        _screen(27),
        _process(24, "Public-sector applicant, Art. 53(1)(a): expedited two months."),
        _ask_review(24, STEWARD_CNS),
        _review(
            17,
            STEWARD_CNS,
            "Aggregated weekly counts by hospital and age band are fine. The CNS will"
            " suppress weeks with fewer than five admissions in a cell.",
            Decision.POSITIVE,
        ),
    ),
)

_JOB_SEEKERS = _Scenario(
    title="Unemployment spell durations by sector: a re-employment indicator",
    applicant=ANALYST,
    created=20,
    form={
        "regime": "dga",
        "abstract": (
            "Datalytics builds labour-market indicators for employers' federations and"
            " training providers. This project develops a monthly indicator of how long"
            " people who lose a job in each sector of the Luxembourg economy remain"
            " registered as job seekers, and in which sectors they find work again. The"
            " indicator helps training providers decide which retraining courses to"
            " offer. Individual records are analysed only in the secure processing"
            " environment; only the indicator, by sector and quarter, is published."
        ),
        "purposes": ["dga-innovation"],
        "purpose_detail": (
            "We estimate, for each NACE section and quarter since 2015, the"
            " distribution of the duration of registered unemployment spells and the"
            " sector of the next job, with survival models that account for spells"
            " still open at the end of the data. The indicator becomes a commercial"
            " dashboard for employers' federations and training providers, updated"
            " each quarter, and a free summary published on data.public.lu."
        ),
        "legal_bases": ["art6-1-f"],
        "datasets": [
            _dataset(
                "employment",
                ("spell_start", "Start of each unemployment spell."),
                ("spell_end", "End of each spell gives its duration."),
                ("status", "Separates unemployment from employment spells."),
                ("nace_sector", "Sector of the job lost and of the next job."),
                ("hours_per_week", "Distinguishes full-time from part-time returns."),
            )
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "A spell of unemployment ends with the next job of the same person, so the"
            " spells of one person must be kept together under a pseudonym; aggregated"
            " tables cannot give spell durations that end in another sector."
        ),
        "start_date": 60,
        "duration_months": 24,
        "ethics": _NO_ETHICS,
        "funding": "Own funds of Datalytics S.à r.l.",
        "publication_plan": (
            "A free quarterly summary on data.public.lu; the detailed dashboard is"
            " offered to subscribers."
        ),
    },
    steps=(
        _save(18),
        _submit(14),
        _screen(11),
        _Step(
            10,
            HANDLER,
            Command.remark,
            "Commercial re-use of ADEM data: check whether aggregated spell durations"
            " by sector and quarter would serve, and the fee schedule under DGA"
            " Art. 6.",
            hour=15,
        ),
    ),
)

_PENSIONS = _Scenario(
    title="Pension adequacy of women with interrupted careers",
    applicant=RESEARCHER,
    created=9,
    form={
        "regime": "dga",
        "abstract": (
            "Women in Luxembourg receive on average much lower pensions than men,"
            " largely because of career breaks and part-time work while raising"
            " children. The baby years and the continued-insurance scheme are meant to"
            " compensate for part of this gap. This project measures how much of the"
            " pension gap is explained by interrupted careers, and how much the"
            " compensating schemes actually close, using the pension insurance careers"
            " recorded by the IGSS in pseudonymised form."
        ),
        "purposes": ["dga-research"],
        "purpose_detail": (
            "We reconstruct the insurance careers of people born between 1955 and 1965"
            " from the compulsory, continued and voluntary insurance periods and their"
            " contributory income, and simulate their pension entitlement under the"
            " current rules with and without the credited baby years. Decomposition"
            " methods then separate the part of the gender pension gap due to career"
            " interruptions from the part due to income. The results inform the"
            " ongoing review of the pension system by the Economic and Social Council."
        ),
        "legal_bases": ["art6-1-e", "art9-2-j"],
        "datasets": [
            _dataset(
                "pensions",
                ("sex", "The gender pension gap is the object of the study."),
                ("period_start", "Start of each insurance period of a career."),
                ("period_end", "End of each period gives career interruptions."),
                ("scheme", "Separates compulsory, continued and voluntary periods."),
                ("income", "Contributory income determines pension entitlement."),
            )
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": (
            "A pension is computed from the whole career of one person, so all the"
            " insurance periods and incomes of that person must stay together under"
            " one pseudonym; aggregated data cannot be used to simulate entitlements."
        ),
        "start_date": 70,
        "duration_months": 24,
        "ethics": _NO_ETHICS,
        "funding": "University of Luxembourg, Department of Social Sciences",
        "publication_plan": "Working paper, open-access article and a policy brief.",
    },
    steps=(_save(6), _submit(2)),
)

_AI_TRIAGE = _Scenario(
    title="Evaluating an AI triage model for emergency departments",
    applicant=ANALYST,
    created=8,
    form={
        "regime": "ehds",
        "abstract": (
            "Emergency departments in Luxembourg are crowded, and nurses decide in a"
            " few minutes who must be seen first. Datalytics has developed a model that"
            " suggests a triage level from the information available on arrival. Before"
            " any hospital uses it, the model must be tested on Luxembourg data to check"
            " that it is accurate and equally reliable for children, older people,"
            " women and men. This project evaluates the model on past hospital stays."
        ),
        "purposes": ["ehds-53-1-e-ii"],
        "purpose_detail": "Testing the model on hospital stays.",
        "datasets": [
            _dataset(
                "hospital",
                ("age_band", ""),
                ("admission_date", ""),
                ("diagnosis_group", ""),
            )
        ],
        "start_date": 90,
        "duration_months": 12,
        "prohibited_uses_declared": [],
    },
    steps=(
        _save(7),
        _Step(6, APPLICANT, Command.invite_assistant, hour=9, assistant=ASSISTANT),
        _Step(
            4,
            ASSISTANT,
            Command.comment,
            "Before submitting: choose the form of the data (aggregated counts will"
            " not do for a model evaluation, so pseudonymised, with a justification),"
            " explain for each variable why you need it, describe the evaluation"
            " protocol and metrics in the purpose detail, add the GDPR grounds"
            " (Art. 6 and Art. 9 for the diagnoses), and tick the declaration.",
            hour=14,
        ),
    ),
)

SCENARIOS: tuple[_Scenario, ...] = (
    _CROSS_BORDER,
    _WORKING_TIME,
    _LONG_COVID,
    _DIABETES,
    _PRESCRIPTIONS,
    _POLYPHARMACY,
    _SCHOOL_TO_WORK,
    _NURSING_HOMES,
    _ASTHMA,
    _JOB_SEEKERS,
    _PENSIONS,
    _AI_TRIAGE,
)
TITLES: tuple[str, ...] = tuple(s.title for s in SCENARIOS)


# --- replaying them ------------------------------------------------------------------------


def load_applications(session: Session, config: PermitsConfig) -> int:
    """Create the demo applications that are missing; return how many were created.

    Needs the demo people and datasets (``datafactory.demo.load``). Runs on the caller's
    transaction; ``config.now()`` is "today", the day every backdated step counts from.
    """
    missing = [
        s
        for s in SCENARIOS
        if session.scalar(
            select(Application.id).where(Application.title == s.title).limit(1)
        )
        is None
    ]
    if not missing:
        return 0
    replay = _Replay(
        session,
        config,
        people=_people(session, _emails(missing)),
        datasets=_datasets(session),
    )
    for scenario in missing:
        replay.run(scenario)
    return len(missing)


def _emails(scenarios: Iterable[_Scenario]) -> set[str]:
    emails: set[str] = set()
    for scenario in scenarios:
        emails.add(scenario.applicant)
        for step in scenario.steps:
            emails.update(p for p in (step.who, step.assistant) if p)
            emails.update(step.reviewers)
    emails.discard(APPLICANT)
    return emails


def _people(session: Session, emails: set[str]) -> dict[str, Person]:
    found = {
        p.email: p
        for p in session.scalars(select(Person).where(Person.email.in_(emails)))
    }
    absent = sorted(emails - found.keys())
    if absent:
        raise LookupError(
            f"The demo people {', '.join(absent)} are missing: run demo.load first."
        )
    return found


def _datasets(session: Session) -> dict[str, str]:
    """The identifiers of the published demo datasets the applications ask for."""
    wanted = {value: key for key, value in _DATASETS.items()}
    found: dict[str, str] = {}
    rows = session.execute(
        select(Dataset.id, Dataset.draft, Organisation.slug)
        .join(Organisation, Organisation.id == Dataset.publisher_id)
        .where(Dataset.status == DatasetStatus.published.value)
        .order_by(Dataset.id)
    )
    for dataset_id, draft, slug in rows:
        key = wanted.get((slug, str(draft.get("title", {}).get("en", ""))))
        if key is not None:
            found.setdefault(key, dataset_id)
    absent = sorted(set(_DATASETS) - found.keys())
    if absent:
        titles = ", ".join(repr(_DATASETS[k][1]) for k in absent)
        raise LookupError(
            f"The demo datasets {titles} are missing: run demo.load first."
        )
    return found


class _Replay:
    """Runs scenarios through the services, each step at its own moment in the past."""

    def __init__(
        self,
        session: Session,
        config: PermitsConfig,
        *,
        people: dict[str, Person],
        datasets: dict[str, str],
    ) -> None:
        self.session = session
        self.config = config
        self.people = people
        self.datasets = datasets
        self.today = clocks.local_date(config.now())
        self.last: datetime | None = None

    def actor(self, email: str) -> Actor:
        return Actor.for_person(self.people[email])

    def at(self, day: int, hour: int) -> PermitsConfig:
        """The config whose ``now`` is ``day`` working days' worth before today at
        ``hour`` (Luxembourg time), never before the previous step."""
        moment = _moment(self.today, day, hour, self.last)
        self.last = moment
        return dataclasses.replace(self.config, now=lambda: moment)

    def run(self, scenario: _Scenario) -> None:
        self.last = None
        applicant = self.actor(scenario.applicant)
        application = create_application(
            self.session,
            applicant,
            self.at(scenario.created, 9),
            body=ApplicationCreate(
                form=ApplicationForm(
                    title=scenario.title, regime=str(scenario.form.get("regime", ""))
                )
            ),
        )
        form = self.resolve(scenario, application)
        if scenario.ethics is not None:
            attachment = attach(
                self.session,
                applicant,
                self.at(scenario.created, 9),
                application_id=application.id,
                filename="ethics-approval.pdf",
                media_type="application/pdf",
                data=_approval_pdf(scenario, self.people[scenario.applicant]),
            )
            form["ethics"] = {
                "status": "approved",
                "committee": scenario.ethics.committee,
                "reference": scenario.ethics.reference,
                "attachment_id": attachment.id,
            }
        validated = ApplicationForm.model_validate(form)
        for step in scenario.steps:
            who = scenario.applicant if step.who == APPLICANT else step.who
            procedure.execute(
                self.session,
                self.actor(who),
                self.at(step.day, step.hour),
                application_id=application.id,
                command=CommandIn(
                    command=step.command,
                    comment=step.comment,
                    reviewer_emails=list(step.reviewers),
                    recommendation=step.recommendation,
                    assistant_email=step.assistant,
                    conditions=step.conditions,
                ),
                form=validated if step.send_form else None,
            )
        if scenario.results_url is not None:
            permit = self.session.scalars(
                select(Permit).where(Permit.application_id == application.id)
            ).one()
            set_results_url(
                self.session,
                applicant,
                self.at(1, 10),
                permit_id=permit.id,
                url=scenario.results_url,
            )

    def resolve(self, scenario: _Scenario, application: Application) -> dict[str, Any]:
        """The scenario's form with real dataset identifiers, dates and organisation."""
        form = dict(scenario.form)
        form["title"] = scenario.title
        form["organisation_id"] = application.organisation_id
        form["principal_investigator"] = scenario.applicant
        form.setdefault("prohibited_uses_declared", _DECLARED)
        start = form.get("start_date")
        if isinstance(start, int):
            form["start_date"] = (self.today + timedelta(days=start)).isoformat()
        form["datasets"] = [
            {**d, "dataset_id": self.datasets[d["dataset_id"]]}
            for d in form.get("datasets", [])
        ]
        form["linkages"] = [
            {**link, "datasets": [self.datasets[k] for k in link["datasets"]]}
            for link in form.get("linkages", [])
        ]
        form["aggregate_tables"] = [
            {**table, "dataset_id": self.datasets[table["dataset_id"]]}
            for table in form.get("aggregate_tables", [])
        ]
        return form


def _moment(today: date, day: int, hour: int, after: datetime | None) -> datetime:
    """``day`` days before ``today`` at ``hour`` in Luxembourg, moved back to a working
    day, and a little after ``after`` when that would put it before the previous step."""
    when = today - timedelta(days=max(day, 1))
    while not clocks.is_working_day(when):
        when -= timedelta(days=1)
    minute = (day * 7 + hour * 13) % 60
    local = datetime.combine(when, time(hour, minute), tzinfo=clocks.LUXEMBOURG)
    moment = local.astimezone(UTC)
    if after is not None and moment <= after:
        moment = after + timedelta(minutes=17)
    return moment


# --- the ethics approval, as a small real PDF ------------------------------------------------


def _approval_pdf(scenario: _Scenario, applicant: Person) -> bytes:
    assert scenario.ethics is not None
    lines = [
        "Comite national d'ethique de recherche (CNER)",
        "",
        f"Reference: {scenario.ethics.reference}",
        f"Principal investigator: {_ascii(applicant.name)}",
        f"Project: {_ascii(scenario.title)}",
        "",
        "The Committee has examined the protocol and gives a favourable opinion.",
        "Demonstration document generated by datafactory; not a real approval.",
    ]
    return _pdf(lines)


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with ``lines`` of Helvetica text, cross-reference table included."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = " T* ".join(f"({escape(line)}) Tj" for line in lines)
    stream = f"BT /F1 11 Tf 16 TL 72 770 Td {text} ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
