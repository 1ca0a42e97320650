"""The legacy route's vocabulary (AppManager's return files in <company>/appmanager): the
stream each file name feeds, a file's records as web-service-shaped items, and why a file
is refused. Shared by the engine (connector.legacy), which picks the files and journals
their records, and the parsers (adapters.legacy), which read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connector.errors import FormatError

# Stream of each kind of file; the name may carry any app prefix (IB_AM_ORD_..., XY_leads_data_...).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("orders", re.compile(r"(?:^|_)AM_ORD_.*\.DAT$", re.IGNORECASE)),
    ("customers", re.compile(r"(?:^|_)AM_CF_ANA_.*\.DAT$", re.IGNORECASE)),
    ("customer_notes", re.compile(r"(?:^|_)AM_CF_NOTE_.*\.DAT$", re.IGNORECASE)),
    ("leads", re.compile(r"(?:^|_)leads_data_.*\.xml$", re.IGNORECASE)),
    ("lead_notes", re.compile(r"(?:^|_)leads_note_.*\.xml$", re.IGNORECASE)),
)


def kind_of(name: str) -> str | None:
    """The stream a legacy file feeds, or None for a file that is not one of ours."""
    if name.startswith("."):
        return None  # Dropbox and editors' temporary files
    for stream, pattern in _KINDS:
        if pattern.search(name):
            return stream
    return None


@dataclass(frozen=True)
class Problem:
    line: int | None
    field: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        what = f", field {self.field}" if self.field else ""
        val = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{what}{val}: {self.rule}"


class LegacyFileError(FormatError):
    """The file cannot be imported as a whole; `problems` names each line and field."""

    def __init__(self, name: str, problems: list[Problem]) -> None:
        first = problems[0] if problems else Problem(None, None, None, "unreadable")
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{name}: {first}{more}", file=name)
        self.name = name
        self.problems = problems


class ForeignCompanyFile(FormatError):
    """Every COD_DITTA in the file is another company's: the file is that company's
    connector's, to be left where it is (as the reference connector does), not imported
    nor quarantined."""

    def __init__(self, name: str, companies: list[str], company: str) -> None:
        super().__init__(f"{name}: a file of {', '.join(companies)} (COD_DITTA), not of "
                         f"{company}: left for that company's connector", file=name)
        self.name = name
        self.companies = companies


@dataclass(frozen=True)
class ParsedRecord:
    """One record of a legacy file, as an AppManager web-service item (same wire names),
    so the import pipeline decodes both routes with one decoder."""

    stream: str
    unique_id: str
    item: dict[str, Any]
    line: int | None = None
