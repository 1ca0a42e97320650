"""connector import --once [--stream S ...] [--from-id N] | retry [--stream S] | sandbox.

`import --once` runs one import cycle (crash leftovers and due retries first, then each
stream until its queue is drained) and exits 1 when anything was dead-lettered, failed,
was malformed, or a stream stopped. `retry` writes every dead-lettered or failed record to
the ERP now. `sandbox` serves the bundled AppManager sandbox until Ctrl-C / SIGTERM.

`import --once` and `retry` take the instance lock, as the daemon does: one process writes
to the ERP. When the daemon holds it, they hand their work to it (connector.importing.
handover) and print what it did; `--from-id`, which moves a stream's mark under the
daemon's feet, is refused then.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from connector.config import Config
from connector.errors import in_words
from connector.i18n import _
from connector.model import STREAMS
from connector.timefmt import fmt_when
from service.progress import Progress, wanted


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="pull AppManager's queues into the ERP once")
    p.add_argument("--once", action="store_true",
                   help="one cycle, then exit (needed: the daemon `connector run` polls "
                        "continuously)")
    p.add_argument("--stream", action="append", choices=STREAMS, metavar="STREAM",
                   help=f"only these streams ({', '.join(STREAMS)}); repeatable")
    p.add_argument("--from-id", type=int, default=None, metavar="N",
                   help="first set the stream's lastID mark to N (needs exactly one --stream); "
                        "for when AppManager's queue was reset")
    p.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                   help="with the daemon running, how long to wait for it to do the cycle "
                        "(default 600)")
    p.set_defaults(func=import_once, command_parser=p)

    r = sub.add_parser("retry", help="retry dead-lettered records now")
    r.add_argument("--stream", choices=STREAMS, metavar="STREAM", default=None,
                   help="only this stream")
    r.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                   help="with the daemon running, how long to wait for it (default 600)")
    r.set_defaults(func=retry)

    s = sub.add_parser("sandbox", help="the AppManager sandbox server alone")
    s.add_argument("--host", default=None, help="listen address (default sandbox.host)")
    s.add_argument("--port", type=int, default=None, help="port (default sandbox.port)")
    s.set_defaults(func=sandbox)


def _setup(args: argparse.Namespace) -> Config:
    from service.commands import config_from, setup_logging

    cfg = config_from(args)
    setup_logging(args, cfg)
    return cfg


def _restoring_signals(command: Callable[[argparse.Namespace], int],
                       ) -> Callable[[argparse.Namespace], int]:
    """The command's SIGTERM and SIGINT handlers (set by _stop_on_signals and _notice) are
    undone when it returns: called in-process (tests, the console), it must not leave a
    handler that points at its finished stop event."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            return command(args)
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)

    return run


