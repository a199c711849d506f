"""``datafactory ttp link``: counts on success, one readable line on bad input, and no
file written then."""

from __future__ import annotations

import sys

import pytest

from datafactory.cli.main import main
from datafactory.runtime import Runtime
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.keys import KeyFileCustody
from tests.ttp.test_linkage import COLUMNS, read_rows, write_febrl


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

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["datafactory", "ttp", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_link_prints_the_counts_and_writes_both_files(cli, tmp_path):
    left, right = write_febrl(tmp_path / "in", matched=150, others=30)
    out = tmp_path / "out"
    out.mkdir()
    assert cli("domains", "create", "sector:health")[0] == 0
    code, said, err = cli(
        "link",
        str(left),
        str(right),
        "--domain",
        "sector:health",
        "--out-dir",
        str(out),
        "--columns",
        COLUMNS,
        "--key",
        "rec_id",
        "--label",
        "cns",
        "--right-label",
        "adem",
    )
    assert (code, err) == (0, "")
    assert "330 records" in said and "pairs waiting for clerical review" in said
    assert "persons" in said
    assert sorted(p.name for p in out.iterdir()) == [
        "adem.linked.csv",
        "cns.linked.csv",
    ]
    assert list(read_rows(out / "cns.linked.csv")[0])[0] == "pseudonym"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"--columns": "first_name=given_name,surname=nom"}, "no column 'nom'"),
        ({"--columns": "nickname=given_name"}, "no field 'nickname'"),
        ({"--review-threshold": "0.99"}, "Thresholds"),
        ({"--blocking": "postcode:x"}, "prefix"),
        ({"left": "people.txt"}, "neither CSV nor Parquet"),
    ],
    ids=["unknown column", "unknown field", "thresholds", "blocking", "format"],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, change, says):
    left, right = write_febrl(tmp_path / "in", matched=30, others=5)
    (tmp_path / "in" / "people.txt").write_text("given_name\nanna\n")
    out = tmp_path / "out"
    out.mkdir()
    cli("domains", "create", "sector:health")
    options = {
        "--domain": "sector:health",
        "--out-dir": str(out),
        "--columns": COLUMNS,
        "--key": "rec_id",
        **{k: v for k, v in change.items() if k.startswith("--")},
    }
    first = str(tmp_path / "in" / change["left"]) if "left" in change else str(left)
    args = [first, str(right), *[x for pair in options.items() for x in pair]]
    code, _, err = cli("link", *args)
    assert code == 1
    assert says in err
    assert len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []
