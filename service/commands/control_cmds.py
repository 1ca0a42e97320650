"""connector pause [export|import] | resume [export|import]: no part means both.

A pause is kept in the state store (connector.controls), so the running daemon honours it
within one cycle, whichever process wrote it, and it holds across restarts until resumed:
a paused export keeps watching the export folder and lets files settle but publishes
nothing; a paused import polls nothing and writes nothing to the ERP (the legacy reader
with it). Each pause and resume is in the operators' actions log, with who did it.
"""

from __future__ import annotations

import argparse

from connector.i18n import _
from service.commands import who

PARTS = ("export", "import")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, func, text in (
            ("pause", pause, "stop publishing (export) or importing (import) until resumed"),
            ("resume", resume, "resume what `connector pause` stopped")):
        p = sub.add_parser(name, help=text)
        p.add_argument("part", nargs="?", choices=PARTS, default=None,
                       help="export or import (default: both)")
        p.set_defaults(func=func)


def pause(args: argparse.Namespace) -> int:
    from connector.app import Connector
    from service.commands import setup

    cfg, store = setup(args)
    connector = Connector(cfg, store=store)
    for part in [args.part] if args.part else PARTS:
        if connector.pause(part, who=who()):
            print(_("{part}: paused; the running daemon stops within one cycle, and stays "
                    "paused after a restart until `connector resume {part}`").format(part=part))
        else:
            print(_("{part}: already paused").format(part=part))
    return 0


def resume(args: argparse.Namespace) -> int:
    from connector.app import Connector
    from service.commands import setup

    cfg, store = setup(args)
    connector = Connector(cfg, store=store)
    for part in [args.part] if args.part else PARTS:
        if connector.resume(part, who=who()):
            print(_("{part}: resumed").format(part=part))
        else:
            print(_("{part}: was not paused").format(part=part))
    return 0
