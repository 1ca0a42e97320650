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
from typing import Any

from connector.config import Config
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


def _lock(cfg: Config, role: str) -> Any:
    """The instance lock for this command, or the AlreadyRunning that says who holds it."""
    from connector.oslock import AlreadyRunning, InstanceLock

    lock = InstanceLock(cfg.state_dir, role=role)
    try:
        lock.acquire()
    except AlreadyRunning as busy:
        return busy
    return lock


def _ask_daemon(cfg: Config, busy: Any, kind: str, args: dict[str, Any],
                wait: float) -> dict[str, Any] | None:
    """Hand the work to the running daemon and wait for what it did; None (after printing
    why) when it cannot be handed over."""
    from connector.importing.handover import Handover
    from connector.oslock import probe
    from connector.state import StateStore

    if not busy.daemon:
        print(f"connector: {busy}; try again when it ends", file=sys.stderr)
        return None
    print(f"the daemon (process {busy.pid}) is running: it does this now, one process writes "
          "to the ERP", flush=True)
    store = StateStore(cfg.state_dir)
    handover = Handover(store)
    request = handover.ask(kind, args)
    done = handover.wait(request, timeout=wait, daemon_alive=lambda: probe(cfg.state_dir)[0],
                         stop=_stop_on_signals(signal.SIGINT))
    if done.error:
        print(f"connector: the daemon did not finish it: {done.error}", file=sys.stderr)
        return None
    return done.result or {}


def _print_result(result: Any) -> bool:
    """Print a cycle's lines; True when it found problems."""
    rec = result.recovered
    if rec.delivered or rec.dead or rec.failed or rec.duplicates:
        print(_line("(retries)", rec))
    for name, r in result.streams.items():
        print(_line(name, r))
    return bool(result.problems)


def import_once(args: argparse.Namespace) -> int:
    from connector.app import build_importer, build_sink, legacy_once
    from connector.importing.poller import CycleResult, StreamResult
    from connector.state import StateStore

    cfg = _setup(args)
    streams = args.stream or list(cfg.import_.appmanager.streams)
    if args.from_id is not None and len(streams) != 1:
        print("connector: --from-id needs exactly one --stream")
        return 2
    lock = _lock(cfg, "import --once")
    if not hasattr(lock, "release"):  # the daemon (or another command) holds it
        if args.from_id is not None and lock.daemon:
            print("connector: --from-id moves the stream's mark, which the running daemon "
                  f"moves too: stop the daemon first (process {lock.pid}; `connector service "
                  "stop`), run this, then start it again", file=sys.stderr)
            return 2
        got = _ask_daemon(cfg, lock, "import", {"streams": streams}, args.wait)
        if got is None:
            return 1
        result = CycleResult(StreamResult(**got["recovered"]),
                             {k: StreamResult(**v) for k, v in got.get("streams", {}).items()})
        problems = _print_result(result)
        if cfg.import_.legacy.enabled or cfg.import_.source in ("legacy", "both"):
            print("legacy files: left to the running daemon")
        return 1 if problems else 0
    try:
        store = StateStore(cfg.state_dir)
        stop = _stop_on_signals()
        sink = build_sink(cfg)
        im = cfg.import_
        problems = False
        try:
            if im.source in ("api", "both"):
                importer = build_importer(cfg, store, stop, sink=sink)
                try:
                    if args.from_id is not None:
                        importer.journal.set_mark(streams[0], args.from_id)
                    result = importer.run_cycle(streams)
                finally:
                    importer.close()
                problems = _print_result(result)
            if im.legacy.enabled or im.source in ("legacy", "both"):
                scan = legacy_once(cfg, store, stop, sink=sink)
                print(f"legacy files: imported {len(scan.imported)}, quarantined "
                      f"{len(scan.quarantined)}, waiting {len(scan.waiting) + len(scan.unstable)}; "
                      f"records delivered {scan.records_delivered}, dead-lettered {scan.records_dead}")
                problems = problems or bool(scan.quarantined or scan.records_dead)
        finally:
            sink.close()
    finally:
        lock.release()
    return 1 if problems else 0


def retry(args: argparse.Namespace) -> int:
    from connector.app import build_sink
    from connector.importing.journal import journal_for
    from connector.importing.poller import Importer, StreamResult
    from connector.state import StateStore

    cfg = _setup(args)
    streams = [args.stream] if args.stream else list(STREAMS)
    lock = _lock(cfg, "retry")
    if not hasattr(lock, "release"):
        got = _ask_daemon(cfg, lock, "retry", {"streams": streams}, args.wait)
        if got is None:
            return 1
        res = StreamResult(**got["recovered"])
        journal = journal_for(cfg, StateStore(cfg.state_dir))
    else:
        try:
            store = StateStore(cfg.state_dir)
            journal = journal_for(cfg, store)
            sink = build_sink(cfg)
            try:
                res = Importer(None, journal, sink, store).redeliver(StreamResult("retry"),
                                                                    streams, force=True)
            finally:
                sink.close()
        finally:
            lock.release()
    print(f"retried {res.delivered + res.duplicates + res.dead + res.failed}: delivered "
          f"{res.delivered + res.duplicates}, still refused {res.dead}, failed {res.failed}")
    for e in journal.dead_letters(args.stream):
        print(f"  {e.key} (queue id {e.last_queue_id}, attempts {e.attempts}): {e.last_error}")
    from connector.controls import record_action
    from service.commands.quarantine_cmds import who

    record_action(journal.store, "retry", who=who(), target=",".join(streams),
                  detail=f"delivered {res.delivered + res.duplicates}, still refused "
                         f"{res.dead}, failed {res.failed}")
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
