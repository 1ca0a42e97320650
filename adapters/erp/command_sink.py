"""The command sink: an import program shipped with the ERP takes one record file at a time.

For each record we write a JSON file, run the configured argv (placeholders `{file}`,
`{stream}`, `{id}`, `{unique_id}`, `{key}`), and read the exit status:

- 0: accepted. The key goes into a small ledger (SQLite), so the same record is not
  handed to the program again: a later write returns `duplicate=True`.
- anything else: refused, a PermanentError carrying the end of stderr (the dead letter
  keeps it as the reason).
- no exit within `timeout_seconds`: the whole process group is killed and the outcome
  is unknown, a TransientError: the record is tried again later.

What can and cannot be guaranteed with an external program: the ledger row is written
*after* the program exits 0, so a crash (or a kill) in between leaves the program's
work done but unrecorded, and the next attempt runs the program again for the same
record. We cannot close that window from outside. What we do: the ledger records every
attempt before it starts, and a repeated attempt after an unknown outcome is flagged
(`CONNECTOR_REPLAY=1`, `{replay}`); the record's `unique_id` is always passed, so an ERP
program that refuses (or skips) a unique_id it has already imported makes the whole
route exactly-once. Without that, it is at-least-once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from connector.errors import ConfigError, PermanentError, TransientError
from connector.model import InboundRecord, to_jsonable
from connector.ports import ErpRef
from connector.state import create_private_file

log = structlog.get_logger(__name__)

PLACEHOLDERS = ("file", "stream", "id", "unique_id", "key", "replay")
_RUN_LOCK = threading.Lock()

_LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS command_ledger (
    key TEXT PRIMARY KEY,
    stream TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- started | accepted | refused
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL,
    output TEXT
);
"""


@dataclass(frozen=True)
class CommandSinkSettings:
    """What the command sink is given (connector/app.py makes it of import.erp.command)."""

    argv: list[str] = field(default_factory=list)  # with the placeholders of PLACEHOLDERS
    timeout_seconds: float = 120.0
    workdir: Path | None = None
    ledger: Path = Path("var/state/erp_command.sqlite")  # keys the program accepted
    max_output_chars: int = 4000  # stderr kept (the end of it) for the dead letter


