"""The keys a service needs for one piece of work, checked against the database.

A :class:`Keyring` asks the custody for master keys and compares each one with the check
value the database kept when that version was first used: a wrong key file, a mistyped
setting or the wrong Vault path is refused before it makes a single pseudonym. From a
checked master key it derives a domain's two keys: the pseudonym key (HMAC, through
``privacy.pseudonyms``) and the sealing key (AES-SIV), which encrypts identifiers for
re-identification.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.privacy.pseudonyms import Pseudonymiser, derive_domain_key
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.errors import KeyCustodyError
from datafactory.ttp.events import MasterKeyFirstUsed
from datafactory.ttp.keys import key_check, sealing_key
from datafactory.ttp.models import MasterKeyCheck, PseudonymDomain


@dataclass(frozen=True)
class DomainKeys:
    """A domain's keys under one master key version."""

    domain: str
    version: int
    pseudonymiser: Pseudonymiser
    _siv: AESSIV

    def seal(self, identifier: str, pseudonym: str) -> bytes:
        """Deterministic encryption, bound to this domain and pseudonym: a sealed value
        copied to another row or domain no longer opens."""
        return self._siv.encrypt(identifier.encode(), self._context(pseudonym))

    def open(self, sealed: bytes, pseudonym: str) -> str:
        try:
            return self._siv.decrypt(sealed, self._context(pseudonym)).decode()
        except InvalidTag:
            raise KeyCustodyError(
                f"The sealed identifier of a pseudonym of {self.domain} does not open "
                f"with master key version {self.version}: the key is wrong or the row "
                "was altered."
            ) from None

    def _context(self, pseudonym: str) -> list[bytes]:
        return [self.domain.encode(), str(self.version).encode(), pseudonym.encode()]


class Keyring:
    """Master keys for one unit of work, each checked once and kept for its length."""

    def __init__(self, session: Session, config: TtpConfig, actor_ref: str) -> None:
        self.session = session
        self.config = config
        self.actor_ref = actor_ref
        self._masters: dict[int, bytes] = {}

    def current_version(self) -> int:
        return self.config.custody.current_version()

    def master(self, version: int) -> bytes:
        if version not in self._masters:
            key = self.config.custody.master_key(version)
            self._check(version, key)
            self._masters[version] = key
        return self._masters[version]

    def domain_keys(
        self, domain: PseudonymDomain, version: int | None = None
    ) -> DomainKeys:
        version = domain.key_version if version is None else version
        master = self.master(version)
        return DomainKeys(
            domain=domain.name,
            version=version,
            pseudonymiser=Pseudonymiser(
                derive_domain_key(master, domain.name, version)
            ),
            _siv=AESSIV(sealing_key(master, domain.name, version)),
        )

    def _check(self, version: int, key: bytes) -> None:
        value = key_check(key)
        kept = self.session.get(MasterKeyCheck, version)
        if kept is None:
            self.session.add(
                MasterKeyCheck(
                    version=version, check_value=value, first_used_at=self.config.now()
                )
            )
            self.session.flush()
            ledger.record(self.session, self.actor_ref, MasterKeyFirstUsed(version))
        elif kept.check_value != value:
            raise KeyCustodyError(
                f"Master key version {version} in {self.config.custody.description} is "
                "not the key this platform's pseudonyms were made with (its check value "
                "differs): restore the right key; nothing was changed."
            )
