"""The Luxembourg national identification number: structure, check digits, generator."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.privacy import matricule
from datafactory.privacy.matricule import MatriculeProblem

# The worked example of the OECD "Luxembourg - Information on TINs" sheet and of the EU
# TIN algorithms specification: born 1 December 1893, serial 057, Luhn 3, Verhoeff 2.
PUBLISHED_EXAMPLE = "1893120105732"

# Constructed by hand. Payload 19800101001 (born 1 January 1980, serial 001).
#   Luhn, from the right, doubling the rightmost digit and every other one:
#     1->2, 0, 0->0, 1, 0->0, 1, 0->0, 0, 8->16->7, 9, 1->2; sum 22; check (10 - 2) = 8.
#   Verhoeff, from the right, c = d[c][p[i mod 8][digit]] for i = 1..11:
#     (1: p=5 c=5) (0: p=5 c=0) (0: p=8 c=8) (1: p=4 c=9) (0: p=4 c=5) (1: p=7 c=3)
#     (0: p=7 c=5) (0: p=0 c=5) (8: p=9 c=1) (9: p=2 c=3) (1: p=9 c=7); inv[7] = 7.
HAND_1980 = "1980010100187"
# Payload 20000229123 (leap day 2000, serial 123).
#   Luhn: 3->6, 2, 1->2, 9, 2->4, 2, 0, 0, 0, 0, 2->4; sum 29; check 1.
#   Verhoeff: (3: p=6 c=6) (2: p=0 c=6) (1: p=9 c=2) (9: p=0 c=2) (2: p=8 c=5)
#     (2: p=9 c=1) (0: p=7 c=8) (0: p=0 c=8) (0: p=1 c=7) (0: p=5 c=2) (2: p=1 c=3);
#     inv[3] = 2.
HAND_LEAP_DAY = "2000022912312"
# Payload 19751231999 (31 December 1975, serial 999).
#   Luhn: 9->9, 9, 9->9, 1, 3->6, 2, 1->2, 5, 7->5, 9, 1->2; sum 59; check 1.
#   Verhoeff: (9: p=4 c=4) (9: p=2 c=1) (9: p=7 c=8) (1: p=4 c=9) (3: p=6 c=3)
#     (2: p=9 c=7) (1: p=0 c=7) (5: p=5 c=2) (7: p=0 c=2) (9: p=2 c=4) (1: p=9 c=8);
#     inv[8] = 8.
HAND_1975 = "1975123199918"

VALID = [PUBLISHED_EXAMPLE, HAND_1980, HAND_LEAP_DAY, HAND_1975]


@pytest.mark.parametrize("number", VALID)
def test_known_good_numbers_are_valid(number):
    assert matricule.check(number) is None
    assert matricule.is_valid(number)


def test_check_digits_of_the_known_good_numbers():
    assert matricule.luhn_digit("18931201057") == "3"
    assert matricule.verhoeff_digit("18931201057") == "2"
    assert matricule.luhn_digit("19800101001") == "8"
    assert matricule.verhoeff_digit("19800101001") == "7"


def test_check_digits_match_the_textbook_examples():
    # Luhn: the Wikipedia example 7992739871 -> 3. Verhoeff: 236 -> 3, 12345 -> 1.
    assert matricule.luhn_digit("7992739871") == "3"
    assert matricule.verhoeff_digit("236") == "3"
    assert matricule.verhoeff_digit("12345") == "1"


@pytest.mark.parametrize("digits", ["", "12a", "1 2", "١٢٣"])
def test_check_digit_functions_refuse_non_digits(digits):
    with pytest.raises(ValueError, match="digits"):
        matricule.luhn_digit(digits)
    with pytest.raises(ValueError, match="digits"):
        matricule.verhoeff_digit(digits)


@pytest.mark.parametrize(
    "raw",
    [
        "1893 1201 057 32",
        "1893.12.01.057.32",
        "1893-12-01-057-32",
        "1893\u00a01201\u00a005732",
        " 1893120105732 ",
    ],
)
def test_normalise_removes_spaces_dots_and_dashes(raw):
    assert matricule.normalise(raw) == PUBLISHED_EXAMPLE
    assert matricule.is_valid(raw)


def test_normalise_changes_nothing_else():
    assert matricule.normalise("ab/c_1\t2") == "ab/c_1\t2"
    assert matricule.normalise("1893120105732") == "1893120105732"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", MatriculeProblem.LENGTH),
        ("189312010573", MatriculeProblem.LENGTH),
        ("18931201057321", MatriculeProblem.LENGTH),
        ("1893/120105732", MatriculeProblem.LENGTH),
        ("18931201O5732", MatriculeProblem.CHARACTERS),
        ("189312010573x", MatriculeProblem.CHARACTERS),
        ("١٨٩٣١٢٠١٠٥٧٣٢", MatriculeProblem.CHARACTERS),  # Arabic-Indic digits
        ("1893130105732", MatriculeProblem.DATE),  # month 13
        ("1893123205732", MatriculeProblem.DATE),  # 32 December
        ("1900022900100", MatriculeProblem.DATE),  # 1900 is not a leap year
        ("0000010100100", MatriculeProblem.DATE),  # year 0
        ("1980000000100", MatriculeProblem.DATE),  # unknown month and day: strict
        ("1893120105742", MatriculeProblem.LUHN),
        ("1893120105739", MatriculeProblem.VERHOEFF),
        ("1980010100177", MatriculeProblem.LUHN),
        ("1980010100180", MatriculeProblem.VERHOEFF),
    ],
)
def test_each_problem_is_reported(raw, problem):
    assert matricule.check(raw) is problem
    assert not matricule.is_valid(raw)


def test_problems_are_reported_in_order():
    assert matricule.check("18931301057x") is MatriculeProblem.LENGTH
    assert matricule.check("1893130105x32") is MatriculeProblem.CHARACTERS
    assert matricule.check("1893130105700") is MatriculeProblem.DATE
    assert matricule.check("1893120105700") is MatriculeProblem.LUHN


def test_unknown_month_or_day_only_when_asked():
    for payload in ("19800000001", "19800015002", "19800700003"):
        number = (
            payload + matricule.luhn_digit(payload) + matricule.verhoeff_digit(payload)
        )
        assert matricule.check(number) is MatriculeProblem.DATE
        assert matricule.check(number, allow_unknown_date=True) is None
        assert matricule.is_valid(number, allow_unknown_date=True)
    still_bad = "19801300001"  # month 13 is not "unknown"
    number = still_bad + matricule.luhn_digit(still_bad) + "0"
    assert matricule.check(number, allow_unknown_date=True) is MatriculeProblem.DATE


def test_every_problem_has_a_plain_message():
    assert MatriculeProblem.LENGTH.message == "The number must have 13 digits."
    assert (
        MatriculeProblem.LUHN.message == "The 12th digit (Luhn check) does not match."
    )
    assert (
        MatriculeProblem.VERHOEFF.message
        == "The 13th digit (Verhoeff check) does not match."
    )
    for problem in MatriculeProblem:
        assert problem.message.endswith(".")
        assert problem == problem.value  # a StrEnum: stored and logged as its value
    assert [p.value for p in MatriculeProblem] == [
        "length",
        "characters",
        "date",
        "luhn",
        "verhoeff",
    ]


def test_generate_is_deterministic_and_within_the_range():
    first = [matricule.generate(random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    rng = random.Random(8)
    for _ in range(500):
        number = matricule.generate(
            rng, born_from=date(1999, 12, 30), born_to=date(2000, 1, 2)
        )
        assert matricule.is_valid(number)
        assert "19991230" <= number[:8] <= "20000102"


def test_generate_refuses_an_empty_range():
    with pytest.raises(ValueError, match="born_from"):
        matricule.generate(
            random.Random(1), born_from=date(2000, 1, 2), born_to=date(2000, 1, 1)
        )


def test_generate_many_is_distinct_and_can_use_every_serial_of_a_day():
    day = date(2004, 2, 29)
    numbers = matricule.generate_many(
        random.Random(3), 1000, born_from=day, born_to=day
    )
    assert len(set(numbers)) == 1000
    assert {n[8:11] for n in numbers} == {f"{s:03d}" for s in range(1000)}
    assert all(matricule.is_valid(n) for n in numbers)
    with pytest.raises(ValueError, match="1000 distinct"):
        matricule.generate_many(random.Random(3), 1001, born_from=day, born_to=day)
    assert matricule.generate_many(random.Random(3), 0) == []
    with pytest.raises(ValueError, match="negative"):
        matricule.generate_many(random.Random(3), -1)


def test_generate_many_is_deterministic():
    assert matricule.generate_many(random.Random(5), 50) == matricule.generate_many(
        random.Random(5), 50
    )


seeds = st.integers(min_value=0, max_value=2**64)


@settings(max_examples=300)
@given(seeds)
def test_every_generated_number_is_valid(seed):
    number = matricule.generate(random.Random(seed))
    assert len(number) == 13
    assert matricule.check(number) is None


@settings(max_examples=300)
@given(seeds)
def test_every_single_digit_substitution_is_caught(seed):
    number = matricule.generate(random.Random(seed))
    for position in range(13):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            wrong = number[:position] + digit + number[position + 1 :]
            assert matricule.check(wrong) in {
                MatriculeProblem.DATE,
                MatriculeProblem.LUHN,
                MatriculeProblem.VERHOEFF,
            }, (number, wrong)


@settings(max_examples=300)
@given(seeds)
def test_every_adjacent_transposition_is_caught(seed):
    number = matricule.generate(random.Random(seed))
    for position in range(12):
        a, b = number[position], number[position + 1]
        if a == b:
            continue
        wrong = number[:position] + b + a + number[position + 2 :]
        assert matricule.check(wrong) in {
            MatriculeProblem.DATE,
            MatriculeProblem.LUHN,
            MatriculeProblem.VERHOEFF,
        }, (number, wrong)


@given(seeds, st.lists(st.sampled_from([" ", ".", "-", "\u00a0"]), max_size=13))
def test_separators_anywhere_do_not_matter(seed, separators):
    number = matricule.generate(random.Random(seed))
    chars = list(number)
    for i, separator in enumerate(separators):
        chars.insert((7 * i) % (len(chars) + 1), separator)
    raw = "".join(chars)
    assert matricule.normalise(raw) == number
    assert matricule.check(raw) is None


@given(st.text())
def test_check_never_fails_on_any_text(raw):
    problem = matricule.check(raw)
    assert problem is None or isinstance(problem, MatriculeProblem)
    assert matricule.normalise(matricule.normalise(raw)) == matricule.normalise(raw)
