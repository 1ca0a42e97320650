"""Each general rule of tracciati.md §1: a file that breaks it and one that keeps it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from tests_formats_data import AM_ROW

from formats import canonicalize, get_layout, validate_file, validate_stream
from formats.fieldtypes import parse_type
from formats.report import PER_KIND, ValidationReport

HEAD = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD"
ROW = "ACME§A001|ACME|A001|ABANO TERME|35031|PD|01011900000000"
ROW2 = "ACME§A002|ACME|A002|PADOVA|35100|PD|01011900000000"


def judge(data: bytes | str, layout: str = "io_citta", **kw: object) -> ValidationReport:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return validate_stream(io.BytesIO(raw), get_layout(layout), **kw)  # type: ignore[arg-type]


def only(report: ValidationReport) -> tuple[int, str | None, str]:
    assert report.violation_count == 1, report.to_text("f")
    v = report.violations[0]
    return v.line, v.column, v.rule


def citta(*rows: str, head: str = HEAD, eol: str = "\r\n") -> str:
    return eol.join([head, *rows]) + eol


# ----------------------------------------------------------------------------- header
def test_header_present_keeps() -> None:
    assert judge(citta(ROW)).valid


def test_header_missing_is_reported_on_line_1() -> None:
    line, _col, rule = only(judge(ROW + "\r\n" + ROW2 + "\r\n"))
    assert line == 1 and "header" in rule and "data row" in rule


def test_column_names_with_spaces_break() -> None:
    report = judge(citta(ROW, head=HEAD.replace("CHIAVE|COD_DITTA", "CHIAVE | COD_DITTA")))
    assert not report.valid
    assert all(v.line == 1 and "spaces" in v.rule for v in report.violations)


def test_unknown_column_is_a_warning_in_every_layout() -> None:
    report = judge(citta(ROW + "|x", head=HEAD + "|FOO"))
    assert report.valid and report.warning_count == 1
    w = report.warnings[0]
    assert (w.line, w.column, w.severity) == (1, "FOO", "warning")
    assert "not a column of io_citta" in w.rule and "passed through" in w.rule
    extras = ("CHIAVE|COD_DITTA|ID_CONTATTO|FOO|DAT_ULT_MOD\r\n"
              "K1|ACME|7|anything|01011900000000\r\n")
    report = judge(extras, "io_clifor_detcon")
    assert report.valid and [w.column for w in report.warnings] == ["FOO"]
    line, col, rule = only(judge(citta(ROW + "|x", head=HEAD + "|FOO"), strict=True))
    assert (line, col) == (1, "FOO") and "strict mode" in rule


def test_lower_case_column_gets_a_hint() -> None:
    report = judge(citta(ROW, head=HEAD.replace("CAP", "cap")))
    assert report.valid and report.warnings[0].column == "cap"
    assert "did you mean CAP" in report.warnings[0].rule


def test_optional_columns_may_be_absent_required_ones_may_not() -> None:
    assert judge("CODICE|CHIAVE|COD_DITTA\r\nA001|K1|ACME\r\n").valid  # any order, by name
    line, col, rule = only(judge("CHIAVE|COD_DITTA|DESCRIZIONE\r\nK1|ACME|X\r\n"))
    assert (line, col) == (1, "CODICE") and "missing" in rule


def test_duplicated_header_name_breaks() -> None:
    line, col, rule = only(judge("CHIAVE|COD_DITTA|CODICE|CODICE\r\nK|ACME|A|B\r\n"))
    assert (line, col) == (1, "CODICE") and "twice" in rule


def test_separator_must_be_pipe() -> None:
    line, _col, rule = only(judge(HEAD.replace("|", ";") + "\r\n" + ROW.replace("|", ";") + "\r\n"))
    assert line == 1 and "separator must be |" in rule and ";" in rule


# ----------------------------------------------------------------------------- structure
def test_trailing_separator_breaks_on_data_lines_and_header() -> None:
    line, _col, rule = only(judge(citta(ROW + "|")))
    assert line == 2 and "trailing separator" in rule
    line, _col, rule = only(judge(citta(ROW, head=HEAD + "|")))
    assert line == 1 and "trailing separator" in rule


@pytest.mark.parametrize("row", ["ACME§A001|ACME|A001|ABANO TERME|35031|PD",
                                 ROW + "|extra|more"])
def test_field_count_must_match_the_header(row: str) -> None:
    line, col, rule = only(judge(citta(ROW2, row)))
    assert line == 3 and col is None and "fields" in rule and "7" in rule


def test_empty_line_breaks_and_last_line_without_newline_keeps() -> None:
    line, _col, rule = only(judge(citta(ROW, "", ROW2)))
    assert line == 3 and "empty line" in rule
    line, _col, rule = only(judge(citta(ROW) + "\r\n"))
    assert line == 3 and "empty line" in rule
    assert judge(HEAD + "\r\n" + ROW).valid


def test_line_ends_crlf_lf_and_mixed_keep_a_lone_cr_breaks() -> None:
    assert judge(citta(ROW, ROW2, eol="\n")).valid
    assert judge(HEAD + "\r\n" + ROW + "\n" + ROW2 + "\r\n").valid
    report = judge(HEAD + "\r" + ROW + "\r" + ROW2 + "\r")  # old Mac line ends
    assert not report.valid


def test_cr_inside_a_field_breaks() -> None:
    report = judge(citta(ROW.replace("ABANO TERME", "ABANO\rTERME")))
    line, col, rule = only(report)
    assert (line, col) == (2, "DESCRIZIONE") and "line break" in rule and "§" in rule


def test_empty_file_and_header_only() -> None:
    line, _col, rule = only(judge(b""))
    assert line == 0 and "empty" in rule
    report = judge(HEAD + "\r\n")
    assert report.valid and report.rows == 0


# ----------------------------------------------------------------------------- encoding
def test_utf8_with_and_without_bom_keeps() -> None:
    text = citta(ROW.replace("ABANO TERME", "FORLÌ"))
    assert judge(text.encode("utf-8")).valid
    assert judge(b"\xef\xbb\xbf" + text.encode("utf-8")).valid


def test_undecodable_byte_is_reported_with_its_line() -> None:
    data = citta(ROW, ROW2).encode("utf-8").replace(b"PADOVA", "FORLÌ".encode("cp1252"))
    line, _col, rule = only(judge(data))
    assert line == 3 and "0xCC" in rule and "UTF-8" in rule


def test_utf16_is_refused() -> None:
    line, _col, rule = only(judge(citta(ROW).encode("utf-16")))
    assert line == 0 and "UTF-16" in rule


# ----------------------------------------------------------------------------- types
GEN_HEAD = ("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|LATITUDINE|SCO_PERC1|FIDO_AZIENDALE|"
            "DATA_CREAZIONE|FLG_NEW_CLIFOR|DAT_ULT_MOD")


def gen(**values: str) -> str:
    row = {"CHIAVE": "K1", "COD_DITTA": "ACME", "TIPO_CLIFOR": "0", "COD_CLIFOR": "C1",
           "LATITUDINE": "45.406400", "SCO_PERC1": "5,5", "FIDO_AZIENDALE": "1000,00",
           "DATA_CREAZIONE": "29022020", "FLG_NEW_CLIFOR": "-1",
           "DAT_ULT_MOD": "01011900000000"}
    row.update(values)
    return GEN_HEAD + "\r\n" + "|".join(row[c] for c in GEN_HEAD.split("|")) + "\r\n"


def test_typed_values_keep() -> None:
    assert judge(gen(), "io_clifor_gen").valid
    assert judge(gen(SCO_PERC1="-3", FIDO_AZIENDALE="", LATITUDINE="-0.5",
                     DATA_CREAZIONE="", FLG_NEW_CLIFOR="0", TIPO_CLIFOR="1"),
                 "io_clifor_gen").valid


@pytest.mark.parametrize(("column", "value", "words"), [
    ("DATA_CREAZIONE", "31022020", "not a real calendar date"),
    ("DATA_CREAZIONE", "29022021", "not a real calendar date"),
    ("DATA_CREAZIONE", "2/1/2013", "8 digits ddmmyyyy"),
    ("DATA_CREAZIONE", "20130102", "not a real calendar date"),
    ("SCO_PERC1", "5.5", "separator must be ','"),
    ("SCO_PERC1", "15000.50", "1500050"),
    ("SCO_PERC1", "1.000,50", "no thousands separator"),
    ("FIDO_AZIENDALE", " 100", "spaces"),
    ("TIPO_CLIFOR", "1.0", "whole number"),
    ("TIPO_CLIFOR", "uno", "whole number"),
    ("FLG_NEW_CLIFOR", "si", "0 (no) or -1 (yes)"),
    ("LATITUDINE", "45;4064", "'.' as decimal separator"),
    ("COD_CLIFOR", "", "required"),
    ("COD_CLIFOR", "   ", "required"),
])
def test_typed_values_break(column: str, value: str, words: str) -> None:
    line, col, rule = only(judge(gen(**{column: value}), "io_clifor_gen"))
    assert (line, col) == (2, column)
    assert words in rule


@pytest.mark.parametrize(("column", "value", "words"), [
    ("SCO_PERC1", "5,1234567", "7 decimals, documented 6"),
    ("SCO_PERC1", "123456789", "9 digits before the ',', documented 8"),
    ("TIPO_CLIFOR", "1,0", "documented as a whole number"),
    ("TIPO_CLIFOR", "123", "3 digits; TIPO_CLIFOR is documented with at most 2"),
    ("FLG_NEW_CLIFOR", "1", "0 (no) or -1 (yes)"),
    ("COD_CLIFOR", "X" * 51, "documented up to 50"),
    ("LATITUDINE", "45.12345678", "8 decimals, documented 6"),
])
def test_values_beyond_the_documentation_are_warnings_published_as_written(
        column: str, value: str, words: str) -> None:
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(gen(**{column: value}).encode()), dst,
                          get_layout("io_clifor_gen"))
    assert report.valid and report.warning_count == 1, report.to_text("f")
    w = report.warnings[0]
    assert (w.line, w.column, w.severity) == (2, column, "warning")
    assert words in w.rule and "published as written" in w.rule
    assert f"|{value}|".encode() in dst.getvalue()
    line, col, rule = only(judge(gen(**{column: value}), "io_clifor_gen", strict=True))
    assert (line, col) == (2, column) and words in rule


def test_a_coordinate_with_a_decimal_comma_is_published_with_a_dot() -> None:
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(gen(LATITUDINE="45,4064").encode()), dst,
                          get_layout("io_clifor_gen"))
    assert report.valid and report.warning_count == 1
    assert "published as 45.4064" in report.warnings[0].rule
    assert b"|45.4064|" in dst.getvalue() and b"45,4064" not in dst.getvalue()


@pytest.mark.parametrize(("value", "words"), [
    ("01011900250000", "not a real time"),
    ("01011900", "14 digits"),
    ("30021900000000", "not a real calendar date"),
    ("02/01/2013 09:30", "no separators"),
])
def test_a_date_time_other_than_dat_ult_mod_keeps_its_rules(value: str, words: str) -> None:
    """No layout has such a column today (DAT_ULT_MOD is the only DT one, and it is
    repaired), but a DT value that would reach AppManager is still judged as a date-time."""
    f = parse_type("DATA_ORA", "DT")
    assert f.check("02012013093000") is None
    finding = f.check(value)
    assert finding is not None and finding.severity == "error" and words in finding.rule


# DAT_ULT_MOD never reaches AppManager (published as the constant, §1 rule 6): a value that
# is not a date-time is repaired with a warning, never refused (issue 13 follow-up).
@pytest.mark.parametrize(("value", "words"), [
    ("01012010", "'01012010' is not ddmmyyyyhhmmss"),  # DI's catalog example: a date
    ("", "is empty, not ddmmyyyyhhmmss"),
    ("   ", "'   ' is not ddmmyyyyhhmmss"),
    ("ieri alle 10", "'ieri alle 10' is not ddmmyyyyhhmmss"),
    ("0101190000000", "'0101190000000' is not ddmmyyyyhhmmss"),  # 13 digits
    ("31021900000000", "'31021900000000' is not a real date-time ddmmyyyyhhmmss"),
    ("01011900250000", "'01011900250000' is not a real date-time ddmmyyyyhhmmss"),
    (" 01011900000000", "' 01011900000000' is not ddmmyyyyhhmmss"),
    ("2013-01-02T09:30:00", "'2013-01-02T09:30:00' is not ddmmyyyyhhmmss"),
    ("x" * 4000, "'" + "x" * 37 + "...' is not ddmmyyyyhhmmss"),
])
def test_a_dat_ult_mod_that_is_not_a_date_time_is_published_as_the_constant(
        value: str, words: str) -> None:
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(gen(DAT_ULT_MOD=value).encode()), dst,
                          get_layout("io_clifor_gen"))
    assert report.valid and report.warning_count == 1, report.to_text("f")
    w = report.warnings[0]
    assert (w.line, w.column, w.severity) == (2, "DAT_ULT_MOD", "warning")
    assert w.rule == f"DAT_ULT_MOD {words}: published as 01011900000000"
    assert dst.getvalue().decode("utf-8-sig").endswith("|-1|01011900000000\r\n")
    line, col, rule = only(judge(gen(DAT_ULT_MOD=value), "io_clifor_gen", strict=True))
    assert (line, col) == (2, "DAT_ULT_MOD") and "strict mode" in rule and words in rule


def test_a_dat_ult_mod_that_is_a_date_time_is_set_to_the_constant_silently() -> None:
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(gen(DAT_ULT_MOD="02012013093000").encode()), dst,
                          get_layout("io_clifor_gen"), strict=True)
    assert report.valid and report.warning_count == 0, report.to_text("f")
    assert dst.getvalue().decode("utf-8-sig").endswith("|-1|01011900000000\r\n")


def test_a_dat_ult_mod_that_would_break_the_line_is_still_an_error() -> None:
    line, col, rule = only(judge(gen(DAT_ULT_MOD="x" * 4001), "io_clifor_gen"))
    assert (line, col) == (2, "DAT_ULT_MOD") and "no value may be longer than 4000" in rule
    line, col, rule = only(judge(gen(DAT_ULT_MOD="01|01|2010"), "io_clifor_gen"))
    assert (line, col) == (2, None) and "12 fields but the header has 10" in rule
    line, col, rule = only(judge(gen(DAT_ULT_MOD="0101\r2010"), "io_clifor_gen"))
    assert (line, col) == (2, "DAT_ULT_MOD") and "line break" in rule


def test_dat_ult_mod_repairs_across_blocks_and_in_every_position() -> None:
    """Many blocks: the bad values leave the fast path, every one is reported and every
    line is published with the constant, whatever DAT_ULT_MOD's column."""
    rows = [f"ACME§A{i:05d}|ACME|{i:04d}|X||PD|" + ("01012010" if i % 1000 == 7 else
                                               "01011900000000") for i in range(9000)]
    for head, order in ((HEAD, None), ("DAT_ULT_MOD|CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|"
                                       "PROVINCIA", [6, 0, 1, 2, 3, 4, 5])):
        body = rows if order is None else ["|".join(r.split("|")[k] for k in order)
                                           for r in rows]
        dst = io.BytesIO()
        report = canonicalize(io.BytesIO(citta(*body, head=head, eol="\n").encode()), dst,
                              get_layout("io_citta"))
        assert report.valid and report.rows == 9000
        assert [w.line for w in report.warnings] == [i + 2 for i in range(7, 9000, 1000)]
        out = dst.getvalue().decode("utf-8-sig").split("\r\n")
        assert out.pop() == "" and len(out) == 9001
        assert "01012010" not in dst.getvalue().decode("utf-8-sig")
        assert all(line.split("|")[head.split("|").index("DAT_ULT_MOD")] == "01011900000000"
                   for line in out[1:])


