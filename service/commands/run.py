"""connector run: the daemon in the foreground (what the services start).

service/runner.py owns the process life (lock, signals, sd_notify, reload, status
HTTP); this module only parses the command line.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run the daemon in the foreground")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from service.runner import run_daemon

    return run_daemon(args.config, debug=args.debug)
