"""What an operator does with the quarantine: list it, read a report, requeue a file into
the export folder, purge. Shared by `connector quarantine ...` and the console.

The quarantine folder is the truth (the journal remembers only the latest refusal of each
name): each refused file sits at `<quarantine>/<its path in the export folder>` (a second
refusal of the same name as `name (2).ext`) beside its `<name>.errors.txt`; rows held back
from a published tracciato sit in `held-back/<time>-<digest>/<name>` with their report, one
folder per batch. A report may stand alone when its file vanished before the move.

An entry's ID is a digest of its place in the folder: short, stable while it stays there,
and resolved only against what a walk of the folder finds, so no ID (`../x`, an absolute
path) can name anything outside it.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import structlog

from connector.config import Config
from connector.controls import record_action
from connector.errors import ConnectorError
from connector.export.journal import ExportJournal
from connector.fsutil import fsync_dir
from connector.i18n import _
from connector.state import StateStore

log = structlog.get_logger(__name__)

REPORT = ".errors.txt"
HELD = "held-back"
ID_LENGTH = 8
_ID = re.compile(r"^[0-9a-f]{4,8}$")
_SECOND_COPY = re.compile(r"^(?P<stem>.*) \((?P<n>\d+)\)(?P<suffix>\.[^.]*)?$")
_SHOW_LIMIT = 200_000  # characters of a report shown (reports are bounded by their writer)


class QuarantineError(ConnectorError):
    """An operator's request that cannot be done (unknown ID, a name already waiting...):
    nothing was changed."""

    exit_code = 1


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str  # "file" | "held-back" | "report" (its file vanished before the move)
    name: str  # the original name, as dropped in the export folder (relative)
    path: str  # the quarantined file (held-back: the batch's folder)
    report: str | None
    at: float  # when it was quarantined
    why: str  # the first problem, on one line
    size: int  # bytes of the quarantined file
    delete_on: float | None  # retention has announced its deletion for about then
    link: bool = False  # a link, quarantined as such (never requeued)


@dataclass(frozen=True)
class Shown:
    entry: Entry
    report: str  # control characters escaped, bounded
    truncated: bool


@dataclass(frozen=True)
class Requeued:
    entry: Entry
    dest: str  # where it is now, in the export folder


@dataclass(frozen=True)
class Purged:
    entries: list[Entry]


def entry_id(rel: str) -> str:
    return hashlib.sha256(rel.encode("utf-8", "surrogateescape")).hexdigest()[:ID_LENGTH]


def one_line(text: str | None, limit: int = 200) -> str:
    """`text` on one line, control characters shown as escapes, bounded."""
    if not text:
        return ""
    flat = " ".join(escape(text).replace("\\n", " ").replace("\\r", " ").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    """Control characters (but newline and tab) as \\xNN: a report quotes values from the
    file, which must not move the operator's cursor or recolour the terminal."""
    return _CONTROL.sub(_escaped, text)


