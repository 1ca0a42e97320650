"""The documentation keeps up with the code: every command is in the guides' command table
and explained in a guide, every command, argument and configuration key has a
description, the generated reference (docs/reference/) is what the code generates now,
every link between the documents resolves, and the README's set-up contract (make run,
make test) stands."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from service import reference

REPO = Path(__file__).resolve().parents[2]
GUIDES = REPO / "docs" / "guide"


def _top_commands() -> list[str]:
    parser = reference.cli_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_every_command_is_in_the_guides_command_table() -> None:
    index = (GUIDES / "README.md").read_text(encoding="utf-8")
    missing = [name for name in _top_commands() if f"| `{name}" not in index]
    assert not missing, f"commands missing from the table of docs/guide/README.md: {missing}"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_is_explained_in_a_guide() -> None:
    pages = "\n".join(p.read_text(encoding="utf-8") for p in sorted(GUIDES.glob("*.md"))
                      if p.name != "README.md")
    missing = [name for name in _top_commands() if f"connector {name}" not in pages]
    assert not missing, f"commands no page of docs/guide/ explains: {missing}"


def test_help_lists_every_command(capsys) -> None:  # type: ignore[no-untyped-def]
    parser = reference.cli_parser()
    parser.print_help()
    out = capsys.readouterr().out
    for name in ("run", "check-config", "validate", "layouts", "template", "export", "import",
                 "retry", "status", "sandbox", "db", "service", "dropbox", "logs"):
        assert name in out


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


# --- links -----------------------------------------------------------------------------------

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~)")


def _documents() -> list[Path]:
    return [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").rglob("*.md"))]


def _outside_code(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line) if not line.startswith("#") else line)
    return lines


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    seen: dict[str, int] = {}
    found = set()
    for line in _outside_code(path.read_text(encoding="utf-8")):
        m = re.match(r"#{1,6} (.*)", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def test_every_link_between_the_documents_resolves() -> None:
    broken = []
    for doc in _documents():
        for line in _outside_code(doc.read_text(encoding="utf-8")):
            for target in _LINK.findall(line):
                if re.match(r"[a-z]+:", target):
                    continue  # https:, mailto:
                file, _, anchor = target.partition("#")
                dest = (doc.parent / file).resolve() if file else doc
                if not dest.exists():
                    broken.append(f"{doc.relative_to(REPO)}: {target} (no such file)")
                elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                    broken.append(f"{doc.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_stays_short() -> None:
    """The README says what the connector is and where to read on; the manual is docs/."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 160, f"README.md has {lines} lines; move the detail into docs/guide/"
