"""Export facts for `connector status`: last publish per tracciato (with its warnings and
held-back rows), waiting, quarantined."""

from __future__ import annotations

import json
import os
from typing import Any

from connector.config import Config
from connector.export.journal import ExportJournal
from connector.export.naming import classify
from connector.export.verdicts import Verdicts
from connector.i18n import _
from connector.inbox import is_ignored
from connector.state import StateStore
from connector.timefmt import fmt_time, fmt_when


def scan_watch(cfg: Config) -> tuple[list[str], list[dict[str, str]]]:
    """The files in the export folder: (waiting, ignored). Ignored: what the watcher and
    the dry run leave alone (a subfolder other than multimedia/ and reports/), said so in
    status rather than shown waiting forever."""
    ex = cfg.export
    waiting: list[str] = []
    ignored: list[dict[str, str]] = []
    dialects = tuple((d.match, d.layout) for d in ex.dialects)
    if ex.watch.is_dir():
        for p in sorted(ex.watch.rglob("*")):  # rglob does not descend into linked folders
            if p.is_dir() and not p.is_symlink():
                continue
            rel = p.relative_to(ex.watch).as_posix()
            skip = any(p.resolve().is_relative_to(d.resolve())
                       for d in (ex.archive, ex.quarantine, cfg.staging_dir))
            if skip or is_ignored(rel, ex.done_marker):
                continue
            if classify(rel, dialects) is None:
                ignored.append({"file": rel, "reason": "subfolder"})
            else:
                waiting.append(rel)
    return waiting, ignored


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    journal = ExportJournal(store)
    ex = cfg.export
    waiting, ignored = scan_watch(cfg)
    from connector.export.housekeeping import deletion_dates

    outage = store.get("export.outage")  # written by the export loop (loop.OUTAGE_KEY)
    held = store.get("export.paused")  # written by the export loop while paused (PAUSED_KEY)
    due = deletion_dates(cfg, store)
    quarantined = [dict(q, delete_on=due.get(os.path.abspath(str(q["path"]))))
                   for q in journal.quarantine_list() if _exists(q["path"])]
    quarantined.sort(key=lambda q: q["delete_on"] is None)  # about to go: shown first
    return {
        "watch": str(ex.watch),
        "outage": json.loads(outage) if outage else None,
        "held": json.loads(held) if held else None,
        "space": json.loads(space) if (space := store.get("export.space")) else None,
        "published": journal.published(),
        "verdicts": Verdicts(store).all(),
        "waiting": waiting,
        "ignored": ignored,
        "quarantined": quarantined,
    }


def _exists(path: object) -> bool:
    return os.path.lexists(str(path))  # a quarantined link counts, whatever it points to


def render(section: dict[str, Any]) -> list[str]:
    lines = [_("export (watching {folder}):").format(folder=section["watch"])]
    outage = section.get("outage")
    if outage:
        lines.append("  " + _("OUTAGE since {when}: {reason}").format(
            when=fmt_time(outage.get("since")), reason=outage.get("reason")))
        lines.append("    " + _("nothing is published; files wait in the export folder and go "
                                "as soon as the Dropbox folder is back"))
    held = section.get("held")
    if held:
        lines.append("  " + _("paused: the daemon holds {n} settled file(s) back (checked at "
                              "{at}, cycle {cycle}); they go once the export is resumed")
                     .format(n=len(held.get("held") or []), at=fmt_time(held.get("at")),
                             cycle=held.get("cycle")))
    pub = section["published"]
    if not pub:
        lines.append("  " + _("nothing published yet"))
    for p in pub:
        rows = "-" if p["rows"] is None else p["rows"]
        lines.append(f"  {p['folder']}/{p['name']:<28} {fmt_time(p['published_at'])}  "
                     + _("rows {rows:>8}  bytes {bytes:>10}").format(rows=rows, bytes=p["bytes"])
                     + f"  sha256 {str(p['sha256'])[:12]}")
    for v in section.get("verdicts", []):
        held = v["held_back"]
        what = (_("published {rows} rows, held back {held}").format(rows=v["rows"], held=held)
                if held else _("published {rows} rows").format(rows=v["rows"]))
        warned = (", " + _("{n} warning(s)").format(n=v["warnings"])) if v["warnings"] else ""
        lines.append(f"  {v['folder']}/{v['name']}: {what}{warned}")
        if held:
            lines.append("    " + _("held back: {path}").format(path=v["held_path"]))
            lines.append("      " + _("report: {path}").format(path=v["held_report"]))
        for w in v["first_warnings"]:
            lines.append("    " + _("warning: {text}").format(text=w))
        if v["warnings"] > len(v["first_warnings"]):
            lines.append("    " + _("... and {n} more warnings (`connector validate` on the "
                                    "archived file lists them)").format(
                n=v["warnings"] - len(v["first_warnings"])))
    space = section.get("space")
    if space:
        lines.append("  " + _("WAITING FOR SPACE since {when}: {n} file(s) not staged, {free} MB "
                              "free, floor {floor} MB (export.min_free_mb); free space on the "
                              "staging volume and they go with the next burst").format(
            when=fmt_time(space.get("at")), n=space.get("waiting"), free=space.get("free_mb"),
            floor=space.get("floor_mb")))
    waiting = section["waiting"]
    lines.append("  " + _("waiting: {n}").format(n=len(waiting))
                 + (f" ({', '.join(waiting[:10])}{', ...' if len(waiting) > 10 else ''})"
                    if waiting else ""))
    ignored = section.get("ignored") or []
    if ignored:
        lines.append("  " + _("ignored: {n} (in a subfolder: only files at the top of the "
                              "export folder, multimedia/ and reports/ are taken; move them "
                              "up)").format(n=len(ignored)))
        for item in ignored[:10]:
            lines.append(f"    {item['file']}")
    q = section["quarantined"]
    lines.append("  " + _("quarantined: {n}").format(n=len(q)))
    for item in q[:20]:
        name = os.path.basename(str(item["path"]))
        now = f" (now {name})" if name != os.path.basename(str(item["source"])) else ""
        lines.append(f"    {item['source']}{now}  "
                     + _("({n} problem(s))").format(n=item["violations"])
                     + f" {item['first_error']}")
        if item.get("at"):
            lines.append("      " + _("quarantined {when}").format(when=fmt_when(item["at"])))
        lines.append("      " + _("report: {path}").format(path=item["report"]))
        if item.get("delete_on"):
            lines.append("      " + _("TO BE DELETED on about {date} (export.quarantine_days): "
                                      "keep it elsewhere if it is still needed").format(
                date=fmt_time(item["delete_on"])[:10]))
    return lines
