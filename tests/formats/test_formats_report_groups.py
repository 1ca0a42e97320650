"""Reports a clerk can act on: repeated problems summed up (how many, column, first lines,
rule) before the lines, a few lines of each kind; in Italian or English; a dialect's values
shown as the ERP wrote them; media judged by their content."""

from __future__ import annotations

import io
import time
from pathlib import Path

from connector import i18n
from formats.dialect import Dialect, convert
from formats.report import PER_KIND, ValidationReport
from formats.validate import validate_file

RULE = "CODICE is required and must not be empty"


def test_a_million_identical_errors_make_one_summary_line_and_a_short_list() -> None:
    started = time.monotonic()
    report = ValidationReport("io_citta")
    for i in range(1_000_000):
        report.add(i + 2, "CODICE", " ", RULE, row=True)
    text = report.to_text("io_citta.dat")
    elapsed = time.monotonic() - started
    assert report.violation_count == 1_000_000
    lines = text.splitlines()
    assert lines[0] == "io_citta.dat: INVALID (io_citta), 1,000,000 problems in 0 rows"
    summary = [ln for ln in lines if "999,997 more" in ln]
    assert summary == [f"  1,000,000  CODICE  lines 2, 3, 4 and 999,997 more  {RULE}"]
    assert sum(RULE in ln for ln in lines) == 1 + PER_KIND  # the summary and the examples
    assert lines[-1] == "  ... and 999,990 more"
    assert len(text.encode("utf-8")) < 2_000, text  # not a thousand identical lines
    assert elapsed < 60, elapsed  # ~3 s on a loaded 2-core machine: the cheap path counts


def test_kinds_are_counted_apart_with_their_first_lines_whatever_the_order() -> None:
    report = ValidationReport("io_citta", max_errors=5)
    for line in (40, 12, 7, 99, 3, 50):
        report.add(line, "CAP", "x", "must be a whole number", row=True)
    report.add(8, "PROVINCIA", "", "PROVINCIA is required", row=True)
    report.add(9, "PROVINCIA", "", "PROVINCIA is required", row=True)
    text = report.to_text("io_citta.dat")
    assert "6  CAP        lines 3, 7, 12 and 3 more  must be a whole number" in text
    assert "2  PROVINCIA  lines 8, 9                 PROVINCIA is required" in text
    # the lines kept (the first five by line) follow the summary, then the rest is counted
    listed = text.split("Line by line:\n", 1)[1].splitlines()
    assert [ln.split(",")[0].strip() for ln in listed[:5]] == [
        "line 3", "line 7", "line 8", "line 9", "line 12"]
    assert listed[5] == "  ... and 3 more"


def test_a_single_problem_has_no_summary() -> None:
    report = ValidationReport("io_citta")
    report.add(3, "CODICE", " ", RULE, row=True)
    assert report.to_text("io_citta.dat").splitlines()[1:] == [
        f"  line 3, column CODICE, value ' ': {RULE}"]


def test_the_report_of_a_real_file_in_italian(tmp_path: Path) -> None:
    path = tmp_path / "io_citta.dat"
    rows = [f"ACME§K{i}|ACME| |X|PD|01011900000000" for i in range(2500)]
    path.write_text("CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|PROVINCIA|DAT_ULT_MOD\n"
                    + "\n".join(rows) + "\n", encoding="utf-8")
    report = validate_file(path)
    text = report.to_text("io_citta.dat", tr=i18n.translations("it"), thousands=".")
    lines = text.splitlines()
    assert lines[0] == "io_citta.dat: NON VALIDO (io_citta), 2.500 problemi in 2.500 righe"
    assert lines[1] == "Problemi per tipo, dal più frequente:"
    assert "2.500  CODICE   righe 2, 3, 4 e altre 2.497  CODICE è obbligatorio e non può " \
           "essere vuoto" in text
    assert "  riga 2, colonna CODICE, valore ' ': CODICE è obbligatorio e non può essere " \
           "vuoto" in lines
    assert lines[-1] == "  ... e altri 2.490"
    # the machine-readable form stays as it is, whatever the language
    assert report.to_dict()["violations"][0]["rule"] == RULE


UM = Dialect(match="um*.csv", layout="io_art_um", thousands=".", decimal=",",
             columns={"Art": "COD_ART", "Um": "UM", "Fattore": "FAT_CONV"})


def test_a_dialects_numbers_are_shown_as_the_erp_writes_them() -> None:
    csv = ("Art;Um;Fattore\r\nA1;PZ;1.234,50\r\nA2;PZ;1.234,5x\r\n"
           "A3;PZ;12.345.678.901,50\r\n")
    out = io.BytesIO()
    report = convert(io.BytesIO(csv.encode()), out, UM, company="ACME")
    [error] = report.violations
    assert (error.line, error.column, error.value) == (3, "Fattore", "1.234,5x")
    assert str(error.rule) == ("'1.234,5x' is not a number as the dialect writes them "
                               "(e.g. 1.234,56) (-> FAT_CONV)")
    [warning] = report.warnings
    assert warning.value == "12.345.678.901,50"  # as in the CSV, not 12345678901,50
    text = report.to_text("um_2026.csv", tr=i18n.translations("it"), thousands=".")
    assert "'1.234,5x' non è un numero scritto nel formato del dialetto (es. 1.234,56)" in text
    # a dialect without a thousands separator says how to write a number there
    plain = Dialect(match="um*.csv", layout="io_art_um", columns=UM.columns)
    report = convert(io.BytesIO(b"Art;Um;Fattore\r\nA1;PZ;1.234,50\r\n"), io.BytesIO(),
                     plain, company="ACME")
    assert "(e.g. 1234,56)" in report.violations[0].rule


def test_validate_judges_a_medium_by_its_content(tmp_path: Path) -> None:
    fake = tmp_path / "scheda[A1].pdf"
    fake.write_bytes(b"GIF89a" + b"\0" * 64)
    real = tmp_path / "foto[A1]{1}.jpg"
    real.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    bad = validate_file(fake)
    assert not bad.valid and "the content is a GIF image, not a PDF document" in bad.first_error()
    assert bad.to_text(str(fake)).startswith(f"{fake}: INVALID medium, 1 problem")
    good = validate_file(real)
    assert good.valid and "valid medium (its name and its content checked)" in good.to_text("f")
