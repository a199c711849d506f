"""Pseudonymising CSV and Parquet files on the real database: streamed, all or nothing,
with the mapping table filled with only the new pseudonyms."""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from datafactory.core.errors import Forbidden, InvalidInput
from datafactory.privacy.pseudonyms import is_well_formed
from datafactory.ttp import domains, files
from datafactory.ttp.errors import DomainRetired, InvalidIdentifiers, UnknownDomain
from datafactory.ttp.models import DomainPseudonym
from tests.ttp.world import (
    CLI_OPERATOR,
    broken,
    build_team,
    ledger_entries,
    ledger_text,
    matricules,
    read_csv,
    spaced,
    ttp_config,
    write_csv,
)


@pytest.fixture
def config(tmp_path):
    return ttp_config(tmp_path)


@pytest.fixture
def health(committed, config):
    return committed(
        lambda s: (
            domains.create_domain(s, CLI_OPERATOR, config, name="sector:health").name
        )
    )


@pytest.fixture
def people():
    return matricules(10)


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def run(committed, config, source, target, domain="sector:health", column="id", **kw):
    return committed(
        lambda s: files.pseudonymise_file(
            s,
            kw.pop("actor", CLI_OPERATOR),
            config,
            domain=domain,
            column=column,
            source=source,
            target=target,
            **kw,
        )
    )


def mapping(db):
    return list(
        db.execute(
            select(DomainPseudonym.pseudonym, DomainPseudonym.key_version).order_by(
                DomainPseudonym.id
            )
        )
    )


def test_a_csv_file_gets_pseudonyms_and_keeps_every_other_cell_as_it_was(
    committed, db, config, health, people, tmp_path, out
):
    rows = [
        {"id": people[0], "code": "007", "note": 'said "hi", left'},
        {"id": spaced(people[0]), "code": "0.50", "note": ""},
        {"id": people[1], "code": "1e3", "note": "é"},
        {"id": "", "code": "x", "note": "no id"},
    ]
    source = write_csv(tmp_path / "claims.csv", rows)
    report = run(committed, config, source, out / "claims-p.csv")
    assert report.ok
    assert (report.rows, report.identifiers, report.new_pseudonyms) == (4, 3, 2)
    assert report.key_version == 1
    written = read_csv(out / "claims-p.csv")
    assert [r["code"] for r in written] == ["007", "0.50", "1e3", "x"]
    assert [r["note"] for r in written] == [r["note"] for r in rows]
    first, same, second, empty = (r["id"] for r in written)
    assert first == same != second, "the typed form gives the same pseudonym"
    assert is_well_formed(first) and is_well_formed(second)
    assert empty == ""
    assert {p for p, _ in mapping(db)} == {first, second}
    assert sorted(p.name for p in out.iterdir()) == ["claims-p.csv"]


def test_the_same_file_again_hands_out_no_new_pseudonym(
    committed, db, config, health, people, tmp_path, out
):
    source = write_csv(tmp_path / "a.csv", [{"id": p} for p in people])
    assert run(committed, config, source, out / "1.csv").new_pseudonyms == 10
    again = run(committed, config, source, out / "2.csv")
    assert (again.new_pseudonyms, again.identifiers) == (0, 10)
    assert read_csv(out / "1.csv") == read_csv(out / "2.csv")
    assert db.scalar(select(func.count()).select_from(DomainPseudonym)) == 10