def test_text_cap_is_4000_even_where_the_spec_lists_8000() -> None:
    head = "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_DEST|RAG_SOC_DEST"
    ok = head + "\r\nK|ACME|0|C1|D1|" + "x" * 4000 + "\r\n"
    assert judge(ok, "io_clifor_dest").valid
    _line, col, rule = only(judge(ok.replace("x" * 4000, "x" * 4001), "io_clifor_dest"))
    assert col == "RAG_SOC_DEST" and "4001" in rule and "4000" in rule


# ----------------------------------------------------------------------------- keys
def test_chiave_must_be_present_and_unique() -> None:
    assert judge(citta(ROW, ROW2)).valid
    line, col, rule = only(judge(citta(ROW, ROW2, ROW.replace("A001|ABANO", "A003|ABANO"))))
    assert (line, col) == (4, "CHIAVE") and "line 2" in rule
    line, col, rule = only(judge(citta(ROW.replace("ACME§A001", ""))))
    assert (line, col) == (2, "CHIAVE") and "required" in rule


def test_repeats_far_apart_across_blocks_name_both_lines() -> None:
    rows = [f"K{i}|ACME|{i % 9999}|X||PD|01011900000000" for i in range(20000)]
    rows[15000] = rows[10]  # line 15002 repeats line 12
    report = judge(citta(*rows))
    line, col, rule = only(report)
    assert (line, col) == (15002, "CHIAVE") and "line 12" in rule


