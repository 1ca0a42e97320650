"""The export pipeline's one window onto formats/: judging, normalising, converting, naming.

Keeping these calls in one module means a change in formats/ touches one place here.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from connector.config import DialectConfig, ExportConfig
from connector.errors import FormatError


@dataclass(frozen=True)
class Judgement:
    valid: bool
    rows: int
    text: str  # the human report: a heading, then one line per violation, then warnings
    first: str  # the first violation, for logs, the journal and `connector status`
    count: int  # every violation, including those not kept

    @classmethod
    def problem(cls, rel: str, reason: str) -> Judgement:
        return cls(False, 0, f"{rel}: INVALID, 1 problem\n  {reason}\n", reason, 1)


def _judgement(report: Any, rel: str) -> Judgement:
    return Judgement(bool(report.valid), int(report.rows), report.to_text(rel),
                     report.first_error(), int(report.violation_count))


def canonicalize(fin: Any, writer: Any, rel: str, *,
                 length_policy: str, max_errors: int) -> Judgement:
    from formats import layout as fl
    from formats import validate

    layout = fl.layout_for_filename(rel.rsplit("/", 1)[-1])
    if layout is None:
        return Judgement.problem(rel, f"line 0: {rel!r} is not a known tracciato; tracciati are "
                                      "named io_<entity>.dat (`connector layouts` lists them)")
    report = validate.canonicalize(cast(BinaryIO, fin), cast(BinaryIO, writer), layout,
                                    length_policy=length_policy, max_errors=max_errors)
    return _judgement(report, rel)


def convert(fin: Any, writer: Any, dialect: DialectConfig, *, company: str, length_policy: str,
            max_errors: int) -> Judgement:
    import formats.dialect as fd

    d = fd.Dialect(**{f.name: getattr(dialect, f.name) for f in dataclasses.fields(DialectConfig)})
    report = fd.convert(cast(BinaryIO, fin), cast(BinaryIO, writer), d, company=company,
                        length_policy=length_policy, max_errors=max_errors)
    return _judgement(report, dialect.match)


def media_name_problem(name: str) -> str | None:
    """None when `name[CodiceArticolo]{ordine}.ext` (and its folders) respect the rule."""
    from formats.media import parse_media_name

    parts = name.split("/")
    for i, part in enumerate(parts):
        try:
            parse_media_name(part, folder=i < len(parts) - 1)
        except FormatError as exc:
            return f"line 0: {name!r}: {exc}"
    return None


MEDIA_SNIFF_BYTES = 1024  # formats.media.SNIFF_BYTES: enough of a file to tell its type


def media_content_problem(name: str, head: bytes) -> str | None:
    """None when the first bytes of a medium are what its extension says (a .pdf is a PDF)."""
    from formats.media import content_problem

    problem = content_problem(name.rsplit("/", 1)[-1], head)
    return f"line 0: {name!r}: {problem.split(': ', 1)[1]}" if problem else None


def write_info(writer: Any, values: dict[str, str]) -> None:
    """io_info.dat: DESCRIZIONE|VALORE rows describing this export run."""
    from formats import layout as fl
    from formats import writer as fw

    fw.write_records(cast(BinaryIO, writer), fl.get_layout("io_info"),
                     [{"DESCRIZIONE": k, "VALORE": v} for k, v in values.items()])


def judge_file(path: Any, max_errors: int = 1000) -> Judgement:
    from formats import validate

    report = validate.validate_file(path, max_errors=max_errors)
    return _judgement(report, str(path))


def judge(fin: Any, writer: Any, rel: str, kind: str, ex: ExportConfig, company: str
          ) -> Judgement:
    """Judge a dropped tracciato or CSV and write its canonical form to `writer`."""
    if kind == "dialect":
        name = rel.rsplit("/", 1)[-1].lower()
        dialect = next(d for d in ex.dialects if fnmatch.fnmatchcase(name, d.match.lower()))
        return convert(fin, writer, dialect, company=company, length_policy=ex.length_policy,
                       max_errors=ex.max_errors)
    return canonicalize(fin, writer, rel, length_policy=ex.length_policy,
                        max_errors=ex.max_errors)
