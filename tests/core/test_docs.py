"""The generated reference (docs/reference/) is what the code generates now, and every
command, argument and configuration key has a description."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import reference

REPO = Path(__file__).resolve().parents[2]


def test_every_command_and_argument_has_a_help_text() -> None:
    missing = []
    for name, help_text, parser in reference.commands(reference.cli_parser()):
        if not help_text:
            missing.append(f"connector {name}")
        missing += [f"connector {name} {reference._invocation(a)}"
                    for a in reference._arguments(parser) if not a.help]
    assert not missing, f"no help= text (the CLI reference would say nothing): {missing}"


def test_every_configuration_key_is_described_once() -> None:
    """A key's description is the comment at its field, or else its KEY_DOCS entry."""
    _, _, _, key_docs = reference.config_model()
    keys = {k.path: k for s in reference.sections() for k in s.keys}
    undescribed = sorted(p for p, k in keys.items() if not k.description)
    assert not undescribed, ("configuration keys without a description (a comment beside "
                             f"the field in connector/config.py, or KEY_DOCS): {undescribed}")
    stale = sorted(set(key_docs) - set(keys))
    assert not stale, f"KEY_DOCS entries for keys that do not exist: {stale}"
    twice = sorted(p for p, k in keys.items() if k.comment and k.key_doc)
    assert not twice, f"described by a comment and in KEY_DOCS (keep one): {twice}"


def test_the_reference_pages_are_current() -> None:
    stale = reference.stale()
    assert not stale, "\n".join(f"{p} is stale: run `make docs`" for p in stale)


def test_a_stale_page_is_named_with_the_command_to_run(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert reference.main(["--root", str(tmp_path)]) == 0
    assert reference.main(["--root", str(tmp_path), "--check"]) == 0
    page = tmp_path / reference.CONFIG_PAGE
    page.write_text(page.read_text(encoding="utf-8").replace("| `export.watch` |", "| x |"),
                    encoding="utf-8")
    capsys.readouterr()
    assert reference.main(["--root", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert str(reference.CONFIG_PAGE) in err and "make docs" in err
    assert str(reference.CLI_PAGE) not in err


def test_the_pages_do_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    narrow = reference.pages()
    monkeypatch.setenv("COLUMNS", "250")
    assert reference.pages() == narrow
