"""The layout table: provenance, alternate names, key-like fields and the table syntax."""

from __future__ import annotations

import io

import pytest

from formats import all_layouts, canonicalize, get_layout, layout_for_filename, validate_stream
from formats.layout import KNOWN_SOURCES, _parse_table


def judge(layout: str, text: str) -> tuple[bool, str]:
    """Canonicalize `text` as `layout`; (valid, published text)."""
    out = io.BytesIO()
    report = canonicalize(io.BytesIO(text.encode("utf-8")), out, get_layout(layout))
    return report.valid, out.getvalue().decode("utf-8-sig")


def test_every_field_records_where_it_comes_from() -> None:
    for layout in all_layouts():
        assert layout.refs, f"{layout.name} names no source"
        assert set(layout.sources) <= set(KNOWN_SOURCES)
        for f in layout.fields:
            if f.name == "DAT_ULT_MOD" and not layout.has_dat_ult_mod:
                continue  # accepted for compatibility only: no source of the file has it
            assert f.sources, f"{layout.name}.{f.name} has no source"
            assert set(f.sources) <= set(layout.sources) | {"IW", "DI"}, (layout.name, f.name)


def test_sources_follow_the_writers() -> None:
    scadoc = get_layout("io_clifor_scadoc")
    assert scadoc.get("FLG_DA_LIB").sources == ("AMH", "CIB", "CIC")  # type: ignore[union-attr]
    assert scadoc.get("IMPORTO_FATT").sources == ("AMH",)  # type: ignore[union-attr]
    assert scadoc.get("NUM_REG").sources == ("IW", "AMH", "CIB", "CIC")  # type: ignore[union-attr]
    assert get_layout("io_art_um").get("MULTIPLO").sources == ("AMH",)  # type: ignore[union-attr]
    assert dict(get_layout("io_attivita").refs)["CIC"].startswith("BEIEIBUS.vb")
    assert get_layout("io_stoart").get("COD_VALUTA").sources == ("AMH", "CIC")  # type: ignore[union-attr]


@pytest.mark.parametrize(("layout", "alias", "name"), [
    ("io_art_ultacq", "COD_VALUTA", "VALUTA"), ("io_art_ultven", "COD_VALUTA", "VALUTA"),
    ("io_clifor_gen", "DES_ZONA", "ZONA"), ("io_clifor_gen", "RAGGR2", "DES_RAGGR2"),
    ("io_art", "FLG_LOCK_UM_DEFAULT", "FLG_MOD_UM_DEFAULT"), ("io_condpag", "SCONTO", "SCONTO1"),
    ("io_nazioni", "COD_NAZIONE", "CODICE"), ("io_clifor_testdoc", "DATA_DOC", "DATADOC"),
    ("io_leads", "COD_PRIVACY", "FLG_PRIVACY"), ("io_custom_fields", "ORIENTAMENTO_NOME",
                                                  "POSIZIONE_NOME"),
    ("io_attivita", "DATA_PREVISTA_ATTIVITA", "DATA_PREVISTA"),
])
def test_alternate_names_resolve_to_one_field(layout: str, alias: str, name: str) -> None:
    lay = get_layout(layout)
    assert lay.canonical_name(alias) == name
    assert lay.canonical_name(name) is None  # a listed name is not an alternate one
    assert lay.canonical_name("NOT_A_COLUMN") is None
    assert lay.field_for(alias) is lay.get(name)
    assert lay.get(alias) is None  # get() is by listed name only
    assert alias in lay.get(name).aliases  # type: ignore[union-attr]


def test_a_column_is_not_an_alias_where_the_writers_use_both() -> None:
    # io_clifor_gen has VALUTA (the description) and COD_VALUTA (the code): two fields.
    gen = get_layout("io_clifor_gen")
    assert gen.canonical_name("COD_VALUTA") is None and gen.get("COD_VALUTA") is not None
    assert gen.field_for("VALUTA") is gen.get("VALUTA")


