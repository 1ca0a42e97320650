"""What a validation found: errors and warnings (line, column, value, rule) and the report.

Every piece is bounded, whatever the input: a value is shown as a short excerpt, a rule
and a column name are cut, at most `max_errors` errors and as many warnings are kept
(the first ones by line; the rest are counted), and the text of a report stops at
REPORT_LIMIT characters. So a pathological file (a 128 MB line, a million columns) gives
a report of a few kilobytes, and so do the log lines and the state-store rows built from it.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Any, Literal

EXCERPT = 60  # characters of a bad value shown in a report
COLUMN_LIMIT = 60  # characters of a column name
RULE_LIMIT = 300  # characters of a rule
FIRST_LIMIT = 500  # characters of the one-line summary (logs, state store, status)
REPORT_LIMIT = 1 << 20  # characters of a whole report text
MAX_HELD_LINES = 10_000  # bad lines remembered one by one (to hold them back)

Severity = Literal["error", "warning"]

# Control characters shown as escapes: a report or a log line never carries raw ones.
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]}
_CONTROL.update({0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t"})


def excerpt(value: str, limit: int = EXCERPT) -> str:
    """A value as shown to a person: control characters made visible, then shortened to
    `limit` characters (and "...")."""
    shown = value[:limit + 1].translate(_CONTROL)
    return shown if len(shown) <= limit and len(value) <= limit else shown[:limit] + "..."


@dataclass(frozen=True)
class Violation:
    """One broken rule. line 0 = the file as a whole; column None = the line as a whole."""

    line: int
    column: str | None
    value: str
    rule: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "value": self.value, "rule": self.rule,
                "severity": self.severity}

    def to_text(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        col = f", column {self.column}" if self.column else ""
        val = f", value '{self.value}'" if self.value else ""
        return f"{where}{col}{val}: {self.rule}"


class _Kept:
    """The first `limit` items by line (ties: in the order added), and a count of all."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self.count = 0
        self._heap: list[tuple[int, int, Violation]] = []  # (-line, -seq): the last on top
        self._seq = itertools.count()

    def add(self, v: Violation) -> None:
        self.count += 1
        if not self.limit:
            return
        item = (-v.line, -next(self._seq), v)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:  # earlier than the last kept one: it takes its place
            heapq.heapreplace(self._heap, item)

    def wants(self, line: int) -> bool:
        """Whether a violation on `line` would be kept (else it is only counted)."""
        if len(self._heap) < self.limit:
            return True
        return bool(self._heap) and -line > self._heap[0][0]

    def items(self) -> list[Violation]:
        return [v for _, _, v in sorted(self._heap, key=lambda t: (-t[0], -t[1]))]

    def __len__(self) -> int:
        return len(self._heap)