def test_parquet_streams_in_batches_and_whole_numbers_are_identifiers(
    committed, db, config, health, people, tmp_path, out
):
    numbers = [int(p) for p in people] + [None]
    source = tmp_path / "jobs.parquet"
    pq.write_table(
        pa.table({"id": pa.array(numbers, pa.int64()), "wage": list(range(11))}),
        source,
    )
    batched = dataclasses.replace(config, batch_rows=3)
    phases = []
    report = committed(
        lambda s: files.pseudonymise_file(
            s,
            CLI_OPERATOR,
            batched,
            domain=health,
            column="id",
            source=source,
            target=out / "jobs-p.parquet",
            progress=lambda phase, done, total: phases.append((phase, done, total)),
        )
    )
    assert report.ok and report.rows == 11 and report.identifiers == 10
    table = pq.read_table(out / "jobs-p.parquet")
    assert table.schema.field("id").type == pa.string()
    assert table.column("wage").to_pylist() == list(range(11))
    ids = table.column("id").to_pylist()
    assert ids[-1] is None and all(is_well_formed(p) for p in ids[:-1])
    assert phases[:4] == [
        ("checking", 3, 11),
        ("checking", 6, 11),
        ("checking", 9, 11),
        ("checking", 11, 11),
    ]
    assert phases[-1] == ("pseudonymising", 11, 11)


def test_csv_in_parquet_out_gives_the_same_pseudonyms(
    committed, config, health, people, tmp_path, out
):
    source = write_csv(tmp_path / "a.csv", [{"id": p, "n": "01"} for p in people])
    run(committed, config, source, out / "a.csv")
    run(committed, config, source, out / "a.parquet")
    as_csv = [r["id"] for r in read_csv(out / "a.csv")]
    table = pq.read_table(out / "a.parquet")
    assert table.column("id").to_pylist() == as_csv
    assert table.column("n").to_pylist() == ["01"] * 10


def test_bad_identifiers_at_rows_3_and_7_stop_the_whole_file(
    committed, db, config, health, people, tmp_path, out
):
    rows = [{"id": p, "x": str(i)} for i, p in enumerate(people[:8], start=1)]
    bad = [broken(people[2]), "1985-13-01-123-45"]
    rows[2]["id"], rows[6]["id"] = bad
    source = write_csv(tmp_path / "claims.csv", rows)
    report = run(committed, config, source, out / "claims-p.csv")
    assert not report.ok
    assert (report.invalid, report.invalid_rows, report.rows) == (2, (3, 7), 8)
    assert report.problems == {"date": 1, "verhoeff": 1}
    error = report.error()
    assert isinstance(error, InvalidIdentifiers) and error.status == 422
    assert "rows 3, 7" in error.detail and "Nothing was written" in error.detail
    problem = json.dumps(error.problem())
    for number in [*bad, *people]:
        assert number not in problem and number[:8] not in problem
    assert list(out.iterdir()) == [], "no target and no temporary file"
    assert mapping(db) == []
    refused = ledger_entries(db, "ttp.file")
    assert [e.action for e in refused] == ["ttp.file.refused"]
    assert '"invalid":2' in refused[0].details
    text = ledger_text(db)
    for number in [*bad, *people]:
        assert number not in text
    with pytest.raises(InvalidIdentifiers):
        report.raise_for_invalid()


def test_only_the_first_hundred_bad_rows_are_listed_but_all_are_counted(
    committed, config, health, tmp_path, out
):
    source = write_csv(tmp_path / "bad.csv", [{"id": "12345"} for _ in range(150)])
    report = run(committed, config, source, out / "bad-p.csv")
    assert report.invalid == 150 and report.invalid_rows == tuple(range(1, 101))
    assert "..." in report.error().detail


def test_a_failure_while_writing_leaves_no_partial_file(
    committed, db, config, health, people, tmp_path, out
):
    source = write_csv(tmp_path / "a.csv", [{"id": p} for p in people])

    def explode(phase, _done, _total):
        if phase == "pseudonymising":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        run(committed, config, source, out / "a-p.csv", progress=explode)
    assert list(out.iterdir()) == []
    assert mapping(db) == [], "the transaction rolled back"


def test_pseudonyms_after_a_rotation_record_their_key_version(
    committed, db, config, health, people, tmp_path, out
):
    source = write_csv(tmp_path / "a.csv", [{"id": p} for p in people[:3]])
    run(committed, config, source, out / "v1.csv")
    committed(lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config))
    committed(lambda s: domains.rotate_domain(s, CLI_OPERATOR, config, name=health))
    report = run(committed, config, source, out / "v2.csv")
    assert report.key_version == 2 and report.new_pseudonyms == 3
    v1 = [r["id"] for r in read_csv(out / "v1.csv")]
    v2 = [r["id"] for r in read_csv(out / "v2.csv")]
    assert set(v1).isdisjoint(v2)
    assert sorted(v for _, v in mapping(db)) == [1, 1, 1, 2, 2, 2]
    assert {p for p, v in mapping(db) if v == 2} == set(v2)