def test_a_file_written_with_alternate_names_keeps_its_header() -> None:
    head = "CHIAVE|COD_DITTA|COD_ART|PROG|PRZ|DATA_DOC|NUM_DOC|COD_CLFOR|COD_VALUTA|DAT_ULT_MOD"
    row = "ACME§A1§12§1|ACME|A1|1|12,5000|02012019|12|C1|0|01011900000000"
    valid, out = judge("io_art_ultven", f"{head}\r\n{row}\r\n")
    assert valid
    assert out.splitlines() == [head, row]


def test_a_required_column_may_come_under_its_alternate_name() -> None:
    text = "CHIAVE|COD_DITTA|COD_AGENTE|COD_FAM\r\nACME§A1|ACME|A1|F1\r\n"
    valid, out = judge("io_agenti_esclusioni", text)
    assert valid
    assert out.splitlines()[0] == "CHIAVE|COD_DITTA|COD_AGENTE|COD_FAM|DAT_ULT_MOD"
    missing = validate_stream(io.BytesIO(b"CHIAVE|COD_DITTA|COD_FAM\r\nK|ACME|F\r\n"),
                              get_layout("io_agenti_esclusioni"))
    assert any(v.column == "COD_AGE" and "missing" in v.rule for v in missing.violations)


def test_key_like_fields() -> None:
    key_like = {(lay.name, f.name) for lay in all_layouts() for f in lay.fields if f.key_like}
    for expected in [("io_clifor_scadoc", "NUM_REG"), ("io_clifor_righdoc", "NUM_REG"),
                     ("io_clifor_testdoc", "NUMREG"), ("io_stoart", "ULT_NUM_REG"),
                     ("io_lead_righoff", "CHIAVE_TESTATA"), ("io_art", "COD_ART"),
                     ("io_catalogo", "NOMEFILE"), ("io_art_barcode", "BARCODE"),
                     ("io_citta", "CHIAVE")]:
        assert expected in key_like
    assert ("io_clifor_gen", "RAG_SOC") not in key_like
    assert ("io_clifor_scadoc", "DES_SCAD") not in key_like


def test_truncate_never_cuts_a_key() -> None:
    """A NUM_REG longer than documented links a due date to its document: never cut."""
    num_reg = "ACME§1100001§2018§A§12345"  # the shape CIB and CIC write, 25 characters
    head = ("CHIAVE|COD_DITTA|NUM_REG|COD_RATA|DAT_SCAD|IMPORTO|DES_SCAD|COD_CLIFOR|"
            "DAT_ULT_MOD")
    row = f"ACME§K1|ACME|{num_reg}|1|31012019|100,00|{'x' * 300}|1100001|01011900000000"
    out = io.BytesIO()
    report = canonicalize(io.BytesIO(f"{head}\r\n{row}\r\n".encode()), out,
                          get_layout("io_clifor_scadoc"), length_policy="truncate")
    published = out.getvalue().decode("utf-8-sig")
    cut = {w.column for w in report.warnings if "cut to" in w.rule}
    assert "NUM_REG" not in cut and "DES_SCAD" in cut  # the text is still cut, the key not
    assert report.valid and f"|{num_reg}|" in published


def test_dat_ult_mod_is_added_only_where_a_source_has_it() -> None:
    valid, out = judge("io_lead_cate", "CHIAVE|COD_DITTA|COD_CATEGORIA|DES_CATEGORIA\r\n"
                                       "ACME§1|ACME|1|Retail\r\n")
    assert valid and out.splitlines()[0] == "CHIAVE|COD_DITTA|COD_CATEGORIA|DES_CATEGORIA"
    valid, out = judge("io_lead_cate", "CHIAVE|COD_DITTA|COD_CATEGORIA|DAT_ULT_MOD\r\n"
                                       "ACME§1|ACME|1|02012019101010\r\n")
    assert valid and out.splitlines()[1].endswith("|01011900000000")
    valid, out = judge("io_nazioni", "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE\r\n"
                                     "ACME§IT|ACME|IT|Italia\r\n")
    assert valid and out.splitlines()[0].endswith("|DAT_ULT_MOD")  # IW documents it


