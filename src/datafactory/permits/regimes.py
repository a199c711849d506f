"""The legal regimes a data access application is decided under, as configuration.

The EHDS (Reg. (EU) 2025/327) and the DGA (Reg. (EU) 2022/868) set different purposes
and different clocks, and both will move: implementing acts, national law and the
authority's own practice. So the purposes and periods live in ``regimes.toml`` beside
this module, and an operator may point ``load_regimes`` at their own copy. The loader is
strict (every key required, unknown keys refused, periods non-negative, purpose codes
unique) because a typo in a legal deadline must stop the platform at start-up, not
silently shorten someone's right to a timely decision.

    >>> regimes = load_regimes()
    >>> regimes.get("ehds").clocks.decision
    Period(months=3, days=0)
    >>> regimes.purpose("ehds", "ehds-53-1-a").public_bodies_only
    True
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = [
    "LANGUAGES",
    "ClockRules",
    "ExpeditedRule",
    "Label",
    "Period",
    "Purpose",
    "Regime",
    "Regimes",
    "load_regimes",
]

#: The languages a title or label may have; ``en`` and ``fr`` are required.
LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "lb")
_REQUIRED_LANGUAGES = ("en", "fr")

_CODE = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Label:
    """A short text in the platform's languages.

    English and French are required because they are the languages of the Official
    Journal texts the labels paraphrase; German and Luxembourgish fall back to them.
    """

    en: str
    fr: str
    de: str | None = None
    lb: str | None = None

    def get(self, lang: str) -> str:
        """The text in ``lang``, else English: a label is never missing."""
        text = getattr(self, lang, None) if lang in LANGUAGES else None
        return text if isinstance(text, str) else self.en


@dataclass(frozen=True)
class Period:
    """A legal period: calendar ``months`` first (end-of-month clamped), then ``days``."""

    months: int = 0
    days: int = 0

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.days == 0


@dataclass(frozen=True)
class Purpose:
    """One purpose category an applicant may tick.

    ``public_bodies_only``: only public-sector bodies (and those acting for them) may
    apply for it (EHDS Art. 53(2)). ``allows_anonymised``: the purpose can usually be
    achieved with anonymised data, so the form proposes anonymised data and asks for a
    justification before pseudonymised data (EHDS Art. 66, DGA Art. 5(3)(a)).
    """

    code: str
    label: Label
    article: str
    public_bodies_only: bool
    allows_anonymised: bool


@dataclass(frozen=True)
class ExpeditedRule:
    """Shorter periods for public-sector applicants whose purposes are all in ``purposes``."""

    purposes: frozenset[str]
    decision: Period
    extension: Period


@dataclass(frozen=True)
class ClockRules:
    """The periods of one regime, as ``datafactory.permits.clocks`` applies them.

    ``decision``: from the start of the clock to the decision deadline. ``extension``:
    added once to that deadline when the authority extends it with reasons.
    ``completion_window``: how long the applicant has to answer a request for
    information. ``publication_working_days``: the decision's deadline in the public
    register. ``reminder_lead_working_days``: descending, the case handler is reminded
    this many working days before the decision deadline. ``expedited``: shorter periods
    that ``for_applicant`` applies; ``is_expedited`` says they already were.
    """

    decision: Period
    extension: Period
    completion_window: Period
    publication_working_days: int
    max_permit_months: int
    reminder_lead_working_days: tuple[int, ...]
    expedited: ExpeditedRule | None = None
    is_expedited: bool = False

    def for_applicant(self, public_sector: bool, purposes: Sequence[str]) -> ClockRules:
        """The rules for one application: expedited when the applicant is public-sector
        and every purpose (at least one) is in the expedited set, else these rules.

        The expedited rules keep no ``expedited`` rule of their own, so calling this again
        on them returns them unchanged.
        """
        rule = self.expedited
        if rule is None or not public_sector or not purposes:
            return self
        if not set(purposes) <= rule.purposes:
            return self
        return replace(
            self,
            decision=rule.decision,
            extension=rule.extension,
            expedited=None,
            is_expedited=True,
        )


@dataclass(frozen=True)
class Regime:
    """One legal regime: its title, the act it rests on, its purposes and its clocks."""

    code: str
    title: Label
    reference: str
    purposes: tuple[Purpose, ...]
    clocks: ClockRules

    def purpose(self, code: str) -> Purpose:
        for purpose in self.purposes:
            if purpose.code == code:
                return purpose
        known = ", ".join(p.code for p in self.purposes)
        raise KeyError(f"regime {self.code!r} has no purpose {code!r} (known: {known})")


@dataclass(frozen=True)
class Regimes:
    """The regimes in file order; iterating gives ``Regime`` objects, not codes.

    ``get`` raises ``KeyError`` rather than returning ``None`` (unlike ``Mapping.get``):
    an application naming an unknown regime is a configuration error to surface.
    """

    regimes: tuple[Regime, ...]

    def get(self, code: str) -> Regime:
        for regime in self.regimes:
            if regime.code == code:
                return regime
        raise KeyError(f"unknown regime {code!r} (known: {', '.join(self.codes)})")

    __getitem__ = get

    def __iter__(self) -> Iterator[Regime]:
        return iter(self.regimes)

    def __len__(self) -> int:
        return len(self.regimes)

    def __contains__(self, code: object) -> bool:
        return any(regime.code == code for regime in self.regimes)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(regime.code for regime in self.regimes)

    def purpose(self, regime_code: str, purpose_code: str) -> Purpose:
        return self.get(regime_code).purpose(purpose_code)


def load_regimes(path: Path | None = None) -> Regimes:
    """The regimes in ``path``, or in the packaged ``regimes.toml`` when ``None``.

    Raises ``ValueError`` with one line naming the file and the offending key for a file
    that is not valid TOML or not a valid regimes file; ``OSError`` if it cannot be read.
    """
    if path is None:
        return _packaged()
    return _parse(path.read_text(encoding="utf-8"), source=path.name)


@lru_cache(maxsize=1)
def _packaged() -> Regimes:
    # Cached: the packaged file cannot change under a running process, and Regimes is
    # immutable, so every caller may share one instance.
    text = (
        files("datafactory.permits")
        .joinpath("regimes.toml")
        .read_text(encoding="utf-8")
    )
    return _parse(text, source="regimes.toml")


# --- validation ---------------------------------------------------------------------


class _Invalid(Exception):
    """A problem at ``key``; ``_parse`` prefixes the file name and re-raises as ValueError."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")


