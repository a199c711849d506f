"""The demo holders' data: synthetic extracts of STATEC, the CNS and ADEM that follow the
data dictionaries, pseudonymised by the trusted third party for the researcher's permit,
with ADEM's employment histories linked to the register; loaded once."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select

from datafactory import demo
from datafactory.catalogue import vocabularies
from datafactory.core import ledger
from datafactory.core.ledger import LedgerEntry
from datafactory.demo.applications import RESEARCHER_PERMIT_TITLE, load_applications
from datafactory.demo.datasets import DATASETS
from datafactory.demo.holders import (
    DEMO_PEOPLE,
    HolderFiles,
    load_holders,
    write_holder_data,
)
from datafactory.permits.models import Application, Permit
from datafactory.privacy import matricule
from datafactory.privacy.pseudonyms import is_well_formed
from datafactory.ttp.linkage_models import LinkageRun
from datafactory.ttp.models import DomainPseudonym, DomainStatus, PseudonymDomain

IDENTIFYING = ["first_name", "surname", "birth_date", "sex", "postcode"]


def _dictionary(title_en: str) -> list[str]:
    for _slug, _contact, metadata in DATASETS:
        if metadata["title"].get("en") == title_en:
            return [v["name"] for v in metadata.get("variables", [])]
    raise LookupError(title_en)


REGISTER = _dictionary("Population register extract")
CLAIMS = _dictionary("Health-insurance claims")
EMPLOYMENT = _dictionary("Employment histories")


def test_the_extracts_follow_the_dictionaries_and_the_seed(tmp_path):
    files = write_holder_data(tmp_path / "a", people=300)
    again = write_holder_data(tmp_path / "b", people=300)
    other = write_holder_data(tmp_path / "c", seed=7, people=300)
    assert all(
        a.read_bytes() == b.read_bytes()
        for a, b in zip(files.paths, again.paths, strict=True)
    )
    assert files.register.read_bytes() != other.register.read_bytes()
    assert files == HolderFiles.at(tmp_path / "a") and files.exist()

    register = pq.read_table(files.register)
    assert register.column_names == REGISTER
    numbers = register.column("matricule").to_pylist()
    assert len(set(numbers)) == register.num_rows == 300
    assert all(matricule.is_valid(n) for n in numbers)
    assert register.column("birth_year").to_pylist() == [int(n[:4]) for n in numbers]
    assert set(register.column("sex").to_pylist()) == {"M", "F"}
    communes = {c.code for c in vocabularies.load("commune").concepts}
    countries = {c.code for c in vocabularies.load("country").concepts}
    assert set(register.column("commune").to_pylist()) <= communes
    assert set(register.column("nationality").to_pylist()) <= countries

    claims = pq.read_table(files.claims)
    assert claims.column_names == CLAIMS
    claimants = Counter(claims.column("matricule").to_pylist())
    assert set(claimants) < set(numbers)  # a subset of the residents...
    assert max(claimants.values()) > 1  # ...with several claims each
    diabetes = claims.filter(pc.equal(claims["diagnosis_group"], "diabetes"))
    assert {"HBA1C", "OPH", "POD"} <= set(diabetes.column("act_code").to_pylist())

    # ADEM has no matricule: it has what linkage compares, then its dictionary.
    employment = pq.read_table(files.employment)
    assert employment.column_names == IDENTIFYING + EMPLOYMENT[1:]
    assert EMPLOYMENT[0] == "matricule"
    identities = pq.read_table(files.identities)
    assert identities.column("matricule").to_pylist() == numbers
    assert identities.column_names == ["matricule", *IDENTIFYING]


def _permit_reference(session) -> tuple[int, str]:
    permit = session.execute(
        select(Permit.id, Permit.reference)
        .join(Application, Application.id == Permit.application_id)
        .where(Application.title == RESEARCHER_PERMIT_TITLE)
    ).one()
    return permit.id, permit.reference


def _counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (LedgerEntry, PseudonymDomain, DomainPseudonym, LinkageRun)
    )


def _strings(table: pa.Table) -> set[str]:
    found: set[str] = set()
    for column in table.columns:
        found.update(str(v) for v in column.cast(pa.string()).to_pylist())
    return found


def _rows(table: pa.Table, drop: str) -> list[tuple]:
    kept = table.drop_columns([drop])
    return sorted(
        zip(*(c.to_pylist() for c in kept.columns), strict=True),
        key=lambda row: tuple(str(v) for v in row),
    )


def test_the_demo_register_claims_and_employment_are_linked_and_pseudonymised(
    runtime, committed
):
    committed(demo.load)
    committed(lambda s: load_applications(s, runtime.permits))
    added = load_holders(runtime)

    data = runtime.settings.data_dir
    files = HolderFiles.at(data / "holders")
    assert files.exist()
    permit_id, reference = committed(_permit_reference)
    out = data / "ttp" / f"permit-{reference}"
    register, claims, employment = (
        pq.read_table(path) for path in (files.register, files.claims, files.employment)
    )
    delivered = {
        name: pq.read_table(out / f"{name}.parquet")
        for name in ("population-register", "claims", "employment")
    }
    assert added["holder_files"] == 4
    assert added["register"] == register.num_rows == DEMO_PEOPLE
    assert added["claims"] == claims.num_rows
    assert added["employment"] == employment.num_rows

    # The deliveries keep the dictionaries' columns and the sources' row order.
    assert delivered["population-register"].column_names == REGISTER
    assert delivered["claims"].column_names == CLAIMS
    assert delivered["employment"].column_names == EMPLOYMENT
    assert (
        delivered["population-register"]
        .drop_columns(["matricule"])
        .equals(register.drop_columns(["matricule"]))
    )
    assert (
        delivered["claims"]
        .drop_columns(["matricule"])
        .equals(claims.drop_columns(["matricule"]))
    )

    # No matricule survives anywhere: only well-formed pseudonyms in its column.
    numbers = set(register.column("matricule").to_pylist())
    for name, table in delivered.items():
        assert not numbers & _strings(table), name
        raw = (out / f"{name}.parquet").read_bytes()
        assert not any(n.encode() in raw for n in numbers), name
        assert all(is_well_formed(p) for p in table.column("matricule").to_pylist())
    register_pseudonyms = delivered["population-register"].column("matricule")
    assert len(set(register_pseudonyms.to_pylist())) == register.num_rows

    # One person, one pseudonym: joining the deliveries gives the join of the sources.
    source_join = claims.join(register, "matricule", join_type="inner")
    delivered_join = delivered["claims"].join(
        delivered["population-register"], "matricule", join_type="inner"
    )
    assert source_join.num_rows == delivered_join.num_rows == claims.num_rows
    assert _rows(source_join, "matricule") == _rows(delivered_join, "matricule")

    # ADEM's people found in the register carry the resident's pseudonym; cross-border
    # workers (a foreign postcode) are in no register and keep a pseudonym of their own.
    residents = {
        row["matricule"]: row for row in delivered["population-register"].to_pylist()
    }
    resident_rows = border_rows = matched_residents = 0
    for source, pseudonym in zip(
        employment.to_pylist(),
        delivered["employment"].column("matricule").to_pylist(),
        strict=True,
    ):
        person = residents.get(pseudonym)
        if source["postcode"][:2] in ("F-", "B-", "D-"):
            border_rows += 1
            assert person is None
            continue
        resident_rows += 1
        if person is not None:
            matched_residents += 1
            assert person["birth_year"] == source["birth_date"].year
            assert person["sex"] == source["sex"]
    assert border_rows > 0
    assert matched_residents == added["employment_matched"]
    assert matched_residents >= 0.95 * resident_rows

    def domain_of(session):
        domain = session.scalars(
            select(PseudonymDomain).where(PseudonymDomain.name == f"permit:{reference}")
        ).one()
        assert domain.permit_id == permit_id
        assert domain.kind == "permit"
        assert domain.status != DomainStatus.retired
        return domain.name

    assert committed(domain_of) == f"permit:{reference}"

    # A second run adds nothing and touches no file.
    before = committed(_counts)
    stamps = {p: p.stat().st_mtime_ns for p in (*files.paths, *out.iterdir())}
    again = load_holders(runtime)
    assert set(again.values()) == {0}
    assert committed(_counts) == before
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert sorted(out.iterdir()) == sorted(p for p in stamps if p.parent == out)

    # A lost delivery is made again, alone, with the same pseudonyms.
    (out / "employment.parquet").unlink()
    remade = load_holders(runtime)
    assert remade["employment"] == employment.num_rows
    assert remade["register"] == remade["claims"] == remade["holder_files"] == 0
    linked = pq.read_table(out / "employment.parquet").column("matricule")
    kept = [p for p in linked.to_pylist() if p in residents]
    assert len(kept) == matched_residents
    # The new pseudonyms are the new linkage run's persons, none for the matricules.
    persons = committed(
        lambda s: s.scalars(select(LinkageRun.persons).order_by(LinkageRun.id)).all()
    )
    assert len(persons) == 2
    assert committed(_counts)[2] == before[2] + persons[-1]

    assert committed(lambda s: ledger.verify(s).ok)
