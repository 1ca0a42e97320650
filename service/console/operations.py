"""What the export, upload, quarantine and import pages ask of the connector.

Plain functions over (cfg, store); service/console/backend.py is the pages' only way in and
calls these. Nothing here is a second path into the export: an upload is judged and
compared here, and on confirmation written atomically into the watch folder under its own
name, where the export pipeline takes it as it takes any dropped file (journal, archive,
quarantine); the console then asks for a run as `connector export --once` does.

Uploads are staged under <state_dir>/console/uploads/<token>/ only: the token is random,
the name is checked (no folder, no path, no NUL) before anything is written, a preview
expires after UPLOAD_TTL seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from connector.config import Config
from connector.errors import ConnectorError, FormatError
from connector.fsutil import atomic_writer
from connector.i18n import _
from connector.state import StateStore

UPLOAD_TTL = 30 * 60  # a preview not confirmed within this is gone
EXAMPLES = 5  # keys shown for each of added / changed / removed
GROUP_EXAMPLES = 3  # lines shown for each group of errors or warnings
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_IGNORED_COLUMNS = {"DAT_ULT_MOD"}  # set by the export itself: not a change the iPads see


class UploadError(ConnectorError):
    """An upload refused: the message is for the operator (translated)."""


class NameTaken(UploadError):
    """A file of the upload's name waits in the export folder: the preview is kept."""


# Names --------------------------------------------------------------------------------------
def safe_upload_name(raw: str) -> str:
    """The upload's file name, or UploadError: a bare name only (no folder, no drive, no
    NUL, not hidden), so it can only ever land in the watch folder itself."""
    name = raw or ""
    if not name.strip():
        raise UploadError(_("The file has no name."))
    if ("\x00" in name or "/" in name or "\\" in name or name in (".", "..")
            or name.startswith(".") or re.match(r"^[A-Za-z]:", name)
            or any(ord(c) < 32 for c in name) or len(name) > 200):
        raise UploadError(_("The file name {name!r} is refused: give a plain file name, "
                            "without folders.").format(name=name.replace("\x00", "\\0")))
    return name


# Staging ------------------------------------------------------------------------------------
def uploads_dir(cfg: Config) -> Path:
    return cfg.state_dir / "console" / "uploads"


def _staged(cfg: Config, token: str) -> Path:
    if not _TOKEN.match(token or ""):
        raise UploadError(_("This preview has expired or does not exist: upload the file "
                            "again."))
    return uploads_dir(cfg) / token


def sweep_uploads(cfg: Config, now: float | None = None) -> None:
    """Remove staged uploads older than UPLOAD_TTL."""
    root = uploads_dir(cfg)
    if not root.is_dir():
        return
    now = time.time() if now is None else now
    for d in root.iterdir():
        try:
            meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
            stale = now - float(meta["at"]) > UPLOAD_TTL
        except (OSError, ValueError, KeyError, TypeError):
            stale = True
        if stale:
            shutil.rmtree(d, ignore_errors=True)


