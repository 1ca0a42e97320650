"""Legacy return files -> the model: the spec layouts, and every kind of bad input."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from adapters.legacy import parse_file
from connector.model import (
    CustomerChange,
    CustomerNote,
    ForeignCompanyFile,
    Lead,
    LeadNote,
    LegacyFileError,
    Order,
    decode_record,
    kind_of,
)
from tests.legacy.samples import (
    LEAD_NOTES_XML,
    LEADS_XML,
    customer_line,
    note_line,
    order_file,
    order_line,
)


def _decode(name: str, text: str) -> list:  # type: ignore[type-arg]
    return [decode_record(p.stream, p.item) for p in parse_file(name, text.encode("utf-8"), "ACME")]


@pytest.mark.parametrize(("name", "stream"), [
    ("AM_ORD_1_2.DAT", "orders"), ("IB_AM_ORD_17_20261121.DAT", "orders"),
    ("ib_am_ord_1.dat", "orders"), ("IB_AM_CF_ANA_3_4.DAT", "customers"),
    ("AM_CF_NOTE_3_4.DAT", "customer_notes"), ("leads_data_1_2_3.xml", "leads"),
    ("IB_leads_note_1_2_3.xml", "lead_notes"),
    ("XAM_ORD_1.DAT", None), ("AM_ORD_1.DAT.tmp", None), (".AM_ORD_1.DAT", None),
    ("io_art.dat", None), ("leads_data_1.json", None),
])
def test_file_names_with_any_prefix(name: str, stream: str | None) -> None:
    assert kind_of(name) == stream


def test_an_order_with_rows_a_descriptive_row_and_free_goods() -> None:
    (rec,) = _decode("IB_AM_ORD_ACME_1042.DAT", order_file())
    order = rec.model
    assert isinstance(order, Order)
    assert rec.stream == "orders" and rec.unique_id == "legacy:IB_AM_ORD_ACME_1042.DAT"
    assert order.cod_clifor == "C001" and order.cod_agente == "AG1" and order.kind == "order"
    assert order.cod_destinazione == "D1" and order.cod_cond_pag == "BB30"
    assert order.data_ordine == datetime(2026, 11, 21) and order.data_consegna == datetime(2026, 11, 30)
    assert order.note == "consegna al mattino" and rec.queue_id == 1042
    assert len(order.rows) == 4
    art, pack, text, free = order.rows
    assert art.codice_articolo == "ART-1" and art.qta == 10 and art.prezzo == Decimal("1.25")
    assert art.sconto_1 == 10 and art.sconto_2 == Decimal("5.5")
    assert art.data_consegna_riga == datetime(2026, 11, 30)
    assert pack.uom == "package" and pack.qta == 120 and pack.qta_2 == 2
    assert pack.codice_confezione == "CF60" and pack.qta_confezione == 2
    assert pack.note == "riga\ncon a capo"
    assert text.is_descriptive and text.descrizione_riga == "Consegnare in magazzino B"
    assert free.free_goods == "free_goods_not_recharged" and free.prezzo == 0


def test_an_offer_and_the_2022_extra_fields() -> None:
    line = order_line(COD_EXT_ORD="CLI-MOBPRE", R_COD_ART="A", R_QTA_1="1") + "|SER1|77"
    (rec,) = _decode("AM_ORD_9.DAT", line)
    assert rec.model.kind == "offer"
    assert rec.model.cod_serie_ordini == "SER1" and rec.model.num_doc_aggiunta == "77"


def test_customer_changes_and_notes() -> None:
    text = customer_line("C001", "501") + "\r\n" + customer_line("C002", "502", DES_CITTA="Pavia") + "\r\n"
    recs = _decode("IB_AM_CF_ANA_1.DAT", text)
    assert [r.unique_id for r in recs] == ["legacy:IB_AM_CF_ANA_1.DAT:1", "legacy:IB_AM_CF_ANA_1.DAT:2"]
    first = recs[0].model
    assert isinstance(first, CustomerChange)
    assert (first.cod_cliente, first.ragione_sociale, first.email, first.partita_iva, first.cap,
            first.cod_cond_pag) == ("C001", "Rossi Srl", "info@rossi.example", "01234567890",
                                    "20100", "BB30")
    assert recs[1].model.citta == "Pavia" and recs[1].queue_id == 502
    assert recs[0].payload["tipo_clifor"] == "0"

    (note,) = _decode("AM_CF_NOTE_1.DAT", note_line(progressivo="0"))
    assert isinstance(note.model, CustomerNote)
    assert note.model.note_kind == "main" and note.model.tipo_nota == "Visita"
    assert note.model.nota == "Cliente interessato\nrichiamare"


def test_leads_and_lead_notes_from_dataset_xml() -> None:
    new, update = _decode("leads_data_1_2_3.xml", LEADS_XML)
    assert isinstance(new.model, Lead) and new.model.is_new
    assert new.model.descrizione1 == "Bianchi Spa" and new.model.cod_prog == "ic.acme"
    assert new.model.note == "Fiera 2026\nstand 12" and new.model.fatturato == "125000.50"
    assert new.model.cod_fonte == "FI" and new.model.fonte == "Fiera"
    assert update.model.cod_lead == "L0099" and not update.model.is_new
    (note,) = _decode("leads_note_1_2_3.xml", LEAD_NOTES_XML)
    assert isinstance(note.model, LeadNote)
    assert note.model.nota == "Richiamare a gennaio" and note.model.cod_lead == "L0099"
    assert note.model.data_import is not None and note.model.data_import.hour == 9
    assert note.queue_id == 31


def _problems(name: str, text: str, company: str = "ACME") -> list[str]:
    with pytest.raises(LegacyFileError) as err:
        parse_file(name, text.encode("utf-8"), company)
    return [str(p) for p in err.value.problems]


def test_a_truncated_line_names_the_line() -> None:
    lines = order_file().splitlines()
    lines[2] = lines[2][:40]  # cut mid-line, as a half-synced file would be
    (problem,) = _problems("AM_ORD_1.DAT", "\r\n".join(lines))
    assert problem.startswith("line 3:") and "truncated line?" in problem


def test_a_wrong_field_count_names_the_line() -> None:
    text = order_file() + order_line(R_COD_ART="X") + "|extra|more|fields\r\n"
    (problem,) = _problems("AM_ORD_1.DAT", text)
    assert problem == "line 5: 55 fields, expected 52 or 53 or 54"


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("T_DAT_CONS_RIG", "31022026", "not a date"),
    ("T_DAT_ORDINE", "", "required date is empty"),
    ("R_QTA_1", "1.234,5", "not a decimal number"),
    ("R_PREZZO_1", "abc", "not a decimal number"),
    ("TIPO_UM", "x", "not a whole number"),
])
def test_bad_values_name_line_and_field(field: str, value: str, rule: str) -> None:
    line = order_line(R_COD_ART="A", **{field: value})
    problems = _problems("AM_ORD_1.DAT", line)
    assert problems[0].startswith(f"line 1, field {field}, value {value!r}: {rule}")


def test_two_orders_in_one_file_are_refused() -> None:
    text = order_line(R_COD_ART="A") + "\r\n" + order_line(R_COD_ART="B", NR_ORD_ORIG="2000")
    (problem,) = _problems("AM_ORD_1.DAT", text)
    assert problem.startswith("line 2, field NR_ORD_ORIG") and "one file must hold one order" in problem


def test_bad_customer_and_note_files() -> None:
    assert _problems("AM_CF_ANA_1.DAT", customer_line() + "|x")[0] == "line 1: 18 fields, expected 17"
    assert "customer code is empty" in _problems("AM_CF_ANA_1.DAT", customer_line(cod=""))[0]
    mixed = note_line() + "\r\n" + note_line(COD_DITTA="BETA")
    assert "another company in a file of ACME" in _problems("AM_CF_NOTE_1.DAT", mixed)[0]
    assert parse_file("AM_CF_NOTE_1.DAT", b"\r\n", "ACME") == []  # nothing to import, not an error


def test_bad_xml_files() -> None:
    (problem,) = _problems("leads_data_1.xml", LEADS_XML[:300])
    assert "not well-formed XML" in problem and problem.startswith("line ")
    bad_date = LEAD_NOTES_XML.replace("2026-11-20T09:15:00.0000000+01:00", "20/11/2026")
    (problem,) = _problems("leads_note_1.xml", bad_date)
    assert problem == "line 1, field DATA_IMPORT, value '20/11/2026': not an ISO 8601 date"
    mixed = LEADS_XML.replace("<COD_DITTA>ACME</COD_DITTA>", "<COD_DITTA>BETA</COD_DITTA>", 1)
    assert "another company in a file of ACME" in _problems("leads_data_1.xml", mixed)[0]


def test_an_empty_order_file_is_refused() -> None:
    assert _problems("AM_ORD_1.DAT", "\r\n") == ["file: no order rows in the file"]


@pytest.mark.parametrize(("name", "text"), [
    ("IB_AM_ORD_BETA_7.DAT", order_file().replace("ACME|", "BETA|")),
    ("AM_CF_ANA_BETA_1.DAT", customer_line(COD_DITTA="beta ") + "\r\n"
     + customer_line(COD_DITTA="", cod="C2")),  # a blank COD_DITTA claims nothing
    ("AM_CF_NOTE_BETA_1.DAT", note_line(COD_DITTA="BETA")),
    ("leads_data_BETA_1.xml", LEADS_XML.replace("<COD_DITTA>ACME</COD_DITTA>",
                                                "<COD_DITTA>BETA</COD_DITTA>")),
])
def test_a_file_of_another_company_is_not_ours_to_judge(name: str, text: str) -> None:
    """Every COD_DITTA another company's: ForeignCompanyFile (left for that connector),
    even when the file has problems a file of ours would be quarantined for."""
    with pytest.raises(ForeignCompanyFile) as err:
        parse_file(name, (text + "\r\n|broken").encode("utf-8") if name.endswith(".DAT")
                   else text.encode("utf-8"), "ACME")
    assert err.value.companies == ["BETA"] and "left for that company's connector" in str(
        err.value)


def test_unknown_unit_and_free_goods_types_are_read_with_a_warning() -> None:
    """A descriptive line with TIPO_UM 0 and an article line with codes the reference
    connector does not know: imported, read as it reads them, the second with warnings."""
    text = (order_line(R_IND_TIPO_RIGA="2", R_DES_RIGA_ORD="Fragile", TIPO_UM="0",
                       R_IND_TIPO_OM="0") + "\r\n"
            + order_line(R_COD_ART="A", R_QTA_1="1", TIPO_UM="7", R_IND_TIPO_OM="9"))
    (rec,) = _decode("AM_ORD_1.DAT", text)
    order = rec.model
    assert isinstance(order, Order)
    assert [(r.is_descriptive, r.uom, r.free_goods) for r in order.rows] == [
        (True, "primary", "normal"), (False, "primary", "normal")]
    assert rec.warnings == (
        "righe[1].ext_cod_tipo_riga_omag: unknown free-goods type '9', read as a normal row (0)",
        "righe[1].tipo_um: unknown unit-of-measure type '7', read as 1 (the primary unit)")


def test_a_lead_with_a_text_turnover_is_imported() -> None:
    text = LEADS_XML.replace("<FATTURATO>125000.50</FATTURATO>",
                             "<FATTURATO>circa 2 milioni</FATTURATO>")
    assert "circa 2 milioni" in text
    new, _ = _decode("leads_data_1.xml", text)
    assert isinstance(new.model, Lead) and new.model.fatturato == "circa 2 milioni"


def test_the_header_note_is_named_as_the_layout_names_it() -> None:
    """One name for position 37, the formats layout's (FILLER5; AMHelper's T_NOTE is its
    alias there): the legacy reader names it so in its problems."""
    text = order_line(R_COD_ART="A") + "\r\n" + order_line(R_COD_ART="B", FILLER5="other")
    (problem,) = _problems("AM_ORD_1.DAT", text)
    assert problem.startswith("line 2, field FILLER5, value 'other'")


def test_an_order_the_files_sink_writes_is_read_back_by_the_legacy_reader() -> None:
    """The files sink's tracciato and the legacy reader take the AM_ORD and AM_CF_ANA
    fields from the same layouts: what one writes, the other reads back."""
    from adapters.erp.files_render import render

    (sent,) = _decode("IB_AM_ORD_ACME_1042.DAT", order_file())
    files = dict(render(sent, "tracciato", "ACME"))
    (name,) = files
    (back,) = _decode(name, files[name].decode("utf-8-sig"))
    a, b = sent.model, back.model
    assert isinstance(a, Order) and isinstance(b, Order)
    assert (b.note, b.cod_clifor, b.cod_agente, b.data_ordine, b.cod_cond_pag) == (
        a.note, a.cod_clifor, a.cod_agente, a.data_ordine, a.cod_cond_pag)
    assert [(r.codice_articolo, r.qta, r.prezzo, r.uom, r.free_goods, r.is_descriptive,
             r.note) for r in b.rows] == [(r.codice_articolo, r.qta, r.prezzo, r.uom,
                                           r.free_goods, r.is_descriptive, r.note)
                                          for r in a.rows]
