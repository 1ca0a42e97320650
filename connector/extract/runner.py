"""One extraction run: every selected job, from the ERP query to the watch folder.

Per tracciato: stream the query, format each block of rows (formats.rowformat), write it to
`<layout>.dat.part` in the watch folder (a temporary file outside it on a dry run),
while hashing every row into an order-independent fingerprint and tracking CHIAVE
repeats (formats' KeyTracker). Then judge:
- any broken rule or repeated CHIAVE: nothing is handed over (the .part is removed),
  every problem is reported, the publish log does not move;
- a changed run and the same fingerprint as the last publish: skipped;
- otherwise os.replace makes `<layout>.dat` appear in the watch folder and the publish
  log remembers it (fingerprint in the state store, the file itself under state_dir).
  The export pipeline takes it from there (validate, stage, publish, archive).
A dry run also runs the formats validator over each generated file and diffs it key by
key against the last publish, and prints per tracciato the rows, the keys added,
changed and removed, and every problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, TextIO, cast

import structlog

from connector import metrics
from connector.config import Config
from connector.errors import ConfigError, ConnectorError, TransientError
from connector.extract.jobs import Job, load_sql, select_jobs, validated
from connector.extract.keystore import (
    PublishLog,
    diff_files,
    ensure_schema,
    iter_keyed_lines,
)
from connector.extract.lock import RunLock
from connector.extract.media import run_media
from connector.extract.outcome import ExtractResult, Outcome, render_report
from connector.extract.params import ParamError, resolve_params
from connector.fsutil import AtomicFile
from connector.ports import ErpDatabase, MediaDownloader
from connector.state import StateStore
from formats import get_layout, validate_stream
from formats.keys import KeyTracker
from formats.rowformat import PlanError, compile_plan, format_block

log = structlog.get_logger(__name__)

BOM = b"\xef\xbb\xbf"
MODES = ("full", "changed")


@dataclass(frozen=True)
class ExtractSources:
    """The adapters a run talks through, each built when the run needs it (connector/app.py
    extract_sources): the ERP database and the image downloader; both are closed at the
    run's end."""

    database: Callable[[], ErpDatabase]
    downloader: Callable[[], MediaDownloader]


def run_once(cfg: Config, store: StateStore, sources: ExtractSources, *, mode: str = "full",
             entities: list[str] | None = None, dry_run: bool = False,
             out: TextIO | None = sys.stdout, trigger: str = "manual",
             stop: threading.Event | None = None,
             beat: Callable[[], None] | None = None) -> ExtractResult:
    """Run the selected jobs once (see the module docstring); ExtractBusy if a run holds
    the lock, ConfigError for a bad extract section or unknown entity.

    `beat` (the daemon's heartbeat) is called for every block of rows and every image, so
    a long extraction does not look like a hung loop."""
    if mode not in MODES:
        raise ConfigError([f"mode: must be full or changed, got {mode!r}"])
    validated(cfg)
    jobs = select_jobs(cfg, entities)
    ensure_schema(store)
    lock = RunLock(cfg.state_dir).hold(mode=mode, trigger=trigger,
                                       entities=[j.name for j in jobs] if entities else None,
                                       dry_run=dry_run)
    with lock:
        started = time.time()
        run_id = store.execute(
            "INSERT INTO extract_runs (started, mode, trigger, entities, dry_run) "
            "VALUES (?, ?, ?, ?, ?)",
            (started, mode, trigger, json.dumps([j.name for j in jobs]), int(dry_run))).lastrowid
        try:
            outcomes = _run_jobs(cfg, store, sources, jobs, mode=mode, dry_run=dry_run,
                                 stop=stop, beat=beat or _no_beat)
        except BaseException as exc:
            store.execute("UPDATE extract_runs SET ended = ?, ok = 0, summary = ? WHERE id = ?",
                          (time.time(), json.dumps({"error": str(exc)}), run_id))
            raise
        ok = all(o.ok for o in outcomes)
        report = render_report(outcomes, mode=mode, dry_run=dry_run,
                               limit=cfg.extract.diff_list_limit)
        summary = {o.name: {"status": o.status, "rows": o.rows, "message": o.message,
                            "added": o.diff.added if o.diff else None,
                            "changed": o.diff.changed if o.diff else None,
                            "removed": o.diff.removed if o.diff else None}
                   for o in outcomes}
        store.execute("UPDATE extract_runs SET ended = ?, ok = ?, summary = ? WHERE id = ?",
                      (time.time(), int(ok), json.dumps(summary), run_id))
    if not dry_run:
        metrics.inc("connector_extract_runs_total", help="SQL extraction runs",
                    mode=mode, result="ok" if ok else "failed")
        if ok:
            metrics.mark_success("extract")
    for o in outcomes:
        if not o.ok:
            store.record_event("error", "extract", f"{o.name}: {o.message}")
    log.info("extract run done", mode=mode, dry_run=dry_run, trigger=trigger, ok=ok,
             tracciati={o.name: o.status for o in outcomes})
    if out is not None:
        out.write(report)
        out.flush()
    return ExtractResult(ok, report, mode, dry_run, outcomes)


