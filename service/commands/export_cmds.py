"""connector export --once [--entity LAYOUT ...] [--full|--changed] [--dry-run].

Publishing takes the instance lock, as the daemon does: one process publishes. When the
daemon holds it, its export loop publishes what the export folder holds (within
export.settle_seconds), so this command leaves publishing to it: the SQL extraction (its
own lock) and --dry-run (which publishes nothing) still run here.
"""

from __future__ import annotations

import argparse
import sys

from connector.i18n import _


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="publish what the export folder holds now (and run SQL extracts)")
    p.add_argument("--once", action="store_true", required=True,
                   help="one run, then exit (the daemon does this continuously)")
    p.add_argument("--entity", action="append", metavar="LAYOUT", default=None,
                   help="SQL extract: only these tracciati (repeatable)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="SQL extract: every tracciato (default)")
    mode.add_argument("--changed", dest="mode", action="store_const", const="changed",
                      help="SQL extract: only tracciati whose rows changed since the last publish")
    p.add_argument("--dry-run", action="store_true",
                   help="judge and diff everything, publish nothing")
    p.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for files still being written (default 60)")
    p.set_defaults(func=export_once, mode="full")


def export_once(args: argparse.Namespace) -> int:
    from connector.app import Connector
    from connector.logsetup import configure_logging
    from service.commands import config_from

    cfg = config_from(args)
    configure_logging("debug" if args.debug else cfg.log.level, cfg.log.dir, cfg.log.format,
                      cfg.log.max_bytes, cfg.log.backups)
    connector = Connector(cfg)
    ok = True
    extract_cfg = getattr(cfg, "extract", None)
    if extract_cfg is not None and extract_cfg.enabled:
        res = connector.extract_once(mode=args.mode, entities=args.entity,
                                     dry_run=args.dry_run, out=sys.stdout)
        ok = ok and res.ok
    elif args.entity:
        print("connector: --entity applies to SQL extracts (extract.enabled is false)",
              file=sys.stderr)
        return 2
    if args.dry_run:
        judged = connector.dry_run()
        sys.stdout.write(judged.report)
        return 0 if judged.valid and ok else 1
    result = connector.export_once(max_wait=args.wait)
    if result.paused:
        print(_("publishing: the export is paused (`connector resume export`); nothing "
                "published"))
        return 1
    if result.busy:
        print(f"connector: {result.busy}; try again when it ends", file=sys.stderr)
        return 1
    if result.daemon_pid is not None:
        print(f"publishing: left to the running daemon (process {result.daemon_pid}), which "
              "publishes what the export folder holds as soon as each file has settled; "
              "`connector status` shows the outcome")
        return 0 if ok else 1
    print(result.summary())
    return 0 if ok and result.ok else 1
