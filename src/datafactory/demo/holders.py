"""Demo source data of three holders, pseudonymised and linked by the trusted third party.

``write_holder_data`` makes synthetic, deterministic extracts (a seeded ``random.Random``;
the global generator is never touched) as Parquet files::

    holders/statec/population-register.parquet   matricule, birth_year, sex, commune,
                                                 nationality (one row per resident)
    holders/statec/register-identities.parquet   matricule, first_name, surname,
                                                 birth_date, sex, postcode
    holders/cns/claims.parquet                   matricule, claim_date, year, act_code,
                                                 care_type, diagnosis_group, amount
    holders/adem/employment.parquet              first_name, surname, birth_date, sex,
                                                 postcode, spell_start, spell_end, status,
                                                 nace_sector, hours_per_week

The register and the claims follow the data dictionaries of ``demo.datasets``. The
register's identities are what the RNPP sends the trusted third party for linkage only;
they are never delivered. ADEM holds no matricule: it is linked by name, birth date, sex
and postcode, and its names carry the typos of a real register (a dropped accent, two
letters swapped, one missing), its postcodes the moves and the ``L-`` prefix. Some of its
people are cross-border workers (a French, Belgian or German postcode) who are not in the
register at all.

``pseudonymise_for_permit`` is the trusted third party's work for one permit: the domain
``permit:<reference>`` (created once), the register and the claims pseudonymised on the
matricule, and the employment histories linked with the register's identities, so that a
person found in both has one pseudonym in the three files. Every output keeps its source's
row order; the identifying columns of ADEM are dropped and its ``matricule`` column (as in
its data dictionary) holds the pseudonyms: the register person's for a matched record,
the linkage person's (``lpi:<id>``, in the same domain) for the others.

``load_holders`` does both for the permit of the demo researcher; it is idempotent.
"""

from __future__ import annotations

import os
import random
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from datafactory.catalogue import vocabularies
from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work
from datafactory.demo.applications import RESEARCHER_PERMIT_TITLE
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person
from datafactory.permits.models import Application, Permit
from datafactory.privacy import matricule
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.domains import create_domain
from datafactory.ttp.files import pseudonymise_file
from datafactory.ttp.linkage import (
    LinkField,
    SourceFile,
    link_files,
    record_pseudonyms,
)
from datafactory.ttp.models import DomainKind, PseudonymDomain

__all__ = [
    "EXTRACT_DATE",
    "TTP_OPERATOR",
    "HolderFiles",
    "load_holders",
    "pseudonymise_for_permit",
    "write_holder_data",
]

TTP_OPERATOR = "ttp@demo.datafactory.lu"
"""The demo person who runs the trusted third party."""

EXTRACT_DATE = date(2024, 12, 31)
"""The day the extracts were taken: a fixed day, so the same seed gives the same files."""

CLAIMS_FROM = date(2019, 1, 1)
"""The claims cover 2019 to 2024, the study period of the researcher's permit."""

DEMO_PEOPLE = 5000
"""Residents of the demo: enough that ordinary aggregates in the SPE pass the rules."""
REGISTER_FILE = "population-register.parquet"
CLAIMS_FILE = "claims.parquet"
EMPLOYMENT_FILE = "employment.parquet"

_IDENTIFYING = ("first_name", "surname", "birth_date", "sex", "postcode")
_LINK_COLUMNS = {LinkField(name): (name,) for name in _IDENTIFYING}


# --- the files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HolderFiles:
    """Where the holders' extracts are, under one folder."""

    register: Path
    identities: Path
    claims: Path
    employment: Path

    @classmethod
    def at(cls, folder: Path) -> HolderFiles:
        return cls(
            register=folder / "statec" / REGISTER_FILE,
            identities=folder / "statec" / "register-identities.parquet",
            claims=folder / "cns" / CLAIMS_FILE,
            employment=folder / "adem" / EMPLOYMENT_FILE,
        )

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.register, self.identities, self.claims, self.employment)

    def exist(self) -> bool:
        return all(path.is_file() for path in self.paths)


# --- what the synthetic people are made of ------------------------------------------------

