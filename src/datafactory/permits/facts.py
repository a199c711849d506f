"""What the pure rules of ``completeness.py`` and ``criteria.py`` need to know about the
world beyond the application form.

The form says what an applicant asks for; whether the datasets exist, which columns their
data dictionaries hold, who has an account and which files were attached are facts that
live in the database. The service reads them once and passes them in as these frozen
values, so the rules stay functions of their arguments: testable without a database and
giving the same answer to the applicant's "check my draft" and to the handler's screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from datafactory.catalogue.schemas import Sensitivity
from datafactory.permits.regimes import Regime
from datafactory.permits.schemas import DataForm

__all__ = ["ApplicantFacts", "ApplicationFacts", "DatasetFacts", "normalise_email"]


def normalise_email(email: str) -> str:
    """The form in which two e-mail addresses are compared.

    Applicants type addresses by hand; ``Ana@Example.lu`` and ``ana@example.lu `` name
    the same account, and treating them as different would tell a researcher that a
    registered colleague has no account.
    """
    return email.strip().casefold()


@dataclass(frozen=True)
class DatasetFacts:
    """One dataset named in the application, as the catalogue knows it.

    ``exists``: a published dataset with this identifier is in the catalogue (a deleted or
    draft one does not count: nobody can be granted what is not offered). ``protected``:
    its access rights are NON_PUBLIC or RESTRICTED, the only data a permit is for; open
    data is downloaded without one. ``variables``: its data dictionary, column name to
    sensitivity, empty when the steward has not written one.
    """

    id: str
    title: str
    exists: bool
    protected: bool
    variables: Mapping[str, Sensitivity]


@dataclass(frozen=True)
class ApplicantFacts:
    """Who applies.

    ``public_sector``: the applicant's organisation is a public-sector body (or acts on
    behalf of one), which opens EHDS Art. 53(1)(a)-(c) to it (Art. 53(2)).
    ``known_emails``: of the e-mails named as principal investigator or team member, those
    that belong to an account; only account holders can be authorised persons in the
    secure processing environment.
    """

    public_sector: bool
    known_emails: frozenset[str]

    def knows(self, email: str) -> bool:
        """Whether ``email`` belongs to an account, ignoring case and stray spaces."""
        wanted = normalise_email(email)
        return any(normalise_email(known) == wanted for known in self.known_emails)


@dataclass(frozen=True)
class ApplicationFacts:
    """Everything the rules need beside the form.

    ``datasets``: keyed by dataset identifier, for the datasets the form names; an
    identifier with no entry is treated as not existing. ``regime``: the regime the form
    names, ``None`` when it names none or one that is not configured. ``offered_forms``:
    the data forms the authority can deliver for all the requested datasets together.
    ``attachment_ids``: the files attached to this application, so that an attachment id
    in the form cannot point at someone else's file.
    """

    applicant: ApplicantFacts
    datasets: Mapping[str, DatasetFacts]
    regime: Regime | None
    offered_forms: frozenset[DataForm]
    attachment_ids: frozenset[int]

    def dataset(self, dataset_id: str) -> DatasetFacts | None:
        """The dataset if it exists in the catalogue, else ``None``."""
        found = self.datasets.get(dataset_id)
        return found if found is not None and found.exists else None
