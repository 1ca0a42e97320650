"""Dialect conversion of ERP CSV exports, and catalog media names."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from connector.config import parse_config
from connector.errors import ConfigError, FormatError
from formats import get_layout, validate_stream
from formats.dialect import Dialect, check_dialect, convert, dialect_for
from formats.media import media_kind, parse_media_name
from formats.report import ValidationReport

CLIENTI = Dialect(
    match="clienti*.csv", layout="io_clifor_gen", encoding="cp1252", thousands=".",
    columns={"Codice": "COD_CLIFOR", "Ragione sociale": "RAG_SOC", "Fido": "FIDO_AZIENDALE",
             "Creato il": "DATA_CREAZIONE", "Nuovo": "FLG_NEW_CLIFOR", "Lat": "LATITUDINE"},
    defaults={"TIPO_CLIFOR": "0", "TAG": "{COD_CLIFOR} {RAG_SOC}"},
)


def run(data: str | bytes, dialect: Dialect = CLIENTI, **kw: object
        ) -> tuple[ValidationReport, str]:
    raw = data.encode(dialect.encoding) if isinstance(data, str) else data
    dst = io.BytesIO()
    report = convert(io.BytesIO(raw), dst, dialect, company="ACME", **kw)  # type: ignore[arg-type]
    return report, dst.getvalue().decode("utf-8-sig")


def test_a_config_entry_is_the_dialect_itself(tmp_path: Path) -> None:
    """One dialect type: export.dialects[] entries are built as formats' Dialect, key for key."""
    entry = {f.name: f.default for f in dataclasses.fields(Dialect)
             if f.default is not dataclasses.MISSING}
    entry.update(match="clienti*.csv", layout="io_clifor_gen", delimiter=",", encoding="cp1252",
                 columns={"Codice": "COD_CLIFOR"}, defaults={"TIPO_CLIFOR": "0"})
    cfg = parse_config({"company": "ACME", "create_folders": True,
                        "export": {"dialects": [entry]}}, tmp_path)
    (d,) = cfg.export.dialects
    assert type(d) is Dialect
    assert {f.name: getattr(d, f.name) for f in dataclasses.fields(Dialect)} == entry


def test_a_cp1252_semicolon_csv_becomes_a_valid_canonical_tracciato() -> None:
    csv_text = ('Codice;Ragione sociale;Fido;Creato il;Nuovo;Lat;Ignored\r\n'
                'C1;"Rossi; Figli | soci\r\nsecondo rigo";1.234,50;02/01/2013;sì;45,4064;x\r\n'
                '\r\n'
                'C2;Forlì spa;;;no;;\r\n')
    report, out = run(csv_text)
    assert report.valid, report.to_text("clienti.csv")
    assert out == (
        "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|TAG|LATITUDINE|DATA_CREAZIONE|"
        "FIDO_AZIENDALE|FLG_NEW_CLIFOR|DAT_ULT_MOD\r\n"
        "ACME§0§C1|ACME|0|C1|Rossi; Figli _ soci§secondo rigo|C1 Rossi; Figli _ soci§secondo "
        "rigo|45.4064|02012013|1234,50|-1|01011900000000\r\n"
        "ACME§0§C2|ACME|0|C2|Forlì spa|C2 Forlì spa||||0|01011900000000\r\n")
    assert validate_stream(io.BytesIO(out.encode()), get_layout("io_clifor_gen")).valid


def test_errors_name_the_csv_line_and_the_csv_column() -> None:
    csv_text = ("Codice;Ragione sociale;Fido;Creato il;Nuovo;Lat\r\n"
                "C1;A;1,5;31/02/2013;si;\r\n"
                "C2;B;1,5,5;02/01/2013;forse;\r\n"
                ";C;;;;\r\n"
                "C1;D;;;;\r\n")
    report, _ = run(csv_text)
    got = [(v.line, v.column) for v in report.violations]
    assert sorted(got) == [(2, "Creato il"), (3, "Fido"), (3, "Nuovo"), (4, "Codice"),
                           (5, "CHIAVE")]
    rules = [v.rule for v in report.violations]
    assert "%d/%m/%Y" in rules[0] and "-> DATA_CREAZIONE" in rules[0]
    assert "CSV line 2" in rules[-1]


def test_a_missing_csv_column_and_undecodable_bytes() -> None:
    report, _ = run("Codice;Fido\r\nC1;1\r\n")
    assert [v.column for v in report.violations] == ["Ragione sociale", "Creato il", "Nuovo",
                                                     "Lat"]
    utf8 = dataclasses.replace(CLIENTI, encoding="utf-8", columns={"Codice": "COD_CLIFOR"})
    report, _ = run("Codice\r\nForl\xec\r\n".encode("cp1252"), utf8)
    v = report.violations[0]
    assert (v.line, v.column) == (2, "Codice") and "cp1252" in v.rule


