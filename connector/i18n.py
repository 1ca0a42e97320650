"""Texts a clerk or an operator reads, in Italian and English, through gettext catalogs.

Log lines stay English (support tooling greps them); everything shown to people (command
output, status, quarantine reports, notifications, console pages) is written in English
in the code, marked with `_()` (or `N_()` where it is translated later, e.g. in a table
of constants), and translated at the moment it is shown, in the locale of whoever reads
it: the configuration's `locale` for the daemon and the CLI, the user's choice in the
console. The catalogs are `connector/locale/<lang>/LC_MESSAGES/connector.po`, compiled in
memory the first time a locale is used (no binary file in the repository);
`make messages` extracts the marked texts and updates them (Babel), and
tests/core/test_i18n.py fails when a marked text has no Italian translation.
"""

from __future__ import annotations

import contextvars
import gettext
import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "connector"
LOCALES = ("en", "it")  # English is the source language: its catalog is the texts themselves
DEFAULT = "en"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("locale", default=None)
_process_default = DEFAULT
_lock = threading.Lock()


def normalize(value: str | None) -> str | None:
    """'it', 'it_IT.UTF-8', 'IT' -> 'it'; 'en_GB' -> 'en'; anything else -> None."""
    if not value:
        return None
    lang = value.strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    return lang if lang in LOCALES else None


def system_locale() -> str:
    """The locale of the environment (LC_ALL, LC_MESSAGES, LANG, LANGUAGE), English else."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            for part in value.split(":"):
                found = normalize(part)
                if found:
                    return found
            if var != "LANGUAGE":
                return DEFAULT  # set, but to a language we have no catalog for
    return DEFAULT


def set_default(locale: str | None) -> str:
    """The locale of this process (from the configuration; None: the system's)."""
    global _process_default  # noqa: PLW0603 - one default per process, set at start
    chosen = normalize(locale) or system_locale()
    with _lock:
        _process_default = chosen
    return chosen


def current() -> str:
    return _current.get() or _process_default


@contextmanager
def use(locale: str | None) -> Iterator[str]:
    """Texts inside the block in `locale` (e.g. one console request); None: the default."""
    token = _current.set(normalize(locale) or _process_default)
    try:
        yield current()
    finally:
        _current.reset(token)


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of a locale (English: the texts as written)."""
    if locale == DEFAULT:
        return gettext.NullTranslations()
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo  # only when a catalog is first used
    from babel.messages.pofile import read_po

    with open(po, "rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """`message` in the current locale."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def catalog() -> gettext.NullTranslations:
    """The translations of the current locale (for code that takes them as an object, e.g.
    formats.report, which cannot import this module)."""
    return translations(current())


def thousands() -> str:
    """The digit-group separator of the current locale: 1.234.567 in Italian."""
    return "." if current() == "it" else ","


def number(n: int) -> str:
    """A count as people of the current locale write it."""
    return f"{n:,}".replace(",", thousands())


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Marks a text for the catalog without translating it now (translated where shown)."""
    return message