# Nationality (EU country codes of the catalogue's vocabulary) and share of residents,
# roughly as in Luxembourg; the names of a person follow the nationality.
_NATIONALITIES: tuple[tuple[str, float], ...] = (
    ("LUX", 52.5),
    ("PRT", 14.5),
    ("FRA", 7.9),
    ("ITA", 3.9),
    ("BEL", 3.0),
    ("DEU", 1.8),
    ("ESP", 1.3),
    ("ROU", 1.0),
    ("POL", 0.8),
    ("GRC", 0.7),
    ("NLD", 0.4),
    ("IRL", 0.3),
)

_MALE = {
    "lu": (
        "Jean", "Marc", "Paul", "Luc", "Pierre", "Tom", "Ben", "Max", "Gilles",
        "Claude", "Romain", "Laurent", "Yves", "Jos", "Fernand", "Jean-Paul",
    ),
    "pt": ("João", "José", "António", "Manuel", "Rui", "Paulo", "Tiago", "Nuno"),
    "fr": ("Julien", "Nicolas", "Thomas", "Mathieu", "Olivier", "Sébastien"),
    "it": ("Giuseppe", "Marco", "Luca", "Andrea", "Francesco", "Matteo"),
    "de": ("Stefan", "Andreas", "Michael", "Jürgen", "Tobias", "Lukas"),
}  # fmt: skip
_FEMALE = {
    "lu": (
        "Marie", "Anne", "Sophie", "Claudine", "Nathalie", "Martine", "Sandra",
        "Lea", "Emma", "Sarah", "Laura", "Michèle", "Josée", "Françoise",
        "Marie-Claire",
    ),
    "pt": ("Maria", "Ana", "Sónia", "Carla", "Sílvia", "Inês", "Joana", "Rita"),
    "fr": ("Julie", "Camille", "Élodie", "Aurélie", "Céline", "Manon"),
    "it": ("Giulia", "Francesca", "Chiara", "Elena", "Sara", "Alessia"),
    "de": ("Katrin", "Sabine", "Petra", "Jutta", "Anja", "Lena"),
}  # fmt: skip
_SURNAMES = {
    "lu": (
        "Schmit", "Muller", "Weber", "Wagner", "Hoffmann", "Thill", "Schmitz",
        "Becker", "Klein", "Kieffer", "Schroeder", "Reuter", "Majerus", "Hansen",
        "Kremer", "Welter", "Theis", "Faber", "Steffen", "Meyer", "Kayser",
        "Hilbert", "Weis", "Goedert", "Zeimet", "Feltgen", "Origer", "Wampach",
    ),
    "pt": (
        "da Silva", "Pereira", "Ferreira", "Rodrigues", "Gonçalves", "Fernandes",
        "Lopes", "Martins", "Costa", "Teixeira", "Monteiro", "Carvalho",
    ),
    "fr": (
        "Dubois", "Lambert", "Martin", "Bernard", "Leroy", "Lefèvre", "Girard",
        "François", "Simon", "Dupont", "Renard",
    ),
    "it": ("Rossi", "Bianchi", "Romano", "Ricci", "Marino", "Greco", "Bruno", "Conti"),
    "de": ("Schneider", "Fischer", "Schäfer", "Koch", "Bauer", "Richter", "Wolf"),
}  # fmt: skip
_ORIGIN = {"LUX": "lu", "PRT": "pt", "FRA": "fr", "BEL": "fr", "ITA": "it", "DEU": "de"}

# Approximate inhabitants of the largest communes; the others count 3 000 each.
_LARGE_COMMUNES = {
    "luxembourg": 134_000,
    "esch-sur-alzette": 37_000,
    "differdange": 29_000,
    "dudelange": 22_000,
    "petange": 20_000,
    "sanem": 18_000,
    "hesperange": 16_000,
    "bettembourg": 11_500,
    "schifflange": 11_500,
    "kaerjeng": 11_000,
    "mamer": 10_000,
    "strassen": 10_000,
    "mersch": 10_000,
    "ettelbruck": 9_500,
}
_FALLBACK_COMMUNES = (
    "luxembourg",
    "esch-sur-alzette",
    "differdange",
    "dudelange",
    "ettelbruck",
    "diekirch",
    "wiltz",
    "echternach",
    "remich",
    "grevenmacher",
)