def test_headerless_csv_uses_column_positions_and_comma_quotes() -> None:
    d = Dialect(match="*.txt", layout="io_citta", delimiter=",", header=False,
                columns={"1": "CODICE", "2": "DESCRIZIONE", "3": "PROVINCIA"})
    report, out = run('A001,"ABANO, TERME",PD\nA002,PADOVA,PD\n', d)
    assert report.valid
    assert out.splitlines()[1] == "ACME§A001|ACME|A001|ABANO, TERME|PD|01011900000000"


def test_length_policy_and_bad_dialects() -> None:
    d = Dialect(match="*", layout="io_citta", columns={"c": "CODICE", "p": "PROVINCIA"})
    report, out = run("c;p\nA;PADOVA\n", d)  # longer than documented: a warning, as written
    assert report.valid and "|PADOVA|" in out
    assert report.warnings[0].column == "p" and "-> PROVINCIA" in report.warnings[0].rule
    assert not run("c;p\nA;PADOVA\n", d, strict=True)[0].valid
    report, out = run("c;p\nA;PADOVA\n", d, length_policy="truncate")
    assert report.valid and "|PA|" in out and "cut to 2" in report.warnings[0].rule
    report, out = run("c;p\nA0001;PD\n", d, length_policy="truncate")  # CODICE: a key, never cut
    assert report.valid and "|A0001|" in out
    bad = Dialect(match="*", layout="io_citta", columns={"c": "NOPE"}, defaults={"CAP": "{X}"})
    assert check_dialect(bad) == ["columns.c: io_citta has no field NOPE",
                                  "defaults.CAP: unknown placeholder {X}"]
    with pytest.raises(ConfigError):
        run("c\nA\n", bad)
    assert check_dialect(Dialect(match="*", layout="io_nope")) == [
        "layout: unknown tracciato 'io_nope'"]


def test_a_repeated_key_with_a_warning_on_the_way() -> None:
    """Found by fuzzing: the second pass over a CSV with a repeated key crashed on the
    first warning it met (a report that keeps nothing)."""
    d = Dialect(match="*", layout="io_citta", columns={"c": "CODICE", "p": "PROVINCIA"})
    report, _ = run("c;p\nA1;PADOVA\nA1;PD\n", d)
    assert [(v.line, v.column) for v in report.violations] == [(3, "CHIAVE")]
    assert report.warnings[0].column == "p"
    assert ValidationReport(None, max_errors=0).violations == []


def test_dialect_for_matches_globs_case_insensitively() -> None:
    assert dialect_for("C:/erp/CLIENTI_2024.CSV", [CLIENTI]) is CLIENTI
    assert dialect_for("articoli.csv", [CLIENTI]) is None


# ----------------------------------------------------------------------------- media names
@pytest.mark.parametrize(("name", "title", "code", "order", "ext"), [
    ("Listino.pdf", "Listino", None, None, "pdf"),
    ("Libreria Kwaba [kw07].jpg", "Libreria Kwaba", "kw07", None, "jpg"),
    ("Foresta {1}.png", "Foresta", None, 1, "png"),
    ("Depliant [0567] {2}.avi", "Depliant", "0567", 2, "avi"),
    ("123[123].JPG", "123", "123", None, "jpg"),
    ("multimedia/Sedie/Poltrona [P1].mp4", "Poltrona", "P1", None, "mp4"),
])
def test_media_names_of_the_spec(name: str, title: str, code: str | None, order: int | None,
                                 ext: str) -> None:
    m = parse_media_name(name)
    assert (m.title, m.article_code, m.order, m.ext) == (title, code, order, ext)


@pytest.mark.parametrize(("name", "words"), [
    ("foto.bmp", "not a supported"), ("foto", "no extension"), ("a{x}.jpg", "whole number"),
    ("b{1}[c].jpg", "before {order}"), ("z[].png", "empty article code"),
    ("w[a.png", "unbalanced"), ("[x][y].jpg", "does not follow"),
])
def test_bad_media_names_say_why(name: str, words: str) -> None:
    with pytest.raises(FormatError) as err:
        parse_media_name(name)
    assert words in str(err.value)


def test_folders_and_kinds() -> None:
    assert parse_media_name("Sedie [S1] {3}", folder=True).order == 3
    assert [media_kind(n) for n in ("a.JPEG", "b.mov", "c.pdf", "d.txt", "e")] == [
        "image", "video", "document", None, None]
