"""connector quarantine list|show ID|requeue ID|purge (ID | --older-than DAYS | --all --yes).

The work is connector.export.quarantine_admin's (the console calls the same functions);
here only the words. Each change is recorded as an action of "cli:<OS user>". Nothing asks
a question: `purge --all` wants `--yes` on the command line instead, so a script never hangs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from service.commands import setup, who


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("quarantine", help="list, read, requeue or purge quarantined files",
                       description="Files the export refused, and rows it held back, with "
                                   "their reports: list them, read a report, put a file back "
                                   "into the export folder to be judged again, or delete.")
    qs = p.add_subparsers(dest="quarantine_command", metavar="ACTION")
    ls = qs.add_parser("list", help="each quarantined file: ID, when, size, name, why")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=list_cmd)
    sh = qs.add_parser("show", help="a quarantined file's report")
    sh.add_argument("id", metavar="ID", help="as `quarantine list` shows it")
    sh.add_argument("--json", action="store_true", help="machine-readable output")
    sh.set_defaults(func=show_cmd)
    rq = qs.add_parser("requeue", help="move a file back into the export folder, to be "
                                       "judged again (never over a newer file of that name)")
    rq.add_argument("id", metavar="ID", help="as `quarantine list` shows it")
    rq.set_defaults(func=requeue_cmd)
    pg = qs.add_parser("purge", help="delete quarantined files and their reports")
    what = pg.add_mutually_exclusive_group(required=True)
    what.add_argument("id", metavar="ID", nargs="?", default=None, help="one entry")
    what.add_argument("--older-than", type=_days, metavar="DAYS", default=None,
                      help="those quarantined more than DAYS days ago")
    what.add_argument("--all", action="store_true", help="every entry (needs --yes)")
    pg.add_argument("--yes", action="store_true", help="confirm --all")
    pg.set_defaults(func=purge_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"expected a number of days, 0 or more, got {text!r}")
    return value


def size_text(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def list_cmd(args: argparse.Namespace) -> int:
    from connector.export import quarantine_admin as qa
    from connector.i18n import _
    from connector.timefmt import fmt_time

    cfg, store = setup(args)
    found = qa.entries(cfg, store)
    if args.json:
        print(json.dumps([dataclasses.asdict(e) for e in found], indent=2))
        return 0
    if not found:
        print(_("the quarantine is empty ({folder})").format(folder=cfg.export.quarantine))
        return 0
    heads = (_("ID"), _("WHEN"), _("SIZE"), _("NAME"))
    print(f"{heads[0]:<9} {heads[1]:<19} {heads[2]:>9}  {heads[3]}")
    for e in found:
        kind = {"held-back": _("held-back rows"), "report": _("report only")}.get(e.kind, "")
        extra = f"  [{kind}]" if kind else ""
        print(f"{e.id:<9} {fmt_time(e.at):<19} {size_text(e.size):>9}  {qa.one_line(e.name, 80)}"
              f"{extra}")
        if e.why:
            print(f"{'':<9} {e.why}")
        if e.delete_on:
            print(f"{'':<9} " + _("to be deleted on about {date} (export.quarantine_days)").format(
                date=fmt_time(e.delete_on)[:10]))
    print(_("{n} in quarantine; `connector quarantine show ID` reads a report").format(
        n=len(found)))
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    from connector.export import quarantine_admin as qa
    from connector.i18n import _
    from connector.timefmt import fmt_time

    cfg, store = setup(args)
    shown = qa.show(cfg, store, args.id)
    e = shown.entry
    if args.json:
        print(json.dumps({**dataclasses.asdict(e), "report_text": shown.report,
                          "truncated": shown.truncated}, indent=2))
        return 0
    print(_("{name} (ID {id}), quarantined {when}, {size}").format(
        name=qa.one_line(e.name, 200), id=e.id, when=fmt_time(e.at), size=size_text(e.size)))
    print(_("file: {path}").format(path=qa.one_line(e.path, 500)))
    print()
    sys.stdout.write(shown.report if shown.report.endswith("\n") else shown.report + "\n")
    if shown.truncated:
        print(_("... (the report is longer: read it whole at {path})").format(path=e.report))
    return 0


def requeue_cmd(args: argparse.Namespace) -> int:
    from connector.export import quarantine_admin as qa
    from connector.i18n import _

    cfg, store = setup(args)
    done = qa.requeue(cfg, store, args.id, who=who())
    print(_("{name} is back in the export folder ({dest}): the export judges it again").format(
        name=qa.one_line(done.entry.name, 200), dest=done.dest))
    return 0


def purge_cmd(args: argparse.Namespace) -> int:
    from connector.export import quarantine_admin as qa
    from connector.i18n import _

    cfg, store = setup(args)
    if args.all and not args.yes:
        print(_("connector: `quarantine purge --all` deletes every quarantined file and "
                "report: add --yes to confirm"), file=sys.stderr)
        return 2
    done = qa.purge(cfg, store, who=who(), ident=args.id, older_than_days=args.older_than,
                    everything=args.all)
    for e in done.entries:
        print(_("deleted {id} {name}").format(id=e.id, name=qa.one_line(e.name, 200)))
    print(_("{n} deleted from the quarantine").format(n=len(done.entries)))
    return 0
