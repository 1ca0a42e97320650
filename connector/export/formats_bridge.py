"""The export pipeline's one window onto formats/: judging, normalising, converting, naming.

Keeping these calls in one module means a change in formats/ touches one place here.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from connector.config import ExportConfig
from connector.errors import FormatError
from connector.i18n import _, catalog, ngettext, number, thousands
from connector.logsetup import printable, printable_lines
from formats.dialect import Dialect
from formats.report import N_, localize


@dataclass(frozen=True)
class Judgement:
    valid: bool
    rows: int
    # the human report, in the reader's language: a heading, the repeated problems summed
    # up, then one line per error, then warnings
    text: str
    first: str  # the first error, for logs, the journal and `connector status` (bounded)
    count: int  # every error, including those not kept
    warnings: int = 0  # every warning
    first_warnings: tuple[str, ...] = ()  # the first few, for `connector status` (bounded)
    bad_lines: frozenset[int] | None = None  # every error is confined to these data lines
    bad_rows: int = 0
    held: dict[int, int] = field(default_factory=dict)  # held-back line -> its held line
    report: Any = None  # the formats report, to word the held-back rows' own report

    @classmethod
    def problem(cls, rel: str, reason: str, shown: str | None = None) -> Judgement:
        """One problem of the whole file: `reason` in English (logs, the journal), `shown`
        in the reader's language (the report; None: the reason, translated when it is a
        formats.report.Text, e.g. from file_problem)."""
        heading = _("{name}: INVALID, 1 problem").format(name=printable(rel))
        text = printable_lines(shown or localize(reason, catalog(), thousands()))
        return cls(False, 0, f"{heading}\n  {text}\n", str(reason), 1)


def _judgement(report: Any, rel: str) -> Judgement:
    """`rel`: the file as it was dropped (its name in the watch folder), which the report
    names, whatever the name of the copy being judged."""
    return Judgement(bool(report.valid), int(report.rows),
                     report.to_text(rel, tr=catalog(), thousands=thousands()),
                     report.first_error(), int(report.violation_count),
                     int(report.warning_count), tuple(report.first_warnings()),
                     report.bad_lines if report.rows_only else None, int(report.bad_rows),
                     dict(report.held), report)


def lines_to_hold(j: Judgement, ex: ExportConfig) -> frozenset[int] | None:
    """The data lines to hold back so that the rest can be published, or None when the
    file must be refused whole: a file error (header, encoding of the whole file, a line
    beyond every bound...), or more bad rows than export.max_bad_rows allows."""
    if j.valid or not j.bad_lines:
        return None
    limit = ex.max_bad_rows
    total = max(j.rows, j.bad_rows, 1)
    if j.bad_rows > limit.count or j.bad_rows * 100 > limit.percent * total:
        return None
    return j.bad_lines


def held_report(first: Judgement, rel: str, held_name: str, published_rows: int) -> str:
    """The report beside held-back rows: each error with its line in the held file and in
    the file as it was dropped."""
    report = first.report
    held = len(first.held) or first.bad_rows
    lines = [ngettext("{held_name}: {n} row of {name} held back ({problems}); the other "
                      "{published} row(s) were published.",
                      "{held_name}: {n} rows of {name} held back ({problems}); the other "
                      "{published} row(s) were published.", held).format(
        held_name=printable(held_name), n=number(held), name=printable(rel),
        published=number(published_rows),
        problems=ngettext("{n} problem", "{n} problems", first.count).format(
            n=number(first.count)))]
    if report is not None:
        tr, sep = catalog(), thousands()
        summary = report.summary(tr, sep)
        if summary:
            lines.extend(summary)
            lines.append(_("Line by line:"))
        listed, left = report.listing()
        for v in listed:
            at = first.held.get(v.line)
            where = (_("line {line} (line {original} of the dropped file)").format(
                line=at, original=v.line) if at else _("line {line}").format(line=v.line))
            lines.append(f"  {v.to_text(tr, sep, where=where)}")
        more = left + report.omitted
        if more:
            lines.append("  " + ngettext("... and {n} more", "... and {n} more", more).format(
                n=number(more)))
    lines.append("")
    lines.append(_("Fix these rows and drop this file again into the export folder (the "
                   "header is included): its rows are added to what was published."))
    return "\n".join(lines) + "\n"


def canonicalize(fin: Any, writer: Any, rel: str, *, length_policy: str, max_errors: int,
                 strict: bool = False, hold: frozenset[int] = frozenset(),
                 held: Any = None) -> Judgement:
    from formats import layout as fl
    from formats import validate

    layout = fl.layout_for_filename(rel.rsplit("/", 1)[-1])
    if layout is None:
        return Judgement.problem(rel, file_problem(rel, N_(
            "not a known tracciato; tracciati are named io_<entity>.dat (`connector layouts` "
            "lists them)")))
    report = validate.canonicalize(cast(BinaryIO, fin), cast(BinaryIO, writer), layout,
                                    length_policy=length_policy, max_errors=max_errors,
                                    strict=strict, hold=hold, held=cast(BinaryIO, held))
    return _judgement(report, rel)


def convert(fin: Any, writer: Any, dialect: Dialect, *, company: str, length_policy: str,
            max_errors: int, strict: bool = False, hold: frozenset[int] = frozenset(),
            held: Any = None, rel: str | None = None) -> Judgement:
    """A dialect's CSV converted; its report names `rel`, the file (the glob when None)."""
    import formats.dialect as fd

    report = fd.convert(cast(BinaryIO, fin), cast(BinaryIO, writer), dialect, company=company,
                        length_policy=length_policy, max_errors=max_errors, strict=strict,
                        hold=hold, held=cast(BinaryIO, held))
    return _judgement(report, rel or dialect.match)


