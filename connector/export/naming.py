"""Which dropped files we take, and where each one goes in Dropbox.

The watch folder:
  io_*.dat, CSV matched by a dialect    -> gestionale (validated, canonical form)
  io_catalogo.dat, images, video        -> multimedia
  io_reports.dat, *.pdf                 -> reports
  multimedia/<tree>                     -> multimedia/<tree> (file-system catalog mode)
  reports/<name>                        -> reports/<name>
Temporary names that ERPs, Office and editors use are never taken (connector.inbox.is_ignored).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePosixPath

from formats.media import DOCUMENT_EXTENSIONS, MEDIA_EXTENSIONS

MEDIA_EXT = frozenset(f".{e}" for e in MEDIA_EXTENSIONS)
DOC_EXT = frozenset(f".{e}" for e in DOCUMENT_EXTENSIONS)

@dataclass(frozen=True)
class Target:
    # "tracciato" | "dialect" | "catalog_index" | "reports_index" | "media" | "report" | "unsupported"
    kind: str
    folder: str  # gestionale | multimedia | reports
    name: str  # relative name inside folder (may contain "/" under multimedia)
    layout: str | None = None


def classify(rel: str, dialects: tuple[tuple[str, str], ...] = ()) -> Target | None:
    """Where a file (path relative to the watch folder, "/"-separated) goes; None = not ours.

    `dialects` are (glob, layout) pairs: a matching CSV becomes gestionale/<layout>.dat.
    """
    p = PurePosixPath(rel)
    base = p.name
    low = base.lower()
    ext = p.suffix.lower()
    top = p.parts[0].lower() if len(p.parts) > 1 else ""

    if top == "multimedia":
        inner = "/".join(p.parts[1:])
        if low == "io_catalogo.dat" and len(p.parts) == 2:
            return Target("catalog_index", "multimedia", "io_catalogo.dat", "io_catalogo")
        return Target("media", "multimedia", inner)
    if top == "reports":
        inner = "/".join(p.parts[1:])
        if low == "io_reports.dat" and len(p.parts) == 2:
            return Target("reports_index", "reports", "io_reports.dat", "io_reports")
        return Target("report", "reports", inner)
    if len(p.parts) > 1:
        return None  # other subfolders are not ours (archive or quarantine may live here)

    if low == "io_catalogo.dat":
        return Target("catalog_index", "multimedia", "io_catalogo.dat", "io_catalogo")
    if low == "io_reports.dat":
        return Target("reports_index", "reports", "io_reports.dat", "io_reports")
    if low.startswith("io_") and ext == ".dat":
        return Target("tracciato", "gestionale", low, low[:-4])
    for glob, layout in dialects:
        if fnmatch.fnmatchcase(low, glob.lower()):
            return Target("dialect", "gestionale", f"{layout.lower().removesuffix('.dat')}.dat",
                          layout)
    if ext in DOC_EXT:
        return Target("report", "reports", base)
    if ext in MEDIA_EXT:
        return Target("media", "multimedia", base)
    if ext == ".dat":
        return Target("tracciato", "gestionale", low, None)  # unknown .dat: judged, then quarantined
    return Target("unsupported", "", base)  # quarantined with a reason the clerk can act on
