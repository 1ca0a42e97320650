"""connector status [--json]: facts from the state store, with no daemon needed."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="what is published, pending, quarantined, dead-lettered, failing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=status)


def status(args: argparse.Namespace) -> int:
    from connector import status as st
    from connector.app import Connector
    from service.commands import config_from

    facts = Connector(config_from(args)).status()
    print(json.dumps(facts, indent=2, default=str) if args.json else st.render(facts))
    return 0
