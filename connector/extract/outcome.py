"""What one extraction run did: an Outcome per tracciato (and for the media job), the
run's ExtractResult, and the report printed by `connector export --once`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from connector.extract.keystore import Diff
from formats import ValidationReport
from formats.rowformat import Problems


@dataclass
class Outcome:
    """What happened to one tracciato (or to the media job) in a run."""

    name: str
    rows: int = 0
    status: str = "pending"  # published | unchanged | empty | invalid | failed | dry-run
    message: str = ""
    diff: Diff | None = None
    problems: Problems = field(default_factory=Problems)
    warnings: list[str] = field(default_factory=list)
    validation: ValidationReport | None = None
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)  # what went into the watch folder
    details: list[str] = field(default_factory=list)  # extra report lines (media)
    unchanged: bool = False  # same rows as the last publish
    transient: bool = False  # failed in a way worth retrying soon (database unreachable)

    @property
    def ok(self) -> bool:
        return self.status in ("published", "unchanged", "empty", "dry-run")


@dataclass
class ExtractResult:
    ok: bool
    report: str
    mode: str
    dry_run: bool
    outcomes: list[Outcome]


def render_report(outcomes: list[Outcome], *, mode: str, dry_run: bool, limit: int) -> str:
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    head = (f"extract {mode} run{' (DRY RUN: nothing is written or published)' if dry_run else ''}"
            f", {now}")
    lines = [head]
    for o in outcomes:
        lines.append("")
        lines.append(f"{o.name}: {o.rows} rows, {o.status}"
                     + (f" ({o.message})" if o.message else "") + f" [{o.seconds:.1f} s]")
        d = o.diff
        if d is not None:
            since = "first publish: every key is new" if d.first_publish else "since the last publish"
            lines.append(f"  {d.added} added, {d.changed} changed, {d.removed} removed ({since})")
            for label, n, keys in (("added", d.added, d.added_keys),
                                   ("changed", d.changed, d.changed_keys),
                                   ("removed", d.removed, d.removed_keys)):
                if n and not (label == "added" and d.first_publish and n > limit):
                    more = f" ... and {n - len(keys)} more" if n > len(keys) else ""
                    lines.append(f"  {label}: " + ", ".join(keys) + more)
        if d is not None and o.problems.count and d.removed:
            lines.append("  (rows with errors are left out of the file, so their keys count "
                         "as removed)")
        lines.extend(f"  {line}" for line in o.details)
        for p in o.problems.items:
            lines.append(f"  error: {p.to_text()}")
        if o.problems.count > len(o.problems.items):
            lines.append(f"  ... and {o.problems.count - len(o.problems.items)} more errors")
        if o.validation is not None:
            for v in o.validation.violations:
                lines.append(f"  invalid: {v.to_text()}")
            if o.validation.omitted:
                lines.append(f"  ... and {o.validation.omitted} more violations")
        for w in o.warnings[:limit]:
            lines.append(f"  warning: {w}")
    ok = all(o.ok for o in outcomes)
    lines.append("")
    if not outcomes:
        lines.append("no extraction jobs selected")
    elif dry_run:
        lines.append("dry run: " + ("no errors" if ok else "ERRORS found (see above)")
                     + "; nothing was written")
    else:
        published = sum(1 for o in outcomes if o.files)
        lines.append(f"{'ok' if ok else 'FAILED'}: {published} of {len(outcomes)} handed to "
                     "the export pipeline")
    return "\n".join(lines) + "\n"
