"""Catalog media from the ERP: the images of the articles, and io_catalogo.dat.

The media query returns one row per catalog entry, with the columns of io_catalogo
(COD_ART, TITOLO, L1..L4, ORDINAMENTO; NOMEFILE optional) and where the image is:
- IMMAGINE: a file name in `image_dir` (the reference connector's ar_gif1), or
- URL: an http(s) address, downloaded (timeouts, size cap, content type, retries), or
- neither: the file `<COD_ART>.<ext>` in `image_dir` (a folder of images named by code).
A missing image takes the `placeholder` (e.g. empty-image.jpg in image_dir) when one
is configured. Images are optionally shrunk with Pillow so neither side exceeds
`max_pixels`. Incremental by hash: an image goes into the watch folder (the export
pipeline puts it in `multimedia`) only when its bytes differ from what was handed over
last time; io_catalogo.dat follows the images, only when its rows changed (or on a
full run). Every failed image is reported by name and reason; the others proceed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog

from connector.config import Config
from connector.errors import ConfigError, ConnectorError, PermanentError, TransientError
from connector.extract.jobs import MEDIA_ENTITY, load_sql
from connector.extract.keystore import PublishLog, diff_files, row_hash
from connector.extract.outcome import Outcome
from connector.extract.params import ParamError, resolve_params
from connector.fsutil import AtomicFile, UnsafePath, atomic_writer, lstat_inside, open_inside
from connector.ports import ErpDatabase, MediaDownloader
from connector.state import StateStore
from formats import get_layout
from formats.media import IMAGE_TYPE_EXTENSION, image_type
from formats.rowformat import PlanError, Problems, compile_plan, format_block

log = structlog.get_logger(__name__)

CATALOG_FIELDS = ("NOMEFILE", "TITOLO", "COD_ART", "L1", "L2", "L3", "L4", "ORDINAMENTO")
SOURCE_FIELDS = ("IMMAGINE", "URL")
NAME_MAX = 25  # NOMEFILE C25
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass
class _Entry:
    values: dict[str, Any]  # catalog fields
    source: str  # "file:<path>" | "url:<url>"
    name: str  # NOMEFILE in multimedia


def run_media(cfg: Config, store: StateStore, keys: PublishLog, db: ErpDatabase,
              downloader: Callable[[], MediaDownloader], *, mode: str, dry_run: bool,
              stop: threading.Event | None = None,
              beat: Callable[[], None] = lambda: None) -> Outcome:
    outcome = Outcome(MEDIA_ENTITY)
    try:
        _run(cfg, store, keys, db, downloader, outcome, mode=mode, dry_run=dry_run, stop=stop,
             beat=beat)
    except ConnectorError as exc:
        outcome.status = "failed"
        outcome.message = str(exc)
        outcome.transient = isinstance(exc, TransientError)
        log.error("media job failed", error=str(exc))
    except OSError as exc:
        outcome.status = "failed"
        outcome.message = f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}"
        log.error("media job failed", error=outcome.message)
    return outcome


def _run(cfg: Config, store: StateStore, keys: PublishLog, db: ErpDatabase,
         downloader: Callable[[], MediaDownloader], outcome: Outcome, *, mode: str,
         dry_run: bool, stop: threading.Event | None, beat: Callable[[], None]) -> None:
    mc = cfg.extract.media
    sql = load_sql(mc.query, mc.query_file, "extract.media")
    try:
        params = resolve_params(db.param_names(sql), company=cfg.company,
                                declared=cfg.extract.params)
    except ParamError as exc:
        raise ConfigError([f"extract.media: {exc}"]) from None
    entries, problems = _read_entries(cfg, db, sql, params)
    outcome.problems = problems
    counts = {"new": 0, "changed": 0, "unchanged": 0, "failed": 0}
    failed: list[str] = []
    shown: list[str] = []
    ok_names: set[str] = set()
    done: dict[str, bool] = {}
    fetcher = downloader()
    try:
        for entry in entries:
            beat()
            if stop is not None and stop.is_set():
                raise TransientError("stopped: the connector is shutting down")
            if entry.name in done:
                if done[entry.name]:
                    ok_names.add(entry.name)
                continue
            try:
                state = _one_image(cfg, store, fetcher, entry, dry_run=dry_run, stop=stop)
            except (PermanentError, TransientError) as exc:
                counts["failed"] += 1
                failed.append(f"{entry.name} ({entry.values.get('COD_ART') or '-'}): {exc}")
                done[entry.name] = False
                continue
            counts[state] += 1
            if state != "unchanged" and len(shown) < cfg.extract.diff_list_limit:
                shown.append(f"{entry.name} ({state})")
            done[entry.name] = True
            ok_names.add(entry.name)
    finally:
        fetcher.close()
    outcome.details.append(
        f"images: {counts['new']} new, {counts['changed']} changed, {counts['unchanged']} "
        f"unchanged, {counts['failed']} failed" + (" (dry run: none copied)" if dry_run else ""))
    if shown:
        outcome.details.append(("  to copy: " if dry_run else "  copied: ") + ", ".join(shown))
    outcome.details.extend(f"  image failed: {f}" for f in failed)
    catalog = [e for e in entries if e.name in ok_names]
    _catalog(cfg, keys, catalog, outcome, mode=mode, dry_run=dry_run,
             images_changed=counts["new"] + counts["changed"])
    if failed and outcome.status != "failed":
        outcome.status = "partial"  # not ok: the run reports failure, the rest went ahead
        outcome.message += f"; {len(failed)} image(s) failed (listed above)"


def _read_entries(cfg: Config, db: ErpDatabase, sql: str,
                  params: dict[str, Any]) -> tuple[list[_Entry], Problems]:
    mc = cfg.extract.media
    problems = Problems()
    mapping = {k.upper(): v.upper() for k, v in mc.columns.items()}
    entries: list[_Entry] = []
    with db.stream(sql, params, "io_catalogo (extract.media)") as (cols, parts):
        names = [mapping.get(c.upper(), c.upper()) for c in cols]
        unknown = [c for c, n in zip(cols, names, strict=True)
                   if n not in CATALOG_FIELDS and n not in SOURCE_FIELDS]
        if unknown:
            raise ConfigError([f"extract.media: query column(s) {', '.join(unknown)} are not "
                               f"catalog fields ({', '.join(CATALOG_FIELDS + SOURCE_FIELDS)})"])
        line = 1
        taken: dict[str, str] = {}  # NOMEFILE -> source: two images never share a name
        for part in parts:
            for row in part:
                line += 1
                values = dict(zip(names, row, strict=True))
                entry = _entry(cfg, values, line, problems)
                if entry is not None:
                    entry.name = _unique(entry.name, entry.source, taken)
                    entry.values["NOMEFILE"] = entry.name
                    entries.append(entry)
    if mc.image_dir is None and any(e.source.startswith("file:") for e in entries):
        raise ConfigError(["extract.media.image_dir: needed for images named by file or code"])
    return entries, problems


def _entry(cfg: Config, values: dict[str, Any], line: int, problems: Problems) -> _Entry | None:
    mc = cfg.extract.media
    code = "" if values.get("COD_ART") is None else str(values["COD_ART"]).strip()
    link = str(values.get("URL") or "").strip()
    image = str(values.get("IMMAGINE") or "").strip()
    catalog = {k: values.get(k) for k in CATALOG_FIELDS if k in values}
    if not catalog.get("TITOLO"):
        catalog["TITOLO"] = code or image or link.rsplit("/", 1)[-1]
    if not catalog.get("L1"):
        catalog["L1"] = "Catalogo"
    if link:
        source = f"url:{link}"
        name = str(values.get("NOMEFILE") or "") or _name_from_url(link, code)
    else:
        path = _local_image(mc.image_dir, image, code, mc.extensions) if mc.image_dir else None
        if path is None and mc.placeholder and mc.image_dir is not None:
            path = mc.image_dir / mc.placeholder
            if not path.is_file():
                path = None
        if path is None:  # reported as a failed image; the other entries go ahead
            what = (f"image {image!r} not found in {mc.image_dir}" if image else
                    f"no image for article {code!r} in {mc.image_dir} (looked for "
                    f"{code}{'/'.join(mc.extensions)})")
            source = f"missing:line {line}: {what}; set extract.media.placeholder for a stand-in"
            name = str(values.get("NOMEFILE") or "") or image or f"{code}.jpg"
        else:
            source = f"file:{path}"
            name = str(values.get("NOMEFILE") or "") or path.name
    name = _safe_name(name)
    catalog["NOMEFILE"] = name
    return _Entry(catalog, source, name)


def _unique(name: str, source: str, taken: dict[str, str]) -> str:
    """`name`, or a variant tagged with the source's hash when another image has it
    (CDN addresses often all end in image.jpg)."""
    if taken.setdefault(name, source) == source:
        return name
    p = PurePosixPath(name)
    tag = hashlib.sha256(source.encode()).hexdigest()[:6]
    candidate = f"{p.stem[:NAME_MAX - len(p.suffix) - 7]}_{tag}{p.suffix}"
    taken.setdefault(candidate, source)
    return candidate


def _local_image(folder: Path | None, image: str, code: str, extensions: list[str]) -> Path | None:
    """Where the image is in `folder` (by name, or by article code), without leaving it: no
    absolute names, no "..". Links are found here and refused when read (_read_local)."""
    if folder is None:
        return None
    if image:
        rel = image.replace("\\", "/")
        if rel.startswith("/") or ".." in rel.split("/") or ":" in rel:
            return None
        candidate = folder / rel
        return candidate if os.path.lexists(candidate) else None
    if not code or "/" in code or "\\" in code or code in (".", ".."):
        return None
    for ext in extensions:
        for candidate in (folder / f"{code}{ext}", folder / f"{code}{ext.upper()}"):
            if os.path.lexists(candidate):
                return candidate
    return None


def _read_local(folder: Path, path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file inside `folder`, never through a link (fsutil.open_inside)."""
    try:
        rel = path.relative_to(folder).as_posix()
        f, st = open_inside(folder, rel)
        with f:
            return f.read(), st
    except UnsafePath as exc:
        raise PermanentError(f"{path.name}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise PermanentError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
                             ) from None


