"""The pages speak English, French and German, and the catalogues stay complete.

When a template gains a string, re-extract and update the catalogues, then translate what is
new::

    uv run pybabel extract -F babel.cfg --project=datafactory --version=0.1.0 \\
        -o src/datafactory/web/locale/messages.pot .
    uv run pybabel update -i src/datafactory/web/locale/messages.pot \\
        -d src/datafactory/web/locale --no-fuzzy-matching --ignore-obsolete
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from datafactory.core import errors, jobs
from datafactory.web import i18n, messages, problems, templating
from datafactory.web.i18n import LANGUAGES, LOCALE_DIR, Translator, choose_language
from datafactory.web.pages import sign_in

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALE_DIR / "messages.pot"
TRANSLATED = sorted(code for code in LANGUAGES if code != i18n.DEFAULT_LANGUAGE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
REFRESH = (
    "re-run `uv run pybabel extract -F babel.cfg --project=datafactory "
    "--version=0.1.0 -o src/datafactory/web/locale/messages.pot .` and "
    "`uv run pybabel update -i src/datafactory/web/locale/messages.pot "
    "-d src/datafactory/web/locale --no-fuzzy-matching --ignore-obsolete`, "
    "then translate"
)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _msgids(catalog: Catalog) -> set[str]:
    ids = set()
    for message in catalog:
        if message.id:
            ids.add(message.id if isinstance(message.id, str) else message.id[0])
    return ids


def _extracted_msgids() -> set[str]:
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, filename="babel.cfg")
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.fixture(scope="module")
def template_ids() -> set[str]:
    return _msgids(_read(POT))


# --- the catalogues -----------------------------------------------------------------


def test_the_template_is_up_to_date_with_the_code(template_ids):
    extracted = _extracted_msgids()
    missing = sorted(extracted - template_ids)
    stale = sorted(template_ids - extracted)
    assert not missing, f"messages.pot lacks {missing}: {REFRESH}"
    assert not stale, f"messages.pot still has {stale}: {REFRESH}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated(code, template_ids):
    catalog = _read(LOCALE_DIR / code / "LC_MESSAGES" / "messages.po", locale=code)
    assert _msgids(catalog) == template_ids, f"{code}/messages.po is stale: {REFRESH}"
    untranslated = sorted(
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not (
                message.string
                if isinstance(message.string, str)
                else all(message.string)
            )
        )
    )
    assert not untranslated, (
        f"{code} lacks translations (or has fuzzy ones) for {untranslated}"
    )
    assert not catalog.obsolete, (
        f"{code} keeps obsolete messages: {sorted(catalog.obsolete)}"
    )


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_the_placeholders(code):
    catalog = _read(LOCALE_DIR / code / "LC_MESSAGES" / "messages.po", locale=code)
    for message in catalog:
        if (
            message.id
            and isinstance(message.id, str)
            and isinstance(message.string, str)
        ):
            assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
                PLACEHOLDER.findall(message.id)
            ), f"{code}: {message.id!r}"


def test_strings_translated_at_run_time_are_marked_for_extraction(template_ids):
    """Templates pass these values through ``_()``; extraction only finds them in messages.py."""
    # "Error" is the title problems.py gives an HTTP status it has no title for.
    titles = {"Error", errors.DatafactoryError.title, *problems._TITLES.values()}
    pending = list(errors.DatafactoryError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("datafactory."):
            titles.add(cls.title)
    runtime_strings = {
        *(item.label for item in templating.NAVIGATION),
        *titles,
        sign_in.WRONG,
        sign_in.THROTTLED,
        jobs.QUEUED,
        jobs.RUNNING,
        jobs.SUCCEEDED,
        jobs.FAILED,
    }
    unmarked = sorted(runtime_strings - set(messages.RUNTIME_MESSAGES))
    assert not unmarked, f"add {unmarked} to datafactory/web/messages.py and re-extract"
    assert set(messages.RUNTIME_MESSAGES) <= template_ids


def test_the_catalogues_compile_and_translate():
    translator = Translator(i18n.load_catalogues())
    expected = {"en": "Sign in", "fr": "Se connecter", "de": "Anmelden"}
    for code, text in expected.items():
        token = i18n.current_language.set(code)
        try:
            assert translator.gettext("Sign in") == text
            assert translator.gettext("a string nobody translated") == (
                "a string nobody translated"
            )
        finally:
            i18n.current_language.reset(token)


# --- choosing the language ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        ("fr", None, "fr"),
        ("de", "fr-LU,fr;q=0.9", "de"),
        (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, "lb-LU, fr-LU;q=0.8", "fr"),
        ("xx", None, "en"),
        ("", "", "en"),
        (None, None, "en"),
        (None, "es-ES,it;q=0.5", "en"),
        ("klingon", "tlh", "en"),
    ],
)
def test_choose_language(cookie, accept, expected):
    assert choose_language(cookie, accept) == expected


# --- rendered pages ------------------------------------------------------------------


def test_home_page_in_french_from_the_cookie(client):
    client.cookies.set("lang", "fr")
    response = client.get("/", headers={"Accept-Language": "de-DE"})
    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "Les données du secteur public, partagées en toute sécurité" in response.text
    assert "Se connecter" in response.text
    assert "Aller au contenu principal" in response.text
    assert "Accueil" in response.text  # the navigation label, translated at run time
    assert "Skip to main content" not in response.text


def test_home_page_in_german_from_accept_language(client):
    response = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    assert response.status_code == 200
    assert '<html lang="de">' in response.text
    assert "Daten des öffentlichen Sektors, sicher geteilt" in response.text
    assert "Anmelden" in response.text
    assert "Startseite" in response.text
    assert "Sign in" not in response.text


def test_error_page_title_is_translated(client):
    response = client.get(
        "/no-such-page",
        headers={"Accept": "text/html", "Accept-Language": "fr-LU"},
    )
    assert response.status_code == 404
    assert '<html lang="fr">' in response.text
    assert "<h1>Introuvable</h1>" in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": "lang=xx"},
        {"Accept-Language": "es-ES,it;q=0.5"},
        {"Cookie": "lang=", "Accept-Language": "*"},
    ],
)
def test_unknown_languages_fall_back_to_english(client, headers):
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Public-sector data, shared safely" in response.text
    assert "Sign in" in response.text