def file_problem(name: str, problem: str) -> str:
    """A problem of a whole file, as the journal and the logs have it ("line 0: 'name':
    problem") and translatable for its report."""
    return N_("line 0: {name}: {problem}", name=repr(name), problem=problem)


def media_name_problem(name: str) -> str | None:
    """None when `name[CodiceArticolo]{ordine}.ext` (and its folders) respect the rule."""
    from formats.media import parse_media_name

    parts = name.split("/")
    for i, part in enumerate(parts):
        try:
            parse_media_name(part, folder=i < len(parts) - 1)
        except FormatError as exc:
            return file_problem(name, exc.message)
    return None


MEDIA_SNIFF_BYTES = 1024  # formats.media.SNIFF_BYTES: enough of a file to tell its type


def media_content_problem(name: str, head: bytes) -> str | None:
    """None when the first bytes of a medium are what its extension says (a .pdf is a PDF)."""
    from formats.media import content_issue

    problem = content_issue(name.rsplit("/", 1)[-1], head)
    return file_problem(name, problem) if problem else None


def write_info(writer: Any, values: dict[str, str]) -> None:
    """io_info.dat: DESCRIZIONE|VALORE rows describing this export run."""
    from formats import layout as fl
    from formats import writer as fw

    fw.write_records(cast(BinaryIO, writer), fl.get_layout("io_info"),
                     [{"DESCRIZIONE": k, "VALORE": v} for k, v in values.items()])


def judge_file(path: Any, max_errors: int = 1000, strict: bool = False) -> Judgement:
    from formats import validate

    report = validate.validate_file(path, max_errors=max_errors, strict=strict)
    return _judgement(report, str(path))


def judge(fin: Any, writer: Any, rel: str, kind: str, ex: ExportConfig, company: str, *,
          hold: frozenset[int] = frozenset(), held: Any = None) -> Judgement:
    """Judge a dropped tracciato or CSV and write its canonical form to `writer`; with
    `hold`, those data lines go to `held` as they are, and the rest to `writer`."""
    strict = ex.strictness == "strict"
    if kind == "dialect":
        name = rel.rsplit("/", 1)[-1].lower()
        dialect = next(d for d in ex.dialects if fnmatch.fnmatchcase(name, d.match.lower()))
        return convert(fin, writer, dialect, company=company, length_policy=ex.length_policy,
                       max_errors=ex.max_errors, strict=strict, hold=hold, held=held, rel=rel)
    return canonicalize(fin, writer, rel, length_policy=ex.length_policy,
                        max_errors=ex.max_errors, strict=strict, hold=hold, held=held)