def stage_upload(cfg: Config, name: str, src: BinaryIO, who: str,
                 limit_bytes: int) -> str:
    """Copy an uploaded file into its own staging folder; the preview's token."""
    name = safe_upload_name(name)
    sweep_uploads(cfg)
    token = secrets.token_urlsafe(24)
    folder = uploads_dir(cfg) / token
    folder.mkdir(parents=True, mode=0o700)
    size = 0
    try:
        with open(folder / "upload", "xb") as out:
            while chunk := src.read(1024 * 1024):
                size += len(chunk)
                if size > limit_bytes:
                    raise UploadError(_("The file is larger than {mb} MB (console.max_upload_mb)."
                                        ).format(mb=round(limit_bytes / 1024 / 1024)))
                out.write(chunk)
        (folder / "meta.json").write_text(json.dumps(
            {"name": name, "who": who, "at": time.time(), "size": size}), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return token


def staged_meta(cfg: Config, token: str) -> dict[str, Any]:
    folder = _staged(cfg, token)
    try:
        meta: dict[str, Any] = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UploadError(_("This preview has expired or does not exist: upload the file "
                            "again.")) from None
    if time.time() - float(meta["at"]) > UPLOAD_TTL:
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadError(_("This preview has expired or does not exist: upload the file "
                            "again."))
    return meta


def drop_upload(cfg: Config, token: str) -> None:
    shutil.rmtree(_staged(cfg, token), ignore_errors=True)


# The preview --------------------------------------------------------------------------------
@dataclass
class Group:
    rule: str
    count: int
    examples: list[str] = field(default_factory=list)


@dataclass
class Changes:
    against: str | None  # where the last published version was found (None: nothing yet)
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    added_keys: list[str] = field(default_factory=list)
    changed_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    key: str = ""
    problem: str | None = None  # the comparison could not be made (why)


@dataclass
class Preview:
    token: str
    name: str
    size: int
    who: str
    at: float
    kind: str  # tracciato | dialect | other
    destination: str  # folder/name on the iPads' side
    layout: str | None
    valid: bool
    rows: int
    errors: int
    warnings: int
    error_groups: list[Group]
    warning_groups: list[Group]
    changes: Changes | None
    note: str | None = None


def _groups(violations: list[Any]) -> list[Group]:
    groups: dict[str, Group] = {}
    for v in violations:
        rule = re.sub(r"'[^']*'", "'…'", str(v.rule))  # the same rule, whatever the value
        g = groups.setdefault(rule, Group(str(v.rule), 0))
        g.count += 1
        if len(g.examples) < GROUP_EXAMPLES:
            col = f", {v.column}" if v.column else ""
            val = f": '{v.value}'" if v.value else ""
            g.examples.append(f"{_('line')} {v.line}{col}{val}")
    return sorted(groups.values(), key=lambda g: -g.count)


def preview(cfg: Config, store: StateStore, token: str) -> Preview:
    """Judge the staged file as the export would, and compare it with what was published."""
    from connector.export import formats_bridge as fb
    from connector.export.naming import classify

    meta = staged_meta(cfg, token)
    folder = _staged(cfg, token)
    name = str(meta["name"])
    ex = cfg.export
    target = classify(name, tuple((d.match, d.layout) for d in ex.dialects))
    base = {"token": token, "name": name, "size": int(meta["size"]), "who": str(meta["who"]),
                "at": float(meta["at"])}
    if target is None or target.kind not in ("tracciato", "dialect", "catalog_index",
                                              "reports_index"):
        dest = f"{target.folder}/{target.name}" if target and target.folder else "-"
        return Preview(**base, kind="other", destination=dest, layout=None,  # type: ignore[arg-type]
                       valid=target is not None and target.kind in ("media", "report"),
                       rows=0, errors=0, warnings=0, error_groups=[], warning_groups=[],
                       changes=None,
                       note=_("Not a tracciato: it is published as it is, without a check "
                              "of its rows.") if target and target.kind in ("media", "report")
                       else _("The export does not take this kind of file: it would be "
                              "quarantined."))
    canonical = folder / "canonical"
    with open(folder / "upload", "rb") as fin, open(canonical, "wb") as out:
        if target.kind == "dialect":
            j = fb.judge(fin, out, name, "dialect", ex, cfg.company)
        else:
            j = fb.judge(fin, out, name, "tracciato", ex, cfg.company)
    report = j.report
    errors = _groups(report.violations) if report is not None else [Group(j.first, 1)]
    warns = _groups(report.warnings) if report is not None else []
    layout_name = (target.layout or name.rsplit(".", 1)[0]).lower().removesuffix(".dat")
    changes = None
    note = None
    if j.valid:  # an invalid file's canonical form is not what would be published
        changes = compare(cfg, store, target.folder, target.name, layout_name, canonical)
    else:
        note = _("What would change on the iPads is shown once the file has no errors.")
    return Preview(**base, kind=target.kind, destination=f"{target.folder}/{target.name}",  # type: ignore[arg-type]
                   layout=layout_name, valid=j.valid, rows=j.rows, errors=j.count,
                   warnings=j.warnings, error_groups=errors, warning_groups=warns,
                   changes=changes, note=note)


def last_published(cfg: Config, store: StateStore, folder: str, name: str) -> Path | None:
    """The last published version of folder/name: the Dropbox folder itself (folder mode),
    else the newest copy in the export archive of the source the journal names (the archive
    keeps each day's copies as `name`, `name (2)`, ...: the newest is the last written)."""
    if cfg.dropbox.mode == "folder":
        p = cfg.dropbox_folder(folder) / name
        if p.is_file():
            return p
    row = _published_row(store, folder, name)
    archive = cfg.export.archive
    if row is None or archive is None or not archive.is_dir():
        return None
    source = PurePosixPath(str(row["source"]))
    copy = re.compile(rf"^{re.escape(source.stem)}( \(\d+\))?{re.escape(source.suffix)}$")
    for day in sorted((d for d in archive.iterdir() if d.is_dir()), reverse=True):
        where = day / source.parent
        found = [p for p in where.iterdir() if copy.match(p.name) and p.is_file()] \
            if where.is_dir() else []
        if found:
            return max(found, key=lambda p: p.stat().st_mtime_ns)
    return None


def _published_row(store: StateStore, folder: str, name: str) -> Any:
    if not _has_table(store, "export_published"):
        return None
    return store.query_one("SELECT source, published_at FROM export_published "
                           "WHERE folder = ? AND name = ?", (folder, name))


def _has_table(store: StateStore, table: str) -> bool:
    return store.query_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (table,)) is not None


def _key_columns(layout: Any) -> list[str]:
    if layout.key:
        return [layout.key]
    keys = [f.name for f in layout.fields if f.key_like]
    return keys or [f.name for f in layout.fields]


def _rows(path: Path, layout: Any, keys: list[str]) -> Iterator[tuple[str, str]]:
    from formats.reader import read_records

    with open(path, "rb") as fp:
        for rec in read_records(fp, layout):
            key = " | ".join(rec.get(k, "") for k in keys)
            body = "\x1f".join(f"{k}={v}" for k, v in sorted(rec.items())
                               if k not in _IGNORED_COLUMNS)
            yield key, hashlib.blake2b(body.encode("utf-8"), digest_size=16).hexdigest()


