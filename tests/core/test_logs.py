"""Logs carry a request id and never a password, a token or a personal identifier."""

from __future__ import annotations

import re

from datafactory.core.logs import REDACTED, configure_logging, get_logger, scrub
from datafactory.identity.models import Role
from tests.factories import PASSWORD, person, person_with_token


def test_scrub_masks_secrets_and_identifiers_wherever_they_appear():
    line = "user rita@uni.lu sent Bearer abc.def and dft_abcdefghijkl, matricule 1985021512345"
    cleaned = scrub(line)
    for secret in ("rita@uni.lu", "abc.def", "dft_abcdefghijkl", "1985021512345"):
        assert secret not in cleaned
    assert scrub({"password": "x", "nested": {"email": "a@b.lu", "n": 1}}) == {
        "password": REDACTED,
        "nested": {"email": REDACTED, "n": 1},
    }


def test_a_log_call_that_passes_a_secret_does_not_leak_it(capsys):
    configure_logging("INFO")
    get_logger("test").info(
        "signing in", password="hunter22", token="dft_zzzzzzzzzz", who="a@b.lu"
    )
    err = capsys.readouterr().err
    assert "hunter22" not in err and "dft_zzzzzzzzzz" not in err and "a@b.lu" not in err
    assert err.count(REDACTED) == 3


def test_requests_are_logged_with_an_id_and_nothing_personal(client, committed, capsys):
    configure_logging("INFO")  # the test settings log warnings only
    committed(lambda s: person(s, "rita@uni.lu", roles=((Role.reuser, None),)))
    who = committed(lambda s: person_with_token(s, "tok@uni.lu"))
    csrf = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text
    ).group(1)
    client.post(
        "/sign-in",
        data={"email": "rita@uni.lu", "password": PASSWORD, "csrf_token": csrf},
        headers={"X-Request-ID": "trace-abcdef12"},
    )
    client.get("/api/me", headers={"Authorization": f"Bearer {who.token}"})
    client.get("/api/me?email=rita@uni.lu")
    err = capsys.readouterr().err
    assert "request_id=trace-abcdef12" in err or '"request_id": "trace-abcdef12"' in err
    for secret in (PASSWORD, who.token, "rita@uni.lu", "tok@uni.lu"):
        assert secret not in err