def _name_from_url(link: str, code: str) -> str:
    base = unquote(PurePosixPath(urlsplit(link).path).name)
    if base and PurePosixPath(base).suffix.lower() in (".jpg", ".jpeg", ".png", ".gif"):
        return base
    return f"{code or 'image'}.jpg"  # the real extension is fixed once the bytes are seen


def _safe_name(name: str) -> str:
    """A NOMEFILE that fits C25 and is a plain file name in the multimedia root."""
    name = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .") or "image"
    if len(name) <= NAME_MAX:
        return name
    p = PurePosixPath(name)
    tag = hashlib.sha256(name.encode()).hexdigest()[:6]
    stem = p.stem[:NAME_MAX - len(p.suffix) - 7]
    return f"{stem}_{tag}{p.suffix}"


def _one_image(cfg: Config, store: StateStore, fetcher: MediaDownloader, entry: _Entry, *,
               dry_run: bool, stop: threading.Event | None) -> str:
    """new | changed | unchanged; PermanentError/TransientError when the image fails."""
    mc = cfg.extract.media
    prev = store.query_one("SELECT * FROM extract_media_files WHERE name = ?", (entry.name,))
    signature = ""
    if entry.source.startswith("missing:"):
        raise PermanentError(entry.source.removeprefix("missing:"))
    if entry.source.startswith("file:"):
        path = Path(entry.source[5:])
        folder = mc.image_dir or path.parent
        try:
            st = lstat_inside(folder, path.relative_to(folder).as_posix())
        except (OSError, ValueError, UnsafePath) as exc:
            raise PermanentError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
                                 ) from None
        signature = f"{st.st_size}:{st.st_mtime_ns}:{mc.max_pixels or 0}"
        if prev is not None and prev["source"] == entry.source and prev["signature"] == signature \
                and stat.S_ISREG(st.st_mode):
            return "unchanged"  # same file, same size and time, same resize: not even read
        data, _st = _read_local(folder, path)
        kind = image_type(data)
        if kind is None:
            raise PermanentError(f"{path.name} is not a JPEG, PNG or GIF image")
    else:
        got = fetcher.download(entry.source[4:], stop)
        data, kind = got.data, got.content_type
        want = IMAGE_TYPE_EXTENSION[kind]
        if PurePosixPath(entry.name).suffix.lower() not in (want, ".jpeg" if want == ".jpg" else want):
            entry.name = _safe_name(PurePosixPath(entry.name).stem + want)
            entry.values["NOMEFILE"] = entry.name
    if mc.max_pixels:
        data = _shrink(data, mc.max_pixels, kind)
    sha = hashlib.sha256(data).hexdigest()
    state = "new" if prev is None else ("unchanged" if prev["sha256"] == sha else "changed")
    if dry_run or state == "unchanged":
        if state == "unchanged" and not dry_run and signature:
            store.execute("UPDATE extract_media_files SET signature = ? WHERE name = ?",
                          (signature, entry.name))
        return state
    with atomic_writer(cfg.export.watch / entry.name, tmp_name=f"{entry.name}.part") as f:
        f.write(data)
    store.execute("INSERT OR REPLACE INTO extract_media_files (name, source, signature, sha256, "
                  "size, at) VALUES (?, ?, ?, ?, ?, ?)",
                  (entry.name, entry.source, signature, sha, len(data), time.time()))
    return state


