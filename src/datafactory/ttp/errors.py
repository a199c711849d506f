"""The trusted third party's errors. None of them ever carries an identifier.

::

    ConfigurationError (500)
    └── KeyCustodyError            a master key is missing, unreadable or wrong
    NotFound (404)
    └── UnknownDomain              no pseudonym domain has that name
    InvalidInput (422)
    └── InvalidIdentifiers         a file holds identifiers that are not valid matricules
    Conflict (409)
    ├── DomainRetired              the domain makes no new pseudonyms
    ├── PseudonymCollision         two identifiers gave one pseudonym (never seen)
    └── RequestNotOpen             the re-identification request is no longer pending
    Forbidden (403)
    └── SameOperator               a requester may not approve their own request
"""

from __future__ import annotations

from datafactory.core.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
)


class KeyCustodyError(ConfigurationError):
    slug = "ttp-key-custody"
    title = "The trusted third party's master key is not usable"


class UnknownDomain(NotFound):
    slug = "ttp-unknown-domain"
    title = "Unknown pseudonym domain"


class DomainRetired(Conflict):
    slug = "ttp-domain-retired"
    title = "The pseudonym domain is retired"


class InvalidIdentifiers(InvalidInput):
    slug = "ttp-invalid-identifiers"
    title = "The file holds invalid identifiers"


class PseudonymCollision(Conflict):
    slug = "ttp-pseudonym-collision"
    title = "Two identifiers gave the same pseudonym"


class RequestNotOpen(Conflict):
    slug = "ttp-request-not-open"
    title = "The re-identification request is not open for this step"


class SameOperator(Forbidden):
    slug = "ttp-same-operator"
    title = "A second, different operator must approve"
