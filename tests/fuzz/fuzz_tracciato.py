"""Fuzzing harness of the tracciato reader (atheris convention: test_one_input(data)).

The first two bytes choose what to fuzz, the rest is the file:
  data[0]  the layout (every known one, legacy positional layouts included), as an index
           into all_layouts(): a layout added to formats/_table.py shifts the indexes, so
           remap the seeds' first byte by layout name then (the seeds are named after theirs)
  data[1]  bit 0: put the layout's own header first (so the bytes reach the rows)
           bit 1: strict; bit 2: length_policy truncate; bit 3: max_errors 3
           bits 4-5: also read the records (read_records), convert it as a CSV dialect,
                     or both
What must hold, whatever the bytes:
- the judge gives a verdict and never raises; the verdict is consistent (valid exactly
  when there is no error, every problem with a rule, kept problems bounded);
- every piece of the report is bounded, and the canonical output is at most a constant
  times the input (each line gains at most the DAT_ULT_MOD column and a CR);
- a valid file's canonical form is valid and canonical again (idempotent);
- a file whose errors are all row errors can be split: without those rows it is valid,
  and the held rows are exactly those lines, after the header;
- the record reader either yields records or raises FormatError, and reads every file
  the judge found valid;
- the CSV converter gives a verdict and never raises.
Hangs are the runner's to catch (a time budget per input); the work here is linear.

Run it with atheris (`python tests/fuzz/fuzz_tracciato.py [corpus dirs]`) or through
Hypothesis (`make fuzz`); the seeds are in tests/fuzz/corpus/fuzz_tracciato/.
"""

from __future__ import annotations

import io
import sys

from connector.errors import FormatError
from formats import all_layouts, canonicalize, read_records, validate_stream
from formats.dialect import Dialect, convert
from formats.report import EXCERPT, FIRST_LIMIT, REPORT_LIMIT, RULE_LIMIT, ValidationReport

LAYOUTS = all_layouts()
DIALECT = Dialect(match="*.csv", layout="io_clifor_gen", encoding="cp1252", thousands=".",
                  columns={"Codice": "COD_CLIFOR", "Nome": "RAG_SOC", "Fido": "FIDO_AZIENDALE",
                           "Creato": "DATA_CREAZIONE", "Nuovo": "FLG_NEW_CLIFOR",
                           "Lat": "LATITUDINE"},
                  defaults={"TIPO_CLIFOR": "0"})


def _check_report(report: ValidationReport, max_errors: int, name: str) -> None:
    assert report.valid == (report.violation_count == 0)
    assert len(report.violations) <= max_errors and len(report.warnings) <= max_errors
    assert report.violation_count >= len(report.violations)
    for v in [*report.violations, *report.warnings]:
        assert v.rule and len(v.rule) <= RULE_LIMIT, v
        assert len(v.value) <= EXCERPT + 3 and v.line >= 0
        assert v.severity in ("error", "warning")
    assert [v.line for v in report.violations] == sorted(v.line for v in report.violations)
    assert len(report.first_error()) <= FIRST_LIMIT + 40
    assert len(report.to_text(name)) <= REPORT_LIMIT + 200
    if report.rows_only:
        assert report.bad_lines


def test_one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    layout = LAYOUTS[data[0] % len(LAYOUTS)]
    opts = data[1]
    body = data[2:]
    if opts & 1 and layout.header:
        body = ("|".join(layout.field_names) + "\r\n").encode() + body
    strict = bool(opts & 2)
    policy = "truncate" if opts & 4 else "error"
    max_errors = 3 if opts & 8 else 1000

    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(body), dst, layout, length_policy=policy,
                          max_errors=max_errors, strict=strict)
    _check_report(report, max_errors, layout.filename)
    lines = body.count(b"\n") + 1
    assert len(dst.getvalue()) <= 4 + 3 * len(body) + 20 * lines + 40 * len(layout.fields)

    same = validate_stream(io.BytesIO(body), layout, max_errors=max_errors,
                           length_policy=policy, strict=strict)
    assert same.valid == report.valid and same.violation_count == report.violation_count

    if report.valid:
        out = dst.getvalue()
        again = io.BytesIO()
        second = canonicalize(io.BytesIO(out), again, layout, length_policy=policy,
                              strict=strict)
        assert second.valid, second.to_text("canonical form")
        assert again.getvalue() == out  # the canonical form is a fixed point
    elif report.rows_only:
        bad = report.bad_lines
        assert bad is not None
        rest_out, held = io.BytesIO(), io.BytesIO()
        rest = canonicalize(io.BytesIO(body), rest_out, layout, length_policy=policy,
                            strict=strict, hold=bad, held=held)
        assert rest.valid, rest.to_text("without the bad rows")
        assert set(rest.held) == bad
        header = 1 if layout.header else 0
        assert held.getvalue().count(b"\n") == len(bad) + header

    mode = (opts >> 4) & 3
    if mode & 1:
        try:
            for _ in read_records(io.BytesIO(body), layout):
                pass
            read = True
        except FormatError:
            read = False
        # The judge and the reader share their rules: what the judge accepts as written
        # reads (truncate makes the judge cut what the reader, reading as is, refuses).
        assert read or not report.valid or policy == "truncate", \
            "the judge found the file valid, the reader refused it"
    if mode & 2:
        csv = convert(io.BytesIO(body), io.BytesIO(), DIALECT, company="ACME",
                      length_policy=policy, max_errors=max_errors, strict=strict)
        _check_report(csv, max_errors, "clienti.csv")


if __name__ == "__main__":  # pragma: no cover - the atheris entry point
    import atheris  # type: ignore[import-not-found]

    atheris.instrument_all()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
