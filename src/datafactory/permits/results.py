"""Where a permit's results were published: the successful data-sharing cases.

The holder of a permit says where the results of the project are (an open-access article,
a report, a dataset of aggregated outputs); the register and the authority's reports show
it beside the permit. The address must be ``https``: it is published as a link, and a
link the authority publishes must not downgrade its readers to plain HTTP.

The change is ledgered (``permits.permit.results_published``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import Conflict, FieldError, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.permits import clocks
from datafactory.permits.config import PermitsConfig
from datafactory.permits.events import PermitResultsPublished
from datafactory.permits.models import Permit

URL_MAX = 2000


def check_results_url(url: str) -> str:
    """The address, trimmed, if it is an absolute ``https`` URL a reader can follow;
    ``InvalidInput`` naming the ``url`` field otherwise."""
    url = url.strip()

    def refuse(message: str) -> InvalidInput:
        return InvalidInput(message, errors=[FieldError("url", message)])

    if not url:
        raise refuse("Give the address where the results are published.")
    if len(url) > URL_MAX:
        raise refuse(f"The address is longer than {URL_MAX} characters.")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise refuse("The address may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise refuse("This is not a valid web address.") from None
    if parts.scheme.lower() != "https":
        raise refuse("Give an https:// address.")
    if not hostname:
        raise refuse("The address names no host.")
    if parts.username is not None or parts.password is not None:
        raise refuse("The address may not contain a user name or password.")
    return url


def set_results_url(
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    *,
    permit_id: int,
    url: str,
) -> Permit:
    """Record where the results of a permit's project were published. Only the permit's
    holder may, once the permit has started, and never on a revoked permit."""
    policy.ensure(actor, "permits.application.use")
    permit = session.get(Permit, permit_id)
    if permit is None or permit.holder_id != actor.person_id:
        raise NotFound(f"You hold no permit {permit_id}.")
    checked = check_results_url(url)
    if permit.status == "REVOKED":
        raise Conflict(
            f"Permit {permit.reference} was revoked; its results are not recorded.",
            extra={"status": permit.status},
        )
    if clocks.local_date(config.now()) < permit.starts_on:
        raise Conflict(
            f"Permit {permit.reference} starts on {permit.starts_on.isoformat()}; "
            "results can be recorded once it has started.",
            extra={"starts_on": permit.starts_on.isoformat()},
        )
    permit.results_url = checked
    session.flush()
    ledger.record(
        session, actor.ref, PermitResultsPublished(permit_id=permit.id, url=checked)
    )
    return permit