# Invented act codes (not the CNS nomenclature), with the usual amount reimbursed.
_ACTS: dict[str, tuple[str, tuple[float, float]]] = {
    "C1": ("General practitioner consultation", (52.6, 52.6)),
    "C3": ("Specialist consultation", (58.0, 95.0)),
    "ENDO": ("Endocrinology consultation", (61.0, 95.0)),
    "HBA1C": ("Laboratory: HbA1c", (12.5, 12.5)),
    "LAB": ("Laboratory: other tests", (8.0, 85.0)),
    "OPH": ("Eye examination (fundus)", (45.0, 70.0)),
    "POD": ("Foot examination", (30.0, 45.0)),
    "PHY": ("Physiotherapy session", (28.0, 36.0)),
    "HOS": ("Hospital procedure", (180.0, 2400.0)),
}
CARE_TYPES: dict[str, str] = {
    "C1": "general_practice",
    "C3": "specialist",
    "ENDO": "specialist",
    "OPH": "specialist",
    "HBA1C": "laboratory",
    "LAB": "laboratory",
    "POD": "paramedical",
    "PHY": "paramedical",
    "HOS": "hospital",
}
"""The CNS's broad type of care of each act, the ``care_type`` of the claims."""
_GENERAL_ACTS = ("C1", "C1", "C1", "C3", "LAB", "LAB", "PHY", "HOS")
_DIABETES_ACTS = ("C1", "C1", "HBA1C", "HBA1C", "ENDO", "OPH", "POD", "LAB")
_DIAGNOSIS_GROUPS = (
    "cardiovascular",
    "respiratory",
    "musculoskeletal",
    "mental_health",
    "infectious",
    "other",
    "other",
)

# NACE sections with the weight of each among employees.
_SECTORS: tuple[tuple[str, int], ...] = (
    ("K", 12),  # financial and insurance activities
    ("O", 10),  # public administration
    ("G", 12),  # wholesale and retail trade
    ("F", 10),  # construction
    ("Q", 10),  # human health and social work
    ("M", 9),  # professional, scientific and technical
    ("N", 7),  # administrative and support services
    ("H", 6),  # transport and storage
    ("J", 5),  # information and communication
    ("C", 5),  # manufacturing
    ("I", 5),  # accommodation and food service
    ("P", 4),  # education
)
_HOURS = ((40.0, 60), (20.0, 12), (30.0, 10), (32.0, 8), (24.0, 5), (16.0, 5))
# Cross-border workers: postcode prefix, nationality and a range of their postcodes.
_BORDER = (
    ("F", "FRA", 57_000, 57_999),
    ("B", "BEL", 6_600, 6_799),
    ("D", "DEU", 54_200, 54_699),
)


@dataclass(frozen=True)
class _Resident:
    matricule: str
    birth_date: date
    sex: str
    first_name: str
    surname: str
    commune: str
    postcode: str
    nationality: str


# --- writing them -------------------------------------------------------------------------


def write_holder_data(
    folder: Path, *, seed: int = 2026, people: int = 2000
) -> HolderFiles:
    """Write the four extracts under ``folder``; the same seed gives the same files."""
    if people < 1:
        raise ValueError("people must be at least 1")
    rng = random.Random(seed)
    communes = _communes()
    postcodes = _postcodes(random.Random(f"{seed}:postcodes"), communes)
    residents = _residents(rng, people, communes, postcodes)
    files = HolderFiles.at(folder)
    for path in files.paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    _write(files.register, _register_table(residents))
    _write(files.identities, _identities_table(residents))
    _write(files.claims, _claims_table(rng, residents))
    _write(files.employment, _employment_table(rng, residents, postcodes))
    return files


def _write(path: Path, table: Any) -> None:
    """Write through a hidden file beside ``path``, renamed into place at the end."""
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _communes() -> list[tuple[str, float]]:
    """(commune code, weight) from the catalogue's vocabulary of Luxembourg communes."""
    try:
        codes = [c.code for c in vocabularies.load("commune").concepts]
    except (OSError, ValueError):
        codes = []
    codes = codes or list(_FALLBACK_COMMUNES)
    return [(code, float(_LARGE_COMMUNES.get(code, 3_000))) for code in codes]


def _postcodes(
    rng: random.Random, communes: Sequence[tuple[str, float]]
) -> dict[str, tuple[int, int]]:
    """A range of four-digit postcodes per commune (invented, Luxembourg-like)."""
    found: dict[str, tuple[int, int]] = {}
    bases = rng.sample(range(3_000, 9_990, 10), len(communes))
    for (code, _weight), base in zip(communes, bases, strict=True):
        found[code] = (1_009, 2_999) if code == "luxembourg" else (base, base + 9)
    return found