def test_repeat_in_a_stream_that_cannot_be_read_twice() -> None:
    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    dst = io.BytesIO()
    report = canonicalize(Pipe(citta(ROW, ROW).encode()), dst, get_layout("io_citta"))
    line, col, rule = only(report)
    assert (line, col) == (3, "CHIAVE") and "earlier row" in rule


def test_files_without_chiave_have_no_key() -> None:
    cat = "NOMEFILE|TITOLO|L1\r\na.jpg|A|Foto\r\na.jpg|A|Altro\r\n"
    assert judge(cat, "io_catalogo").valid  # the same image in two folders is allowed


# ----------------------------------------------------------------------------- legacy

def test_legacy_orders_have_no_header_and_52_or_54_fields() -> None:
    assert len(AM_ROW) == 52
    assert judge("|".join(AM_ROW) + "\r\n", "AM_ORD").valid
    assert judge("|".join([*AM_ROW, "S1", "9"]) + "\r\n", "AM_ORD").valid
    line, col, rule = only(judge("|".join(AM_ROW[:30]) + "\r\n", "AM_ORD"))
    assert line == 1 and "52 to 54" in rule
    line, col, rule = only(judge("|".join([*AM_ROW[:2], "31022013", *AM_ROW[3:]]) + "\r\n",
                                 "AM_ORD"))
    assert (line, col) == (1, "T_DAT_ORDINE")


