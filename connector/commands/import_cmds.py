"""connector import --once [--stream S ...] [--from-id N] | retry [--stream S] | sandbox.

`import --once` runs one import cycle (crash leftovers and due retries first, then each
stream until its queue is drained) and exits 1 when anything was dead-lettered, failed,
was malformed, or a stream stopped. `retry` writes every dead-lettered or failed record to
the ERP now. `sandbox` serves the bundled AppManager sandbox until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading

from connector.config import STREAMS, Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="pull AppManager's queues into the ERP once")
    p.add_argument("--once", action="store_true", required=True,
                   help="one cycle, then exit (the daemon `connector run` polls continuously)")
    p.add_argument("--stream", action="append", choices=STREAMS, metavar="STREAM",
                   help=f"only these streams ({', '.join(STREAMS)}); repeatable")
    p.add_argument("--from-id", type=int, default=None, metavar="N",
                   help="first set the stream's lastID mark to N (needs exactly one --stream); "
                        "for when AppManager's queue was reset")
    p.set_defaults(func=import_once)

    r = sub.add_parser("retry", help="retry dead-lettered records now")
    r.add_argument("--stream", choices=STREAMS, metavar="STREAM", default=None,
                   help="only this stream")
    r.set_defaults(func=retry)

    s = sub.add_parser("sandbox", help="the AppManager sandbox server alone")
    s.add_argument("--host", default=None, help="listen address (default sandbox.host)")
    s.add_argument("--port", type=int, default=None, help="port (default sandbox.port)")
    s.set_defaults(func=sandbox)


def _setup(args: argparse.Namespace) -> Config:
    from connector.commands import config_from
    from connector.logsetup import configure_logging

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


def import_once(args: argparse.Namespace) -> int:
    from adapters.erp import build_sink
    from connector.importing.wiring import build_importer
    from connector.state import StateStore

    cfg = _setup(args)
    streams = args.stream or list(cfg.import_.appmanager.streams)
    if args.from_id is not None and len(streams) != 1:
        print("connector: --from-id needs exactly one --stream")
        return 2
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
            rec = result.recovered
            if rec.delivered or rec.dead or rec.failed or rec.duplicates:
                print(_line("(retries)", rec))
            for name, r in result.streams.items():
                print(_line(name, r))
            problems = bool(result.problems)
        if im.legacy.enabled or im.source in ("legacy", "both"):
            from connector.legacy.loop import run_once as legacy_once

            scan = legacy_once(cfg, store, stop, sink=sink)
            print(f"legacy files: imported {len(scan.imported)}, quarantined "
                  f"{len(scan.quarantined)}, waiting {len(scan.waiting) + len(scan.unstable)}; "
                  f"records delivered {scan.records_delivered}, dead-lettered {scan.records_dead}")
            problems = problems or bool(scan.quarantined or scan.records_dead)
    finally:
        sink.close()
    return 1 if problems else 0


def retry(args: argparse.Namespace) -> int:
    from adapters.erp import build_sink
    from connector.importing.poller import Importer, StreamResult
    from connector.importing.wiring import build_journal
    from connector.state import StateStore

    cfg = _setup(args)
    store = StateStore(cfg.state_dir)
    journal = build_journal(cfg, store)
    sink = build_sink(cfg)
    streams = [args.stream] if args.stream else list(STREAMS)
    try:
        res = Importer(None, journal, sink, store).redeliver(StreamResult("retry"), streams,
                                                            force=True)
    finally:
        sink.close()
    print(f"retried {res.delivered + res.duplicates + res.dead + res.failed}: delivered "
          f"{res.delivered + res.duplicates}, still refused {res.dead}, failed {res.failed}")
    for e in journal.dead_letters(args.stream):
        print(f"  {e.key} (queue id {e.last_queue_id}, attempts {e.attempts}): {e.last_error}")
    return 1 if (res.dead or res.failed) else 0


def sandbox(args: argparse.Namespace) -> int:
    import dataclasses

    from adapters.appmanager.sandbox_loop import start_server

    cfg = _setup(args)
    sb = cfg.sandbox
    if args.host or args.port is not None:
        sb = dataclasses.replace(sb, host=args.host or sb.host,
                                 port=sb.port if args.port is None else args.port)
        cfg = dataclasses.replace(cfg, sandbox=sb)
    stop = _stop_on_signals(signal.SIGINT)
    server = start_server(cfg)
    print(f"AppManager sandbox: {server.url}  (database {sb.db}; the key is sandbox.auth_key; "
          "Ctrl-C stops)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
    return 0
