"""``datafactory ttp``: domains, keys, files with a progress bar, four-eyes
re-identification and the lookup, each failure one readable line."""

from __future__ import annotations

import io
import sys

import pytest

from datafactory.cli.main import main
from datafactory.runtime import Runtime
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.keys import KeyFileCustody
from tests.ttp.world import broken, build_team, matricules, read_csv, write_csv

REASON = "Order of the investigating judge, ref. 2026/1234, art. 66 CPP"


def _ttp(runtime: Runtime) -> TtpConfig:
    data = runtime.settings.data_dir
    return TtpConfig(
        custody=KeyFileCustody(data / "keys" / "ttp-master.json"),
        work_dir=data / "ttp" / "work",
    )


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, database_url):
    monkeypatch.setenv("DATAFACTORY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATAFACTORY_DATABASE_URL", database_url)
    monkeypatch.setenv("DATAFACTORY_SECRET_KEY", "cli-test-secret-key-long-enough-000")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["datafactory", "ttp", *args])
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def team(committed):
    return committed(build_team)


def test_an_operator_walks_through_the_ttp(cli, team, tmp_path):
    people = matricules(4, seed=21)
    code, out, err = cli("domains", "create", "health")
    assert code == 0, err
    assert "created sector:health on master key version 1" in out
    code, out, err = cli("domains", "create", "", "--permit", team.permit_reference)
    assert code == 0, err
    assert f"created permit:{team.permit_reference}" in out
    code, out, _ = cli("domains", "list")
    assert "sector:health" in out

    source = write_csv(tmp_path / "claims.csv", [{"id": p} for p in people])
    target = tmp_path / "claims-p.csv"
    code, out, err = cli(
        "pseudonymise",
        "--domain",
        "sector:health",
        "--column",
        "id",
        str(source),
        str(target),
    )
    assert code == 0, err
    assert "4 rows written" in out and "4 new pseudonyms" in out
    pseudonym = read_csv(target)[1]["id"]

    code, out, err = cli(
        "reidentify",
        "request",
        "--domain",
        "sector:health",
        "--pseudonym",
        pseudonym,
        "--reason",
        REASON,
        "--as",
        "alice@ipms.lu",
    )
    assert code == 0, err
    assert "request 1 waits" in out
    code, _, err = cli("reidentify", "approve", "1", "--as", "alice@ipms.lu")
    assert code == 1 and "second, different TTP operator" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = cli("reidentify", "list", "--as", "carol@ipms.lu")
    assert pseudonym in out
    code, out, err = cli("reidentify", "approve", "1", "--as", "bob@ipms.lu")
    assert code == 0, err
    code, out, err = cli("reidentify", "reveal", "1", "--as", "alice@ipms.lu")
    assert code == 0, err
    assert out.strip() == people[1]

    code, out, err = cli("keys", "rotate", "--expected-version", "1")
    assert code == 0 and "master key version 2 added" in out, err
    code, out, err = cli("domains", "rotate", "sector:health")
    assert code == 0 and "now uses master key version 2" in out, err
    code, out, err = cli("lookup", stdin=people[0] + "\n")
    assert code == 0 and "sector:health" in out, err
    assert people[0] not in out


def test_a_bad_file_fails_in_one_line_naming_rows_not_values(cli, tmp_path):
    cli("domains", "create", "sector:health")
    people = matricules(8, seed=2)
    rows = [{"id": p} for p in people]
    rows[2]["id"], rows[6]["id"] = broken(people[2]), broken(people[6])
    source = write_csv(tmp_path / "bad.csv", rows)
    code, out, err = cli(
        "pseudonymise",
        "--domain",
        "sector:health",
        "--column",
        "id",
        str(source),
        str(tmp_path / "bad-p.csv"),
    )
    assert code == 1
    assert "rows 3, 7" in err and "Nothing was written" in err
    assert len(err.strip().splitlines()) == 1
    assert not any(p in out + err for p in people + [r["id"] for r in rows])
    assert not (tmp_path / "bad-p.csv").exists()


def test_unknown_domains_and_people_are_one_line_errors(cli, team):
    code, _, err = cli("domains", "rotate", "sector:nowhere")
    assert code == 1 and "no pseudonym domain 'sector:nowhere'" in err
    code, _, err = cli("reidentify", "approve", "1", "--as", "nobody@ipms.lu")
    assert code == 1 and "no person with the address nobody@ipms.lu" in err
    code, _, err = cli("domains", "list", "--as", "rita@uni.lu")
    assert code == 1 and "not allowed" in err