# ----------------------------------------------------------------------------- the report
def test_every_violation_is_counted_and_max_errors_are_kept() -> None:
    rows = [f"K{i}|ACME| |X||P|01011900000000" for i in range(2500)]
    report = judge(citta(*rows), max_errors=100)
    assert report.violation_count == 2500 and len(report.violations) == 100
    text = report.to_text("io_citta.dat")
    # one kind of problem: summed up once, then its first PER_KIND lines, then a count
    assert "2,500  CODICE  lines 2, 3, 4 and 2,497 more  CODICE is required" in text
    assert "... and 2,490 more" in text and text.count("line ") == PER_KIND
    assert "line 2, column CODICE, value ' '" in text
    assert report.first_error().endswith("(and 2499 more)")
    d = report.to_dict()
    assert d["violation_count"] == 2500 and d["violations"][0] == {
        "line": 2, "column": "CODICE", "value": " ",
        "rule": "CODICE is required and must not be empty", "severity": "error"}


def test_the_errors_kept_are_the_first_by_line_whatever_order_they_are_found_in() -> None:
    """A repeated CHIAVE is found at the end of the pass: it still comes first when kept."""
    rows = [ROW, ROW.replace("A001|ABANO", "A002|ABANO"),
            *[f"K{i}|ACME| |X||PD|01011900000000" for i in range(3, 6)]]
    report = judge(citta(*rows), max_errors=2)
    assert report.violation_count == 4
    assert [(v.line, v.column) for v in report.violations] == [(3, "CHIAVE"), (4, "CODICE")]
    assert "... and 2 more" in report.to_text("f")