class _Ledger:
    """key -> outcome of the last run, durable (WAL, synchronous=FULL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        create_private_file(path)  # 0600 whatever the umask, as the state store
        self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_LEDGER_DDL)

    def get(self, key: str) -> tuple[str, int, str | None] | None:
        with self._lock:
            row = self._conn.execute("SELECT state, attempts, output FROM command_ledger WHERE key = ?",
                                     (key,)).fetchone()
        return (str(row[0]), int(row[1]), row[2]) if row else None

    def start(self, key: str, stream: str, unique_id: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO command_ledger(key, stream, unique_id, state, attempts, started_at) "
                "VALUES (?, ?, ?, 'started', 1, ?) ON CONFLICT(key) DO UPDATE SET "
                "state = 'started', attempts = attempts + 1, started_at = excluded.started_at",
                (key, stream, unique_id, time.time()))

    def finish(self, key: str, state: str, output: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE command_ledger SET state = ?, finished_at = ?, output = ? "
                               "WHERE key = ?", (state, time.time(), output, key))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def check_argv(argv: list[str]) -> None:
    """ConfigError when the template is empty or uses an unknown placeholder."""
    if not argv:
        raise ConfigError(["import.erp.command.argv: required when import.erp.sink is command"])
    dummy = dict.fromkeys(PLACEHOLDERS, "x")
    errors = []
    for i, arg in enumerate(argv):
        try:
            arg.format_map(dummy)
        except (KeyError, IndexError, ValueError) as exc:
            errors.append(f"import.erp.command.argv[{i}]: bad placeholder in {arg!r} ({exc}); "
                          f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    if errors:
        raise ConfigError(errors)


def record_document(record: InboundRecord) -> dict[str, Any]:
    """What the ERP program reads: identity, the decoded record (with `extra` where fields
    were sent that the model does not know), the payload as received, and the warnings the
    record was read with (an empty list when none)."""
    payload = record.payload if isinstance(record.payload, Mapping) else {}
    return {
        "stream": record.stream,
        "id": record.queue_id,
        "unique_id": record.unique_id,
        "key": record.key,
        "source": payload.get("_source") or "api",
        "record": to_jsonable(record.model),
        "payload": payload,
        "warnings": list(record.warnings),
    }


class CommandSink:
    """ErpSink running an ERP-provided program per record."""

    name = "command"

    def __init__(self, settings: CommandSinkSettings) -> None:
        check_argv(list(settings.argv))
        self.settings = settings
        self.ledger = _Ledger(settings.ledger)
        self.inbox = (settings.workdir or settings.ledger.parent) / "command-inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self.ledger.close()

    def write(self, record: InboundRecord) -> ErpRef:
        # One ERP program at a time in this process: the import loop and the legacy loop
        # may hand over the same record at once, and the second must see the first's
        # outcome in the ledger instead of running the program again.
        with _RUN_LOCK:
            return self._write(record)

    def _write(self, record: InboundRecord) -> ErpRef:
        key = record.key
        seen = self.ledger.get(key)
        if seen is not None and seen[0] == "accepted":
            return ErpRef(sink=self.name, ref=_last_line(seen[2]) or "accepted", duplicate=True)
        # A previous attempt that never finished (crash, timeout): the program may have
        # done the work, so tell it this is a replay.
        replay = seen is not None and seen[0] == "started"
        self.ledger.start(key, record.stream, record.unique_id)
        path = self.inbox / f"{_safe(record.stream)}-{_safe(record.unique_id)}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(json.dumps(record_document(record), ensure_ascii=False, indent=1,
                                      default=str), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise TransientError(f"{key}: cannot write the record file {path}: {exc}") from None
        values = {"file": str(path), "stream": record.stream, "id": str(record.queue_id),
                  "unique_id": record.unique_id, "key": key, "replay": "1" if replay else "0"}
        argv = [a.format_map(values) for a in self.settings.argv]
        try:
            code, out, err = self._run(argv, values)
        finally:
            path.unlink(missing_ok=True)
        limit = self.settings.max_output_chars
        if code == 0:
            self.ledger.finish(key, "accepted", out[-limit:])
            log.debug("command accepted", key=key, replay=replay)
            return ErpRef(sink=self.name, ref=_last_line(out) or "exit 0", duplicate=False)
        reason = (err.strip() or out.strip())[-limit:] or "(no output)"
        self.ledger.finish(key, "refused", reason)
        raise PermanentError(f"{key}: ERP command exited with status {code}: {reason}",
                             exit_code=code, argv=argv)

    def _run(self, argv: list[str], values: dict[str, str]) -> tuple[int, str, str]:
        env = dict(os.environ)
        env.update({"CONNECTOR_FILE": values["file"], "CONNECTOR_STREAM": values["stream"],
                    "CONNECTOR_ID": values["id"], "CONNECTOR_UNIQUE_ID": values["unique_id"],
                    "CONNECTOR_KEY": values["key"], "CONNECTOR_REPLAY": values["replay"]})
        try:
            proc = subprocess.Popen(argv, cwd=self.settings.workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=os.name != "nt")
        except OSError as exc:
            # Program missing or not executable: every record would fail the same way, so
            # they wait (transient) instead of all going to the dead letter.
            raise TransientError(f"cannot start the ERP command {argv[0]!r}: {exc}") from None
        try:
            out_b, err_b = proc.communicate(timeout=self.settings.timeout_seconds)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            proc.communicate()
            raise TransientError(f"{values['key']}: ERP command did not finish within "
                                 f"{self.settings.timeout_seconds:g}s; killed, will retry") from None
        return (proc.returncode, out_b.decode("utf-8", "replace"), err_b.decode("utf-8", "replace"))


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    try:
        if sys.platform != "win32":  # (what mypy --platform win32 reads; os.name is "nt")
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:120] or "_"


def _last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""
