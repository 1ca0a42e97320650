"""What a validation found: errors and warnings (line, column, value, rule) and the report.

Every piece is bounded, whatever the input: a value is shown as a short excerpt, a rule
and a column name are cut, at most `max_errors` errors and as many warnings are kept
(the first ones by line; the rest are counted), and the text of a report stops at
REPORT_LIMIT characters. So a pathological file (a 128 MB line, a million columns) gives
a report of a few kilobytes, and so do the log lines and the state-store rows built from it.

A report groups repeated problems: a summary (how many, which column, which rule, the first
lines) comes before the lines one by one, and each kind of problem is listed on at most
PER_KIND lines; so a million identical errors read as one summary line and a few examples.

Reports are read by office clerks, in Italian or English. formats/ does not depend on the
connector's i18n (connector.i18n): a rule is a `Text` (English, a str) that keeps its
template and values (made with `N_(template, **values)`, which also marks the template for
the catalog), and `to_text` takes the translations to show it with (any object with
gettext/ngettext, e.g. connector.i18n.translations(locale)); without them it is English.
"""

from __future__ import annotations

import gettext
import heapq
import itertools
import string
from dataclasses import dataclass
from typing import Any, Literal, Protocol

EXCERPT = 60  # characters of a bad value shown in a report
COLUMN_LIMIT = 60  # characters of a column name
RULE_LIMIT = 300  # characters of a rule
FIRST_LIMIT = 500  # characters of the one-line summary (logs, state store, status)
REPORT_LIMIT = 1 << 20  # characters of a whole report text
MAX_HELD_LINES = 10_000  # bad lines remembered one by one (to hold them back)
MAX_KINDS = 200  # kinds of problem counted one by one in the summary (the rest: "other")
SHOWN_KINDS = 30  # kinds of problem in a report's summary
FIRST_LINES = 3  # lines named for each kind of problem in the summary
PER_KIND = 10  # lines listed one by one for each kind of problem

Severity = Literal["error", "warning"]


class Translations(Protocol):
    """What a report is shown with: gettext.NullTranslations (English) or a catalog."""

    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


ENGLISH: Translations = gettext.NullTranslations()


class Text(str):
    """A text people read, in English (it is that str), with the template and values it
    was made from, so that a report can show it in another language."""

    template: str
    args: dict[str, Any]

    def __new__(cls, template: str, args: dict[str, Any]) -> Text:
        self = super().__new__(cls, template.format(**args))  # English: "," groups digits
        self.template = template
        self.args = args
        return self


_MADE: dict[tuple[Any, ...], Text] = {}  # recent short texts: a file repeats its rules
_MADE_LIMIT = 4096


def N_(template: str, /, **args: Any) -> str:
    """A rule or outcome text: `template` (marked for the catalog) filled with `args`.
    A value that is itself a Text is translated with it; `{n:,}` groups the digits the way
    the reader's language does.

    The same short text made again is the one made before (texts are immutable): a file
    with a warning on every row costs a dictionary look-up per row, not a new text."""
    key = (template, *args.items())
    try:
        made = _MADE.get(key)
    except TypeError:  # a value that cannot be a key
        return Text(template, args)
    if made is None:
        made = Text(template, args)
        if len(made) <= RULE_LIMIT:  # a long value is never kept
            if len(_MADE) >= _MADE_LIMIT:
                _MADE.clear()
            _MADE[key] = made
    return made


class _Numbers(string.Formatter):
    def __init__(self, thousands: str) -> None:
        self.thousands = thousands

    def format_field(self, value: Any, format_spec: str) -> Any:
        text = super().format_field(value, format_spec)
        if "," in format_spec and isinstance(value, int) and self.thousands != ",":
            text = text.replace(",", self.thousands)
        return text


def localize(text: str, tr: Translations = ENGLISH, thousands: str = ",") -> str:
    """`text` in the language of `tr` (a plain str: its translation if the catalog has one)."""
    if not isinstance(text, Text):
        return tr.gettext(text) if text else text
    args = {k: localize(v, tr, thousands) if isinstance(v, Text) else v
            for k, v in text.args.items()}
    try:
        return _Numbers(thousands).format(tr.gettext(text.template), **args)
    except (KeyError, IndexError, ValueError):  # a broken translation: the English text
        return str(text)