def test_unknown_file_name_is_a_violation_on_line_0(tmp_path: Path) -> None:
    path = tmp_path / "clienti.csv"
    path.write_text(citta(ROW), encoding="utf-8")
    line, _col, rule = only(validate_file(path))
    assert line == 0 and "io_<entity>.dat" in rule
    assert validate_file(path, get_layout("io_citta")).valid


def test_long_values_are_shortened_in_the_report() -> None:
    report = judge(citta(ROW.replace("ABANO TERME", "Y" * 5000)))
    assert len(report.violations[0].value) < 80
    report = judge(citta(ROW.replace("ABANO TERME", "Y" * 500)))
    assert report.valid and len(report.warnings[0].value) < 80


# ----------------------------------------------------------------------------- canonical output
def test_truncate_policy_cuts_text_and_warns() -> None:
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(citta(ROW.replace("|PD|", "|PDX|")).encode()), dst,
                          get_layout("io_citta"), length_policy="truncate")
    assert report.valid and report.warning_count == 1
    assert report.warnings[0].column == "PROVINCIA" and "cut to 2" in report.warnings[0].rule
    assert b"|PD|01011900000000\r\n" in dst.getvalue()


def test_truncate_policy_never_cuts_a_key_or_a_key_like_field() -> None:
    """CHIAVE and the entity's code are published as written (a warning); so is NUM_REG,
    which links documents to their due dates."""
    long_code = "A" * 5  # CODICE is documented C4
    src = citta(ROW.replace("|A001|", f"|{long_code}|"))
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(src.encode()), dst, get_layout("io_citta"),
                          length_policy="truncate")
    assert report.valid and f"|{long_code}|".encode() in dst.getvalue()
    assert "published as written" in report.warnings[0].rule
    layout = get_layout("io_clifor_scadoc")
    num_reg = layout.get("NUM_REG")
    assert num_reg is not None and not num_reg.may_truncate
    head = "CHIAVE|COD_DITTA|NUM_REG|COD_RATA|DES_TIPO"
    src = f"{head}\r\nK1|ACME|{'1' * 15}|R1|{'d' * 300}\r\n"
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(src.encode()), dst, layout, length_policy="truncate")
    assert report.valid, report.to_text("f")
    out = dst.getvalue().decode("utf-8-sig")
    assert f"|{'1' * 15}|" in out and f"|{'d' * 255}|01011900000000\r\n" in out
    assert {w.column for w in report.warnings} == {"NUM_REG", "DES_TIPO"}