def _shrink(data: bytes, max_pixels: int, kind: str) -> bytes:
    """The image scaled down (aspect kept) so neither side exceeds max_pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as src:
            if max(src.size) <= max_pixels:
                return data
            if kind == "image/gif" and getattr(src, "is_animated", False):
                return data  # resizing would drop the animation
            img: Image.Image = src.copy()
        img.thumbnail((max_pixels, max_pixels), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}[kind]
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(out, format=fmt, **({"quality": 90, "optimize": True} if fmt == "JPEG" else {}))
        return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PermanentError(f"the image cannot be decoded for resizing: {exc}") from None


def _catalog(cfg: Config, keys: PublishLog, entries: list[_Entry], outcome: Outcome, *, mode: str,
             dry_run: bool, images_changed: int) -> None:
    """io_catalogo.dat from the entries whose image is in place."""
    import tempfile

    layout = get_layout("io_catalogo")
    present = {k for e in entries for k in e.values} | {"NOMEFILE", "TITOLO", "L1"}
    names = [f for f in CATALOG_FIELDS if f in present]
    seen: set[tuple[Any, ...]] = set()
    rows: list[tuple[Any, ...]] = []
    for e in entries:
        row = tuple(e.values.get(n) for n in names)
        if row not in seen:  # the same file listed twice in the same folder
            seen.add(row)
            rows.append(row)
    try:
        plan = compile_plan(layout, names, mapping={}, key_template=None, company=cfg.company,
                            length_policy=cfg.export.length_policy)
    except PlanError as exc:
        raise ConfigError([f"extract.media: {exc}"]) from None
    block = format_block(plan, rows, 2, outcome.problems)
    outcome.rows = block.rows
    header = b"\xef\xbb\xbf" + (plan.header + "\r\n").encode("utf-8")
    data = header + ((block.text + "\r\n").encode("utf-8") if block.rows else b"")
    raws = data[len(header):].split(b"\r\n")[:-1]
    fingerprint = sum(row_hash(r) for r in raws)
    last = keys.last(layout.name)
    outcome.unchanged = last is not None and (last.rows, last.fingerprint) == (
        block.rows, fingerprint)
    if dry_run:
        with tempfile.TemporaryFile() as fp:
            fp.write(data)
            fp.flush()
            last_file = keys.last_file(layout.filename) if last is not None else None
            if last_file is not None:
                with open(last_file, "rb") as old:
                    outcome.diff = diff_files(old, fp, keyed=False,
                                              limit=cfg.extract.diff_list_limit)
            else:
                outcome.diff = diff_files(None, fp, keyed=False,
                                          limit=cfg.extract.diff_list_limit)
    if outcome.problems.count:
        outcome.status = "invalid"
        outcome.message = f"{outcome.problems.count} problem(s): io_catalogo.dat not written"
        return
    if not block.rows:
        outcome.status = "empty"
        outcome.message = "no catalog entries: io_catalogo.dat not written"
        return
    if dry_run:
        outcome.status = "dry-run"
        outcome.message = ("io_catalogo.dat unchanged" if outcome.unchanged and not images_changed
                           else "would be published")
        return
    if mode == "changed" and outcome.unchanged:
        outcome.status = "unchanged"
        outcome.message = "io_catalogo.dat unchanged: not written"
        return
    pf = AtomicFile(cfg.export.watch / layout.filename, tmp_name=f"{layout.filename}.part")
    try:
        pf.fp.write(data)
        pf.fp.flush()
        keys.keep(pf.tmp, layout.filename)  # before the watcher can take it
    except BaseException:
        pf.discard()
        raise
    target = pf.commit()
    keys.record(layout.name, rows=block.rows, fingerprint=fingerprint,
                sha256=hashlib.sha256(data).hexdigest(), mode=mode)
    outcome.status = "published"
    outcome.message = f"handed to the export pipeline as {target.name}"
    outcome.files.append(target.name)
