"""Every input of the tracciato reader has a bound (issue 18, finding 8): a file without a
line end, a header of a million columns, a report of many long problems. Each is refused
with one clear error after reading at most the bound: memory (tracemalloc) stays small
whatever the size of the file. Times are in docs/PERFORMANCE.md, not asserted here."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector.errors import FormatError
from formats import get_layout, read_records, validate_file, validate_stream
from formats.dialect import Dialect, convert
from formats.report import REPORT_LIMIT, ValidationReport
from formats.validate import HARD_LINE_LIMIT, MAX_HEADER_BYTES, line_limit

MB = 1 << 20
HEAD = b"CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\r\n"


def peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """fn()'s result and the peak of memory it allocated (bytes)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def write_big(path: Path, head: bytes, size: int, byte: bytes = b"x") -> Path:
    chunk = byte * MB
    with open(path, "wb") as f:
        f.write(head)
        for _ in range(size // MB):
            f.write(chunk)
    return path


@pytest.fixture(scope="module")
def no_newline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """128 MB without a line end, the file of the finding."""
    return write_big(tmp_path_factory.mktemp("big") / "io_citta.dat", b"", 128 * MB)


def test_a_128_mb_file_without_a_line_end_is_refused_in_bounded_memory(no_newline: Path
                                                                        ) -> None:
    report, used = peak(lambda: validate_file(no_newline))
    assert not report.valid and report.violation_count == 1 and report.file_errors == 1
    rule = report.violations[0].rule
    assert "the header goes on past 65,536 bytes without a line end" in rule
    assert used < 2 * MB, used
    assert len(report.to_text(str(no_newline))) < 1000


def test_a_line_without_end_after_a_good_header_is_refused_at_the_layout_bound(
        tmp_path: Path) -> None:
    path = write_big(tmp_path / "io_citta.dat", HEAD + b"K1|ACME|A1|X|1|PD|01011900000000\r\n",
                     64 * MB)
    report, used = peak(lambda: validate_file(path))
    limit = line_limit(7)
    assert limit == 7 * 16001 + 2
    assert [(v.line, v.rule[:40]) for v in report.violations] == [
        (3, "the line goes on past 112,009 bytes with")]
    assert report.file_errors == 1 and not report.rows_only
    assert used < limit + 2 * MB, used


def test_a_million_column_header_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    head = b"|".join(b"C%d" % i for i in range(1_000_000)) + b"\r\nx\r\n"
    path = tmp_path / "io_citta.dat"
    path.write_bytes(head)
    report, used = peak(lambda: validate_file(path))
    assert report.violation_count == 1 and "goes on past 65,536 bytes" in report.violations[0].rule
    assert used < 2 * MB, used
    # within the byte bound, but too many columns: refused before any column is judged
    narrow = b"|".join(b"C%d" % i for i in range(5000))
    assert len(narrow) < MAX_HEADER_BYTES
    report, used = peak(lambda: validate_stream(io.BytesIO(narrow + b"\r\n"),
                                                get_layout("io_citta")))
    assert report.violation_count == 1 and "5,000 columns" in report.violations[0].rule
    assert used < 2 * MB, used


def test_a_report_is_bounded_whatever_the_problems() -> None:
    """Long column names, long values and many problems: each piece is cut, and so is
    the whole text."""
    report = ValidationReport("io_citta", max_errors=100_000)
    for i in range(100_000):
        # a different rule on each line: nothing is grouped, the listing itself is cut
        report.add(i + 2, "C" * 10_000, "v" * 10_000, f"{i} " + "r" * 10_000, row=True)
    v = report.violations[0]
    assert len(v.column or "") < 70 and len(v.value) < 70 and len(v.rule) <= 300
    text = report.to_text("f" * 10_000)
    assert len(text) <= REPORT_LIMIT + 200 and "report cut at" in text
    assert len(report.first_error()) <= 520


def test_control_characters_never_reach_a_report() -> None:
    data = (HEAD + b"K1|ACME| |\x1b[31m" + b"X" * 40 + b"\x07|1|PD\x1b]0;x\x07|\x1b[2J0101\x07"
            b"\r\n")
    report = validate_stream(io.BytesIO(data), get_layout("io_citta"))
    text = report.to_text("io_citta.dat")
    # The error (a blank CODICE) and three warnings, one of them (DAT_ULT_MOD, repaired)
    # quoting the value in its rule: no raw control character in any of them.
    assert report.violation_count == 1 and report.warning_count == 3
    assert "DAT_ULT_MOD '\\x1b[2J0101\\x07' is not ddmmyyyyhhmmss" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[31mXXX" in text and "\\x07" in text


def test_the_record_reader_refuses_a_line_without_end(no_newline: Path) -> None:
    def read() -> str:
        with open(no_newline, "rb") as f:
            try:
                list(read_records(f, get_layout("AM_ORD")))
            except FormatError as exc:
                return str(exc)
        return "read"

    message, used = peak(read)
    assert "line 1: goes on past" in message and used < line_limit(54) + 2 * MB

    def read_text() -> str:
        with open(no_newline, encoding="utf-8", newline="") as f:
            try:
                list(read_records(f, get_layout("io_citta")))
            except FormatError as exc:
                return str(exc)
        return "read"

    message, used = peak(read_text)
    assert "goes on past" in message and used < 4 * HARD_LINE_LIMIT + 2 * MB


def test_a_csv_without_line_end_is_refused_in_bounded_memory(no_newline: Path) -> None:
    d = Dialect(match="*", layout="io_citta", columns={"c": "CODICE"})

    def run() -> ValidationReport:
        with open(no_newline, "rb") as f:
            return convert(f, io.BytesIO(), d, company="ACME")

    report, used = peak(run)
    assert report.violation_count == 1 and "goes on past" in report.violations[0].rule
    assert used < 8 * HARD_LINE_LIMIT + 2 * MB, used


def test_the_key_scan_is_linear_in_a_long_line_without_pipes() -> None:
    """Found by fuzzing: the CHIAVE scan tried every position of a line lacking the
    pipes before its key, quadratic in the line's length (a 100 KB line: about 10^10
    steps, beyond the test timeout). Now it is one pass."""
    head = b"COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD|CHIAVE\r\n"
    rows = b"ACME|A1|||||K1\r\n" + b"x" * 100_000 + b"\r\nACME|A2|||||K1\r\n"
    for layout in ("io_citta", "io_clifor_detcon"):
        report = validate_stream(io.BytesIO(head + rows), get_layout(layout))
        found = {(v.line, v.column) for v in report.violations}
        assert (4, "CHIAVE") in found and (3, None) in found, report.to_text(layout)
