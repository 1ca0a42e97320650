"""Export facts for `connector status`: last publish per tracciato (with its warnings and
held-back rows), waiting, quarantined."""

from __future__ import annotations

from typing import Any

from connector.config import Config
from connector.export.journal import ExportJournal
from connector.export.naming import is_ignored
from connector.export.verdicts import Verdicts
from connector.state import StateStore
from connector.status import fmt_time


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    journal = ExportJournal(store)
    ex = cfg.export
    waiting: list[str] = []
    if ex.watch.is_dir():
        for p in sorted(ex.watch.rglob("*")):
            if not p.is_file():
                continue
            rel = p.relative_to(ex.watch).as_posix()
            skip = any(p.resolve().is_relative_to(d.resolve())
                       for d in (ex.archive, ex.quarantine, cfg.staging_dir))
            if not skip and not is_ignored(rel, ex.done_marker):
                waiting.append(rel)
    return {
        "watch": str(ex.watch),
        "published": journal.published(),
        "verdicts": Verdicts(store).all(),
        "waiting": waiting,
        "quarantined": [q for q in journal.quarantine_list() if _exists(q["path"])],
    }


def _exists(path: object) -> bool:
    from pathlib import Path

    return Path(str(path)).exists()


def render(section: dict[str, Any]) -> list[str]:
    lines = [f"export (watching {section['watch']}):"]
    pub = section["published"]
    if not pub:
        lines.append("  nothing published yet")
    for p in pub:
        rows = "-" if p["rows"] is None else p["rows"]
        lines.append(f"  {p['folder']}/{p['name']:<28} {fmt_time(p['published_at'])}  "
                     f"rows {rows:>8}  bytes {p['bytes']:>10}  sha256 {str(p['sha256'])[:12]}")
    for v in section.get("verdicts", []):
        held = v["held_back"]
        what = f"published {v['rows']} rows, held back {held}" if held else \
            f"published {v['rows']} rows"
        warned = f", {v['warnings']} warning(s)" if v["warnings"] else ""
        lines.append(f"  {v['folder']}/{v['name']}: {what}{warned}")
        if held:
            lines.append(f"    held back: {v['held_path']}")
            lines.append(f"      report: {v['held_report']}")
        for w in v["first_warnings"]:
            lines.append(f"    warning: {w}")
        if v["warnings"] > len(v["first_warnings"]):
            lines.append(f"    ... and {v['warnings'] - len(v['first_warnings'])} more warnings "
                         "(`connector validate` on the archived file lists them)")
    waiting = section["waiting"]
    lines.append(f"  waiting: {len(waiting)}" + (f" ({', '.join(waiting[:10])}"
                                                 f"{', ...' if len(waiting) > 10 else ''})"
                                                 if waiting else ""))
    q = section["quarantined"]
    lines.append(f"  quarantined: {len(q)}")
    for item in q[:20]:
        lines.append(f"    {item['source']}  ({item['violations']} problem(s)) {item['first_error']}")
        lines.append(f"      report: {item['report']}")
    return lines