def _stop_on_signals(*signums: int) -> threading.Event:
    """A stop event that SIGTERM (and any of `signums`) sets instead of killing us."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGTERM, *signums):
        signal.signal(signum, on_signal)
    return stop


def _line(name: str, r: object) -> str:
    from connector.importing.poller import StreamResult

    assert isinstance(r, StreamResult)
    text = f"{name:<15} " + _("new {new:<5} delivered {delivered:<5} dead {dead:<3} failed "
                              "{failed:<3} malformed {malformed:<3}").format(
        new=r.new, delivered=r.delivered, dead=r.dead, failed=r.failed, malformed=r.malformed)
    if r.duplicates:
        text += " " + _("already-there {n}").format(n=r.duplicates)
    if r.pages:
        text += " " + _("mark {mark}").format(mark=r.mark)
    if r.error:
        text += "\n  " + _("STOPPED: {error}").format(error=in_words(r.error))
    return text


def _hint(cfg: Config, result: Any) -> str | None:
    """What to do when a stream could not reach AppManager: the sandbox of the default
    configuration answers only while the daemon (or `connector sandbox`) runs."""
    from connector.app import points_at_sandbox

    errors = [r.error for r in result.streams.values() if r.error]
    if not any("cannot reach" in e or "connection failed" in e for e in errors):
        return None
    url = cfg.import_.appmanager.url or ""
    if url and points_at_sandbox(cfg, url):
        return _("AppManager at {url} is the bundled sandbox, which runs only inside the "
                 "daemon (`make run` or `connector run`) or `connector sandbox`: start one of "
                 "them, then run this again").format(url=url)
    return _("AppManager cannot be reached at {url}: check import.appmanager.url and the "
             "network, then run this again").format(url=url or "-")


def _unreachable(cfg: Config) -> str | None:
    """Whether AppManager's host answers at all (one TCP connection, 3 s at most): when
    nothing listens there, one sentence at once rather than every stream retrying for
    seconds with the same failure."""
    import socket
    from urllib.parse import urlsplit

    url = cfg.import_.appmanager.url
    if not url or cfg.import_.appmanager.license_manager is not None:
        return None  # the License Manager says where: the cycle finds out
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    try:
        with socket.create_connection((parts.hostname, port), timeout=3):
            return None
    except OSError as exc:
        from connector.errors import network_reason

        reason = _(network_reason(exc))  # marked N_ in connector.errors
    from connector.app import points_at_sandbox

    if points_at_sandbox(cfg, url):
        return _("connector: AppManager cannot be reached at {url} ({reason}). That is the "
                 "bundled sandbox, which runs only inside the daemon (`make run` or "
                 "`connector run`) or `connector sandbox`: start one of them, then run this "
                 "again").format(url=url, reason=reason)
    return _("connector: AppManager cannot be reached at {url} ({reason}): check "
             "import.appmanager.url and the network, then run this again").format(
        url=url, reason=reason)


def _summary(result: Any) -> str:
    """One line for the whole cycle."""
    rs = [result.recovered, *result.streams.values()]
    new = sum(r.new for r in rs)
    delivered = sum(r.delivered + r.duplicates for r in rs)
    dead = sum(r.dead for r in rs)
    failed = sum(r.failed for r in rs)
    malformed = sum(r.malformed for r in rs)
    stopped = sum(1 for r in result.streams.values() if r.error)
    if not (new or delivered or dead or failed or malformed or stopped):
        return _("nothing new: every stream is up to date")
    text = _("{new} new records, {delivered} written to the ERP").format(new=new,
                                                                         delivered=delivered)
    if dead:
        text += ", " + _("{n} refused by the ERP (dead letters: `connector status` lists "
                         "them, `connector retry` tries again)").format(n=dead)
    if failed:
        text += ", " + _("{n} not written yet (retried later)").format(n=failed)
    if malformed:
        text += ", " + _("{n} malformed, kept aside").format(n=malformed)
    if stopped:
        text += ", " + _("{n} stream(s) stopped").format(n=stopped)
    return text


def _notice(stop: threading.Event) -> Callable[[int | None], None]:
    """Told when the work is handed to the daemon: says so, and lets Ctrl-C end the wait
    (the request is withdrawn) rather than kill the command."""

    def notice(pid: int | None) -> None:
        print(_("the daemon (process {pid}) is running: it does this now, one process writes "
                "to the ERP").format(pid=pid), flush=True)
        signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())

    return notice


def _refused(result: Any) -> bool:
    """Print why nothing was done (paused, busy, the daemon did not finish); True then."""
    if result.paused:
        print(_("connector: the import is paused (`connector resume import`); nothing done"),
              file=sys.stderr)
    elif result.busy:
        print(_("connector: {reason}; try again when it ends").format(reason=result.busy),
              file=sys.stderr)
    elif getattr(result, "refused", None):
        print(f"connector: {result.refused}", file=sys.stderr)
    elif result.error:
        print(_("connector: the daemon did not finish it: {error}").format(error=result.error),
              file=sys.stderr)
    else:
        return False
    return True


def _print_result(result: Any, cfg: Config | None = None) -> bool:
    """Print a cycle's lines and its summary; True when it found problems."""
    rec = result.recovered
    if rec.delivered or rec.dead or rec.failed or rec.duplicates:
        print(_line("(retries)", rec))
    for name, r in result.streams.items():
        print(_line(name, r))
    print(_summary(result))
    hint = _hint(cfg, result) if cfg is not None else None
    if hint:
        print(hint)
    return bool(result.problems)