def _parse(text: str, *, source: str) -> Regimes:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML: {exc}") from None
    try:
        return _regimes(data)
    except _Invalid as exc:
        raise ValueError(f"{source}: {exc}") from None


def _regimes(data: Mapping[str, Any]) -> Regimes:
    if not data:
        raise _Invalid("(top level)", "no regime defined")
    regimes = []
    seen_purposes: dict[str, str] = {}
    for code, body in data.items():
        if not _CODE.match(code):
            raise _Invalid(
                code, "regime code must be lower-case letters, digits and '-'"
            )
        regime = _regime(code, _table(body, code))
        for purpose in regime.purposes:
            if purpose.code in seen_purposes:
                raise _Invalid(
                    f"{code}.purposes",
                    f"duplicate purpose code {purpose.code!r}"
                    f" (already in {seen_purposes[purpose.code]!r})",
                )
            seen_purposes[purpose.code] = code
        regimes.append(regime)
    return Regimes(tuple(regimes))


def _regime(code: str, body: Mapping[str, Any]) -> Regime:
    _fields(body, code, required={"title", "reference", "purposes", "clocks"})
    raw_purposes = body["purposes"]
    if not isinstance(raw_purposes, list) or not raw_purposes:
        raise _Invalid(f"{code}.purposes", "must be a non-empty array of tables")
    purposes = tuple(
        _purpose(_table(item, f"{code}.purposes[{i}]"), f"{code}.purposes[{i}]")
        for i, item in enumerate(raw_purposes)
    )
    codes = [p.code for p in purposes]
    for i, purpose_code in enumerate(codes):
        if purpose_code in codes[:i]:
            raise _Invalid(
                f"{code}.purposes[{i}].code", f"duplicate purpose code {purpose_code!r}"
            )
    return Regime(
        code=code,
        title=_label(body["title"], f"{code}.title"),
        reference=_text(body["reference"], f"{code}.reference"),
        purposes=purposes,
        clocks=_clocks(
            _table(body["clocks"], f"{code}.clocks"), f"{code}.clocks", codes
        ),
    )


