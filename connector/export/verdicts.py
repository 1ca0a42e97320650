"""What the last publish of each tracciato has to tell: its warnings and its held-back rows.

One row per destination (folder, name), replaced by every publish (or unchanged re-drop)
of it, so `connector status` shows what the file now in Dropbox departs from the
documentation in, and which of its rows wait in quarantine ("published N rows, held
back M"). Every text here is bounded (formats.report).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from connector.state import StateStore

DDL = """
CREATE TABLE IF NOT EXISTS export_verdicts (
    folder TEXT NOT NULL, name TEXT NOT NULL, source TEXT, rows INTEGER,
    warnings INTEGER NOT NULL, first_warnings TEXT NOT NULL, held_back INTEGER NOT NULL,
    held_path TEXT, held_report TEXT, at REAL NOT NULL, PRIMARY KEY (folder, name));
"""


@dataclass(frozen=True)
class Verdict:
    folder: str
    name: str
    source: str
    rows: int | None
    warnings: int = 0
    first_warnings: tuple[str, ...] = ()
    held_back: int = 0
    held_path: str | None = None
    held_report: str | None = None


class Verdicts:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        store.ensure_schema("export_verdicts", DDL)

    def record(self, verdicts: list[Verdict]) -> None:
        now = time.time()
        with self.store.transaction() as conn:
            for v in verdicts:
                conn.execute(
                    "INSERT INTO export_verdicts(folder, name, source, rows, warnings, "
                    "first_warnings, held_back, held_path, held_report, at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(folder, name) DO UPDATE SET "
                    "source=excluded.source, rows=excluded.rows, warnings=excluded.warnings, "
                    "first_warnings=excluded.first_warnings, held_back=excluded.held_back, "
                    "held_path=excluded.held_path, held_report=excluded.held_report, "
                    "at=excluded.at",
                    (v.folder, v.name, v.source, v.rows, v.warnings, "\n".join(v.first_warnings),
                     v.held_back, v.held_path, v.held_report, now))

    def all(self) -> list[dict[str, object]]:
        """The destinations whose last publish had warnings or held rows back."""
        out = []
        for r in self.store.query(
                "SELECT folder, name, source, rows, warnings, first_warnings, held_back, "
                "held_path, held_report, at FROM export_verdicts "
                "WHERE warnings > 0 OR held_back > 0 ORDER BY folder, name"):
            d = dict(r)
            d["first_warnings"] = [w for w in str(d["first_warnings"]).split("\n") if w]
            out.append(d)
        return out
