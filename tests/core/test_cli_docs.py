"""Every command of the CLI is in the README's command table, and the README's set-up
contract (make run, make test) stands."""

from __future__ import annotations

import argparse
from pathlib import Path

from connector.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_every_command_is_documented() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name in sub.choices if f"| `{name}" not in readme]
    assert not missing, f"commands missing from the README's table: {missing}"
    assert "make run" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_help_lists_every_command(capsys) -> None:  # type: ignore[no-untyped-def]
    parser = build_parser()
    parser.print_help()
    out = capsys.readouterr().out
    for name in ("run", "check-config", "validate", "layouts", "template", "export", "import",
                 "retry", "status", "sandbox", "db", "service", "dropbox", "logs"):
        assert name in out
