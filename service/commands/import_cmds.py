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
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from connector.config import Config
from connector.i18n import _
from connector.model import STREAMS


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="pull AppManager's queues into the ERP once")
    p.add_argument("--once", action="store_true", required=True,
                   help="one cycle, then exit (the daemon `connector run` polls continuously)")
    p.add_argument("--stream", action="append", choices=STREAMS, metavar="STREAM",
                   help=f"only these streams ({', '.join(STREAMS)}); repeatable")
    p.add_argument("--from-id", type=int, default=None, metavar="N",
                   help="first set the stream's lastID mark to N (needs exactly one --stream); "
                        "for when AppManager's queue was reset")
    p.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                   help="with the daemon running, how long to wait for it to do the cycle "
                        "(default 600)")
    p.set_defaults(func=import_once)

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
    from connector.logsetup import configure_logging
    from service.commands import config_from

    cfg = config_from(args)
    configure_logging("debug" if args.debug else cfg.log.level, cfg.log.dir, cfg.log.format,
                      cfg.log.max_bytes, cfg.log.backups)
    return cfg


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
    text = (f"{name:<15} new {r.new:<5} delivered {r.delivered:<5} dead {r.dead:<3} "
            f"failed {r.failed:<3} malformed {r.malformed:<3}")
    if r.duplicates:
        text += f" already-there {r.duplicates}"
    if r.pages:
        text += f" mark {r.mark}"
    if r.error:
        text += f"\n  ERROR: {r.error}"
    return text


def _notice(stop: threading.Event) -> Callable[[int | None], None]:
    """Told when the work is handed to the daemon: says so, and lets Ctrl-C end the wait
    (the request is withdrawn) rather than kill the command."""

    def notice(pid: int | None) -> None:
        print(f"the daemon (process {pid}) is running: it does this now, one process writes "
              "to the ERP", flush=True)
        signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())

    return notice


def _refused(result: Any) -> bool:
    """Print why nothing was done (paused, busy, the daemon did not finish); True then."""
    if result.paused:
        print(_("connector: the import is paused (`connector resume import`); nothing done"),
              file=sys.stderr)
    elif result.busy:
        print(f"connector: {result.busy}; try again when it ends", file=sys.stderr)
    elif getattr(result, "refused", None):
        print(f"connector: {result.refused}", file=sys.stderr)
    elif result.error:
        print(f"connector: the daemon did not finish it: {result.error}", file=sys.stderr)
    else:
        return False
    return True


def _print_result(result: Any) -> bool:
    """Print a cycle's lines; True when it found problems."""
    rec = result.recovered
    if rec.delivered or rec.dead or rec.failed or rec.duplicates:
        print(_line("(retries)", rec))
    for name, r in result.streams.items():
        print(_line(name, r))
    return bool(result.problems)


def import_once(args: argparse.Namespace) -> int:
    from connector.app import Connector

    cfg = _setup(args)
    streams = args.stream or list(cfg.import_.appmanager.streams)
    if args.from_id is not None and len(streams) != 1:
        print("connector: --from-id needs exactly one --stream")
        return 2
    stop = _stop_on_signals()
    result = Connector(cfg).import_once(streams, from_id=args.from_id, wait=args.wait,
                                        stop=stop, notice=_notice(stop))
    if result.refused:
        print(f"connector: {result.refused}", file=sys.stderr)
        return 2
    if _refused(result):
        return 1
    if result.cycle is not None:
        _print_result(result.cycle)
    if result.legacy_left_to_daemon:
        print("legacy files: left to the running daemon")
    scan = result.legacy
    if scan is not None:
        print(f"legacy files: imported {len(scan.imported)}, quarantined "
              f"{len(scan.quarantined)}, waiting {len(scan.waiting) + len(scan.unstable)}; "
              f"records delivered {scan.records_delivered}, dead-lettered {scan.records_dead}")
    return 1 if result.problems else 0


def retry(args: argparse.Namespace) -> int:
    from connector.app import Connector

    cfg = _setup(args)
    stop = _stop_on_signals()
    connector = Connector(cfg)
    done = connector.retry(args.stream, wait=args.wait, stop=stop, notice=_notice(stop))
    if _refused(done):
        return 1
    res = done.result
    assert res is not None
    print(f"retried {res.delivered + res.duplicates + res.dead + res.failed}: delivered "
          f"{res.delivered + res.duplicates}, still refused {res.dead}, failed {res.failed}")
    for e in done.dead_letters:
        print(f"  {e.key} (queue id {e.last_queue_id}, attempts {e.attempts}): {e.last_error}")
    from service.commands.quarantine_cmds import who

    streams = [args.stream] if args.stream else list(STREAMS)
    connector.record_action("retry", who=who(), target=",".join(streams),
                            detail=f"delivered {res.delivered + res.duplicates}, still "
                                   f"refused {res.dead}, failed {res.failed}")
    return 1 if (res.dead or res.failed) else 0


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
