"""Every rule of the judge with its severity (issue 13): for each error a file that breaks
it and is refused; for each warning a file that is published as written (or repaired)
with the warning reported. Row errors are also shown held back: the other rows pass."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from formats import canonicalize, get_layout, validate_file
from formats.layout import Layout
from formats.report import ValidationReport

HEAD = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD"
GOOD = [f"ACME§A{i:03d}|ACME|A{i:03d}|CITTA {i}|35031|PD|01011900000000" for i in range(1, 6)]
GEN = ("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|LATITUDINE|SCO_PERC1|FIDO_AZIENDALE|"
       "DATA_CREAZIONE|FLG_NEW_CLIFOR|DAT_ULT_MOD")


def gen_row(**values: str) -> str:
    row = {"CHIAVE": "ACME§0§C9", "COD_DITTA": "ACME", "TIPO_CLIFOR": "0", "COD_CLIFOR": "C9",
           "RAG_SOC": "ROSSI SRL", "LATITUDINE": "45.406400", "SCO_PERC1": "5,5",
           "FIDO_AZIENDALE": "1000,00", "DATA_CREAZIONE": "29022020", "FLG_NEW_CLIFOR": "-1",
           "DAT_ULT_MOD": "01011900000000"}
    row.update(values)
    return "|".join(row[c] for c in GEN.split("|"))


def gen_file(bad: str) -> bytes:
    good = [gen_row(CHIAVE=f"ACME§0§C{i}", COD_CLIFOR=f"C{i}") for i in range(1, 6)]
    return ("\r\n".join([GEN, *good[:2], bad, *good[2:]]) + "\r\n").encode("utf-8")


def citta(bad: str, head: str = HEAD) -> bytes:
    return ("\r\n".join([head, *GOOD[:2], bad, *GOOD[2:]]) + "\r\n").encode("utf-8",
                                                                            "surrogateescape")


def run(data: bytes, layout: str | Layout = "io_citta", **kw: object
        ) -> tuple[ValidationReport, bytes]:
    lay = get_layout(layout) if isinstance(layout, str) else layout
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(data), dst, lay, **kw)  # type: ignore[arg-type]
    return report, dst.getvalue()


# ----------------------------------------------------------------------------- file errors
FILE_ERRORS = {
    "no header": (b"", "empty"),
    "a data row where the header should be": ("\r\n".join(GOOD).encode(), "looks like a data row"),
    "an empty first line": (b"\r\n" + "\r\n".join(GOOD).encode(), "it is empty"),
    "a header with ; as separator": (HEAD.replace("|", ";").encode() + b"\r\n", "separator"),
    "a header with spaces": (citta(GOOD[0], HEAD.replace("|COD_DITTA", " | COD_DITTA")),
                             "must not contain spaces"),
    "a header that ends with |": (citta(GOOD[0], HEAD + "|"), "header ends with |"),
    "a column twice": (citta(GOOD[0] + "|X", HEAD + "|CODICE"), "appears twice"),
    "an empty column name": (citta(GOOD[0], HEAD.replace("|CODICE", "||CODICE")),
                             "empty column name"),
    "a key column missing": (citta("ACME|A009", "COD_DITTA|CODICE"), "CHIAVE is missing"),
    "UTF-16": ("\r\n".join([HEAD, *GOOD]).encode("utf-16"), "UTF-16"),
    "an undecodable header": (citta(GOOD[0], "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE\udce8"),
                              "not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(FILE_ERRORS))
def test_file_errors_refuse_the_whole_file(case: str) -> None:
    data, words = FILE_ERRORS[case]
    report, _ = run(data)
    assert not report.valid, case
    assert report.file_errors and not report.rows_only
    assert any(words in v.rule for v in report.violations), report.to_text(case)
    assert all(v.severity == "error" for v in report.violations)


def test_an_unknown_file_name_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "citta.txt"
    path.write_bytes(citta(GOOD[0]))
    report = validate_file(path)
    assert not report.valid and report.file_errors == 1
    assert "unknown file name" in report.violations[0].rule


# ----------------------------------------------------------------------------- row errors
ROW_ERRORS = {
    "fewer fields": ("ACME§A009|ACME|A009|X|35031|PD", None, "has 6 fields but the header has 7"),
    "more fields": (GOOD[0].replace("ACME§A001", "ACME§A009") + "|X", None, "has 8 fields"),
    "a trailing pipe": (GOOD[0].replace("ACME§A001", "ACME§A009") + "|", None,
                        "ends with |"),
    "an undecodable byte": ("ACME§A009|ACME|A009|FORL\udce8|35031|PD|01011900000000", None,
                            "0xE8"),
    "a blank line": ("", None, "empty line"),
    "a repeated CHIAVE": (GOOD[0].replace("|A001|", "|A009|"), "CHIAVE", "repeats the one on "
                          "line 2"),
    "an empty CHIAVE": ("|ACME|A009|X|35031|PD|01011900000000", "CHIAVE", "required"),
    "an empty COD_DITTA": ("ACME§A009||A009|X|35031|PD|01011900000000", "COD_DITTA", "required"),
    "an empty entity code": ("ACME§A009|ACME| |X|35031|PD|01011900000000", "CODICE", "required"),
    "a line break inside a text": ("ACME§A009|ACME|A009|X\rY|35031|PD|01011900000000",
                                   "DESCRIZIONE", "line break"),
    "text over the 4000 cap": (f"ACME§A009|ACME|A009|{'x' * 4001}|35031|PD|01011900000000",
                               "DESCRIZIONE", "no value may be longer than 4000"),
}


@pytest.mark.parametrize("case", sorted(ROW_ERRORS))
def test_row_errors_refuse_the_row_and_it_can_be_held_back(case: str) -> None:
    bad, column, words = ROW_ERRORS[case]
    data = citta(bad)
    report, _ = run(data)
    assert not report.valid and report.rows_only, report.to_text(case)
    assert report.bad_lines == {4}
    v = report.violations[0]
    assert (v.line, v.column, v.severity) == (4, column, "error") and words in v.rule
    held = io.BytesIO()
    rest, out = run(data, hold=report.bad_lines, held=held)
    assert rest.valid and rest.rows == 5 and rest.held == {4: 2}
    assert out.decode("utf-8-sig").splitlines() == [HEAD, *GOOD]
    assert held.getvalue() == (HEAD + "\r\n").encode() + data.split(b"\n")[3] + b"\n"


NUMBER_ERRORS = {
    "a date that does not exist": ("DATA_CREAZIONE", "31022020", "not a real calendar date"),
    "a date in another format": ("DATA_CREAZIONE", "2020-02-29", "8 digits ddmmyyyy"),
    "a dot decimal in a comma field": ("FIDO_AZIENDALE", "15000.50", "read as 1500050"),
    "a thousands separator": ("FIDO_AZIENDALE", "15.000,50", "no thousands separator"),
    "a decimal that is not a number": ("SCO_PERC1", "5%", "must be a number"),
    "an integer that is not a number": ("TIPO_CLIFOR", "C", "whole number"),
    "a flag that is not a number": ("FLG_NEW_CLIFOR", "si", "flag must be 0 (no) or -1"),
    "a coordinate that is not a number": ("LATITUDINE", "45°24'", "must be a number"),
    "a number with spaces": ("FIDO_AZIENDALE", " 100", "spaces"),
}


@pytest.mark.parametrize("case", sorted(NUMBER_ERRORS))
def test_values_read_wrong_are_row_errors(case: str) -> None:
    column, value, words = NUMBER_ERRORS[case]
    data = gen_file(gen_row(**{column: value}))
    report, _ = run(data, "io_clifor_gen")
    assert report.rows_only and report.bad_lines == {4}, report.to_text(case)
    v = report.violations[0]
    assert (v.line, v.column, v.severity) == (4, column, "error") and words in v.rule
    held = io.BytesIO()  # the row held back, the other five published
    rest, out = run(data, "io_clifor_gen", hold=report.bad_lines, held=held)
    assert rest.valid and rest.rows == 5 and rest.held == {4: 2}
    assert len(out.decode("utf-8-sig").splitlines()) == 6
    assert held.getvalue() == (GEN + "\r\n").encode() + data.split(b"\n")[3] + b"\n"


# ----------------------------------------------------------------------------- warnings
WARNINGS = {
    "text longer than documented": ("RAG_SOC", "R" * 300, "300 characters long", None),
    "a code longer than documented": ("COD_CLIFOR", "C" * 60, "documented up to 50", None),
    "more integer digits (integer)": ("TIPO_CLIFOR", "123", "3 digits", None),
    "more integer digits (decimal)": ("FIDO_AZIENDALE", "12345678901234,00",
                                      "14 digits before the ','", None),
    "more decimals (decimal)": ("SCO_PERC1", "5,12345678", "8 decimals, documented 6", None),
    "more decimals (coordinate)": ("LATITUDINE", "45.406412345", "9 decimals", None),
    "decimals in an integer": ("TIPO_CLIFOR", "0,0", "documented as a whole number", None),
    "a numeric flag other than 0/-1": ("FLG_NEW_CLIFOR", "1", "documented as 0 (no) or -1",
                                       None),
    "a coordinate with a decimal comma (repaired)": ("LATITUDINE", "45,4064",
                                                     "decimal comma", "45.4064"),
    "a DAT_ULT_MOD that is not a date-time (repaired)": (
        "DAT_ULT_MOD", "01012010", "'01012010' is not ddmmyyyyhhmmss", "01011900000000"),
}


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_value_warnings_are_published_with_the_warning(case: str) -> None:
    column, value, words, repaired = WARNINGS[case]
    report, out = run(gen_file(gen_row(**{column: value})), "io_clifor_gen")
    assert report.valid and report.warning_count == 1, report.to_text(case)
    w = report.warnings[0]
    assert (w.line, w.column, w.severity) == (4, column, "warning") and words in w.rule
    published = out.decode("utf-8-sig").splitlines()[3].split("|")
    assert published[GEN.split("|").index(column)] == (repaired or value)
    assert ("published as " + (repaired or "written")) in w.rule
    strict, _ = run(gen_file(gen_row(**{column: value})), "io_clifor_gen", strict=True)
    assert strict.rows_only and strict.bad_lines == {4}  # strict: a row error


def test_a_column_no_layout_knows_is_passed_through_in_every_layout() -> None:
    data = ("\r\n".join([HEAD + "|NOTE_INTERNE", *[r + "|nota " + r[5:9] for r in GOOD]])
            + "\r\n").encode()
    report, out = run(data)
    assert report.valid and report.warning_count == 1, report.to_text("f")
    w = report.warnings[0]
    assert (w.line, w.column) == (1, "NOTE_INTERNE") and "passed through" in w.rule
    lines = out.decode("utf-8-sig").splitlines()
    assert lines[0] == HEAD + "|NOTE_INTERNE" and lines[1].endswith("|nota A001")
    strict, _ = run(data, strict=True)
    assert not strict.valid and strict.file_errors  # strict: a header error


def _with_alias(name: str, field: str, alias: str) -> Layout:
    base = get_layout(name)
    fields = tuple(dataclasses.replace(f, aliases=(alias,)) if f.name == field else f
                   for f in base.fields)
    return dataclasses.replace(base, fields=fields)


def test_a_known_alternate_column_name_is_read_as_its_column() -> None:
    layout = _with_alias("io_art_ultacq", "VALUTA", "COD_VALUTA")
    assert layout.canonical_name("COD_VALUTA") == "VALUTA"
    assert layout.field_for("COD_VALUTA") is layout.get("VALUTA")
    head = "CHIAVE|COD_DITTA|COD_ART|PROG|COD_VALUTA|PRZ|DAT_ULT_MOD"
    data = (f"{head}\r\nACME§A1§1|ACME|A1|1|EUR|10,5|01011900000000\r\n").encode()
    report, out = run(data, layout)
    assert report.valid and report.warning_count == 1
    w = report.warnings[0]
    assert (w.line, w.column) == (1, "COD_VALUTA") and "alternate name of VALUTA" in w.rule
    assert out.decode("utf-8-sig").splitlines()[0] == head  # published as written
    report, _ = run(data.replace(b"|EUR|", b"|EURO1|"), layout)  # typed as VALUTA C4
    assert [w.column for w in report.warnings] == ["COD_VALUTA", "COD_VALUTA"]
    both = (f"{head}|VALUTA\r\nACME§A1§1|ACME|A1|1|EUR|10,5|01011900000000|EUR\r\n").encode()
    report, _ = run(both, layout)
    assert not report.valid and "name the same field VALUTA" in report.violations[0].rule


def test_a_clean_file_has_neither_errors_nor_warnings() -> None:
    report, _ = run(citta(GOOD[0].replace("A001", "A009")))
    assert report.valid and report.warning_count == 0 and report.rows == 6