def _escaped(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Listing ---------------------------------------------------------------------------------------
def entries(cfg: Config, store: StateStore) -> list[Entry]:
    """Every quarantined file and held-back batch, the newest first."""
    root = cfg.export.quarantine
    if not root.is_dir():
        return []
    skip = {os.path.abspath(p) for p in _other_areas(cfg)}
    journal = {os.path.abspath(str(q["path"])): q for q in ExportJournal(store).quarantine_list()}
    due = _deletion_dates(cfg, store)
    found: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = os.path.relpath(dirpath, root)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(d for d in dirnames if d not in links
                             and os.path.abspath(os.path.join(dirpath, d)) not in skip)
        if here == HELD:
            for batch in dirnames:
                found.append(_held(root, Path(dirpath) / batch, due))
            dirnames[:] = []
        names = set(filenames) | set(links)
        for name in sorted(names):
            if (name.startswith(".") and name.endswith((".tmp", ".moving"))) or ".tmp-" in name:
                continue  # a write in progress
            path = Path(dirpath, name)
            if name.endswith(REPORT):
                if name[:-len(REPORT)] in names:
                    continue  # the report of a file: listed with it
                found.append(_file(root, path, None, journal, due, kind="report"))
                continue
            report = Path(dirpath, name + REPORT) if name + REPORT in names else None
            found.append(_file(root, path, report, journal, due))
    found.sort(key=lambda e: (-e.at, e.name))
    return found


def _other_areas(cfg: Config) -> list[Path]:
    """Folders inside the quarantine that are not the export's: the legacy import route's
    quarantine (by default `<export.quarantine>/legacy`)."""
    legacy = cfg.import_.legacy.quarantine or (cfg.export.quarantine / "legacy")
    return [legacy]


def _deletion_dates(cfg: Config, store: StateStore) -> dict[str, float]:
    from connector.export.housekeeping import deletion_dates

    return deletion_dates(cfg, store)


def _file(root: Path, path: Path, report: Path | None, journal: dict[str, dict[str, object]],
          due: dict[str, float], *, kind: str = "file") -> Entry:
    """A refused file and its report; kind "report": a report alone (`path` is the report)."""
    target = path.with_name(path.name[:-len(REPORT)]) if kind == "report" else path
    if kind == "report":
        report = path
    known = journal.get(os.path.abspath(target))
    st = _lstat(path)
    if known is not None:
        name, at = str(known["source"]), float(str(known["at"]))
    else:
        name = _original(_rel(root, target))
        at = _when(report) if report is not None else (st.st_mtime if st else 0.0)
    first = str(known.get("first_error") or "") if known else ""
    return Entry(id=entry_id(_rel(root, path)), kind=kind, name=name,
                 path=str(path), report=str(report) if report is not None else None, at=at,
                 why=one_line(first) if first else _why(report),
                 size=0 if kind == "report" or st is None else st.st_size,
                 delete_on=due.get(os.path.abspath(target)),
                 link=bool(st is not None and os.path.islink(path)))


def _rel(root: Path, path: Path) -> str:
    """`path` relative to `root`, with / (string work: a listing does it for every file)."""
    return str(path)[len(str(root)):].lstrip(os.sep).replace(os.sep, "/")


def _held(root: Path, folder: Path, due: dict[str, float]) -> Entry:
    """One held-back batch: `held-back/<time>-<digest>/<the file's path>` and its report."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                   and not p.name.endswith(REPORT) and not p.name.startswith("."))
    held = files[0] if files else None
    report = held.with_name(held.name + REPORT) if held else None
    st = _lstat(held) if held else None
    return Entry(id=entry_id(folder.relative_to(root).as_posix()), kind="held-back",
                 name=held.relative_to(folder).as_posix() if held else folder.name,
                 path=str(folder), report=str(report) if report and report.exists() else None,
                 at=_when(report if report and report.exists() else folder),
                 why=_why(report) if report and report.exists() else "",
                 size=st.st_size if st else 0,
                 delete_on=due.get(os.path.abspath(held)) if held else None)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _when(path: Path) -> float:
    """A report is written when its file is quarantined (the file keeps the time it had in
    the export folder)."""
    st = _lstat(path)
    return st.st_mtime if st else 0.0


def _original(rel: str) -> str:
    """The name as dropped, when the journal no longer knows it: `x (2).dat` -> `x.dat`."""
    p = PurePosixPath(rel)
    m = _SECOND_COPY.match(p.name)
    if m and int(m["n"]) >= 2:
        return str(p.with_name(m["stem"] + (m["suffix"] or "")))
    return rel


def _why(report: Path | None) -> str:
    """The first problem of a report: its first indented line (the heading names the file)."""
    if report is None:
        return ""
    try:
        with open(report, encoding="utf-8", errors="replace") as f:
            head = f.read(8192).splitlines()
    except OSError:
        return ""
    problems = [line for line in head if line.startswith("  ") and line.strip()]
    return one_line(problems[0].strip() if problems else (head[0] if head else ""))


# One entry ------------------------------------------------------------------------------------
def find(cfg: Config, store: StateStore, ident: str) -> Entry:
    """The entry with this ID (or a unique prefix of it, at least 4 characters)."""
    wanted = ident.strip().lower()
    if not _ID.match(wanted):
        raise QuarantineError(_("'{ident}' is not a quarantine ID: use an ID as `connector "
                                "quarantine list` shows it (8 letters and digits)").format(
                                    ident=one_line(ident, 80)))
    hits = [e for e in entries(cfg, store) if e.id.startswith(wanted)]
    if not hits:
        raise QuarantineError(_("no quarantined file has the ID {ident} (`connector quarantine "
                                "list` shows them)").format(ident=wanted))
    if len(hits) > 1:
        raise QuarantineError(_("the ID {ident} is the start of several IDs: give all "
                                "8 characters").format(ident=wanted))
    return hits[0]


def show(cfg: Config, store: StateStore, ident: str, limit: int = _SHOW_LIMIT) -> Shown:
    e = find(cfg, store, ident)
    if not e.report:
        return Shown(e, _("(no report was written for this file)"), False)
    try:
        with open(e.report, encoding="utf-8", errors="replace") as f:
            text = f.read(limit + 1)
    except OSError as exc:
        raise QuarantineError(_("cannot read the report {path}: {reason}").format(
            path=e.report, reason=exc.strerror or exc)) from None
    return Shown(e, escape(text[:limit]), len(text) > limit)


# Requeue -------------------------------------------------------------------------------------
def requeue(cfg: Config, store: StateStore, ident: str, *, who: str) -> Requeued:
    """Move a quarantined file back into the export folder under its original name, which
    judges it again. Never over a file of that name already there (a newer drop): refused."""
    e = find(cfg, store, ident)
    if e.kind == "report":
        raise QuarantineError(_("{name}: only its report is in quarantine (the file itself "
                                "was gone): nothing to requeue").format(name=e.name))
    if e.link:
        raise QuarantineError(_("{name} is a link: the export never follows links. Copy the "
                                "file it should be into the export folder instead").format(
                                    name=e.name))
    src = Path(e.path) / e.name if e.kind == "held-back" else Path(e.path)
    watch = cfg.export.watch
    dest = watch / e.name
    parts = PurePosixPath(e.name).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or PurePosixPath(e.name).is_absolute():
        raise QuarantineError(_("{name}: not a name inside the export folder").format(
            name=one_line(e.name, 120)))
    if not watch.is_dir():
        raise QuarantineError(_("the export folder {folder} does not exist").format(
            folder=str(watch)))
    if os.path.lexists(dest):
        raise QuarantineError(_("{name} is already in the export folder (a newer file?): "
                                "nothing was moved; let it be published or move it away "
                                "first").format(name=e.name))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.parent.resolve().is_relative_to(watch.resolve()):  # a linked subfolder
            raise QuarantineError(_("{name}: not a name inside the export folder").format(
                name=one_line(e.name, 120)))
        _move_no_clobber(src, dest)
    except FileExistsError:
        raise QuarantineError(_("{name} is already in the export folder (a newer file?): "
                                "nothing was moved; let it be published or move it away "
                                "first").format(name=e.name)) from None
    except OSError as exc:
        raise QuarantineError(_("cannot move {name} into the export folder: {reason}").format(
            name=e.name, reason=exc.strerror or exc)) from None
    marker = cfg.export.done_marker
    if marker:  # the export waits for it: the file is whole
        (watch / (e.name + marker)).touch()
    _forget(store, e)
    if e.report:
        Path(e.report).unlink(missing_ok=True)
    if e.kind == "held-back":
        _remove(Path(e.path))
    record_action(store, "quarantine.requeue", who=who, target=e.name,
                  detail=f"id {e.id}: {e.path} -> {dest}")
    log.info("quarantined file requeued", file=e.name, id=e.id, source=e.path, dest=str(dest),
             who=who)
    return Requeued(e, str(dest))


def _move_no_clobber(src: Path, dest: Path) -> None:
    """Move src to dest, atomically, failing with FileExistsError if dest appears meanwhile.

    A hard link never replaces a name (the atomic no-clobber rename POSIX lacks); across
    volumes the bytes go to a hidden name first (the export ignores dot files), then are
    linked in. Where links are not available (some network or Windows volumes), a rename
    after the check above: Windows' rename refuses an existing name by itself. On Linux,
    renameat2(RENAME_NOREPLACE) does it in one step (the file never has two names, which
    the export would refuse)."""
    if _rename_noreplace(src, dest):
        fsync_dir(dest.parent)
        fsync_dir(src.parent)
        return
    try:
        os.link(src, dest, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_then_link(src, dest)
        elif os.name == "nt" or exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP,
                                              errno.EMLINK):
            if os.path.lexists(dest):
                raise FileExistsError(errno.EEXIST, "exists", str(dest)) from None
            os.rename(src, dest)
            fsync_dir(dest.parent)
            return
        else:
            raise
    else:
        fsync_dir(dest.parent)
    os.unlink(src)
    fsync_dir(src.parent)


def _rename_noreplace(src: Path, dest: Path) -> bool:
    """renameat2(..., RENAME_NOREPLACE) where the kernel and the file system have it: True
    when moved, False when not available here (the caller moves another way)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a C library without it (old glibc, musl)
        return False
    at_fdcwd, rename_noreplace = -100, 1
    if fn(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dest), rename_noreplace) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err), str(dest))
    if err in (errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # an old kernel, a file system without it, another volume
    raise OSError(err, os.strerror(err), str(dest))


def _copy_then_link(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.requeue.tmp")
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
        os.link(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(dest.parent)


# Purge ----------------------------------------------------------------------------------------
def purge(cfg: Config, store: StateStore, *, who: str, ident: str | None = None,
          older_than_days: float | None = None, everything: bool = False) -> Purged:
    """Delete one entry, the entries quarantined more than `older_than_days` ago, or all."""
    if sum((ident is not None, older_than_days is not None, everything)) != 1:
        raise QuarantineError(_("say what to purge: an ID, --older-than DAYS or --all"))
    if ident is not None:
        chosen = [find(cfg, store, ident)]
        what = chosen[0].name
    elif older_than_days is not None:
        if older_than_days < 0:
            raise QuarantineError(_("--older-than wants a number of days, 0 or more"))
        limit = time.time() - older_than_days * 86400
        chosen = [e for e in entries(cfg, store) if e.at < limit]
        what = f"older than {older_than_days:g} days"
    else:
        chosen = entries(cfg, store)
        what = "all"
    done: list[Entry] = []
    try:
        for e in chosen:
            _remove(Path(e.path))
            if e.kind != "held-back" and e.report:
                Path(e.report).unlink(missing_ok=True)
            _forget(store, e)
            done.append(e)
            log.info("quarantined file purged", file=e.name, id=e.id, path=e.path, who=who)
    except OSError as exc:
        failed = chosen[len(done)]
        raise QuarantineError(_("cannot delete {name} ({path}): {reason}; {n} deleted "
                                "before it").format(name=failed.name, path=failed.path,
                                                    reason=exc.strerror or exc,
                                                    n=len(done))) from None
    finally:
        if done:
            record_action(store, "quarantine.purge", who=who, target=what,
                          detail="; ".join(f"{e.id} {e.name}" for e in done))
    return Purged(done)


def _forget(store: StateStore, e: Entry) -> None:
    """The journal's and retention's rows of a file that left the quarantine."""
    path = os.path.abspath(e.path)
    store.execute("DELETE FROM export_quarantine WHERE path = ? OR path = ?", (e.path, path))
    inside = path + os.sep  # a held-back batch: retention counts the file in its folder
    if store.query_one("SELECT name FROM sqlite_master WHERE name = 'export_retention'"):
        store.execute("DELETE FROM export_retention WHERE path = ? OR substr(path, 1, ?) = ?",
                      (path, len(inside), inside))


def _remove(path: Path) -> None:
    """Delete a name; a folder without following links inside it."""
    st = _lstat(path)
    if st is None:
        return
    import stat

    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()