def _purpose(body: Mapping[str, Any], key: str) -> Purpose:
    _fields(
        body,
        key,
        required={
            "code",
            "label",
            "article",
            "public_bodies_only",
            "allows_anonymised",
        },
    )
    code = _text(body["code"], f"{key}.code")
    if not _CODE.match(code):
        raise _Invalid(f"{key}.code", "must be lower-case letters, digits and '-'")
    return Purpose(
        code=code,
        label=_label(body["label"], f"{key}.label"),
        article=_text(body["article"], f"{key}.article"),
        public_bodies_only=_bool(
            body["public_bodies_only"], f"{key}.public_bodies_only"
        ),
        allows_anonymised=_bool(body["allows_anonymised"], f"{key}.allows_anonymised"),
    )


def _clocks(body: Mapping[str, Any], key: str, purposes: Sequence[str]) -> ClockRules:
    _fields(
        body,
        key,
        required={
            "decision",
            "extension",
            "completion_window",
            "publication_working_days",
            "max_permit_months",
            "reminder_lead_working_days",
        },
        optional={"expedited"},
    )
    expedited = None
    if "expedited" in body:
        expedited = _expedited(
            _table(body["expedited"], f"{key}.expedited"), key, purposes
        )
    return ClockRules(
        decision=_period(body["decision"], f"{key}.decision", nonzero=True),
        extension=_period(body["extension"], f"{key}.extension"),
        completion_window=_period(
            body["completion_window"], f"{key}.completion_window", nonzero=True
        ),
        publication_working_days=_positive(
            body["publication_working_days"], f"{key}.publication_working_days"
        ),
        max_permit_months=_positive(
            body["max_permit_months"], f"{key}.max_permit_months"
        ),
        reminder_lead_working_days=_lead_times(
            body["reminder_lead_working_days"], f"{key}.reminder_lead_working_days"
        ),
        expedited=expedited,
    )


def _expedited(
    body: Mapping[str, Any], clocks_key: str, purposes: Sequence[str]
) -> ExpeditedRule:
    key = f"{clocks_key}.expedited"
    _fields(body, key, required={"purposes", "decision", "extension"})
    codes = body["purposes"]
    if not isinstance(codes, list) or not codes:
        raise _Invalid(f"{key}.purposes", "must be a non-empty array of purpose codes")
    for code in codes:
        if not isinstance(code, str) or code not in purposes:
            raise _Invalid(
                f"{key}.purposes", f"{code!r} is not a purpose of this regime"
            )
    return ExpeditedRule(
        purposes=frozenset(codes),
        decision=_period(body["decision"], f"{key}.decision", nonzero=True),
        extension=_period(body["extension"], f"{key}.extension"),
    )


def _fields(
    body: Mapping[str, Any],
    key: str,
    *,
    required: set[str],
    optional: frozenset[str] | set[str] = frozenset(),
) -> None:
    # Sorted so that the message names the same key on every run.
    for name in sorted(required):
        if name not in body:
            raise _Invalid(f"{key}.{name}", "missing")
    for name in sorted(body):
        if name not in required and name not in optional:
            raise _Invalid(f"{key}.{name}", "unknown field")


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(key, "must be a table")
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(key, "must be a non-empty string")
    return value


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(key, f"must be true or false, got {value!r}")
    return value


def _int(value: Any, key: str) -> int:
    # bool is an int subclass; `months = true` is a typo, not one month.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(key, f"must be an integer, got {value!r}")
    return value


def _positive(value: Any, key: str) -> int:
    number = _int(value, key)
    if number <= 0:
        raise _Invalid(key, f"must be positive, got {number}")
    return number


def _label(value: Any, key: str) -> Label:
    body = _table(value, key)
    _fields(body, key, required=set(_REQUIRED_LANGUAGES), optional=set(LANGUAGES))
    texts = {lang: _text(text, f"{key}.{lang}") for lang, text in body.items()}
    return Label(**texts)


def _period(value: Any, key: str, *, nonzero: bool = False) -> Period:
    body = _table(value, key)
    _fields(body, key, required=set(), optional={"months", "days"})
    months = _int(body.get("months", 0), f"{key}.months")
    days = _int(body.get("days", 0), f"{key}.days")
    for name, number in (("months", months), ("days", days)):
        if number < 0:
            raise _Invalid(f"{key}.{name}", f"must not be negative, got {number}")
    period = Period(months=months, days=days)
    if nonzero and period.is_zero:
        raise _Invalid(key, "must be longer than zero (give months or days)")
    return period


def _lead_times(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _Invalid(key, "must be an array of working-day counts")
    numbers = [_positive(item, f"{key}[{i}]") for i, item in enumerate(value)]
    if len(set(numbers)) != len(numbers):
        raise _Invalid(key, "must not repeat a lead time")
    return tuple(sorted(numbers, reverse=True))
