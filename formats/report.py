"""What a validation found: violations (line, column, value, rule) and the report around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXCERPT = 60  # characters of a bad value shown in a report


def excerpt(value: str, limit: int = EXCERPT) -> str:
    """A bad value as shown to a person: shortened, control characters made visible."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return shown.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


@dataclass(frozen=True)
class Violation:
    """One broken rule. line 0 = the file as a whole; column None = the line as a whole."""

    line: int
    column: str | None
    value: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "value": self.value, "rule": self.rule}

    def to_text(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        col = f", column {self.column}" if self.column else ""
        val = f", value '{self.value}'" if self.value else ""
        return f"{where}{col}{val}: {self.rule}"


@dataclass
class ValidationReport:
    """The verdict on one file. Violations beyond max_errors are only counted."""

    layout: str | None
    max_errors: int = 1000
    rows: int = 0
    violations: list[Violation] = field(default_factory=list)
    violation_count: int = 0
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0

    @property
    def valid(self) -> bool:
        return self.violation_count == 0

    @property
    def omitted(self) -> int:
        return self.violation_count - len(self.violations)

    def add(self, line: int, column: str | None, value: str, rule: str) -> None:
        self.violation_count += 1
        if len(self.violations) < self.max_errors:
            self.violations.append(Violation(line, column, excerpt(value), rule))

    def warn(self, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < self.max_errors:
            self.warnings.append(message)

    def sort(self) -> None:
        self.violations.sort(key=lambda v: v.line)

    def first_error(self) -> str:
        """One line for logs and the journal: the first violation and how many there are."""
        if self.valid:
            return ""
        v = self.violations[0] if self.violations else None
        more = f" (and {self.violation_count - 1} more)" if self.violation_count > 1 else ""
        return (v.to_text() if v else "invalid") + more

    def to_text(self, filename: str) -> str:
        """The human report, e.g. the `<name>.errors.txt` beside a quarantined file."""
        lines = []
        if self.valid:
            lines.append(f"{filename}: valid {self.layout or ''} file, {self.rows} rows".replace("  ", " "))
        else:
            n = self.violation_count
            lines.append(f"{filename}: INVALID ({self.layout or 'unknown layout'}), "
                         f"{n} problem{'s' if n != 1 else ''} in {self.rows} rows")
            lines.extend(f"  {v.to_text()}" for v in self.violations)
            if self.omitted:
                lines.append(f"  ... and {self.omitted} more")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        if self.warning_count > len(self.warnings):
            lines.append(f"  ... and {self.warning_count - len(self.warnings)} more warnings")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "valid": self.valid,
            "rows": self.rows,
            "violation_count": self.violation_count,
            "violations": [v.to_dict() for v in self.violations],
            "omitted": self.omitted,
            "warnings": list(self.warnings),
            "warning_count": self.warning_count,
        }