class ValidationReport:
    """The verdict on one file: errors (which refuse it, or hold rows back) and warnings.

    strict: every warning counts as an error (the documented layout enforced).
    Errors are row errors (confined to one data line: that line can be held back) or
    file errors (the header, the file's encoding, a line beyond every bound...).
    """

    def __init__(self, layout: str | None, max_errors: int = 1000, *, strict: bool = False
                 ) -> None:
        self.layout = layout
        self.max_errors = max_errors
        self.strict = strict
        self.rows = 0
        self.file_errors = 0
        self._errors = _Kept(max_errors)
        self._warnings = _Kept(max_errors)
        self._bad_lines: set[int] = set()
        self._bad_overflow = False  # more bad lines than MAX_HELD_LINES
        self.held: dict[int, int] = {}  # held-back source line -> its line in the held file

    # -- the verdict ----------------------------------------------------------------
    @property
    def valid(self) -> bool:
        return self._errors.count == 0

    @property
    def violations(self) -> list[Violation]:
        """The kept errors, in line order."""
        return self._errors.items()

    @property
    def violation_count(self) -> int:
        return self._errors.count

    @property
    def warnings(self) -> list[Violation]:
        return self._warnings.items()

    @property
    def warning_count(self) -> int:
        return self._warnings.count

    @property
    def omitted(self) -> int:
        return self._errors.count - len(self._errors)

    @property
    def bad_rows(self) -> int:
        """Distinct data lines with an error (exact up to MAX_HELD_LINES)."""
        return len(self._bad_lines) + (1 if self._bad_overflow else 0)

    @property
    def bad_lines(self) -> frozenset[int] | None:
        """The data lines with an error, None when there are too many to name."""
        return None if self._bad_overflow else frozenset(self._bad_lines)

    @property
    def rows_only(self) -> bool:
        """Every error is confined to data lines: those lines could be held back."""
        return not self.valid and self.file_errors == 0 and not self._bad_overflow

    # -- recording ------------------------------------------------------------------
    def add(self, line: int, column: str | None, value: str, rule: str, *,
            row: bool = False) -> None:
        """An error; row=True when it concerns data line `line` alone."""
        self._errors.add(_violation(line, column, value, rule, "error"))
        if not row:
            self.file_errors += 1
        elif not self._bad_overflow:
            self._bad_lines.add(line)
            if len(self._bad_lines) > MAX_HELD_LINES:
                self._bad_overflow = True
                self._bad_lines.clear()

    def warn(self, line: int, column: str | None, value: str, rule: str, *,
             row: bool = False, outcome: str = "published as written") -> None:
        """A departure from the documentation: `outcome` says what is done with it (an
        error instead when strict)."""
        if self.strict:
            self.add(line, column, value, rule + " (an error in strict mode)", row=row)
        elif self._warnings.wants(line):
            self._warnings.add(_violation(line, column, value, f"{rule}: {outcome}", "warning"))
        else:
            self._warnings.count += 1  # a file full of warnings costs no text for each

    def sort(self) -> None:
        """Kept for callers of the old interface: the violations are always in line order."""

    # -- showing it -----------------------------------------------------------------
    def first_error(self) -> str:
        """One line for logs and the journal: the first error and how many there are."""
        if self.valid:
            return ""
        kept = self.violations
        more = f" (and {self.violation_count - 1} more)" if self.violation_count > 1 else ""
        return _cut((kept[0].to_text() if kept else "invalid"), FIRST_LIMIT - len(more)) + more

    def first_warnings(self, limit: int = 3) -> list[str]:
        return [_cut(w.to_text(), FIRST_LIMIT) for w in self.warnings[:limit]]

    def heading(self, filename: str) -> str:
        name = excerpt(filename, 200)
        w = self.warning_count
        warned = f", {w} warning{'s' if w != 1 else ''}" if w else ""
        if self.valid:
            return f"{name}: valid {self.layout or ''} file, {self.rows} rows{warned}".replace(
                "  ", " ")
        n = self.violation_count
        return (f"{name}: INVALID ({self.layout or 'unknown layout'}), {n} "
                f"problem{'s' if n != 1 else ''} in {self.rows} rows{warned}")

    def to_text(self, filename: str, heading: str | None = None) -> str:
        """The human report, e.g. the `<name>.errors.txt` beside a quarantined file."""
        lines = [heading if heading is not None else self.heading(filename)]
        lines.extend(f"  {v.to_text()}" for v in self.violations)
        if self.omitted:
            lines.append(f"  ... and {self.omitted} more")
        lines.extend(f"  warning: {w.to_text()}" for w in self.warnings)
        if self.warning_count > len(self._warnings):
            lines.append(f"  ... and {self.warning_count - len(self._warnings)} more warnings")
        out: list[str] = []
        size = 0
        for i, line in enumerate(lines):
            size += len(line) + 1
            if size > REPORT_LIMIT:
                out.append(f"  ... report cut at {REPORT_LIMIT} characters ({len(lines) - i} "
                           "more lines)")
                break
            out.append(line)
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "valid": self.valid,
            "rows": self.rows,
            "violation_count": self.violation_count,
            "violations": [v.to_dict() for v in self.violations],
            "omitted": self.omitted,
            "warnings": [w.to_dict() for w in self.warnings],
            "warning_count": self.warning_count,
        }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(limit - 3, 0)] + "..."


def _violation(line: int, column: str | None, value: str, rule: str,
               severity: Severity) -> Violation:
    col = excerpt(column, COLUMN_LIMIT) if column else column
    return Violation(line, col, excerpt(value), _cut(rule[:RULE_LIMIT + 1].translate(_CONTROL),
                                                     RULE_LIMIT), severity)