@_restoring_signals
def import_once(args: argparse.Namespace) -> int:
    from connector.app import Connector
    from service.commands import needs_once

    if not args.once:
        return needs_once(args, "import")
    cfg = _setup(args)
    streams = args.stream or list(cfg.import_.appmanager.streams)
    if args.from_id is not None and len(streams) != 1:
        print("connector: --from-id needs exactly one --stream")
        return 2
    stop = _stop_on_signals()
    with Progress(_("importing"), wanted(args)) as bar:

        def beat(importer: Any) -> None:  # once per page: the bar follows the stream in hand
            cur = importer.current
            if cur is not None:
                bar.update(cur.new + cur.delivered, None,
                           _("{stream}: {n} records").format(stream=cur.stream,
                                                             n=cur.new + cur.delivered))

        result = Connector(cfg).import_once(streams, from_id=args.from_id, wait=args.wait,
                                            stop=stop, notice=_notice(stop),
                                            precheck=lambda: _unreachable(cfg), beat=beat)
    if result.refused:
        print(f"connector: {result.refused}", file=sys.stderr)
        return 2
    if _refused(result):
        return 1
    if result.unreachable:
        print(result.unreachable, file=sys.stderr)
    if result.cycle is not None:
        _print_result(result.cycle, cfg)
    if result.legacy_left_to_daemon:
        print(_("legacy files: left to the running daemon"))
    scan = result.legacy
    if scan is not None:
        for name in scan.quarantined:
            print(_("quarantined legacy file {file}").format(file=name))
        print(_("legacy files: imported {imported}, quarantined {quarantined}, waiting "
                "{waiting}; records delivered {delivered}, dead-lettered {dead}").format(
            imported=len(scan.imported), quarantined=len(scan.quarantined),
            waiting=len(scan.waiting) + len(scan.unstable),
            delivered=scan.records_delivered, dead=scan.records_dead))
    return 1 if result.problems else 0


@_restoring_signals
def retry(args: argparse.Namespace) -> int:
    from connector.app import Connector

    cfg = _setup(args)
    stop = _stop_on_signals()
    connector = Connector(cfg)
    with Progress(_("retrying"), wanted(args)) as bar:

        def beat(res: Any) -> None:  # after each chunk written
            bar.update(res.delivered + res.duplicates + res.dead + res.failed)

        done = connector.retry(args.stream, wait=args.wait, stop=stop, notice=_notice(stop),
                               beat=beat)
    if _refused(done):
        return 1
    res = done.result
    assert res is not None
    print(_("retried {n}: delivered {delivered}, still refused {dead}, failed {failed}").format(
        n=res.delivered + res.duplicates + res.dead + res.failed,
        delivered=res.delivered + res.duplicates, dead=res.dead, failed=res.failed))
    for e in done.dead_letters:
        print("  " + _("{key} (queue id {queue_id}, attempts {attempts}, received {when}): "
                       "{error}").format(key=e.key, queue_id=e.last_queue_id,
                                         attempts=e.attempts, when=fmt_when(e.received_at),
                                         error=in_words(e.last_error)))
    from service.commands import who

    streams = [args.stream] if args.stream else list(STREAMS)
    connector.record_action("retry", who=who(), target=",".join(streams),
                            detail=f"delivered {res.delivered + res.duplicates}, still "
                                   f"refused {res.dead}, failed {res.failed}")
    return 1 if (res.dead or res.failed) else 0


@_restoring_signals
def sandbox(args: argparse.Namespace) -> int:
    import dataclasses

    from connector.app import start_sandbox

    cfg = _setup(args)
    sb = cfg.sandbox
    if args.host or args.port is not None:
        sb = dataclasses.replace(sb, host=args.host or sb.host,
                                 port=sb.port if args.port is None else args.port)
        cfg = dataclasses.replace(cfg, sandbox=sb)
    stop = _stop_on_signals(signal.SIGINT)
    server = start_sandbox(cfg)
    print(f"AppManager sandbox: {server.url}  (database {sb.db}; the key is sandbox.auth_key; "
          "Ctrl-C stops)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
    return 0
