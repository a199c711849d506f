"""Languages of the pages: gettext catalogues (Babel) for English, French and German.

The ``.po`` files are compiled in memory when the app starts, so there is no build step and
no compiled file to forget. The language comes from the ``lang`` cookie, else the browser's
Accept-Language, else English.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"en": "English", "fr": "Français", "de": "Deutsch"}
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

current_language: ContextVar[str] = ContextVar("current_language", default="en")


def load_catalogues() -> dict[str, NullTranslations]:
    catalogues: dict[str, NullTranslations] = {"en": NullTranslations()}
    for code in LANGUAGES:
        po_file = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
        if not po_file.exists():
            continue
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=code)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogues[code] = Translations(fp=buffer)
    return catalogues


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


class Translator:
    """gettext callables for Jinja that follow the language of the current request."""

    def __init__(self, catalogues: dict[str, NullTranslations]) -> None:
        self.catalogues = catalogues

    def _catalogue(self) -> NullTranslations:
        return self.catalogues.get(current_language.get(), self.catalogues["en"])

    def gettext(self, message: str) -> str:
        return self._catalogue().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalogue().ngettext(singular, plural, n)