def test_canonical_output_sets_dat_ult_mod_and_adds_it_when_missing() -> None:
    dst = io.BytesIO()
    src = "CHIAVE|COD_DITTA|CODICE|DAT_ULT_MOD\nK1|ACME|A|02012013093000\nK2|ACME|B|\n"
    assert canonicalize(io.BytesIO(src.encode()), dst, get_layout("io_citta")).valid
    assert dst.getvalue().decode("utf-8-sig") == (
        "CHIAVE|COD_DITTA|CODICE|DAT_ULT_MOD\r\nK1|ACME|A|01011900000000\r\n"
        "K2|ACME|B|01011900000000\r\n")
    dst = io.BytesIO()
    assert canonicalize(io.BytesIO(b"CODICE|CHIAVE|COD_DITTA\nA|K1|ACME"), dst,
                        get_layout("io_citta")).valid
    assert dst.getvalue().decode("utf-8-sig") == (
        "CODICE|CHIAVE|COD_DITTA|DAT_ULT_MOD\r\nA|K1|ACME|01011900000000\r\n")


def test_an_extra_field_is_refused_where_dat_ult_mod_is_appended() -> None:
    """Found by fuzzing: without DAT_ULT_MOD in the header, a line carrying one field more
    (the constant) looked already published and passed unjudged."""
    src = "CHIAVE|COD_DITTA|CODICE\r\nK1|ACME|A|01011900000000\r\n"
    line, col, rule = only(canonicalize(io.BytesIO(src.encode()), io.BytesIO(),
                                        get_layout("io_citta")))
    assert (line, col) == (2, None) and "4 fields but the header has 3" in rule


@pytest.mark.parametrize("order", ["sorted", "sorted-then-not", "unsorted"])
def test_repeats_are_found_whatever_the_key_order(order: str) -> None:
    keys = [f"K{i:05d}" for i in range(6000)]
    if order == "unsorted":
        keys.reverse()
    rows = [f"{k}|ACME|A|X||PD|01011900000000" for k in keys]
    if order == "sorted-then-not":
        rows.append(rows[3])  # breaks the order long after the first block
        repeat_of = 5
    else:
        rows.insert(4000, rows[3999])  # adjacent repeat
        repeat_of = 4001
    report = judge(citta(*rows))
    _line, col, rule = only(report)
    assert col == "CHIAVE" and f"line {repeat_of}" in rule
    assert judge(citta(*[r for i, r in enumerate(rows) if i != (len(rows) - 1 if order ==
                                                               "sorted-then-not" else 4000)])).valid