def compare(cfg: Config, store: StateStore, folder: str, name: str, layout_name: str,
            new: Path) -> Changes:
    """Keys added, changed and removed between the last published folder/name and `new`."""
    from formats import layout as fl

    old = last_published(cfg, store, folder, name)
    try:
        layout = fl.get_layout(layout_name)
    except (KeyError, FormatError):
        return Changes(against=str(old) if old else None,
                       problem=_("unknown tracciato: no comparison"))
    keys = _key_columns(layout)
    changes = Changes(against=str(old) if old else None, key=", ".join(keys))
    if old is None and _published_row(store, folder, name) is not None:
        changes.problem = _("It was published before, but that version is not at hand (not "
                            "in the Dropbox folder nor in the export archive): no comparison.")
        return changes
    try:
        before = dict(_rows(old, layout, keys)) if old is not None else {}
        for key, digest in _rows(new, layout, keys):
            was = before.pop(key, None)
            if was is None:
                changes.added += 1
                if len(changes.added_keys) < EXAMPLES:
                    changes.added_keys.append(key)
            elif was != digest:
                changes.changed += 1
                if len(changes.changed_keys) < EXAMPLES:
                    changes.changed_keys.append(key)
            else:
                changes.unchanged += 1
    except (FormatError, OSError, UnicodeError) as exc:
        changes.problem = str(exc)
        return changes
    changes.removed = len(before)
    changes.removed_keys = sorted(before)[:EXAMPLES]
    return changes


# Confirmation -------------------------------------------------------------------------------
def confirm_upload(cfg: Config, token: str) -> str:
    """Put the staged file into the watch folder under its name, atomically (written under a
    hidden name the export ignores, then renamed): from there the export takes it as any
    dropped file. The staged copy is removed. Returns the name."""
    meta = staged_meta(cfg, token)
    name = safe_upload_name(str(meta["name"]))
    watch = cfg.export.watch
    watch.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(watch / name):  # a file of that name waits: never replaced unseen
        raise NameTaken(_("A file named {name} is already waiting in the export folder: "
                            "let it be published (or remove it), then confirm again.").format(
                                name=name))
    src = _staged(cfg, token) / "upload"
    with open(src, "rb") as fin, atomic_writer(watch / name,
                                               tmp_name=f".{name}.console-{os.getpid()}") as out:
        shutil.copyfileobj(fin, out, 1024 * 1024)
    drop_upload(cfg, token)
    return name


# The export page ----------------------------------------------------------------------------
def export_page(cfg: Config, store: StateStore) -> dict[str, Any]:
    """Per tracciato the last publishes, the history of runs, waiting files, extract jobs."""
    from connector.export import status as export_status
    from connector.export.journal import ExportJournal

    facts = export_status.collect(cfg, store)
    ExportJournal(store)  # the tables exist
    verdicts = {(v.get("folder"), v.get("name")): v for v in facts.get("verdicts", [])
                if isinstance(v, dict)}
    published = []
    for p in facts["published"]:
        v = verdicts.get((p["folder"], p["name"])) or {}
        published.append({**p, "warnings": v.get("warnings", 0),
                          "first_warnings": v.get("first_warnings") or [],
                          "held_back": v.get("held_back", 0)})
    runs: dict[str, dict[str, Any]] = {}
    for r in store.query("SELECT run_id, source, folder, name, outcome, rows, bytes, error, at "
                         "FROM export_files WHERE run_id IN (SELECT run_id FROM export_files "
                         "GROUP BY run_id ORDER BY MAX(at) DESC LIMIT 20) ORDER BY at DESC, id"):
        run = runs.setdefault(r["run_id"], {"run_id": r["run_id"], "at": r["at"], "files": [],
                                            "counts": {}})
        run["files"].append(dict(r))
        run["counts"][r["outcome"]] = run["counts"].get(r["outcome"], 0) + 1
    return {"watch": facts["watch"], "waiting": facts["waiting"], "outage": facts["outage"],
            "published": published, "runs": list(runs.values()),
            "quarantined": len(facts["quarantined"]), "extract": extract_facts(cfg, store)}


def extract_facts(cfg: Config, store: StateStore) -> dict[str, Any] | None:
    ext = getattr(cfg, "extract", None)
    if ext is None or not ext.enabled:
        return None
    from connector.extract import status as extract_status

    facts: dict[str, Any] = extract_status.collect(cfg, store)
    return facts


def layouts() -> list[tuple[str, str]]:
    from formats import layout as fl

    return [(lay.name, lay.description) for lay in fl.all_layouts() if lay.header]


def template_for(name: str) -> tuple[str, str]:
    """(file name, text) of the template of a layout (`connector template LAYOUT`)."""
    from formats import layout as fl
    from formats.templates import template

    try:
        lay = fl.get_layout(name)
    except (KeyError, FormatError):
        raise UploadError(_("Unknown tracciato {name}.").format(name=name)) from None
    filename = lay.filename if "*" not in lay.filename else f"{lay.name}.dat"
    return filename, template(lay)
