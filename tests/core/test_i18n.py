"""Every text people read exists in Italian too: each text marked _(), N_() or ngettext()
in the code has a translation in connector/locale/it/LC_MESSAGES/connector.po (not empty,
not fuzzy, with the same {placeholders}); `make messages` updates the catalog."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from connector import i18n

REPO = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(?\w*\)?[sdrf]")


def marked_texts(root: Path) -> set[tuple[str, ...]]:
    """The msgids of every marked text under root (a tuple for plurals)."""
    found: set[tuple[str, ...]] = set()
    # Templates first: Babel takes the first pattern a file matches (the console's pages).
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    for folder in ("connector", "adapters", "formats", "service"):
        if not (root / folder).is_dir():
            continue
        for _file, _line, message, _comments, _ctx in extract_from_dir(
                root / folder, method_map, keywords=KEYWORDS):
            found.add(message if isinstance(message, tuple) else (message,))
    return found


def problems(po_path: Path, texts: set[tuple[str, ...]]) -> list[str]:
    with open(po_path, "rb") as f:
        catalog = read_po(f, locale="it")
    wrong: list[str] = []
    for text in sorted(texts):
        msg = catalog.get(text[0])
        if msg is None:
            wrong.append(f"no Italian translation: {text[0]!r} (run `make messages`)")
            continue
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if msg.fuzzy or not all(strings):
            wrong.append(f"untranslated or fuzzy: {text[0]!r}")
            continue
        wanted = sorted(PLACEHOLDER.findall(text[-1]))
        for s in strings:
            if sorted(PLACEHOLDER.findall(s)) != wanted and len(strings) == 1:
                wrong.append(f"placeholders differ: {text[0]!r} -> {s!r}")
    return wrong


def test_every_marked_text_has_an_italian_translation() -> None:
    po = i18n.LOCALE_DIR / "it" / "LC_MESSAGES" / "connector.po"
    assert problems(po, marked_texts(REPO)) == []


def test_the_check_catches_a_missing_translation(tmp_path: Path) -> None:
    code = tmp_path / "connector"
    code.mkdir()
    (code / "m.py").write_text("from connector.i18n import _\n"
                               "MSG = _('published {rows} rows')\n"
                               "OTHER = _('nothing to do')\n")
    po = tmp_path / "it.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: it\\n"\n\n'
                  'msgid "published {rows} rows"\nmsgstr "pubblicate {righe} righe"\n',
                  encoding="utf-8")
    found = problems(po, marked_texts(tmp_path))
    assert any("placeholders differ" in p for p in found)
    assert any("no Italian translation: 'nothing to do'" in p for p in found)


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "it" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "connector.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: it\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "waiting"\nmsgstr "in attesa"\n\n'
        'msgid "{n} file"\nmsgid_plural "{n} files"\nmsgstr[0] "{n} file"\n'
        'msgstr[1] "{n} file"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield
    i18n.translations.cache_clear()


@pytest.mark.usefixtures("catalog")
def test_texts_follow_the_locale_of_the_reader() -> None:
    i18n.set_default("en")
    assert i18n._("waiting") == "waiting"
    with i18n.use("it"):
        assert i18n._("waiting") == "in attesa"
        assert i18n.ngettext("{n} file", "{n} files", 2) == "{n} file"
        assert i18n._("not in the catalog") == "not in the catalog"
    assert i18n._("waiting") == "waiting"
    seen: list[str] = []
    with i18n.use("it"):  # another thread (a console request) keeps its own locale
        t = threading.Thread(target=lambda: seen.append(i18n._("waiting")))
        t.start()
        t.join()
    assert seen == ["waiting"]


def test_the_locale_comes_from_the_setting_then_the_system(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "it_IT.UTF-8")
    assert i18n.set_default(None) == "it"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert i18n.set_default(None) == "en"
    assert i18n.set_default("it") == "it"
    assert i18n.normalize("IT-it") == "it" and i18n.normalize("fr") is None
    i18n.set_default("en")
