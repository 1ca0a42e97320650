"""Status of the legacy route: is it on, what waits in the folder, what was quarantined."""

from __future__ import annotations

import time
from typing import Any

from connector.config import Config
from connector.i18n import _
from connector.legacy.importer import foreign_files, quarantine_dir
from connector.legacy.loop import enabled
from connector.model import kind_of
from connector.state import StateStore
from connector.timefmt import fmt_time


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    folder = cfg.legacy_folder
    waiting: list[str] = []
    oldest: float | None = None
    foreign = foreign_files(store)
    others: list[str] = []
    try:
        for p in folder.iterdir():
            if kind_of(p.name) is not None and p.is_file() and p.name in foreign:
                others.append(p.name)  # another company's: not waiting for us
            elif kind_of(p.name) is not None and p.is_file():
                waiting.append(p.name)
                mtime = p.stat().st_mtime
                oldest = mtime if oldest is None else min(oldest, mtime)
    except OSError:
        pass
    qdir = quarantine_dir(cfg)
    try:
        quarantined = sorted(p.name for p in qdir.iterdir()
                             if p.is_file() and not p.name.endswith(".errors.txt"))
    except OSError:
        quarantined = []
    return {
        "enabled": enabled(cfg),
        "folder": str(folder),
        "waiting": len(waiting),
        "oldest_waiting_age_s": round(time.time() - oldest, 1) if oldest else None,
        "quarantined": len(quarantined),
        "quarantine": str(qdir),
        "quarantined_files": quarantined[-10:],
        "other_company": len(others),
        "other_company_files": sorted(others)[:10],
        "files_imported": int(store.get("legacy.files_imported", "0") or 0),
        "last_scan_at": _float(store.get("legacy.last_scan_at")),
        "last_import_at": _float(store.get("legacy.last_import_at")),
    }


def render(section: dict[str, Any]) -> list[str]:
    if not section.get("enabled"):
        return [_("legacy files: off")]
    oldest = section.get("oldest_waiting_age_s")
    lines = [_("legacy files: {folder}").format(folder=section["folder"]),
             "  " + _("imported {n} files, last {last}, last scan {scan}").format(
                 n=section["files_imported"], last=fmt_time(section["last_import_at"]),
                 scan=fmt_time(section["last_scan_at"])),
             "  " + (_("waiting {n} (oldest {age}s)").format(n=section["waiting"],
                                                              age=f"{oldest:.0f}")
                     if oldest else _("waiting {n}").format(n=section["waiting"]))]
    if section.get("other_company"):
        lines.append("  " + _("left for other companies' connectors {n} (their COD_DITTA is "
                              "not ours)").format(n=section["other_company"]))
        lines.extend(f"    {name}" for name in section["other_company_files"])
    if section["quarantined"]:
        lines.append("  " + _("quarantined {n} in {folder} (see <name>.errors.txt)").format(
            n=section["quarantined"], folder=section["quarantine"]))
        lines.extend(f"    {name}" for name in section["quarantined_files"])
    return lines
