"""The disclosure corpus (``disclosure/*.toml``): every attack is refused or its cells
suppressed, with a clear reason. One fresh workspace per case."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from datafactory.spe.queries import gate
from tests.spe.gate_world import build_gate_world

CORPUS = Path(__file__).parent / "disclosure"


def cases() -> list[Any]:
    found = []
    for path in sorted(CORPUS.glob("*.toml")):
        for case in tomllib.loads(path.read_text())["case"]:
            found.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return found


def test_the_corpus_is_not_empty():
    assert len(cases()) >= 15


@pytest.mark.parametrize("case", cases())
def test_each_attack_is_refused_or_suppressed(committed, runtime, tmp_path, case):
    world = build_gate_world(committed, runtime, tmp_path)
    for step in case["steps"]:
        answer = committed(
            lambda s, sql=step["sql"]: gate.ask(
                s, world.member, world.spe, world.workspace, sql
            )
        )
        expect = step["expect"]
        said = " ".join(answer.reasons)
        if expect == "answered":
            assert not answer.refused, f"{step['sql']}: refused: {said}"
            continue
        if expect == "refused":
            assert answer.refused, f"{step['sql']}: answered {answer.rows}"
            assert step["reason"].lower() in said.lower(), said
            continue
        assert expect == "suppressed", expect
        assert not answer.refused, f"{step['sql']}: refused: {said}"
        reasons = " ".join(r for cell in answer.suppressed for r in cell.reasons)
        assert step["reason"] in reasons, reasons
        if "group" in step:
            rows = {i for i, row in enumerate(answer.rows) if step["group"] in row}
            assert rows, f"no row for {step['group']}"
            hidden = {cell.row for cell in answer.suppressed}
            assert rows <= hidden, f"{step['group']} has released cells"
        if "cells" in step:
            assert len(answer.suppressed) == step["cells"]
