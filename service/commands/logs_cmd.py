"""connector logs [--follow] [--level L] [--grep TEXT]: the log file, readable.

The daemon writes <log.dir>/connector.log as JSON lines (or logfmt), rotated by size
into connector.log.1 ... .N. This prints the last events one per line:

    2026-11-21 23:04:26 ERROR   connector.app  loop crashed, restarting  loop=export failures=1

`--follow` keeps printing new events and follows the file across rotation.

Every field is printed with its control characters escaped (connector.logsetup.printable):
a file name or a record field holding a newline or a terminal escape sequence shows as
`\n` / `\x1b[...`, never as a fake log line or a repainted screen. `--raw` and lines that
cannot be read are escaped the same way; a traceback keeps its lines.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from connector.logsetup import printable

LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40,
          "critical": 50}
_FRONT = ("timestamp", "level", "logger", "event")
_LOGFMT = re.compile(r'([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|\S*))?')


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("logs", help="print the connector's log file readably")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    p.add_argument("--level", choices=["debug", "info", "warning", "error"], default=None,
                   help="only events at this level or worse")
    p.add_argument("--grep", metavar="TEXT", default=None,
                   help="only events containing TEXT (case-insensitive), e.g. a correlation id")
    p.add_argument("-n", "--lines", type=int, default=100, metavar="N",
                   help="how many past events to print first (0: all; default 100)")
    p.add_argument("--all", action="store_true", help="include the rotated files, oldest first")
    p.add_argument("--raw", action="store_true", help="print the lines as stored")
    p.add_argument("--file", type=Path, default=None,
                   help="log file to read (default: <log.dir>/connector.log)")
    p.set_defaults(func=logs)


# Parsing -------------------------------------------------------------------------------------
def parse_line(line: str) -> dict[str, Any] | None:
    """A JSON or logfmt log line as a dict; None when it is neither."""
    line = line.strip()
    if not line:
        return None
    if line.startswith("{"):
        try:
            ev = json.loads(line)
        except ValueError:
            return None
        return ev if isinstance(ev, dict) else None
    out: dict[str, Any] = {}
    for m in _LOGFMT.finditer(line):
        key, value = m.group(1), m.group(2)
        if value is None:
            out[key] = True
        elif value.startswith('"') and len(value) >= 2:
            out[key] = re.sub(r'\\(.)', lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), e.group(1)),
                              value[1:-1])
        else:
            out[key] = value
    return out if "event" in out or "level" in out else None


def render(ev: dict[str, Any]) -> str:
    ts = str(ev.get("timestamp", "")).replace("T", " ")[:19]
    level = str(ev.get("level", "")).upper()
    head = (f"{ts} " if ts else "") + f"{level:<7} "
    head += (f"{ev['logger']}  " if ev.get("logger") else "") + str(ev.get("event", ""))
    rest = [f"{k}={_show(v)}" for k, v in ev.items() if k not in _FRONT and k != "exception"]
    line = printable(head + ("  " + " ".join(rest) if rest else ""))
    if ev.get("exception"):
        line += "\n" + "\n".join("    " + printable(x)
                                  for x in str(ev["exception"]).rstrip().split("\n"))
    return line


def _show(v: Any) -> str:
    if not isinstance(v, str):
        return json.dumps(v, default=str, ensure_ascii=False)  # self-delimiting
    return f'"{v}"' if (not v or any(c.isspace() for c in v)) else v


# Selecting -------------------------------------------------------------------------------------
class Filter:
    def __init__(self, level: str | None, grep: str | None) -> None:
        self.min_level = LEVELS.get(level or "debug", 10)
        self.grep = grep.lower() if grep else None

    def __call__(self, raw: str, ev: dict[str, Any] | None) -> bool:
        if not raw.strip():
            return False
        if self.grep and self.grep not in raw.lower():
            return False
        if ev is None:
            return self.min_level <= 10  # a line we cannot read: shown only without --level
        return LEVELS.get(str(ev.get("level", "info")).lower(), 20) >= self.min_level


def rotated_files(path: Path) -> list[Path]:
    """connector.log.N ... connector.log.1, oldest first."""
    found = []
    for p in path.parent.glob(path.name + ".*"):
        suffix = p.name[len(path.name) + 1:]
        if suffix.isdigit():
            found.append((int(suffix), p))
    return [p for _, p in sorted(found, reverse=True)]


def _emit(out: TextIO, raw: str, ev: dict[str, Any] | None, raw_mode: bool) -> None:
    out.write((printable(raw.rstrip("\n")) if raw_mode or ev is None else render(ev)) + "\n")


def past_events(files: Iterable[Path], keep: Filter, lines: int) -> Iterator[tuple[str, Any]]:
    buf: collections.deque[tuple[str, Any]] = collections.deque(maxlen=lines or None)
    for p in files:
        try:
            with open(p, encoding="utf-8", errors="replace", newline="\n") as fh:
                for raw in fh:
                    ev = parse_line(raw)
                    if keep(raw, ev):
                        buf.append((raw, ev))
        except FileNotFoundError:
            continue
    return iter(buf)


def follow(path: Path, keep: Filter, out: TextIO, raw_mode: bool, stop: threading.Event,
           fh: TextIO | None = None, pending: str = "", poll: float = 0.2) -> None:
    """Print new events as they are written, across rotation and truncation.

    `fh` is the current file already read up to where following starts (None: open it),
    `pending` the start of a line read from it that was still being written. When the
    file was rotated (several times, even, between two polls), the rest of the old file
    and every newer rotated file are printed before the new current file.
    """

    def feed(chunk: str) -> None:
        nonlocal pending
        pending += chunk
        *complete, pending = pending.split("\n")
        for raw in complete:
            ev = parse_line(raw)
            if keep(raw, ev):
                _emit(out, raw, ev, raw_mode)
        out.flush()

    while not stop.is_set():
        if fh is None:
            try:
                fh = open(path, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115 - kept open
            except FileNotFoundError:
                stop.wait(poll)
                continue
        chunk = fh.read()
        if chunk:
            feed(chunk)
            continue
        if _replaced(path, fh):
            feed(fh.read())  # written just before the rename
            # The new current file is opened BEFORE the rotated ones are listed: a rotation
            # in between (a busy writer) then renames it into that list, where it is left
            # out and read on from here, and no file falls between the two.
            try:
                current: TextIO | None = open(path, encoding="utf-8", errors="replace",  # noqa: SIM115
                                              newline="\n")
            except FileNotFoundError:
                current = None
            skip = os.fstat(current.fileno()) if current is not None else None
            newer = []
            for p in _rotated_after(path, fh):
                try:
                    h = open(p, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115
                except FileNotFoundError:
                    continue
                mine = os.fstat(h.fileno())
                if skip is not None and (mine.st_ino, mine.st_dev) == (skip.st_ino, skip.st_dev):
                    h.close()
                    break  # the file opened as current: it and what follows come from there
                newer.append(h)
            fh.close()
            fh = current
            for h in newer:
                with h:
                    feed(h.read())
                if pending:
                    feed("\n")  # a rotated file ends with a whole line
            continue
        stop.wait(poll)
    if fh is not None:
        fh.close()


def _rotated_after(path: Path, fh: Any) -> list[Path]:
    """The rotated files newer than the one `fh` reads (now renamed to connector.log.K)."""
    mine = os.fstat(fh.fileno())
    rotated = rotated_files(path)  # oldest first
    for i, p in enumerate(rotated):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        if (st.st_ino, st.st_dev) == (mine.st_ino, mine.st_dev):
            return rotated[i + 1:]
    return []  # truncated in place, or rotated out of reach already


def _replaced(path: Path, fh: Any) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return True
    mine = os.fstat(fh.fileno())
    return (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev) or now.st_size < fh.tell()


def logs(args: argparse.Namespace) -> int:
    from connector.errors import ConnectorError

    if args.file is not None:
        path = args.file
    else:
        from service.commands import config_from

        path = config_from(args).log.dir / "connector.log"
    if not path.exists() and not args.follow:
        raise ConnectorError(f"no log file at {path} (has the connector run with this "
                             "configuration?)")
    keep = Filter(args.level, args.grep)
    out = sys.stdout
    past = [*rotated_files(path), path] if args.all else [path]
    current: TextIO | None = None
    pending = ""
    if args.follow:
        past.remove(path)
        try:
            current = open(path, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115 - followed
        except FileNotFoundError:
            current = None
    events = list(past_events(past, keep, args.lines))
    if current is not None:
        # Read the current file through the handle we go on following: no gap, no repeat.
        *complete, pending = current.read().split("\n")
        events += [(raw, ev) for raw in complete if keep(raw, ev := parse_line(raw))]
        if args.lines:
            events = events[-args.lines:]
    for raw, ev in events:
        _emit(out, raw, ev, args.raw)
    out.flush()
    if args.follow:
        stop = threading.Event()
        try:
            follow(path, keep, out, args.raw, stop, fh=current, pending=pending)
        except KeyboardInterrupt:
            pass
    return 0

