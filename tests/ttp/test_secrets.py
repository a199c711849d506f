"""No key and no identifier ever reaches the logs or the database.

A whole working day of the TTP (domains, a key rotation, files in and out through the
service and the API, a re-identification, lookups) runs with every log switched on, SQL
statements included. Then the captured logs, every row of every table and, on SQLite, the
database files themselves are searched for each master key and each key derived from it
(raw, base64, hex) and for each identifier.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect

from datafactory.core.logs import configure_logging
from datafactory.identity.models import Role
from datafactory.privacy.pseudonyms import derive_domain_key
from datafactory.ttp import domains, files, lookup, reidentification
from datafactory.ttp.keys import lookup_audit_key, sealing_key
from tests.factories import person_with_token
from tests.ttp.world import (
    CLI_OPERATOR,
    build_team,
    matricules,
    read_csv,
    spaced,
    ttp_app,
    ttp_config,
    write_csv,
)

REASON = "Order of the investigating judge, ref. 2026/991, art. 66 CPP"


def forms(key: bytes) -> list[bytes]:
    """Every way a key could be written down."""
    return [
        key,
        base64.b64encode(key),
        base64.urlsafe_b64encode(key).rstrip(b"="),
        base64.b64encode(key).rstrip(b"="),
        key.hex().encode(),
        key.hex().upper().encode(),
    ]


def dump(runtime) -> list[bytes]:
    """Every value of every row of every table, as bytes."""
    values: list[bytes] = []
    with runtime.engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            for row in connection.exec_driver_sql(f'SELECT * FROM "{name}"'):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode())
    return values


def sqlite_files(runtime) -> list[bytes]:
    url = runtime.engine.url
    if url.get_backend_name() != "sqlite":
        return []
    runtime.engine.dispose()
    base = Path(url.database)
    return [
        p.read_bytes() for p in (base, base.with_name(base.name + "-wal")) if p.exists()
    ]


def test_no_key_and_no_identifier_reaches_the_logs_or_the_database(
    runtime, committed, tmp_path, capsys, caplog
):
    config = ttp_config(tmp_path)
    team = committed(build_team)
    alice = committed(
        lambda s: person_with_token(s, "a2@ipms.lu", roles=((Role.ttp_operator, None),))
    )
    people = matricules(20, seed=99)
    with TestClient(ttp_app(runtime, config)) as client:
        configure_logging("DEBUG")
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
        names = ("sector:health", f"permit:{team.permit_reference}")
        for name in names:
            committed(
                lambda s, name=name: domains.create_domain(
                    s, CLI_OPERATOR, config, name=name
                )
            )
        source = write_csv(
            tmp_path / "in.csv", [{"id": spaced(p)} for p in people[:10]]
        )
        committed(
            lambda s: files.pseudonymise_file(
                s,
                CLI_OPERATOR,
                config,
                domain=names[0],
                column="id",
                source=source,
                target=tmp_path / "out.csv",
            )
        )
        pseudonym = read_csv(tmp_path / "out.csv")[0]["id"]
        committed(lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config))
        committed(
            lambda s: domains.rotate_domain(s, CLI_OPERATOR, config, name=names[0])
        )
        body = ("id\n" + "\n".join(people[5:20]) + "\n").encode()
        answer = client.post(
            f"/api/v1/ttp/domains/{names[1]}/pseudonymisations",
            params={"column": "id"},
            content=body,
            headers={
                "Authorization": f"Bearer {alice.token}",
                "Content-Type": "text/csv",
            },
        )
        assert answer.status_code == 200
        client.post(
            "/api/v1/ttp/lookups",
            json={"matricule": people[7]},
            headers={"Authorization": f"Bearer {alice.token}"},
        )
        committed(
            lambda s: lookup.domains_holding(
                s, CLI_OPERATOR, config, matricule=people[1]
            )
        )
        request_id = committed(
            lambda s: (
                reidentification.request_reidentification(
                    s,
                    team.actor(team.alice),
                    domain=names[0],
                    pseudonym=pseudonym,
                    legal_reason=REASON,
                ).id
            )
        )
        committed(
            lambda s: reidentification.approve(
                s, team.actor(team.bob), request_id=request_id
            )
        )
        shown = committed(
            lambda s: reidentification.reveal(
                s, team.actor(team.alice), config, request_id=request_id
            )
        )
        assert shown == people[0]
    captured = capsys.readouterr()
    logs = (captured.out + captured.err + caplog.text).encode()
    assert b"INSERT INTO domain_pseudonyms" in logs, "SQL statements were logged"
    assert b"request" in logs, "access logs were on"

    masters = [config.custody.master_key(v) for v in (1, 2)]
    secrets = list(masters)
    for master in masters:
        secrets.append(lookup_audit_key(master))
        for name in names:
            for version in (1, 2):
                secrets.append(derive_domain_key(master, name, version))
                secrets.append(sealing_key(master, name, version))
    values = dump(runtime)
    raw = sqlite_files(runtime)
    for secret in secrets:
        for form in forms(secret):
            assert form not in logs
            assert not any(form in value for value in values)
            assert not any(form in blob for blob in raw)
    for number in people:
        for form in (number.encode(), spaced(number).encode()):
            assert form not in logs
            assert not any(form in value for value in values)
            assert not any(form in blob for blob in raw)
