"""The reference docs are generated from the code; stale ones fail the suite.

Fix a failure here with ``uv run datafactory docs generate`` and commit the result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datafactory.cli import docs_gen
from datafactory.cli.main import app
from datafactory.core.config import Settings
from datafactory.core.ledger import LedgerEvent

ROOT = Path(__file__).resolve().parents[2]
FIX = "run `uv run datafactory docs generate` and commit the result"


def _committed(path: str) -> str:
    target = ROOT / path
    assert target.is_file(), f"{path} is missing: {FIX}"
    return target.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return docs_gen.render_all()


@pytest.mark.parametrize("path", docs_gen.GENERATED)
def test_committed_docs_equal_fresh_ones(path, fresh):
    assert _committed(path) == fresh[path], f"{path} is stale: {FIX}"


def test_the_generator_is_deterministic(fresh, monkeypatch):
    # Help text must not follow the terminal it happens to be generated in.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERMINAL_WIDTH", "200")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert docs_gen.render_all() == fresh


def test_every_setting_is_documented():
    text = _committed(docs_gen.CONFIGURATION)
    for name, field in Settings.model_fields.items():
        assert f"`DATAFACTORY_{name.upper()}`" in text, name
        assert field.description, f"Settings.{name} needs a description"
        assert " ".join(field.description.split()) in text, name
    # The hand-written part survives regeneration.
    assert "never from the database" in " ".join(text.split())
    assert '"client_secret_file": "/run/secrets/oidc-staff"' in text


def test_every_ledger_event_is_documented():
    text = _committed(docs_gen.LEDGER_EVENTS)
    events = docs_gen.ledger_events()
    assert {cls.action for cls in events} >= {
        "identity.person.created",
        "identity.signed_in",
    }
    for cls in events:
        assert f"### `{cls.action}`" in text, cls.action
        assert cls.__doc__, f"{cls.__name__} needs a docstring"
        for field in dataclasses.fields(cls):
            assert f"| `{field.name}` |" in text, f"{cls.action}.{field.name}"
    assert "- Subject: `person:<person_id>`" in text


def test_every_event_of_the_platform_lives_in_an_events_module():
    # Importing the web app and the CLI brings in every room.
    import datafactory.web.app  # noqa: F401

    modules = set(docs_gen.event_modules())
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in LedgerEvent.registry.values()
        if cls.__module__.startswith("datafactory.") and cls.__module__ not in modules
    )
    assert not outside, f"move {outside} into the room's events module"


def test_events_defined_outside_the_platform_are_left_out():
    @dataclass(frozen=True)
    class Probe(LedgerEvent):
        """Only for this test."""

        action = "tests.docs.probe"
        thing_id: int

        def subject(self) -> str:
            return f"thing:{self.thing_id}"

    try:
        assert LedgerEvent.registry["tests.docs.probe"] is Probe
        assert "tests.docs.probe" not in docs_gen.ledger_events_md()
    finally:
        LedgerEvent.registry.pop("tests.docs.probe", None)


def test_every_command_is_documented():
    text = _committed(docs_gen.CLI)
    import typer

    root = typer.main.get_command(app)
    context = root.context_class(root, info_name="datafactory")
    paths = [ctx.command_path for _cmd, ctx in docs_gen._commands(root, context)]
    assert "datafactory docs check" in paths
    assert "datafactory people grant" in paths
    for path in paths:
        assert f"## `{path}`" in text, path
        assert f"Usage: {path} " in text, path
    assert "\x1b[" not in text, "no colour codes in cli.md"
    assert text.count("```text") == len(paths)


# --- the docs command -----------------------------------------------------------------


def test_docs_check_names_the_stale_file(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["docs", "check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        "docs/configuration.md, docs/ledger-events.md, docs/cli.md, "
        "docs/permits-workflow.md, docs/spe-sql.md are stale" in (result.output)
    )

    result = runner.invoke(app, ["docs", "generate", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for path in docs_gen.GENERATED:
        assert (tmp_path / path).read_text(encoding="utf-8") == _committed(path)

    result = runner.invoke(app, ["docs", "check", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output

    ledger_doc = tmp_path / docs_gen.LEDGER_EVENTS
    ledger_doc.write_text(ledger_doc.read_text() + "\nhand edit\n")
    result = runner.invoke(app, ["docs", "check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "error: docs/ledger-events.md is stale: run `datafactory docs generate`"
    ]

    result = runner.invoke(app, ["docs", "generate", "--root", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.strip() == "wrote docs/ledger-events.md"


def test_the_default_root_is_this_checkout():
    assert docs_gen.default_root() == ROOT