def _residents(
    rng: random.Random,
    people: int,
    communes: Sequence[tuple[str, float]],
    postcodes: dict[str, tuple[int, int]],
) -> list[_Resident]:
    numbers = matricule.generate_many(rng, people, born_to=EXTRACT_DATE)
    codes = [c for c, _ in communes]
    weights = [w for _, w in communes]
    nationalities = [n for n, _ in _NATIONALITIES]
    shares = [s for _, s in _NATIONALITIES]
    residents = []
    for number in numbers:
        born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
        sex = rng.choice("MF")
        nationality = rng.choices(nationalities, shares)[0]
        first, surname = _name(rng, sex, _ORIGIN.get(nationality))
        commune = rng.choices(codes, weights)[0]
        low, high = postcodes[commune]
        residents.append(
            _Resident(
                matricule=number,
                birth_date=born,
                sex=sex,
                first_name=first,
                surname=surname,
                commune=commune,
                postcode=str(rng.randint(low, high)),
                nationality=nationality,
            )
        )
    return residents


def _name(rng: random.Random, sex: str, origin: str | None) -> tuple[str, str]:
    """A first name and a surname; many Luxembourgers have names from elsewhere."""
    pools = list(_SURNAMES)
    if origin is None:
        origin = rng.choice(pools)
    first_pool = (_MALE if sex == "M" else _FEMALE)[origin]
    surname_origin = origin
    if origin == "lu" and rng.random() < 0.25:
        surname_origin = rng.choice(pools)
    return rng.choice(first_pool), rng.choice(_SURNAMES[surname_origin])


def _register_table(residents: Sequence[_Resident]) -> Any:
    return pa.table(
        {
            "matricule": pa.array([r.matricule for r in residents], pa.string()),
            "birth_year": pa.array([r.birth_date.year for r in residents], pa.int32()),
            "sex": pa.array([r.sex for r in residents], pa.string()),
            "commune": pa.array([r.commune for r in residents], pa.string()),
            "nationality": pa.array([r.nationality for r in residents], pa.string()),
        }
    )


def _identities_table(residents: Sequence[_Resident]) -> Any:
    return pa.table(
        {
            "matricule": pa.array([r.matricule for r in residents], pa.string()),
            "first_name": pa.array([r.first_name for r in residents], pa.string()),
            "surname": pa.array([r.surname for r in residents], pa.string()),
            "birth_date": pa.array([r.birth_date for r in residents], pa.date32()),
            "sex": pa.array([r.sex for r in residents], pa.string()),
            "postcode": pa.array([r.postcode for r in residents], pa.string()),
        }
    )


# --- claims ---------------------------------------------------------------------------------


