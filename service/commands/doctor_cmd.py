"""connector doctor: the live system checked against the configuration (connector.doctor)."""

from __future__ import annotations

import argparse

from connector.i18n import _
from service.commands import config_from


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("doctor", help="check the live system: folders, Dropbox, AppManager, "
                       "the ERP database, ports; one line per check")
    p.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    from connector.doctor import render, run_checks

    cfg = config_from(args)
    checks = run_checks(cfg)
    print(render(checks))
    failed = sum(1 for c in checks if c.ok is False)
    warned = sum(1 for c in checks if c.ok is None)
    if failed:
        print(_("{failed} of {total} checks failed: fix them, then run `connector doctor` "
                "again").format(failed=failed, total=len(checks)))
        return 1
    if warned:
        print(_("no check failed; {warned} warning(s) to look at").format(warned=warned))
    else:
        print(_("every check passed"))
    return 0