def test_unknown_and_retired_domains_refuse_files(
    committed, config, health, people, tmp_path, out
):
    source = write_csv(tmp_path / "a.csv", [{"id": people[0]}])
    with pytest.raises(UnknownDomain):
        run(committed, config, source, out / "a.csv", domain="sector:nowhere")
    committed(
        lambda s: domains.retire_domain(
            s, CLI_OPERATOR, config, name=health, reason="closed"
        )
    )
    with pytest.raises(DomainRetired):
        run(committed, config, source, out / "a.csv")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "content", "column", "says"),
    [
        (
            "a.csv",
            "id,x\n1,2\n",
            "matricule",
            "has no column 'matricule' (its columns: id, x)",
        ),
        ("a.txt", "id\n1\n", "id", "neither CSV nor Parquet"),
        ("a.csv", "id,x\n1893120105732,2\n3,4,5\n", "id", "cannot be read as CSV"),
        ("a.parquet", "not parquet", "id", "cannot be read as PARQUET"),
    ],
    ids=["no-column", "extension", "ragged-csv", "not-parquet"],
)
def test_unreadable_input_is_refused_without_echoing_it(
    committed, config, health, tmp_path, out, name, content, column, says
):
    source = tmp_path / name
    source.write_text(content)
    with pytest.raises(InvalidInput) as refused:
        run(committed, config, source, out / "a-p.csv", column=column)
    assert says in refused.value.detail
    assert "1893120105732" not in refused.value.detail
    assert list(out.iterdir()) == []


def test_a_float_column_is_not_an_identifier_column(
    committed, config, health, tmp_path, out
):
    source = tmp_path / "f.parquet"
    pq.write_table(pa.table({"id": [1.5]}), source)
    with pytest.raises(InvalidInput, match="holds double"):
        run(committed, config, source, out / "f-p.parquet")


def test_only_ttp_operators_pseudonymise(
    committed, config, health, people, tmp_path, out
):
    team = committed(build_team)
    source = write_csv(tmp_path / "a.csv", [{"id": people[0]}])
    with pytest.raises(Forbidden):
        run(committed, config, source, out / "a.csv", actor=team.actor(team.outsider))
    assert run(
        committed, config, source, out / "a.csv", actor=team.actor(team.alice)
    ).ok


def test_one_ledger_entry_per_file_names_files_and_counts_only(
    committed, db, config, health, people, tmp_path, out
):
    source = write_csv(tmp_path / "claims.csv", [{"id": p} for p in people])
    run(committed, config, source, out / "claims-p.csv")
    done = ledger_entries(db, "ttp.file")
    assert len(done) == 1 and done[0].action == "ttp.file.pseudonymised"
    details = json.loads(done[0].details)
    assert details == {
        "domain_id": details["domain_id"],
        "domain": "sector:health",
        "key_version": 1,
        "column": "id",
        "source": "claims.csv",
        "target": "claims-p.csv",
        "rows": 10,
        "identifiers": 10,
        "new_pseudonyms": 10,
    }


def test_a_file_that_changes_between_the_two_passes_is_refused(
    committed, db, config, health, people, tmp_path, out
):
    source = write_csv(tmp_path / "a.csv", [{"id": p} for p in people[:3]])

    def meddle(phase, _done, _total):
        if phase == "checking":
            with source.open("a", encoding="utf-8") as handle:
                handle.write("not checked\n")

    with pytest.raises(InvalidInput, match="changed while it was read"):
        run(committed, config, source, out / "a-p.csv", progress=meddle)
    assert list(out.iterdir()) == [] and mapping(db) == []
