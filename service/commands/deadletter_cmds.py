"""connector deadletters list [--all] | show ID | discard ID (beside `connector retry`).

The work is connector.importing.deadletters' (the console calls the same functions); here
only the words. A discard is recorded as an action of "cli:<OS user>"; the record stays in
the journal, shown by `list --all`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from connector.model import STREAMS
from service.commands import setup, who


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("deadletters", help="list, read or discard dead-lettered records",
                       description="Records the ERP refused, or whose ERP write keeps failing: "
                                   "they are retried with backoff (`connector retry` retries "
                                   "them now). Discard one that must never be written.")
    ds = p.add_subparsers(dest="deadletters_command", metavar="ACTION")
    ls = ds.add_parser("list", help="each dead letter: stream, record id, when, reason, attempts")
    ls.add_argument("--all", action="store_true", help="the discarded ones too")
    ls.add_argument("--stream", choices=STREAMS, metavar="STREAM", default=None,
                    help="only this stream")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=list_cmd)
    sh = ds.add_parser("show", help="a dead letter's reason and payload")
    sh.add_argument("id", metavar="ID", help="<stream>/<record id> as `deadletters list` "
                                             "shows it (the record id alone when unique)")
    sh.add_argument("--json", action="store_true", help="machine-readable output")
    sh.set_defaults(func=show_cmd)
    dc = ds.add_parser("discard", help="never retry this record (it stays in the journal)")
    dc.add_argument("id", metavar="ID", help="<stream>/<record id>")
    dc.set_defaults(func=discard_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def list_cmd(args: argparse.Namespace) -> int:
    from connector.i18n import _
    from connector.importing import deadletters as dl
    from connector.timefmt import fmt_time

    _cfg, store = setup(args)
    found = dl.letters(store, include_discarded=args.all, stream=args.stream)
    if args.json:
        print(json.dumps([dataclasses.asdict(d) for d in found], indent=2))
        return 0
    if not found:
        print(_("no dead letters"))
        return 0
    for d in found:
        print(f"{d.id}  {fmt_time(d.at)}  {_state(d.state)}  "
              + _("attempts {n}").format(n=d.attempts))
        if d.reason:
            print(f"    {d.reason}")
    live = sum(d.state != "discarded" for d in found)
    print(_("{n} dead letter(s); `connector retry` writes them again now, `connector "
            "deadletters discard ID` gives one up").format(n=live))
    return 0


def _state(state: str) -> str:
    from connector.i18n import _

    words = {"dead": _("refused by the ERP"), "failing": _("ERP write failing"),
             "discarded": _("discarded")}
    return words.get(state, state)


def show_cmd(args: argparse.Namespace) -> int:
    from connector.i18n import _
    from connector.importing import deadletters as dl
    from connector.timefmt import fmt_time

    _cfg, store = setup(args)
    shown = dl.show(store, args.id)
    d = shown.letter
    if args.json:
        print(json.dumps({**dataclasses.asdict(d), "reason": shown.reason,
                          "payload": shown.payload, "truncated": shown.truncated}, indent=2))
        return 0
    print(_("{id}: {state}, {n} attempt(s), received {received}, last tried {at}").format(
        id=d.id, state=_state(d.state), n=d.attempts, received=fmt_time(d.received_at),
        at=fmt_time(d.at)))
    if d.next_retry_at:
        print(_("next retry: {at}").format(at=fmt_time(d.next_retry_at)))
    print(_("reason: {reason}").format(reason=shown.reason or "-"))
    print(_("payload:"))
    print(shown.payload)
    if shown.truncated:
        print(_("... (the payload is longer; `--json` does not show more)"))
    return 0


def discard_cmd(args: argparse.Namespace) -> int:
    from connector.i18n import _
    from connector.importing import deadletters as dl

    _cfg, store = setup(args)
    d = dl.discard(store, args.id, who=who())
    print(_("{id} discarded: it will not be written to the ERP; `connector deadletters list "
            "--all` still shows it").format(id=d.id))
    return 0
