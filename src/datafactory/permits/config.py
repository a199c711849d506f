"""What the permits services need from the platform, handed in as one value.

The runtime builds it from the settings; tests build their own. ``now`` is the one seam for
time, so a test or the demo can replay a procedure that took weeks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy.orm import Session

from datafactory.core.db import utcnow
from datafactory.core.files import FileStore
from datafactory.permits.models import Permit
from datafactory.permits.regimes import Regimes
from datafactory.permits.schemas import DataForm

PermitListener = Callable[[Session, Permit, str], None]
"""Called in the granting transaction with the permit and what happened to it
(``GRANTED``, ``AMENDED``, ``RENEWED``, ``REVOKED``, ``EXPIRED``); the secure processing
environment creates and destroys workspaces this way."""

ATTACHMENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


@dataclass(frozen=True)
class PermitsConfig:
    regimes: Regimes
    base_url: str
    permit_key: RSAPrivateKey
    store: FileStore
    offered_forms: frozenset[DataForm] = frozenset(
        {DataForm.pseudonymised, DataForm.aggregated}
    )
    """The anonymised form arrives with the anonymisation service; until then it is not
    offered."""
    register_delay_working_days: int = 0
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: frozenset[str] = ATTACHMENT_TYPES
    listeners: tuple[PermitListener, ...] = ()
    now: Callable[[], datetime] = field(default=utcnow)

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    @property
    def authority_uri(self) -> str:
        return f"{self.base_url}/id/authority"
