"""connector export --once [--entity LAYOUT ...] [--full|--changed] [--dry-run].

Publishing takes the instance lock, as the daemon does: one process publishes. When the
daemon holds it, its export loop publishes what the export folder holds (within
export.settle_seconds), so this command leaves publishing to it: the SQL extraction (its
own lock) and --dry-run (which publishes nothing) still run here.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from connector.i18n import _
from connector.logsetup import printable
from service.progress import Progress, wanted


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="publish what the export folder holds now (and run SQL extracts)")
    p.add_argument("--once", action="store_true",
                   help="one run, then exit (needed: the daemon `connector run` exports "
                        "continuously)")
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
    p.set_defaults(func=export_once, mode="full", command_parser=p)


def export_once(args: argparse.Namespace) -> int:
    from connector.app import Connector
    from service.commands import config_from, needs_once, setup_logging

    if not args.once:
        return needs_once(args, "export")
    cfg = config_from(args)
    setup_logging(args, cfg)
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
    with Progress(_("exporting"), wanted(args)) as bar:
        lines = OutcomeLines(connector.store, bar)
        result = connector.export_once(max_wait=args.wait, on_outcome=lines)
    if result.paused:
        print(_("publishing: the export is paused (`connector resume export`); nothing "
                "published"))
        return 1
    if result.busy:
        print(_("connector: {reason}; try again when it ends").format(reason=result.busy),
              file=sys.stderr)
        return 1
    if result.daemon_pid is not None:
        print(_("publishing: left to the running daemon (process {pid}), which publishes "
                "what the export folder holds as soon as each file has settled; `connector "
                "status` shows the outcome").format(pid=result.daemon_pid))
        return 0 if ok else 1
    for rel in result.left:  # still being written after --wait: the next run takes them
        print(_("waiting   {file}: still being written; the next run takes it").format(file=rel))
    print(result.summary() + (_(", waiting {n}").format(n=len(result.left))
                              if result.left else ""))
    return 0 if ok and result.ok else 1


class OutcomeLines:
    """One line per file as it is done, on stdout; the progress bar follows."""

    def __init__(self, store: Any, bar: Progress) -> None:
        from connector.export.journal import ExportJournal
        from connector.export.verdicts import Verdicts

        self.journal = ExportJournal(store)
        self.verdicts = Verdicts(store)
        self.bar = bar
        self.done = 0

    def __call__(self, o: Any, left: int) -> None:
        self.done += 1
        self.bar.update(self.done, self.done + left, o.source)
        if o.outcome == "published":
            text = _("published {file} -> {dest} ({rows} rows)").format(
                file=o.source, dest=f"{o.folder}/{o.name}", rows="-" if o.rows is None
                else o.rows)
            held = [v for v in self.verdicts.all()
                    if (v["folder"], v["name"]) == (o.folder, o.name) and v["held_back"]]
            for v in held:
                text += "\n" + _("  held back {n} bad rows: {path}").format(
                    n=v["held_back"], path=v["held_report"])
        elif o.outcome == "unchanged":
            text = _("unchanged {file}: the same content is already published").format(
                file=o.source)
        elif o.outcome == "quarantined":
            text = _("quarantined {file}: {error}").format(file=o.source, error=o.error)
            report = next((q["report"] for q in self.journal.quarantine_list()
                           if q["source"] == o.source), None)
            if report:
                text += "\n" + _("  report: {path}").format(path=report)
        else:
            text = f"{o.outcome} {o.source}"
        for line in text.split("\n"):
            print(printable(line), flush=True)