def number(n: int, thousands: str = ",") -> str:
    return f"{n:,}".replace(",", thousands)

# Control characters shown as escapes: a report or a log line never carries raw ones.
# C0, DEL and C1 (a lone \x9b is a terminal's CSI), and the invisible marks that reorder a
# terminal line (bidi), as connector.logsetup.printable escapes them.
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}
_CONTROL.update({c: f"\\u{c:04x}" for c in [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                                            *range(0x2066, 0x206A)]})
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

    def to_text(self, tr: Translations = ENGLISH, thousands: str = ",", *,
                where: str | None = None) -> str:
        _ = tr.gettext
        if where is None:
            where = (_("line {line}").format(line=self.line) if self.line else _("file"))
        col = _(", column {column}").format(column=self.column) if self.column else ""
        val = _(", value '{value}'").format(value=self.value) if self.value else ""
        return f"{where}{col}{val}: {localize(self.rule, tr, thousands)}"

    @property
    def kind(self) -> tuple[str, str | None, str]:
        """What repeats: the same rule broken in the same column."""
        return (self.severity, self.column, str(self.rule))


class _Kept:
    """The first `limit` items by line (ties: in the order added), and a count of all."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self.count = 0
        self._heap: list[tuple[int, int, Violation]] = []  # (-line, -seq): the last on top
        self._seq = itertools.count()
        self.kinds: dict[tuple[str, str | None, str], _Kind] = {}
        self._raw: dict[tuple[Any, ...], _Kind] = {}  # (column, rule...) as given -> kind
        self.other = 0  # problems of kinds beyond MAX_KINDS

    def seen(self, line: int, raw: tuple[Any, ...]) -> bool:
        """Count a problem without building it, when its kind is known (by `raw`, what it
        was made of) and it would not be kept: the cheap path of a file full of the same
        error or warning. False: add it."""
        kind = self._raw.get(raw)
        if kind is None or self.wants(line):
            return False
        self.count += 1
        kind.count += 1
        if line < kind.lines[-1] and line not in kind.lines:
            kind.lines = sorted([*kind.lines, line])[:FIRST_LINES]
        return True

    def add(self, v: Violation, raw: tuple[Any, ...] | None = None) -> None:
        self.count += 1
        self._group(v, raw)
        if not self.limit:
            return
        item = (-v.line, -next(self._seq), v)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:  # earlier than the last kept one: it takes its place
            heapq.heapreplace(self._heap, item)

    def _group(self, v: Violation, raw: tuple[Any, ...] | None = None) -> None:
        kind = self.kinds.get(v.kind)
        if kind is None:
            if len(self.kinds) >= MAX_KINDS:
                self.other += 1
                return
            kind = self.kinds[v.kind] = _Kind(v)
        if raw is not None and len(self._raw) < MAX_KINDS:
            self._raw[raw] = kind
        kind.count += 1
        if len(kind.lines) < FIRST_LINES or v.line < kind.lines[-1]:
            kind.lines = sorted({*kind.lines, v.line})[:FIRST_LINES]

    def count_only(self, v: Violation, raw: tuple[Any, ...] | None = None) -> None:
        """Counted and grouped, never listed (a file full of warnings)."""
        self.count += 1
        self._group(v, raw)

    def wants(self, line: int) -> bool:
        """Whether a violation on `line` would be kept (else it is only counted)."""
        if len(self._heap) < self.limit:
            return True
        return bool(self._heap) and -line > self._heap[0][0]

    def items(self) -> list[Violation]:
        return [v for _, _, v in sorted(self._heap, key=lambda t: (-t[0], -t[1]))]

    def __len__(self) -> int:
        return len(self._heap)


class _Kind:
    """One kind of problem: how many, and the first lines it is on."""

    __slots__ = ("count", "lines", "sample")

    def __init__(self, sample: Violation) -> None:
        self.sample = sample
        self.count = 0
        self.lines: list[int] = []


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
        self.medium = False  # a catalog medium (judged by name and content), not a tracciato

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
        if not self._errors.seen(line, (column, rule)):
            self._errors.add(_violation(line, column, value, rule, "error"), (column, rule))
        if not row:
            self.file_errors += 1
        elif not self._bad_overflow:
            self._bad_lines.add(line)
            if len(self._bad_lines) > MAX_HELD_LINES:
                self._bad_overflow = True
                self._bad_lines.clear()

    def warn(self, line: int, column: str | None, value: str, rule: str, *,
             row: bool = False, outcome: str | None = None) -> None:
        """A departure from the documentation: `outcome` says what is done with it (an
        error instead when strict)."""
        if self.strict:
            self.add(line, column, value, N_("{rule} (an error in strict mode)", rule=rule),
                     row=row)
            return
        raw = (column, rule, outcome)
        if self._warnings.seen(line, raw):  # a kind already listed enough: only counted
            return
        text = N_("{rule}: {outcome}", rule=rule,
                  outcome=outcome or N_("published as written"))
        if self._warnings.wants(line):
            self._warnings.add(_violation(line, column, value, text, "warning"), raw)
        else:
            self._warnings.count_only(_violation(line, column, "", text, "warning"), raw)

    def sort(self) -> None:
        """Kept for callers of the old interface: the violations are always in line order."""

    # -- showing it -----------------------------------------------------------------
    def first_error(self) -> str:
        """One line for logs and the journal: the first error and how many there are
        (English: logs stay English)."""
        if self.valid:
            return ""
        kept = self.violations
        more = f" (and {self.violation_count - 1} more)" if self.violation_count > 1 else ""
        return _cut((kept[0].to_text() if kept else "invalid"), FIRST_LIMIT - len(more)) + more

    def first_warnings(self, limit: int = 3) -> list[str]:
        return [_cut(w.to_text(), FIRST_LIMIT) for w in self.warnings[:limit]]

    def heading(self, filename: str, tr: Translations = ENGLISH, thousands: str = ",") -> str:
        _, ngettext = tr.gettext, tr.ngettext
        name = excerpt(filename, 200)
        w = self.warning_count
        rows = number(self.rows, thousands)
        warned = ngettext(", {n} warning", ", {n} warnings", w).format(
            n=number(w, thousands)) if w else ""
        if self.valid:
            if self.medium:
                return _("{name}: valid medium (its name and its content checked){warned}"
                         ).format(name=name, warned=warned)
            if self.layout:
                return _("{name}: valid {layout} file, {rows} rows{warned}").format(
                    name=name, layout=self.layout, rows=rows, warned=warned)
            return _("{name}: valid file, {rows} rows{warned}").format(
                name=name, rows=rows, warned=warned)
        n = self.violation_count
        if self.medium:
            return ngettext("{name}: INVALID medium, {n} problem",
                            "{name}: INVALID medium, {n} problems", n).format(
                name=name, n=number(n, thousands))
        return ngettext("{name}: INVALID ({layout}), {n} problem in {rows} rows{warned}",
                        "{name}: INVALID ({layout}), {n} problems in {rows} rows{warned}",
                        n).format(name=name, layout=self.layout or _("unknown layout"),
                                  n=number(n, thousands), rows=rows, warned=warned)

    def summary(self, tr: Translations = ENGLISH, thousands: str = ",", *,
                warnings: bool = False) -> list[str]:
        """The table of repeated problems: how many, column, first lines, rule; empty when
        no problem repeats (the lines below say it all)."""
        kept = self._warnings if warnings else self._errors
        if not any(k.count > 1 for k in kept.kinds.values()):
            return []
        _, ngettext = tr.gettext, tr.ngettext
        kinds = sorted(kept.kinds.values(), key=lambda k: (-k.count, k.lines[:1]))
        shown = kinds[:SHOWN_KINDS]
        rows = [(number(k.count, thousands), k.sample.column or "-",
                 _first_lines(k, tr, thousands),
                 localize(k.sample.rule, tr, thousands)) for k in shown]
        head = (_("how many"), _("column"), _("first lines"),
                _("warning") if warnings else _("problem"))
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
        title = (_("Warnings by kind, the most frequent first:") if warnings
                 else _("Problems by kind, the most frequent first:"))
        out = [title]
        for r in [head, *rows]:
            out.append("  " + "  ".join([r[0].rjust(widths[0]), r[1].ljust(widths[1]),
                                         r[2].ljust(widths[2]), r[3]]).rstrip())
        rest = sum(k.count for k in kinds[SHOWN_KINDS:]) + kept.other
        if rest:
            out.append("  " + ngettext("... and {n} more of other kinds",
                                       "... and {n} more of other kinds", rest).format(
                n=number(rest, thousands)))
        return out

    def listing(self, warnings: bool = False) -> tuple[list[Violation], int]:
        """The kept problems to list one by one (at most PER_KIND of each kind, in line
        order) and how many kept ones are left out for that reason."""
        seen: dict[tuple[str, str | None, str], int] = {}
        out: list[Violation] = []
        left = 0
        for v in (self.warnings if warnings else self.violations):
            n = seen[v.kind] = seen.get(v.kind, 0) + 1
            if n > PER_KIND:
                left += 1
            else:
                out.append(v)
        return out, left

    def to_text(self, filename: str, heading: str | None = None, *,
                tr: Translations = ENGLISH, thousands: str = ",") -> str:
        """The human report, e.g. the `<name>.errors.txt` beside a quarantined file: the
        heading, the repeated problems summed up, then the problems line by line."""
        _, ngettext = tr.gettext, tr.ngettext
        lines = [heading if heading is not None else self.heading(filename, tr, thousands)]
        summary = self.summary(tr, thousands)
        if summary:
            lines.extend(summary)
            lines.append(_("Line by line:"))
        listed, left = self.listing()
        lines.extend(f"  {v.to_text(tr, thousands)}" for v in listed)
        more = left + self.omitted
        if more:
            lines.append("  " + ngettext("... and {n} more", "... and {n} more", more).format(
                n=number(more, thousands)))
        wsummary = self.summary(tr, thousands, warnings=True)
        lines.extend(wsummary)
        wlisted, wleft = self.listing(warnings=True)
        lines.extend("  " + _("warning: {text}").format(text=w.to_text(tr, thousands))
                     for w in wlisted)
        wmore = wleft + self.warning_count - len(self._warnings)
        if wmore:
            lines.append("  " + ngettext("... and {n} more warning", "... and {n} more warnings",
                                         wmore).format(n=number(wmore, thousands)))
        out: list[str] = []
        size = 0
        for i, line in enumerate(lines):
            size += len(line) + 1
            if size > REPORT_LIMIT:
                out.append("  " + _("... report cut at {limit} characters ({n} more lines)")
                           .format(limit=number(REPORT_LIMIT, thousands),
                                   n=number(len(lines) - i, thousands)))
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


def _first_lines(k: _Kind, tr: Translations, thousands: str) -> str:
    """'lines 3, 7, 12 and 997 more'; 'file' for a problem of the whole file."""
    shown = [number(n, thousands) for n in k.lines if n]
    if not shown:
        return tr.gettext("file")
    rest = k.count - len(k.lines)
    lines = ", ".join(shown)
    if rest > 0:
        return tr.ngettext("lines {lines} and {n} more", "lines {lines} and {n} more",
                           rest).format(lines=lines, n=number(rest, thousands))
    return tr.ngettext("line {lines}", "lines {lines}", len(shown)).format(lines=lines)


def _violation(line: int, column: str | None, value: str, rule: str,
               severity: Severity) -> Violation:
    col = excerpt(column, COLUMN_LIMIT) if column else column
    shown = _cut(rule[:RULE_LIMIT + 1].translate(_CONTROL), RULE_LIMIT)
    if isinstance(rule, Text) and shown == rule:
        shown = rule  # bounded and clean: kept with its template, to be translated
    return Violation(line, col, excerpt(value), shown, severity)