def _claims_table(rng: random.Random, residents: Sequence[_Resident]) -> Any:
    """Claims of about seven residents in ten, more of them for the older; about one
    adult in fifteen has diabetes, with HbA1c tests, eye and foot examinations."""
    rows: list[tuple[date, str, str, str, Decimal]] = []
    for resident in residents:
        age = _age(resident.birth_date, EXTRACT_DATE)
        diabetic = age >= 25 and rng.random() < min(0.25, 0.01 + age / 600)
        if not diabetic and rng.random() > 0.55 + min(age, 80) / 250:
            continue
        first = max(CLAIMS_FROM, resident.birth_date)
        days = (EXTRACT_DATE - first).days + 1
        count = rng.randint(8, 24) if diabetic else rng.randint(1, 2 + age // 12)
        for _ in range(count):
            when = first + timedelta(days=rng.randrange(days))
            if diabetic and rng.random() < 0.7:
                act, group = rng.choice(_DIABETES_ACTS), "diabetes"
            else:
                act, group = rng.choice(_GENERAL_ACTS), rng.choice(_DIAGNOSIS_GROUPS)
            low, high = _ACTS[act][1]
            amount = Decimal(f"{rng.uniform(low, high):.2f}")
            rows.append((when, resident.matricule, act, group, amount))
    rows.sort(key=lambda row: (row[0], row[2]))
    return pa.table(
        {
            "matricule": pa.array([r[1] for r in rows], pa.string()),
            "claim_date": pa.array([r[0] for r in rows], pa.date32()),
            "year": pa.array([r[0].year for r in rows], pa.int32()),
            "act_code": pa.array([r[2] for r in rows], pa.string()),
            "care_type": pa.array([CARE_TYPES[r[2]] for r in rows], pa.string()),
            "diagnosis_group": pa.array([r[3] for r in rows], pa.string()),
            "amount": pa.array([r[4] for r in rows], pa.decimal128(10, 2)),
        }
    )


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --- employment histories -------------------------------------------------------------------


def _employment_table(
    rng: random.Random,
    residents: Sequence[_Resident],
    postcodes: dict[str, tuple[int, int]],
) -> Any:
    """Spells of about two residents of working age in three, as ADEM records them, and
    of cross-border workers (one in ten of ADEM's people) who are not in the register."""
    people: list[tuple[str, str, date, str, str]] = []
    for resident in residents:
        if not 18 <= _age(resident.birth_date, EXTRACT_DATE) <= 66:
            continue
        if rng.random() < 0.65:
            people.append(_as_adem(rng, resident, postcodes))
    for _ in range(max(1, len(people) // 10)):
        people.append(_cross_border(rng))
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            *_IDENTIFYING,
            "spell_start",
            "spell_end",
            "status",
            "nace_sector",
            "hours_per_week",
        )
    }
    for first, surname, born, sex, postcode in people:
        for start, end, status, sector, hours in _spells(rng, born):
            for name, value in zip(
                columns,
                (
                    first,
                    surname,
                    born,
                    sex,
                    postcode,
                    start,
                    end,
                    status,
                    sector,
                    hours,
                ),
                strict=True,
            ):
                columns[name].append(value)
    return pa.table(
        {
            "first_name": pa.array(columns["first_name"], pa.string()),
            "surname": pa.array(columns["surname"], pa.string()),
            "birth_date": pa.array(columns["birth_date"], pa.date32()),
            "sex": pa.array(columns["sex"], pa.string()),
            "postcode": pa.array(columns["postcode"], pa.string()),
            "spell_start": pa.array(columns["spell_start"], pa.date32()),
            "spell_end": pa.array(columns["spell_end"], pa.date32()),
            "status": pa.array(columns["status"], pa.string()),
            "nace_sector": pa.array(columns["nace_sector"], pa.string()),
            "hours_per_week": pa.array(columns["hours_per_week"], pa.decimal128(4, 1)),
        }
    )


def _as_adem(
    rng: random.Random, resident: _Resident, postcodes: dict[str, tuple[int, int]]
) -> tuple[str, str, date, str, str]:
    """The resident as ADEM knows them: the odd typo, an older or newer address."""
    first, surname = resident.first_name, resident.surname
    if rng.random() < 0.1:
        first = _typo(rng, first)
    if rng.random() < 0.1:
        surname = _typo(rng, surname)
    if rng.random() < 0.01:
        first, surname = surname, first
    born = resident.birth_date
    if born.day <= 12 and born.day != born.month and rng.random() < 0.01:
        born = date(born.year, born.day, born.month)  # day and month swapped
    postcode = resident.postcode
    if rng.random() < 0.08:  # moved since
        low, high = postcodes[rng.choice(sorted(postcodes))]
        postcode = str(rng.randint(low, high))
    if rng.random() < 0.5:
        postcode = f"L-{postcode}"
    return first, surname, born, resident.sex, postcode


def _cross_border(rng: random.Random) -> tuple[str, str, date, str, str]:
    prefix, nationality, low, high = rng.choice(_BORDER)
    sex = rng.choice("MF")
    first, surname = _name(rng, sex, _ORIGIN[nationality])
    born = date(1958, 1, 1) + timedelta(days=rng.randrange(46 * 365))
    return first, surname, born, sex, f"{prefix}-{rng.randint(low, high)}"


def _typo(rng: random.Random, name: str) -> str:
    """One of the usual slips: an accent lost, two letters swapped, one left out, one
    doubled or one replaced."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    )
    if plain != name and rng.random() < 0.5:
        return plain
    if len(name) < 4:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if kind == 1:
        return name[:i] + name[i + 1 :]
    if kind == 2:
        return name[:i] + name[i] + name[i:]
    return name[:i] + rng.choice("aeinorstu") + name[i + 1 :]


def _spells(
    rng: random.Random, born: date
) -> list[tuple[date, date | None, str, str | None, Decimal | None]]:
    """One to four spells from the age of 18 (or 2010) to the extract date at most."""
    start = max(date(born.year + 18, born.month, 1), date(2010, 1, 1))
    start += timedelta(days=rng.randrange(0, 3 * 365))
    spells: list[tuple[date, date | None, str, str | None, Decimal | None]] = []
    for _ in range(rng.randint(1, 4)):
        if start > EXTRACT_DATE:
            break
        finish = start + timedelta(days=rng.randint(60, 2400))
        end = None if finish >= EXTRACT_DATE else finish  # None: still going on
        if rng.random() < 0.8:
            sector: str | None = rng.choices(
                [s for s, _ in _SECTORS], [w for _, w in _SECTORS]
            )[0]
            hours = rng.choices([h for h, _ in _HOURS], [w for _, w in _HOURS])[0]
            spells.append((start, end, "employed", sector, Decimal(f"{hours:.1f}")))
        else:
            spells.append((start, end, "job_seeker", None, None))
        if end is None:
            break
        start = end + timedelta(days=rng.randint(1, 240))
    if not spells:
        spells.append((EXTRACT_DATE, None, "job_seeker", None, None))
    return spells


# --- the trusted third party ----------------------------------------------------------------


class WithTtp(Protocol):
    """What ``pseudonymise_for_permit`` needs of the runtime."""

    @property
    def ttp(self) -> TtpConfig: ...


class DemoRuntime(WithTtp, Protocol):
    """What ``load_holders`` needs of the runtime."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...


def pseudonymise_for_permit(
    sessions: sessionmaker[Session],
    runtime_like: WithTtp,
    *,
    permit_reference: str,
    files: HolderFiles,
    out_folder: Path,
) -> dict[str, int]:
    """The TTP's delivery for one permit: rows written per output file.

    The domain ``permit:<reference>`` is created when missing, acting as the demo TTP
    operator. While the domain exists, an output that exists already is left alone (and
    counts 0); a new domain means new pseudonyms, so every output is written again.
    """
    config = runtime_like.ttp
    with unit_of_work(sessions) as session:
        operator = _operator(session)
        created = _ensure_domain(session, operator, config, permit_reference)
    domain = f"{DomainKind.permit.value}:{permit_reference}"
    out_folder.mkdir(parents=True, exist_ok=True)
    written = {"register": 0, "claims": 0, "employment": 0, "employment_matched": 0}
    for key, source, name in (
        ("register", files.register, REGISTER_FILE),
        ("claims", files.claims, CLAIMS_FILE),
    ):
        target = out_folder / name
        if not created and target.is_file():
            continue
        with unit_of_work(sessions) as session:
            report = pseudonymise_file(
                session,
                operator,
                config,
                domain=domain,
                column="matricule",
                source=source,
                target=target,
                source_name=_shown(source),
                target_name=_shown(target),
            )
            report.raise_for_invalid()
        written[key] = report.rows
    target = out_folder / EMPLOYMENT_FILE
    if created or not target.is_file():
        rows, matched = _link_employment(
            sessions, operator, config, domain=domain, files=files, target=target
        )
        written["employment"], written["employment_matched"] = rows, matched
    return written


def _shown(path: Path) -> str:
    """``statec/population-register.parquet``: the holder and the file, for the ledger."""
    return f"{path.parent.name}/{path.name}"


def _operator(session: Session) -> Actor:
    person = session.scalar(select(Person).where(Person.email == TTP_OPERATOR))
    if person is None:
        raise LookupError(
            f"The demo TTP operator {TTP_OPERATOR} is missing: run demo.load first."
        )
    return Actor.for_person(person)


def _ensure_domain(
    session: Session, operator: Actor, config: TtpConfig, reference: str
) -> bool:
    """Create the permit's domain unless it exists; whether it was created now."""
    name = f"{DomainKind.permit.value}:{reference}"
    if session.scalar(select(PseudonymDomain.id).where(PseudonymDomain.name == name)):
        return False
    create_domain(
        session,
        operator,
        config,
        name=name,
        kind=DomainKind.permit,
        permit_reference=reference,
    )
    return True


def _link_employment(
    sessions: sessionmaker[Session],
    operator: Actor,
    config: TtpConfig,
    *,
    domain: str,
    files: HolderFiles,
    target: Path,
) -> tuple[int, int]:
    """Link ADEM's people with the register's identities; write the histories with the
    pseudonym of each record's person. Returns (rows, rows matched to the register).

    Each distinct identity of the file (one person's spells share it) is one record of
    the linkage. A record whose person holds exactly one register identity takes that
    resident's matricule, pseudonymised in the domain as in the register and the claims;
    the others keep their linkage person's pseudonym. The matricules stay in memory and
    in a private folder of the TTP's work folder, removed at the end.
    """
    employment = pq.read_table(files.employment)
    people: dict[tuple[Any, ...], int] = {}
    row_person = [
        people.setdefault(values, len(people))
        for values in zip(
            *(employment.column(c).to_pylist() for c in _IDENTIFYING), strict=True
        )
    ]
    distinct = pa.table(
        {
            name: pa.array(
                [values[i] for values in people], employment.schema.field(name).type
            )
            for i, name in enumerate(_IDENTIFYING)
        }
    )
    config.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=config.work_dir, prefix="demo-") as private:
        folder = Path(private)
        adem = folder / "adem-people.parquet"
        pq.write_table(distinct, adem)
        report = link_files(
            sessions,
            operator,
            config,
            domain=domain,
            sources=[
                SourceFile(files.identities, _LINK_COLUMNS, label="statec"),
                SourceFile(adem, _LINK_COLUMNS, label="adem"),
            ],
            out_dir=None,
            name="ADEM employment histories with the population register",
        )
        with unit_of_work(sessions) as session:
            pseudonym_of = record_pseudonyms(
                session, operator, config, run_id=report.run_id
            )
        residents: dict[str, list[str]] = {}
        identities = pq.read_table(files.identities, columns=["matricule"])
        for row, number in enumerate(identities.column("matricule").to_pylist(), 1):
            residents.setdefault(pseudonym_of[("statec", str(row))], []).append(number)
        linked = [pseudonym_of[("adem", str(i))] for i in range(1, len(people) + 1)]
        matched = [_only(residents.get(p, [])) for p in linked]
        numbers = pa.array([matched[p] for p in row_person], pa.string())
        plain = folder / "employment-matricule.parquet"
        pq.write_table(
            employment.drop_columns(list(_IDENTIFYING)).add_column(
                0, "matricule", numbers
            ),
            plain,
        )
        done = folder / "employment-pseudonymised.parquet"
        with unit_of_work(sessions) as session:
            pseudonymise_file(
                session,
                operator,
                config,
                domain=domain,
                column="matricule",
                source=plain,
                target=done,
                source_name=f"{_shown(files.employment)} (linked, run {report.run_id})",
                target_name=_shown(target),
            ).raise_for_invalid()
            table = pq.read_table(done)
            pseudonyms = pc.coalesce(
                table.column("matricule"),
                pa.array([linked[p] for p in row_person], pa.string()),
            )
            _write(target, table.set_column(0, "matricule", pseudonyms))
    return employment.num_rows, len(numbers) - numbers.null_count


