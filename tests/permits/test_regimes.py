"""The regimes file: what ships, the expedited rule, and how a bad operator file fails."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from datafactory.permits.regimes import (
    ClockRules,
    Label,
    Period,
    Regimes,
    load_regimes,
)

PACKAGED = files("datafactory.permits").joinpath("regimes.toml")


def test_the_toml_file_is_packaged() -> None:
    assert PACKAGED.is_file()
    assert load_regimes(Path(str(PACKAGED))) == load_regimes()


def test_ehds_and_dga_ship() -> None:
    regimes = load_regimes()
    assert isinstance(regimes, Regimes)
    assert regimes.codes == ("ehds", "dga")
    assert [r.code for r in regimes] == ["ehds", "dga"]
    assert len(regimes) == 2
    assert "ehds" in regimes and "gdpr" not in regimes
    assert regimes["dga"] is regimes.get("dga")
    assert load_regimes() is regimes  # the packaged file is read once


def test_ehds_purposes() -> None:
    ehds = load_regimes().get("ehds")
    codes = [p.code for p in ehds.purposes]
    assert codes[:4] == ["ehds-53-1-a", "ehds-53-1-b", "ehds-53-1-c", "ehds-53-1-d"]
    assert {"ehds-53-1-e", "ehds-53-1-e-ii", "ehds-53-1-f"} <= set(codes)
    public_only = {p.code for p in ehds.purposes if p.public_bodies_only}
    assert public_only == {"ehds-53-1-a", "ehds-53-1-b", "ehds-53-1-c"}
    for purpose in ehds.purposes:
        assert purpose.label.en and purpose.label.fr
        assert purpose.article.startswith("EHDS Art. 53(1)")
    assert ehds.title.get("fr").startswith("Espace européen")


def test_dga_purposes() -> None:
    dga = load_regimes().get("dga")
    assert {p.code for p in dga.purposes} == {
        "dga-research",
        "dga-statistics",
        "dga-policy",
        "dga-innovation",
        "dga-ai",
        "dga-education",
    }
    assert not any(p.public_bodies_only for p in dga.purposes)


def test_clock_rules() -> None:
    ehds = load_regimes().get("ehds").clocks
    assert ehds.decision == Period(months=3)
    assert ehds.extension == Period(months=3)
    assert ehds.completion_window == Period(days=28)
    assert ehds.publication_working_days == 30
    assert ehds.max_permit_months == 120
    assert ehds.reminder_lead_working_days == (10, 5, 1)
    dga = load_regimes().get("dga").clocks
    assert dga.decision == Period(months=2)
    assert dga.extension == Period(days=30)
    assert dga.completion_window == Period(days=28)
    assert dga.max_permit_months == 60
    assert dga.expedited is None


def test_lookups_fail_with_a_clear_key_error() -> None:
    regimes = load_regimes()
    with pytest.raises(KeyError, match=r"unknown regime 'gdpr' \(known: ehds, dga\)"):
        regimes.get("gdpr")
    with pytest.raises(KeyError, match="regime 'dga' has no purpose 'ehds-53-1-a'"):
        regimes.purpose("dga", "ehds-53-1-a")
    assert regimes.purpose("ehds", "ehds-53-1-c").public_bodies_only


def test_label_falls_back_to_english() -> None:
    label = Label(en="Research", fr="Recherche")
    assert label.get("fr") == "Recherche"
    assert label.get("lb") == "Research"
    assert label.get("xx") == "Research"
    assert load_regimes().purpose("dga", "dga-research").label.get("lb") == (
        "Wëssenschaftlech Fuerschung"
    )


# --- the expedited rule -----------------------------------------------------------


def rules() -> ClockRules:
    return load_regimes().get("ehds").clocks


@pytest.mark.parametrize(
    ("public_sector", "purposes", "expedited"),
    [
        (True, ["ehds-53-1-a"], True),
        (True, ["ehds-53-1-a", "ehds-53-1-b", "ehds-53-1-c"], True),
        (True, ["ehds-53-1-a", "ehds-53-1-e"], False),  # one purpose outside a-c
        (False, ["ehds-53-1-a"], False),  # not a public-sector applicant
        (True, [], False),  # no purpose at all
    ],
)
def test_for_applicant(
    public_sector: bool, purposes: list[str], expedited: bool
) -> None:
    result = rules().for_applicant(public_sector=public_sector, purposes=purposes)
    assert result.is_expedited is expedited
    if expedited:
        assert result.decision == Period(months=2)
        assert result.extension == Period(months=1)
        assert result.completion_window == Period(days=28)
        assert result.expedited is None
        # Idempotent: the expedited rules have nothing further to apply.
        assert result.for_applicant(True, purposes) == result
    else:
        assert result == rules()


def test_dga_has_no_expedited_rule() -> None:
    dga = load_regimes().get("dga").clocks
    assert dga.for_applicant(True, ["dga-statistics"]) is dga


# --- bad operator files -----------------------------------------------------------


def packaged_text() -> str:
    return PACKAGED.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "operator-regimes.toml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    text = packaged_text()
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            edited("max_permit_months = 60\n", ""),
            "dga.clocks.max_permit_months: missing",
            id="missing-key",
        ),
        pytest.param(
            edited('code = "ehds-53-1-d"', 'code = "ehds-53-1-d"\ncolour = "red"'),
            "ehds.purposes[3].colour: unknown field",
            id="unknown-field",
        ),
        pytest.param(
            edited("decision = { months = 3 }", "decision = { months = -3 }"),
            "ehds.clocks.decision.months: must not be negative, got -3",
            id="negative-period",
        ),
        pytest.param(
            edited("extension = { days = 30 }", "extension = { days = -1 }"),
            "dga.clocks.extension.days: must not be negative",
            id="negative-days",
        ),
        pytest.param(
            edited("decision = { months = 3 }", "decision = { weeks = 12 }"),
            "ehds.clocks.decision.weeks: unknown field",
            id="unknown-period-unit",
        ),
        pytest.param(
            edited(
                "request ...\ndecision = { months = 2 }",
                "request ...\ndecision = {}",
            ),
            "dga.clocks.decision: must be longer than zero",
            id="zero-decision",
        ),
        pytest.param(
            edited('code = "ehds-53-1-d"', 'code = "ehds-53-1-c"'),
            "ehds.purposes[3].code: duplicate purpose code 'ehds-53-1-c'",
            id="duplicate-purpose",
        ),
        pytest.param(
            edited('code = "dga-ai"', 'code = "ehds-53-1-a"'),
            "dga.purposes: duplicate purpose code 'ehds-53-1-a' (already in 'ehds')",
            id="duplicate-across-regimes",
        ),
        pytest.param(
            edited(
                'title.en = "Data Governance Act', 'title.xx = "Data Governance Act'
            ),
            "dga.title.en: missing",
            id="missing-english-title",
        ),
        pytest.param(
            edited("public_bodies_only = true", "public_bodies_only = 1"),
            "ehds.purposes[0].public_bodies_only: must be true or false, got 1",
            id="not-a-bool",
        ),
        pytest.param(
            edited("max_permit_months = 120", "max_permit_months = true"),
            "ehds.clocks.max_permit_months: must be an integer, got True",
            id="bool-for-int",
        ),
        pytest.param(
            edited(
                "reminder_lead_working_days = [10, 5, 1]",
                "reminder_lead_working_days = [5, 5]",
            ),
            "ehds.clocks.reminder_lead_working_days: must not repeat a lead time",
            id="repeated-lead-time",
        ),
        pytest.param(
            edited('"ehds-53-1-c"]', '"ehds-53-1-z"]'),
            "ehds.clocks.expedited.purposes: 'ehds-53-1-z' is not a purpose of this regime",
            id="expedited-unknown-purpose",
        ),
        pytest.param(
            edited("[dga]", "[DGA]"),
            "DGA: regime code must be lower-case",
            id="bad-regime-code",
        ),
        pytest.param("", "(top level): no regime defined", id="empty"),
        pytest.param("[ehds\n", "not valid TOML", id="not-toml"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_regimes(write(tmp_path, text))
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith("operator-regimes.toml: ")
    assert message in line


def test_an_operator_file_may_change_the_periods(tmp_path: Path) -> None:
    text = edited("decision = { months = 3 }", "decision = { months = 2, days = 15 }")
    text = text.replace(
        "reminder_lead_working_days = [10, 5, 1]",
        "reminder_lead_working_days = [1, 20]",
        1,
    )
    regimes = load_regimes(write(tmp_path, text))
    clocks = regimes.get("ehds").clocks
    assert clocks.decision == Period(months=2, days=15)
    assert clocks.reminder_lead_working_days == (20, 1)  # sorted, furthest first


def test_a_minimal_file_without_optional_keys(tmp_path: Path) -> None:
    text = """
[x]
reference = "Some act"
title = { en = "X", fr = "X" }
clocks.decision = { days = 10 }
clocks.extension = {}
clocks.completion_window = { days = 5 }
clocks.publication_working_days = 3
clocks.max_permit_months = 1
clocks.reminder_lead_working_days = []

[[x.purposes]]
code = "x-1"
article = "Art. 1"
public_bodies_only = false
allows_anonymised = true
label = { en = "One", fr = "Un" }
"""
    regimes = load_regimes(write(tmp_path, text))
    x = regimes.get("x")
    assert x.clocks.extension == Period()
    assert x.clocks.expedited is None
    assert x.purpose("x-1").label.get("de") == "One"


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_regimes(tmp_path / "nope.toml")
