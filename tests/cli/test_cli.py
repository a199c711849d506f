"""The command line: demo loading, migrations, people, the audit ledger, one-line errors."""

from __future__ import annotations

import json
import sys

import pytest
from sqlalchemy import func, select, text

from datafactory import migrations
from datafactory.cli.main import main
from datafactory.core.db import make_engine
from datafactory.demo.datasets import DATASETS
from datafactory.identity.models import Organisation, Person


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, database_url):
    monkeypatch.setenv("DATAFACTORY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATAFACTORY_DATABASE_URL", database_url)
    monkeypatch.setenv("DATAFACTORY_SECRET_KEY", "cli-test-secret-key-long-enough-000")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["datafactory", *args])
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = (
                exc.code
                if isinstance(exc.code, int)
                else (0 if exc.code is None else 1)
            )
        out, err = capsys.readouterr()
        return code, out, err

    return run


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        orgs = connection.scalar(select(func.count()).select_from(Organisation))
        people = connection.scalar(select(func.count()).select_from(Person))
    engine.dispose()
    return orgs, people


ADDED = f"11 organisations, 17 people, {len(DATASETS)} datasets and 12 access"
HARVESTED = "6 created, 0 updated, 0 unchanged, 0 failed"


def test_demo_loads_once_and_can_be_run_again_without_duplicates(cli, database_url):
    code, out, _ = cli("demo", "--no-serve")
    assert code == 0
    assert ADDED in out and HARVESTED in out
    assert "admin@demo.datafactory.lu" in out and "datafactory-demo" in out
    first = counts(database_url)
    code, out, _ = cli("demo", "--no-serve")
    assert code == 0 and "0 organisations, 0 people, 0 datasets and 0 access" in out
    assert "0 created, 0 updated, 6 unchanged, 0 failed" in out
    assert counts(database_url) == first == (11, 17)


def test_demo_reset_starts_over_in_its_own_folder(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("DATAFACTORY_DATABASE_URL")  # the embedded default: SQLite
    data = tmp_path / "demo-data"
    code, out, _ = cli("demo", "--no-serve", "--data-dir", str(data))
    assert code == 0 and ADDED in out and HARVESTED in out
    assert (data / "datafactory.sqlite3").exists()
    (data / "keep-me.txt").write_text("not ours")
    code, out, _ = cli("demo", "--no-serve", "--reset", "--data-dir", str(data))
    assert code == 0 and ADDED in out and HARVESTED in out
    assert (data / "keep-me.txt").exists(), "--reset removes only the demo's own files"


def test_db_upgrade_reports_the_revision(cli):
    newest = migrations.head_revision()
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and f"revision {newest}" in out
    code, out, _ = cli("db", "current")
    assert f"applied: {newest}; newest: {newest}" in out


def test_an_operator_creates_the_first_administrator(cli, database_url):
    cli("demo", "--no-serve")
    code, out, err = cli(
        "people",
        "create",
        "boss@gouv.lu",
        "--name",
        "Boss",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert code == 0, err
    code, out, err = cli("people", "grant", "boss@gouv.lu", "admin")
    assert code == 0 and "granted admin" in out
    code, _, err = cli(
        "people", "grant", "boss@gouv.lu", "handler", "--organisation", "nowhere"
    )
    assert (
        code == 1
        and err.strip().startswith("error:")
        and len(err.strip().splitlines()) == 1
    )


def test_errors_are_one_readable_line(cli):
    code, _, err = cli("people", "create", "not-an-address", "--name", "X")
    assert code == 1
    assert err.strip() == "error: This is not an e-mail address."
    code, _, err = cli(
        "people", "create", "a@b.lu", "--name", "X", "--password-stdin", stdin="short\n"
    )
    assert code == 1 and "too short" in err and "Traceback" not in err


def test_an_unreachable_database_is_one_line(cli, monkeypatch):
    monkeypatch.setenv(
        "DATAFACTORY_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    code, _, err = cli("db", "upgrade")
    assert code == 1
    assert err.strip().startswith("error: cannot reach the database")
    assert len(err.strip().splitlines()) == 1


def test_invalid_settings_are_one_line(cli, monkeypatch):
    monkeypatch.setenv("DATAFACTORY_PORT", "not-a-port")
    code, _, err = cli("db", "upgrade")
    assert code == 1 and err.strip().startswith("error: invalid setting port")


def test_audit_verify_passes_then_names_the_tampered_entry(cli, database_url):
    cli("demo", "--no-serve")
    code, out, _ = cli("audit", "verify")
    assert code == 0 and "ledger ok:" in out
    engine = make_engine(database_url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER ledger_no_update"))
        connection.execute(
            text("UPDATE ledger_entries SET actor = 'person:1' WHERE seq = 7")
        )
    engine.dispose()
    code, _, err = cli("audit", "verify")
    assert code == 1
    assert "ledger broken at entry 7" in err


def test_a_saved_signed_head_reveals_truncation(cli, database_url, tmp_path):
    cli("demo", "--no-serve")
    code, out, _ = cli("audit", "head")
    head = json.loads(out)
    assert head["seq"] > 10 and len(head["signature"]) > 40
    saved = tmp_path / "head.json"
    saved.write_text(out)
    assert cli("audit", "verify", "--head", str(saved))[0] == 0
    engine = make_engine(database_url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER ledger_no_delete"))
        connection.execute(text("DELETE FROM ledger_entries WHERE seq > 5"))
    engine.dispose()
    code, _, err = cli("audit", "verify", "--head", str(saved))
    assert code == 1 and "truncated" in err
    saved.write_text("{not json")
    code, _, err = cli("audit", "verify", "--head", str(saved))
    assert code == 1 and "is not a saved ledger head" in err


def test_a_bug_is_one_line_without_a_trace(cli, monkeypatch):
    from datafactory.cli import db as db_commands

    def broken(*args, **kwargs):
        raise ZeroDivisionError("internal detail")

    monkeypatch.setattr(db_commands.migrations, "current_revision", broken)
    code, _, err = cli("db", "current")
    assert code == 1
    assert err.strip().startswith("error: internal error (ZeroDivisionError)")
    assert "Traceback" not in err and "internal detail" not in err