def _only(numbers: list[str]) -> str | None:
    """The one matricule of a linked person; none when the linkage put two register
    identities together (it links files, so that is left to the clerical review)."""
    return numbers[0] if len(numbers) == 1 else None


# --- the demo -------------------------------------------------------------------------------


def researcher_permit_reference(session: Session) -> str:
    """The reference of the demo researcher's permit (``RESEARCHER_PERMIT_TITLE``)."""
    reference = session.scalar(
        select(Permit.reference)
        .join(Application, Application.id == Permit.application_id)
        .where(Application.title == RESEARCHER_PERMIT_TITLE)
        .order_by(Permit.id)
        .limit(1)
    )
    if reference is None:
        raise LookupError(
            f"The demo permit {RESEARCHER_PERMIT_TITLE!r} is missing: run "
            "load_applications first."
        )
    return reference


def load_holders(runtime: DemoRuntime) -> dict[str, int]:
    """Write the holders' extracts and the TTP's delivery for the researcher's permit.

    Needs the demo people and applications. Idempotent: extracts that exist are kept, and
    the delivery is made again only where it is missing (or for a new domain, after the
    database was started over). Returns what was written: ``holder_files`` and the rows
    of each delivered file.
    """
    data = runtime.settings.data_dir
    files = HolderFiles.at(data / "holders")
    made = 0
    if not files.exist():
        write_holder_data(data / "holders", people=DEMO_PEOPLE)
        made = len(files.paths)
    with unit_of_work(runtime.sessions) as session:
        reference = researcher_permit_reference(session)
    delivered = pseudonymise_for_permit(
        runtime.sessions,
        runtime,
        permit_reference=reference,
        files=files,
        out_folder=data / "ttp" / f"permit-{reference}",
    )
    return {"holder_files": made, **delivered}