def test_other_file_names_of_a_layout() -> None:
    found = layout_for_filename("io_customfields.dat")
    assert found is not None and found.name == "io_custom_fields"
    assert get_layout("io_customfields.dat").name == "io_custom_fields"
    assert get_layout("io_custom_fields").filename == "io_custom_fields.dat"


def test_new_layouts_of_the_writers() -> None:
    att = get_layout("io_attivita")
    assert att.filename == "io_attivita.dat" and att.required == ("CHIAVE", "COD_DITTA",
                                                                  "COD_ATTIVITA")
    assert "ORA_ESECUZIONE" in att.field_names and att.has_dat_ult_mod
    tipi = get_layout("io_tipi_attivita")
    assert tipi.field_names == ("CHIAVE", "COD_DITTA", "CODICE", "DESCRIZIONE",
                                "FLG_PREVISIONALE", "DAT_ULT_MOD")
    assert not tipi.has_dat_ult_mod
    assert get_layout("io_multimedia").key is None
    assert not any(lay.extras_allowed for lay in all_layouts())


@pytest.mark.parametrize(("table", "error"), [
    ("@io_x std : x\n[XYZ] A ?\n", "unknown source tag"),
    ("@io_x std : x\n[AMH] A/B ? B ?\n", "listed twice"),
    ("@io_x std : x\n[AMH] A ? B\n", "odd number"),
    ("@io_x std : x\n[AMH] A{1..2}/B ?\n", "as many columns"),
    ("[AMH] A ?\n", "outside a layout"),
    ("@io_x std : x\n% FOO somewhere\n", "unknown source tag"),
])
def test_table_mistakes_are_refused(table: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        _parse_table(table)


def test_table_syntax() -> None:
    lay = _parse_table(
        "@io_x std dum=IW : Test\n"
        "% IW tracciati/io_x.md; AMH CSV/imp/rec_x.cs (a; b); CIC BEIEIBUS.vb\n"
        "[IW AMH] A{1..2}/B{1..2} C5! NOTE C10^\n"
        "C I3\n"
        "[CIC] D ?\n")["io_x"]
    assert lay.refs == (("IW", "tracciati/io_x.md"), ("AMH", "CSV/imp/rec_x.cs (a; b)"),
                        ("CIC", "BEIEIBUS.vb"))
    assert lay.field_names == ("CHIAVE", "COD_DITTA", "A1", "A2", "NOTE", "C", "D",
                               "DAT_ULT_MOD")
    assert lay.get("A2").aliases == ("B2",) and lay.get("A2").required  # type: ignore[union-attr]
    assert lay.get("NOTE").key_like and not lay.get("C").key_like  # type: ignore[union-attr]
    assert lay.get("C").sources == ("IW", "AMH")  # type: ignore[union-attr]
    assert lay.get("D").sources == ("CIC",)  # type: ignore[union-attr]
    assert lay.get("DAT_ULT_MOD").sources == ("IW",)  # type: ignore[union-attr]
    assert lay.get("CHIAVE").sources == ("IW", "AMH", "CIC")  # type: ignore[union-attr]


def test_the_writer_takes_records_with_alternate_names() -> None:
    from formats import write_records

    out = io.BytesIO()
    write_records(out, get_layout("io_agenti_esclusioni"),
                  [{"CHIAVE": "ACME§A1", "COD_DITTA": "ACME", "COD_AGENTE": "A1"}])
    head, row, _ = out.getvalue()[3:].decode().split("\r\n")
    assert head == "CHIAVE|COD_DITTA|DAT_ULT_MOD|COD_AGENTE"  # no empty COD_AGE beside it
    assert row == "ACME§A1|ACME|01011900000000|A1"
    report = validate_stream(io.BytesIO(out.getvalue()), get_layout("io_agenti_esclusioni"))
    assert report.valid
