"""Reading the legacy return files: pipe-separated lines, fields, problems (the names of
the files, the records and the problems are the kernel's: connector.model.legacy).

AppManager's legacy ASCII export (../shared/spec/tracciati.md §4.1) is pipe-separated
with no header row, dates `ddmmyyyy` (or `ddmmyyyyhhmmss`), comma decimals and `§`
for a newline inside text. Everything here is pure: bytes in, values or problems out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from connector.model.legacy import ForeignCompanyFile, LegacyFileError, Problem

NEWLINE_MARK = "\u00a7"  # § stands for a line break inside a text field


def check_company(name: str, values: list[str], company: str) -> None:
    """ForeignCompanyFile when the file's COD_DITTA values (one per line or row; blank
    ones claim nothing) are all another company's. A file mixing ours and others' is
    ours, and its foreign lines are problems (company_problem)."""
    found = sorted({v.strip().upper() for v in values if v.strip()})
    if found and company.strip().upper() not in found:
        raise ForeignCompanyFile(name, found, company)


@dataclass
class LineReader:
    """Collects problems while converting the fields of one line."""

    name: str
    line: int
    fields: list[str]
    names: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)

    def _value(self, index: int) -> str:
        return self.fields[index] if index < len(self.fields) else ""

    def bad(self, index: int, rule: str) -> None:
        self.problems.append(Problem(self.line, self.names[index], self._value(index), rule))

    def text(self, index: int) -> str | None:
        value = self._value(index)
        return value.replace(NEWLINE_MARK, "\n") if value != "" else None

    def date(self, index: int, *, required: bool = False) -> str | None:
        value = self._value(index).strip()
        if not value:
            if required:
                self.bad(index, "required date is empty")
            return None
        iso = parse_dat_date(value)
        if iso is None:
            self.bad(index, "not a date (ddmmyyyy or ddmmyyyyhhmmss)")
        return iso

    def decimal(self, index: int) -> str | None:
        value = self._value(index).strip()
        if not value:
            return None
        if not re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", value):
            self.bad(index, "not a decimal number (comma as decimal separator, e.g. 1,50)")
            return None
        return value.replace(",", ".")

    def integer(self, index: int, allowed: range | None = None) -> str | None:
        value = self._value(index).strip()
        if not value:
            return None
        if not re.fullmatch(r"[+-]?\d+", value):
            self.bad(index, "not a whole number")
            return None
        if allowed is not None and int(value) not in allowed:
            self.bad(index, f"must be between {allowed.start} and {allowed.stop - 1}")
            return None
        return str(int(value))


def parse_dat_date(value: str) -> str | None:
    """ddmmyyyy -> yyyy-mm-dd, ddmmyyyyhhmmss -> yyyy-mm-ddThh:mm:ss; None when invalid."""
    try:
        if len(value) == 8 and value.isdigit():
            return datetime.strptime(value, "%d%m%Y").date().isoformat()
        if len(value) == 14 and value.isdigit():
            return datetime.strptime(value, "%d%m%Y%H%M%S").isoformat()
    except ValueError:
        return None
    return None


def decode_text(name: str, data: bytes) -> str:
    """UTF-8 (with or without BOM) as the .NET writer produces; Windows-1252 as a fallback."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise LegacyFileError(name, [Problem(None, None, None,
                                             f"not UTF-8 nor Windows-1252 text (byte {exc.start})")]) from None


def split_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for every non-blank line; CRLF, LF and CR line ends."""
    for no, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            yield no, raw


def company_problem(reader: LineReader, index: int, company: str) -> None:
    """A line of another company in a file that also holds ours (a file wholly another
    company's is left alone: check_company): the file mixes companies and is
    quarantined, so someone looks."""
    value = reader.fields[index].strip() if index < len(reader.fields) else ""
    if value and value.upper() != company.upper():
        reader.bad(index, f"COD_DITTA of another company in a file of {company} "
                          "(one file holds one company's records)")
