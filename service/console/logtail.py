"""Reading the connector's log file for the Logs page: the last events, and new ones as
they are written (across rotation), filtered by level and text."""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from service.commands.logs_cmd import LEVELS, parse_line  # one reader of the log's lines

_FRONT = ("timestamp", "level", "logger", "event", "correlation_id")


def shown(ev: dict[str, Any]) -> dict[str, Any]:
    """An event as the page shows it: the front fields, the rest as key=value text."""
    rest = " ".join(f"{k}={v}" for k, v in ev.items() if k not in _FRONT)
    return {"timestamp": str(ev.get("timestamp", "")).replace("T", " ")[:19],
            "level": str(ev.get("level", "")).lower(),
            "logger": str(ev.get("logger", "")), "event": str(ev.get("event", "")),
            "cid": str(ev.get("correlation_id") or ""), "rest": rest}


def matches(ev: dict[str, Any], level: str | None, text: str | None) -> bool:
    if level and LEVELS.get(str(ev.get("level", "")).lower(), 0) < LEVELS.get(level, 0):
        return False
    if text:
        blob = json.dumps(ev, ensure_ascii=False, default=str).lower()
        return text.lower() in blob
    return True


def last_events(path: Path, level: str | None, text: str | None,
                limit: int = 200) -> list[dict[str, Any]]:
    """The last `limit` events of the file that pass the filter, oldest first."""
    out: collections.deque[dict[str, Any]] = collections.deque(maxlen=limit)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for ev in _events(f):
                if matches(ev, level, text):
                    out.append(shown(ev))
    except FileNotFoundError:
        return []
    return list(out)


def _events(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for line in lines:
        ev = parse_line(line)
        if ev is None and line.strip():
            ev = {"event": line.rstrip("\n"), "level": "info"}
        if ev is not None:
            yield ev


class Follower:
    """New complete lines of a log file from where it ends now; reopened when it is rotated
    (a new inode) or truncated."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f: Any = None
        self._ino: int | None = None
        self._buf = ""
        self._open(at_end=True)

    def _open(self, at_end: bool) -> None:
        try:
            f = open(self.path, encoding="utf-8", errors="replace")  # noqa: SIM115
        except FileNotFoundError:
            self._f = None
            return
        if at_end:
            f.seek(0, os.SEEK_END)
        self._f, self._ino, self._buf = f, os.fstat(f.fileno()).st_ino, ""

    def read(self) -> list[dict[str, Any]]:
        """The events written since the last call (none: an empty list)."""
        if self._f is None:
            self._open(at_end=False)
            if self._f is None:
                return []
        chunk = self._f.read()
        events = self._split(chunk)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return events
        if st.st_ino != self._ino or st.st_size < self._f.tell():
            events.extend(self._split(self._f.read()))  # what the old file got last
            self._f.close()
            self._open(at_end=False)
            if self._f is not None:
                events.extend(self._split(self._f.read()))
        return events

    def _split(self, chunk: str) -> list[dict[str, Any]]:
        if not chunk:
            return []
        data = self._buf + chunk
        lines = data.split("\n")
        self._buf = lines.pop()
        return list(_events(lines))

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
