"""What an applicant writes, what handlers and deciders send, and what leaves the room.

``ApplicationForm`` is a draft: every answer may be missing until submission, when the
completeness check (``completeness.py``) must find nothing missing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from datafactory.permits.workflow import Command, Decision, State

MAX_TEXT = 10_000


class DataForm(StrEnum):
    """The form in which the data reach the secure processing environment."""

    anonymised = "anonymised"
    pseudonymised = "pseudonymised"
    aggregated = "aggregated"


class ApplicationKind(StrEnum):
    new = "new"
    amendment = "amendment"
    renewal = "renewal"


class LegalBasis(StrEnum):
    """GDPR grounds: Art. 6(1) for any personal data, Art. 9(2) for special categories."""

    art6_1_a = "art6-1-a"
    art6_1_c = "art6-1-c"
    art6_1_e = "art6-1-e"
    art6_1_f = "art6-1-f"
    art9_2_a = "art9-2-a"
    art9_2_g = "art9-2-g"
    art9_2_h = "art9-2-h"
    art9_2_i = "art9-2-i"
    art9_2_j = "art9-2-j"


class ProhibitedUse(StrEnum):
    """EHDS Art. 54(1): what the applicant declares they will not do with the data."""

    detrimental_decisions = "art54-a"
    discrimination_jobs_insurance_credit = "art54-b"
    advertising_marketing = "art54-c"
    harmful_products = "art54-d"
    unethical_activities = "art54-e"
    reidentification = "recital62-reidentification"
    third_party_access = "recital62-third-parties"


class VariableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    justification: str = Field(default="", max_length=2000)


class DatasetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=16)
    variables: list[VariableRequest] = Field(default_factory=list)


class Linkage(BaseModel):
    """Two requested datasets joined on a person, through the trusted third party."""

    model_config = ConfigDict(extra="forbid")

    datasets: tuple[str, str]
    justification: str = Field(default="", max_length=2000)


TABLE_NAME = r"^[a-z][a-z0-9_]{0,62}$"
"""A workspace table's name, as the catalogue's sources name them: a SQL identifier the
query gate accepts unquoted."""
MAX_GROUPS = 4
"""Group variables of one aggregate table. Every further variable multiplies the cells
and shrinks them below the threshold: a table of five crossed variables is mostly
suppressed."""


class AggregateTableRequest(BaseModel):
    """One table of the aggregated form: people counted per combination of the group
    variables of one requested dataset (and, for ``measures``, their sums and means).

    Whether the dataset and the variables are requested is checked for completeness, not
    here, so that a draft stays savable while its datasets change."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        max_length=63,
        description="The workspace table's name: lower-case letters, digits and _.",
        # The pattern is checked by ``_name``, with a message a person can act on.
        json_schema_extra={"pattern": TABLE_NAME},
    )
    dataset_id: str = Field(min_length=1, max_length=16)
    group_by: list[str] = Field(
        default_factory=list,
        max_length=MAX_GROUPS,
        description="The requested variables people are counted by (one to four).",
    )
    measures: list[str] = Field(
        default_factory=list,
        max_length=MAX_GROUPS,
        description="Numeric requested variables whose sum and mean each cell gives.",
    )
    justification: str = Field(default="", max_length=2000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(TABLE_NAME, value):
            raise ValueError(
                "Name the table with lower-case letters, digits and _ (no spaces),"
                " starting with a letter, for example counts_by_age."
            )
        return value

    @field_validator("group_by", "measures")
    @classmethod
    def _variables(cls, value: list[str]) -> list[str]:
        for name in value:
            if not 1 <= len(name) <= 63:
                raise ValueError("Give variable names of 1 to 63 characters.")
        return list(dict.fromkeys(value))


class TeamMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    role: str = Field(default="", max_length=200)


class EthicsApproval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(
        default="", pattern=r"^(|approved|pending|not_required)$", max_length=20
    )
    committee: str = Field(default="", max_length=300)
    reference: str = Field(default="", max_length=100)
    attachment_id: int | None = None


class ApplicationForm(BaseModel):
    """The answers of an application. Drafts may be incomplete."""

    model_config = ConfigDict(extra="forbid")

    regime: str = Field(default="", max_length=20)
    organisation_id: int | None = None
    principal_investigator: str = Field(
        default="", max_length=320, description="The e-mail of an account holder."
    )
    team: list[TeamMember] = Field(default_factory=list, max_length=50)
    title: str = Field(default="", max_length=300)
    abstract: str = Field(
        default="", max_length=MAX_TEXT, description="A public lay summary."
    )
    purposes: list[str] = Field(default_factory=list, max_length=10)
    purpose_detail: str = Field(default="", max_length=MAX_TEXT)
    legal_bases: list[LegalBasis] = Field(default_factory=list)
    datasets: list[DatasetRequest] = Field(default_factory=list, max_length=20)
    data_form: DataForm | None = None
    pseudonymisation_justification: str = Field(default="", max_length=MAX_TEXT)
    linkages: list[Linkage] = Field(default_factory=list, max_length=20)
    aggregate_tables: list[AggregateTableRequest] = Field(
        default_factory=list,
        max_length=20,
        description="Aggregated form only: the tables the workspace will hold.",
    )
    start_date: date | None = None
    duration_months: int | None = Field(default=None, ge=1, le=240)
    ethics: EthicsApproval = Field(default_factory=EthicsApproval)
    prohibited_uses_declared: list[ProhibitedUse] = Field(default_factory=list)
    funding: str = Field(default="", max_length=2000)
    publication_plan: str = Field(default="", max_length=MAX_TEXT)

    @field_validator("purposes", "prohibited_uses_declared")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("aggregate_tables")
    @classmethod
    def _distinct_tables(
        cls, value: list[AggregateTableRequest]
    ) -> list[AggregateTableRequest]:
        names = [t.name for t in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(
                f"Give each aggregate table its own name: {', '.join(twice)} is used"
                " more than once."
            )
        return value

    def dataset_ids(self) -> list[str]:
        return [d.dataset_id for d in self.datasets]


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: ApplicationForm = Field(default_factory=ApplicationForm)
    kind: ApplicationKind = ApplicationKind.new
    permit_id: int | None = Field(
        default=None, description="The permit an amendment or renewal changes."
    )


class CommandIn(BaseModel):
    """A workflow command sent by a handler, reviewer, decider or the applicant."""

    model_config = ConfigDict(extra="forbid")

    command: Command
    expected_version: int | None = Field(
        default=None,
        description="The version the sender saw; a different current version is a 409.",
    )
    comment: str = Field(default="", max_length=MAX_TEXT)
    reviewer_emails: list[str] = Field(default_factory=list, max_length=10)
    recommendation: Decision | None = None
    assistant_email: str | None = Field(default=None, max_length=320)
    conditions: str = Field(default="", max_length=MAX_TEXT)
    public: bool = Field(
        default=False, description="For a remark: shown to the applicant."
    )


class Gap(BaseModel):
    """Something missing or weak in an application, in plain words."""

    field: str
    message: str
    severity: str = Field(description="missing (blocks submission) or weak (advice)")


class CriterionOut(BaseModel):
    code: str
    rule: str
    outcome: str = Field(description="met, not_met or attention")
    message: str


class EventOut(BaseModel):
    seq: int
    type: str
    actor: str
    at: datetime
    comment: str = ""


class ApplicationPublic(BaseModel):
    id: int
    reference: str
    kind: ApplicationKind
    permit_id: int | None
    state: State
    status: str = Field(description="D6.4 status, e.g. POSITIVE_DECISION_ISSUED")
    version: int
    applicant_id: int
    form: ApplicationForm
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    deadline: date | None
    clock: str
    allowed_commands: list[Command]


class ApplicationPage(BaseModel):
    items: list[ApplicationPublic]
    total: int


class PermitPublic(BaseModel):
    id: int
    reference: str
    application_id: int
    status: str
    scope: dict[str, object]
    starts_on: date
    ends_on: date
    granted_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    token: str = Field(description="The permit as a signed JWS (RS256).")


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=10, max_length=MAX_TEXT)