def _no_beat() -> None:
    pass


def _run_jobs(cfg: Config, store: StateStore, sources: ExtractSources, jobs: list[Job], *,
              mode: str, dry_run: bool, stop: threading.Event | None,
              beat: Callable[[], None]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    db = sources.database() if jobs else None
    keys = PublishLog(store, cfg.state_dir)
    try:
        for job in jobs:
            if stop is not None and stop.is_set():
                outcomes.append(Outcome(job.name, status="failed",
                                        message="not run: the connector is stopping"))
                continue
            t0 = time.monotonic()
            assert db is not None
            if job.cfg is None:
                outcome = run_media(cfg, store, keys, db, sources.downloader, mode=mode,
                                    dry_run=dry_run, stop=stop, beat=beat)
            else:
                outcome = Outcome(job.name)
                try:
                    _run_table(cfg, keys, db, job, outcome, mode=mode, dry_run=dry_run,
                               beat=beat)
                except ConnectorError as exc:
                    outcome.status = "failed"
                    outcome.message = str(exc)
                    outcome.transient = isinstance(exc, TransientError)
                    log.error("extract job failed", job=job.name, error=str(exc))
                except OSError as exc:  # the watch folder or state_dir: full, gone, no rights
                    outcome.status = "failed"
                    outcome.message = (f"cannot write {exc.filename or 'a file'}: "
                                       f"{exc.strerror or exc}")
                    log.error("extract job failed", job=job.name, error=outcome.message)
            outcome.seconds = time.monotonic() - t0
            outcomes.append(outcome)
    finally:
        if db is not None:
            db.close()
    return outcomes


def _run_table(cfg: Config, keys: PublishLog, db: ErpDatabase, job: Job,
               outcome: Outcome, *, mode: str, dry_run: bool,
               beat: Callable[[], None] = _no_beat) -> None:
    assert job.cfg is not None
    jc = job.cfg
    layout = get_layout(jc.layout)
    sql = load_sql(jc.query, jc.query_file, job.path)
    try:
        params = resolve_params(db.param_names(sql), company=cfg.company,
                                declared={**cfg.extract.params, **jc.params})
    except ParamError as exc:
        raise ConfigError([f"{job.path}: {exc}"]) from None
    what = f"{layout.name} ({job.path})"
    name = layout.filename
    with db.stream(sql, params, what) as (cols, parts):
        try:
            plan = compile_plan(layout, cols, mapping=jc.columns, key_template=jc.key,
                                company=cfg.company, length_policy=cfg.export.length_policy)
        except PlanError as exc:
            raise ConfigError([f"{job.path}: {exc}"]) from None
        sink: AtomicFile | None = None
        fp: IO[bytes]
        if dry_run:
            # an anonymous file (gone when closed) in state_dir: sized for the connector, never tmpfs
            fp = tempfile.TemporaryFile(prefix="extract-", dir=cfg.state_dir)  # noqa: SIM115
        else:
            # `<name>.part`: never taken by the watcher, and a crashed run's is replaced.
            sink = AtomicFile(cfg.export.watch / name, tmp_name=f"{name}.part")
            fp = sink.fp
        try:
            written = _write(plan, _beating(parts, beat), fp, outcome)
            if written.keys.needs_confirmation and not dry_run:  # dry run: the validator says it
                for line, key, first in written.keys.repeats():
                    outcome.problems.add(line, "CHIAVE", key, f"duplicate CHIAVE: the same key "
                                         f"is already on line {first}")
            last = keys.last(layout.name)
            outcome.unchanged = last is not None and (last.rows, last.fingerprint) == (
                written.rows, written.fingerprint)
            if dry_run:
                fp.flush()
                fp.seek(0)
                outcome.validation = validate_stream(cast(BinaryIO, fp), layout,
                                                     length_policy=cfg.export.length_policy)
                last_file = keys.last_file(name) if last is not None else None
                with open(last_file, "rb") if last_file else contextlib.nullcontext() as old:
                    outcome.diff = diff_files(old, fp, keyed=plan.keyed,
                                              limit=cfg.extract.diff_list_limit)
            _decide(outcome, keys, sink, written, mode=mode, dry_run=dry_run, name=name,
                    layout_name=layout.name)
        finally:
            if sink is not None and not sink.fp.closed:
                sink.discard()
            if dry_run:
                fp.close()


@dataclass
class _Written:
    rows: int
    fingerprint: int
    sha256: str
    keys: _KeyCheck


class _KeyCheck:
    """CHIAVE uniqueness at almost no cost when the query returns rows in key order.

    While every key is greater than the one before, no key can repeat, and checking that
    is one C-level pass per block. At the first key out of order, the keys written so
    far are read back from the file into formats' KeyTracker (bounded memory) and every
    later block goes through it too.
    """

    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        self.last: str | None = None
        self.tracker: KeyTracker | None = None

    def add_block(self, keys: list[str], line_nos: list[int]) -> None:
        if self.tracker is None:
            ordered = all(map(operator.lt, keys, keys[1:]))
            if ordered and (self.last is None or self.last < keys[0]):
                self.last = keys[-1]
                return
            self.tracker = KeyTracker(size_hint=1 << 24)  # 1M slots (8 MiB) to start
            pos = self.fp.tell()
            self.fp.flush()
            for k, _, n in iter_keyed_lines(self.fp, True):
                self.tracker.add(k, n)
            self.fp.seek(pos)
        if len(line_nos) == line_nos[-1] - line_nos[0] + 1:
            self.tracker.add_block(keys, line_nos[0])
        else:
            for k, n in zip(keys, line_nos, strict=True):
                self.tracker.add(k, n)

    @property
    def needs_confirmation(self) -> bool:
        return self.tracker is not None and self.tracker.needs_confirmation

    def repeats(self) -> list[tuple[int, str, int]]:
        assert self.tracker is not None
        self.fp.flush()
        return self.tracker.confirm((n, k) for k, _, n in iter_keyed_lines(self.fp, True))


def _beating(parts: Iterator[Any], beat: Callable[[], None]) -> Iterator[Any]:
    for part in parts:
        beat()
        yield part


def _write(plan: Any, parts: Any, fp: IO[bytes], outcome: Outcome) -> _Written:
    """Format and write every block; the row fingerprint and the CHIAVE check on the way.

    The fingerprint is the sum of the CRC-32 and, apart, of the Adler-32 of every line:
    independent of row order, and two C-level passes per block.
    """
    sha = hashlib.sha256()
    head = BOM + (plan.header + "\r\n").encode("utf-8")
    fp.write(head)
    sha.update(head)
    keycheck = _KeyCheck(fp)
    line_no = 2
    rows = 0
    sum_crc = sum_adler = 0
    crc, adler = zlib.crc32, zlib.adler32
    for part in parts:
        block = format_block(plan, part, line_no, outcome.problems)
        line_no += len(part)
        if not block.rows:
            continue
        data = (block.text + "\r\n").encode("utf-8")
        fp.write(data)
        sha.update(data)
        raws = data.split(b"\r\n")
        raws.pop()
        sum_crc += sum(map(crc, raws))
        sum_adler += sum(map(adler, raws))
        if plan.keyed:
            keycheck.add_block(block.keys, block.line_nos)
        rows += block.rows
    outcome.rows = rows
    outcome.warnings = plan.warnings
    return _Written(rows, sum_crc | sum_adler << 64, sha.hexdigest(), keycheck)


def _decide(outcome: Outcome, keys: PublishLog, sink: AtomicFile | None, written: _Written, *,
            mode: str, dry_run: bool, name: str, layout_name: str) -> None:
    invalid = outcome.problems.count > 0 or (
        outcome.validation is not None and not outcome.validation.valid)
    if invalid:
        n = outcome.problems.count + (outcome.validation.violation_count
                                      if outcome.validation is not None else 0)
        outcome.status = "invalid"
        outcome.message = (f"{n} problem{'s' if n != 1 else ''}: "
                           + ("nothing would be published" if dry_run else "nothing published"))
        return
    if outcome.rows == 0:
        outcome.status = "empty"
        outcome.message = "the query returned no rows: no file is written"
        return
    if dry_run:
        outcome.status = "dry-run"
        outcome.message = ("unchanged: a changed run would skip it" if outcome.unchanged
                           else "would be published")
        return
    if mode == "changed" and outcome.unchanged:
        outcome.status = "unchanged"
        outcome.message = "no row differs from the last publish: skipped"
        return
    assert sink is not None
    sink.fp.flush()
    keys.keep(sink.tmp, name)
    target = sink.commit()
    keys.record(layout_name, rows=written.rows, fingerprint=written.fingerprint,
                sha256=written.sha256, mode=mode)
    outcome.status = "published"
    outcome.message = f"handed to the export pipeline as {target.name}" + (
        " (same rows as the last publish)" if outcome.unchanged else "")
    outcome.files.append(target.name)
    metrics.inc("connector_extract_rows_total", outcome.rows, help="rows handed over",
                layout=layout_name)
