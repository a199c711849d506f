"""The Luxembourg national identification number of a natural person (the "matricule").

Structure, 13 digits::

    YYYY MM DD  SSS  L  V
    birth date  |    |  +- Verhoeff check digit over the first 11 digits
                |    +---- Luhn check digit over the first 11 digits
                +--------- serial number for people born on the same day

Sources (checked for this module, late 2026):

* The OECD "Luxembourg - Information on Tax Identification Numbers" sheet and the EU
  "TIN Algorithms - Public - Functional Specification" (DG TAXUD, FS-TIN Algorithms-Public)
  describe the 13-digit number of natural persons: the 12th digit is computed with the
  Luhn 10 algorithm over the first 11 digits, the 13th with the Verhoeff algorithm over the
  same first 11 digits (not over the first 12). Their worked example is ``1893120105732``.
* Open-source validators written from those documents agree (``cults/tin_valid``,
  ``reducktion/socrates`` after its issue #76, DataDog's sensitive-data scanner).
* The legal basis is the law of 19 June 2013 on the identification of natural persons,
  which replaced the 11-digit number of the law of 30 March 1979.

Unknown birth dates. The rules for the old 11-digit number said that the month and/or
the day are ``00`` when they are not known, and numbers carried over from then may still
hold such dates. We found no public statement that the 13-digit number keeps or drops that
rule. ``check`` is strict by default and reports ``date`` for them; callers that must accept
such historical numbers pass ``allow_unknown_date=True`` (only the month and/or day may be
``00``; the year must still be there). We do not reject birth dates in the future: a
validator that depends on today's date gives different answers on different days.

``generate`` makes synthetic numbers for demos and tests. They are valid by construction
but were never issued; they must not be mistaken for real people's numbers.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "LENGTH",
    "MatriculeProblem",
    "check",
    "generate",
    "generate_many",
    "is_valid",
    "luhn_digit",
    "normalise",
    "verhoeff_digit",
]

LENGTH = 13
"""Digits in a matricule."""

_PAYLOAD = 11  # birth date (8) and serial (3): what both check digits are computed over
_SERIALS = 1000

# Separators people type or paste between groups of digits: spaces (also the no-break and
# narrow no-break spaces that word processors insert), full stops and dashes.
_SEPARATORS = " \u00a0\u202f.-\u2010\u2011\u2012\u2013"
_DELETE_SEPARATORS = str.maketrans("", "", _SEPARATORS)
_DIGITS = frozenset("0123456789")

# Luhn: the value a digit contributes once doubled (2 * d, minus 9 when that exceeds 9).
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

# Verhoeff: the multiplication table of the dihedral group D5, the position permutation
# table and the inverses (Verhoeff 1969; the tables in every description of the algorithm).
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


class MatriculeProblem(StrEnum):
    """Why a string is not a valid matricule; ``check`` reports the first one, in this order."""

    LENGTH = "length"
    CHARACTERS = "characters"
    DATE = "date"
    LUHN = "luhn"
    VERHOEFF = "verhoeff"

    @property
    def message(self) -> str:
        """A sentence for the person who typed the number. It never repeats the number."""
        return _MESSAGES[self]


_MESSAGES = {
    MatriculeProblem.LENGTH: "The number must have 13 digits.",
    MatriculeProblem.CHARACTERS: (
        "The number may contain only digits (spaces, dots and dashes are ignored)."
    ),
    MatriculeProblem.DATE: "The first 8 digits must be a real birth date (YYYYMMDD).",
    MatriculeProblem.LUHN: "The 12th digit (Luhn check) does not match.",
    MatriculeProblem.VERHOEFF: "The 13th digit (Verhoeff check) does not match.",
}


def normalise(raw: str) -> str:
    """Remove spaces (also no-break spaces), dots and dashes; nothing else is changed."""
    return raw.translate(_DELETE_SEPARATORS)


def _require_digits(digits: str) -> None:
    if not digits or not _DIGITS.issuperset(digits):
        raise ValueError("expected a non-empty string of ASCII digits")


def luhn_digit(digits: str) -> str:
    """The Luhn check digit to append to ``digits``.

    From the right, every other digit is doubled, starting with the rightmost one (it will
    sit next to the check digit); the check digit brings the sum to a multiple of 10.
    """
    _require_digits(digits)
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        total += _LUHN_DOUBLED[value] if position % 2 == 0 else value
    return str(-total % 10)


def verhoeff_digit(digits: str) -> str:
    """The Verhoeff check digit to append to ``digits``."""
    _require_digits(digits)
    c = 0
    for position, char in enumerate(reversed(digits), start=1):
        c = _VERHOEFF_D[c][_VERHOEFF_P[position % 8][ord(char) - 48]]
    return str(_VERHOEFF_INV[c])


def _date_ok(yyyymmdd: str, *, allow_unknown_date: bool) -> bool:
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])
    if year == 0:
        return False
    if allow_unknown_date and (month == 0 or day == 0):
        return month <= 12 and day <= 31
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def check(raw: str, *, allow_unknown_date: bool = False) -> MatriculeProblem | None:
    """The first problem with ``raw`` as a matricule, or None when it is valid.

    ``raw`` is normalised first. Problems are looked for in this order: length, characters,
    date, Luhn digit, Verhoeff digit. ``allow_unknown_date`` accepts ``00`` for an unknown
    month and/or day (see the module notes); by default the date must be a real one.
    """
    number = normalise(raw)
    if len(number) != LENGTH:
        return MatriculeProblem.LENGTH
    if not _DIGITS.issuperset(number):
        return MatriculeProblem.CHARACTERS
    if not _date_ok(number[:8], allow_unknown_date=allow_unknown_date):
        return MatriculeProblem.DATE
    payload = number[:_PAYLOAD]
    if number[11] != luhn_digit(payload):
        return MatriculeProblem.LUHN
    if number[12] != verhoeff_digit(payload):
        return MatriculeProblem.VERHOEFF
    return None


def is_valid(raw: str, *, allow_unknown_date: bool = False) -> bool:
    """Whether ``raw`` (normalised first) is a valid matricule."""
    return check(raw, allow_unknown_date=allow_unknown_date) is None


def _complete(payload: str) -> str:
    return payload + luhn_digit(payload) + verhoeff_digit(payload)


def _payload(day: date, serial: int) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}{serial:03d}"


def _days(born_from: date, born_to: date) -> int:
    if born_from > born_to:
        raise ValueError("born_from must not be after born_to")
    return (born_to - born_from).days + 1


def generate(
    rng: random.Random,
    *,
    born_from: date = date(1930, 1, 1),
    born_to: date = date(2020, 12, 31),
) -> str:
    """One synthetic valid matricule, born between the two dates (both included).

    All randomness comes from ``rng``; the global ``random`` is never touched.
    """
    days = _days(born_from, born_to)
    day = born_from + timedelta(days=rng.randrange(days))
    return _complete(_payload(day, rng.randrange(_SERIALS)))


def generate_many(
    rng: random.Random,
    n: int,
    *,
    born_from: date = date(1930, 1, 1),
    born_to: date = date(2020, 12, 31),
) -> list[str]:
    """``n`` distinct synthetic valid matricules, in random order.

    Every (birth date, serial) pair is drawn at most once, so there are at most
    1000 numbers per day in the range; asking for more raises ``ValueError``.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    capacity = _days(born_from, born_to) * _SERIALS
    if n > capacity:
        raise ValueError(
            f"only {capacity} distinct numbers exist between {born_from} and {born_to}"
        )
    result = []
    for index in rng.sample(range(capacity), n):
        day_offset, serial = divmod(index, _SERIALS)
        result.append(
            _complete(_payload(born_from + timedelta(days=day_offset), serial))
        )
    return result
