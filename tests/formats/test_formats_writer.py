"""The writer, the reader, templates and the layout table."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from tests_formats_data import AM_ROW

from connector.errors import FormatError, RecordError
from formats import (
    all_layouts,
    get_layout,
    layout_for_filename,
    read_records,
    validate_stream,
    write_records,
)
from formats.templates import describe_layouts, template

# The files tracciati.md §2 lists, every one of which must have a layout.
SECTION_2 = ["io_art", "io_art_lang", "io_art_um", "io_listini_full", "io_sconti", "io_stoart", "io_art_ultacq", "io_art_ultven", "io_giacenze", "io_art_conf", "io_art_barcode", "io_magazzini", "io_clifor_gen", "io_clifor_age", "io_clifor_blo", "io_clifor_girovisita", "io_clifor_dest", "io_clifor_cate", "io_clifor_detcon", "io_clifor_note", "io_clifor_testdoc", "io_clifor_righdoc", "io_clifor_scadoc", "io_clifor_fatt", "io_clifor_oper", "io_clifor_esclusioni", "io_agenti", "io_agenti_esclusioni", "io_cataloghi", "io_cataloghi_art", "io_cataloghi_agente", "io_leads", "io_lead_acccrm", "io_lead_accessi", "io_lead_detcon", "io_lead_note", "io_lead_testoff", "io_lead_righoff", "io_lead_sconti", "io_campagne", "io_campagne_operatore", "io_canali_vendita", "io_lead_cate", "io_lead_concorrenti", "io_lead_mansioni", "io_lead_mod_acquisizione", "io_lead_fonti", "io_lead_interessi", "io_lead_settori", "io_citta", "io_condpag", "io_condpag_lang", "io_nazioni", "io_porto", "io_valute", "io_classi_sconto", "io_mod_sped", "io_articoli_assortimenti", "io_assortimenti", "io_taglie_assortimenti", "io_taglie_cataloghi", "io_taglie_cataloghi_art", "io_taglie_estensioni", "io_taglie_sviluppi", "io_taglie_sviluppi_art", "io_var_combinazioni", "io_liste_colori", "io_liste_materiali", "io_regole", "io_clienti_assortimenti", "io_custom_fields", "io_catalogo", "io_reports", "io_info"]
MINIMUM = ["io_art", "io_art_um", "io_listini_full", "io_sconti", "io_stoart", "io_clifor_gen", "io_clifor_age", "io_clifor_blo", "io_clifor_dest", "io_clifor_scadoc", "io_citta", "io_condpag"]


def test_every_file_of_section_2_and_the_legacy_files_have_a_layout() -> None:
    names = {layout.name for layout in all_layouts()}
    assert set(SECTION_2) | {"AM_ORD", "AM_CF_ANA", "AM_CF_NOTE"} <= names
    assert {n for n in names if get_layout(n).minimum_set} == set(MINIMUM)


def test_layout_facts_from_the_spec() -> None:
    gen = get_layout("io_clifor_gen")
    assert len([f for f in gen.fields if f.typed]) == 66  # 66 documented columns
    assert gen.get("LATITUDINE").kind == "L"  # type: ignore[union-attr]
    assert gen.get("FIDO_AZIENDALE").type_code == "D15,2"  # type: ignore[union-attr]
    assert gen.required == ("CHIAVE", "COD_DITTA", "TIPO_CLIFOR", "COD_CLIFOR")
    assert get_layout("io_clifor_scadoc").get("CHIAVE").length == 154  # type: ignore[union-attr]
    assert get_layout("io_clifor_dest").get("RAG_SOC_DEST").length == 4000  # type: ignore[union-attr]
    assert len(get_layout("io_listini_full").fields) == 78
    cat = get_layout("io_catalogo")
    assert cat.key is None and "CHIAVE" not in cat.field_names
    assert get_layout("io_agenti").has_dat_ult_mod is False
    assert not get_layout("io_art_barcode").typed
    assert get_layout("AM_ORD").header is False


@pytest.mark.parametrize(("name", "layout"), [
    ("io_clifor_gen.dat", "io_clifor_gen"), ("IO_CITTA.DAT", "io_citta"),
    ("C:\\erp\\out\\io_art.dat", "io_art"), ("AM_ORD_12_3.DAT", "AM_ORD"),
    ("IB_AM_CF_ANA_1_2.DAT", "AM_CF_ANA"), ("ib_am_cf_note_x.dat", "AM_CF_NOTE"),
    ("io_art.dat.tmp", None), ("clienti.csv", None),
])
def test_layout_for_filename(name: str, layout: str | None) -> None:
    found = layout_for_filename(name)
    assert (found.name if found else None) == layout


def test_get_layout_accepts_file_names_and_refuses_unknown() -> None:
    assert get_layout("io_citta.dat").name == "io_citta"
    with pytest.raises(KeyError):
        get_layout("io_nothing")


@pytest.mark.parametrize("layout", [layout.name for layout in all_layouts()])
def test_every_template_is_a_valid_file(layout: str) -> None:
    text = template(get_layout(layout))
    report = validate_stream(io.BytesIO(text.encode()), get_layout(layout))
    assert report.valid, report.to_text(layout)
    assert report.rows == 1


def test_describe_layouts_lists_every_field() -> None:
    text = describe_layouts()
    assert "io_clifor_gen" in text and "LATITUDINE L50,6 decimal (dot)" in text
    assert "FLG_NEW_CLIFOR F flag 0/-1" in text
    assert "COD_ART untyped" in text  # io_art_conf: the spec has no types


# ----------------------------------------------------------------------------- writer
def written(layout: str, records: list[dict[str, object]], **kw: object) -> str:
    buf = io.BytesIO()
    write_records(buf, get_layout(layout), records, **kw)  # type: ignore[arg-type]
    data = buf.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    return data[3:].decode("utf-8")


def test_writer_formats_values_and_cleans_text() -> None:
    out = written("io_clifor_gen", [{
        "CHIAVE": "ACME§C1", "COD_DITTA": "ACME", "TIPO_CLIFOR": 0, "COD_CLIFOR": "C1",
        "RAG_SOC": "Rossi | Figli\r\nsecond line\nthird\rfourth", "LATITUDINE": 45.4064,
        "SCO_PERC1": Decimal("12.5"), "FIDO_AZIENDALE": 1234.567, "SCONTO_PIEDE": 2,
        "DATA_CREAZIONE": dt.date(2013, 1, 2), "FLG_NEW_CLIFOR": True,
        "DAT_ULT_MOD": dt.datetime(2024, 5, 6, 7, 8, 9), "CAP": None,
    }])
    head, row, end = out.split("\r\n")
    assert end == ""
    assert head == ("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|CAP|LATITUDINE|SCO_PERC1|"
                    "SCONTO_PIEDE|DATA_CREAZIONE|FIDO_AZIENDALE|FLG_NEW_CLIFOR|DAT_ULT_MOD")
    assert row == ("ACME§C1|ACME|0|C1|Rossi _ Figli§second line§third§fourth||45.4064|12,5|"
                   "2|02012013|1234,57|-1|01011900000000")


def test_writer_length_policy() -> None:
    rec: dict[str, object] = {"CHIAVE": "K", "COD_DITTA": "ACME", "CODICE": "A001",
                              "PROVINCIA": "PADOVA"}
    with pytest.raises(RecordError) as err:
        written("io_citta", [rec, rec])
    assert err.value.field == "PROVINCIA" and "record 1" in str(err.value)
    buf = io.BytesIO()
    result = write_records(buf, get_layout("io_citta"), [rec], length_policy="truncate")
    assert result.warning_count == 1 and "PROVINCIA" in result.warnings[0]
    assert b"|PA|" in buf.getvalue()
    key = dict(rec, PROVINCIA="PD", CODICE="A00001")  # a key is never cut: refused instead
    with pytest.raises(RecordError) as err:
        write_records(io.BytesIO(), get_layout("io_citta"), [key], length_policy="truncate")
    assert err.value.field == "CODICE"


@pytest.mark.parametrize(("record", "field"), [
    ({"CHIAVE": "", "COD_DITTA": "ACME", "CODICE": "A"}, "CHIAVE"),
    ({"CHIAVE": "K", "COD_DITTA": "ACME", "CODICE": "A", "NOPE": 1}, "NOPE"),
    ({"CHIAVE": "K", "COD_DITTA": "ACME", "CODICE": "A", "CAP": 123456789}, "CAP"),
])
def test_writer_refuses_bad_records(record: dict[str, object], field: str | None) -> None:
    lay = get_layout("io_citta")
    good = {"CHIAVE": "K0", "COD_DITTA": "ACME", "CODICE": "A"}
    with pytest.raises(RecordError) as err:
        write_records(io.BytesIO(), lay, [good, record], columns=list(lay.field_names))
    assert "record 2" in str(err.value)
    if field:
        assert err.value.field == field


def test_writer_refuses_bad_typed_strings_and_numbers() -> None:
    lay = get_layout("io_condpag")
    for bad in ("1.5", Decimal("123456789"), "abc", dt.date(2020, 1, 1)):
        with pytest.raises(RecordError) as err:
            write_records(io.BytesIO(), lay, [{"CHIAVE": "K", "COD_DITTA": "A", "CODICE": "X",
                                               "SCONTO1": bad}])
        assert err.value.field == "SCONTO1"


def test_writer_header_false_and_empty_input() -> None:
    assert written("io_citta", [], header=False) == ""
    assert written("io_citta", []).startswith("CHIAVE|COD_DITTA|CODICE|")


# ----------------------------------------------------------------------------- reader
def test_reader_text_and_binary_and_newlines() -> None:
    data = ("\ufeffCHIAVE|COD_DITTA|CODICE|DESCRIZIONE\r\n"
            "ACME§A|ACME|A|riga uno§riga due\r\n")
    rec = list(read_records(io.StringIO(data), get_layout("io_citta")))
    assert rec == [{"CHIAVE": "ACME§A", "COD_DITTA": "ACME", "CODICE": "A",
                    "DESCRIZIONE": "riga uno§riga due"}]
    rec = list(read_records(io.BytesIO(data.encode()), get_layout("io_citta"), newlines=True))
    assert rec[0]["DESCRIZIONE"] == "riga uno\nriga due" and rec[0]["CHIAVE"] == "ACME§A"


def test_reader_names_line_and_field_on_headerless_legacy_files() -> None:
    good = "|".join(AM_ROW)
    bad = "|".join([*AM_ROW[:15], "1.5", *AM_ROW[16:]])
    lay = get_layout("AM_ORD")
    it = read_records(io.BytesIO(f"{good}\r\n{bad}\r\n".encode()), lay)
    assert next(it)["T_COD_CLIFOR"] == "C1"
    with pytest.raises(RecordError) as err:
        next(it)
    assert err.value.line_no == 2 and err.value.field == "R_QTA_2"
    with pytest.raises(RecordError) as err:
        list(read_records(io.BytesIO(b"ACME|R\r\n"), lay))
    assert err.value.line_no == 1


def test_reader_refuses_a_bad_header() -> None:
    with pytest.raises(FormatError):
        list(read_records(io.BytesIO(b""), get_layout("io_citta")))
    with pytest.raises(RecordError) as err:
        list(read_records(io.BytesIO(b"CHIAVE|COD_DITTA\r\nK|A\r\n"), get_layout("io_citta")))
    assert err.value.field == "CODICE"


def test_reader_decodes_other_encodings_when_asked() -> None:
    raw = ("|".join([*AM_ROW[:11], "Caffè", *AM_ROW[12:]]) + "\r\n").encode("cp1252")
    with pytest.raises(RecordError) as err:
        list(read_records(io.BytesIO(raw), get_layout("AM_ORD")))
    assert err.value.line_no == 1 and "UTF-8" in str(err.value)
    rec = next(read_records(io.BytesIO(raw), get_layout("AM_ORD"), encoding="cp1252"))
    assert rec["R_DES_RIGA_ORD"] == "Caffè"
