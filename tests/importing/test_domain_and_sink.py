"""Decoding the wire forms, interpreting the §2.10 codes, and the files sink's output."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.appmanager import sandbox_demo
from adapters.appmanager.license_manager import AmParams, base_url_from, discover
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.files_sink import FilesSink
from adapters.erp.files_writer import LEDGER
from connector.app import build_sink
from connector.errors import AuthError, PermanentError, RecordError, TransientError
from connector.model import (
    Activity,
    CustomerNote,
    Order,
    decode_record,
    parse_wire_datetime,
)
from tests.importing.conftest import AUTH_KEY


@pytest.mark.parametrize("wire, expected", [
    ("2024-03-01T10:15:00", datetime(2024, 3, 1, 10, 15)),
    ("2024-03-01T10:15:00Z", datetime(2024, 3, 1, 10, 15, tzinfo=UTC)),
    ("2024-03-01T10:15:00+01:00",
     datetime(2024, 3, 1, 10, 15, tzinfo=timezone(timedelta(hours=1)))),
    ("2024-03-01T10:15:00.1234567", datetime(2024, 3, 1, 10, 15, 0, 123456)),
    ("2024-03-01T10:15:00.1234567+02:00",
     datetime(2024, 3, 1, 10, 15, 0, 123456, tzinfo=timezone(timedelta(hours=2)))),
    ("2024-03-01", datetime(2024, 3, 1)),
    ("2024/03/01 10:15:00", datetime(2024, 3, 1, 10, 15)),
    ("/Date(1709284500000)/", datetime(2024, 3, 1, 9, 15, tzinfo=UTC)),
    ("/Date(1709284500000+0100)/", datetime(2024, 3, 1, 9, 15, tzinfo=UTC)),
    # before 1970 (fromtimestamp cannot on Windows), and exact to the millisecond far out
    ("/Date(-86400001)/", datetime(1969, 12, 30, 23, 59, 59, 999000, tzinfo=UTC)),
    ("/Date(175572635524945+2359)/",
     datetime(7533, 9, 5, 16, 31, 4, 945000, tzinfo=timezone(timedelta(hours=23, minutes=59)))),
    (" 2024-03-01T10:15:00 ", datetime(2024, 3, 1, 10, 15)),
    (None, None),
    ("", None),
])
def test_wire_dates(wire: str | None, expected: datetime | None) -> None:
    got = parse_wire_datetime(wire, "data_ordine")
    assert got == expected
    if wire and "+0100" in wire:
        assert got is not None and got.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("wire", ["01/03/2024", "2024-13-01", "/Date(abc)/", "yesterday", 12,
                                  "/Date(1709284500000+2400)/", "/Date(1709284500000-9999)/",
                                  "/Date(99999999999999999)/"])
def test_bad_dates_name_the_field(wire: object) -> None:
    with pytest.raises(RecordError) as exc:
        parse_wire_datetime(wire, "righe[0].data_consegna_riga")
    assert exc.value.field == "righe[0].data_consegna_riga"
    assert "righe[0].data_consegna_riga" in str(exc.value)


@pytest.mark.parametrize("code, kind", [("CLI-MOBORD", "order"), ("CLI-IGAMMAORD", "order"),
                                        ("R", "order"), ("CLI-MOBPRE", "offer"),
                                        ("CLI-IGAMMAPRE", "offer"), ("P", "offer"),
                                        ("Q", "offer"), ("XYZ", "order"), (None, "order")])
def test_order_or_offer(code: str | None, kind: str) -> None:
    rec = decode_record("orders", {"id": 1, "unique_id": 9, "ext_cod_tipo_ord": code})
    assert isinstance(rec.model, Order) and rec.model.kind == kind


def test_rows_codes_and_new_customer() -> None:
    item = {
        "id": 7, "unique_id": 100, "guid_test_ord": "ABC-1", "cod_clifor": None,
        "data_consegna": "2024-03-05",
        "clienti": [{"ragione_sociale": "Nuovo Cliente", "indirizzo_consegna": "Via X 1"},
                    {"ragione_sociale": "ignored"}],
        "righe": [
            {"id": 1, "codice_articolo": "A", "qta": 24, "qta_2": 2, "tipo_um": "3",
             "ext_cod_tipo_riga_omag": "2", "prezzo": "1,50",
             "data_consegna_riga": "2024-03-09T00:00:00+01:00",
             "dettagli": [{"cod_taglia": "M", "qta": 2}]},
            {"id": 2, "descrizione_riga": "Fragile", "ext_cod_tipo_riga_ord": "2"},
            {"id": 3, "codice_articolo": "B", "qta": 1, "data_consegna_riga": "2024-03-07"},
        ],
    }
    rec = decode_record("orders", item)
    o = rec.model
    assert isinstance(o, Order)
    assert rec.key == "orders/100" and rec.guid == "abc-1"
    assert o.new_customer is not None and o.new_customer.ragione_sociale == "Nuovo Cliente"
    assert o.new_customer.has_delivery_address
    r1, r2, r3 = o.rows
    assert (r1.uom, r1.free_goods, r1.is_descriptive) == ("package", "free_goods_not_recharged",
                                                         False)
    assert r1.prezzo == Decimal("1.50") and r1.details[0].qta == Decimal(2)
    assert r2.is_descriptive and r3.uom == "primary" and r3.free_goods == "normal"
    assert o.delivery_date is not None and o.delivery_date.day == 9  # latest row date
    # a known customer: clienti is not a new customer
    known = decode_record("orders", {**item, "cod_clifor": "C1"}).model
    assert isinstance(known, Order) and known.new_customer is None


def test_other_streams_decode() -> None:
    rng = random.Random(1)
    note = decode_record("customer_notes", {"id": 3, "unique_id": "N1",
                                            **sandbox_demo.demo_customer_note(rng)})
    assert isinstance(note.model, CustomerNote)
    assert note.model.note_kind in ("main", "new", "numbered")
    act = decode_record("activities", {"id": 4, "unique_id": "A1", "cod_stato": "E",
                                       "data_esecuzione": "/Date(1709284500000+0100)/"})
    assert isinstance(act.model, Activity) and act.model.state == "done" and act.model.is_new


@pytest.mark.parametrize("item, field", [
    ({"unique_id": 1}, "id"),
    ({"id": "x", "unique_id": 1}, "id"),
    ({"id": 1.5, "unique_id": 1}, "id"),
    ({"id": 1, "unique_id": True}, "unique_id"),
    ({"id": 1, "unique_id": 2, "righe": "nope"}, "righe"),
    ({"id": 1, "unique_id": 2, "righe": [{"dettagli": [{"qta": "x"}]}]}, "righe[0].dettagli[0].qta"),
    ({"id": 1, "unique_id": 2, "sconto_1": True}, "sconto_1"),
    ({"id": 1, "unique_id": 2, "cod_clifor": {"a": 1}}, "cod_clifor"),
])
def test_malformed_items_name_the_field(item: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError) as exc:
        decode_record("orders", item)
    assert exc.value.field == field


def _order(rows: int = 3, **extra: object) -> object:
    item = {**sandbox_demo.demo_order(random.Random(2), rows=rows), "unique_id": 4242, "id": 9,
            **extra}
    return decode_record("orders", item)


def test_files_sink_json_is_atomic_and_idempotent(tmp_path: Path) -> None:
    sink = FilesSink(tmp_path / "in", "json")
    rec = _order()
    ref = sink.write(rec)  # type: ignore[arg-type]
    assert ref.ref == "orders_4242.json" and not ref.duplicate
    doc = json.loads((tmp_path / "in" / ref.ref).read_text(encoding="utf-8"))
    assert (doc["stream"], doc["id"], doc["unique_id"]) == ("orders", 9, 4242)
    assert doc["record"]["rows"][0]["qta"] is not None
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == [LEDGER, "orders_4242.json"]

    # The ERP consumed (deleted) the file: a replay must not bring it back.
    (tmp_path / "in" / ref.ref).unlink()
    again = FilesSink(tmp_path / "in", "json").write(rec)  # type: ignore[arg-type]
    assert again.duplicate and not (tmp_path / "in" / ref.ref).exists()


def test_files_sink_tracciato_layouts(tmp_path: Path) -> None:
    sink = FilesSink(tmp_path / "in", "tracciato", company="ACME")
    rec = _order(rows=3, cod_clifor=None, note="riga uno\r\nriga | due",
                 clienti=[{"ragione_sociale": "Nuova S.r.l.", "partita_iva": "0123"}])
    ref = sink.write(rec)  # type: ignore[arg-type]
    folder = tmp_path / "in"
    assert ref.ref == "AM_ORD_ACME_4242.DAT"
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert names == ["AM_CF_ANA_ACME_NEW_4242.DAT", "AM_ORD_ACME_4242.DAT"]
    raw = (folder / ref.ref).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as every tracciato
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[-1] == "" and len(lines) == 4  # one line per row, CRLF
    for line in lines[:-1]:
        fields = line.split("|")
        assert len(fields) == 54
        assert fields[0] == "ACME" and fields[1] == "CLI-MOBORD"
        assert len(fields[2]) == 8 and fields[2].isdigit()  # ddmmyyyy
        assert fields[36] == "riga uno§riga _ due"  # T_NOTE (FILLER5): newline -> §, | -> _
    assert lines[2].split("|")[9] == "2"  # the last demo row is descriptive
    assert "," in lines[0].split("|")[16] or lines[0].split("|")[16].isdigit()  # decimal comma
    cust = (folder / "AM_CF_ANA_ACME_NEW_4242.DAT").read_text(encoding="utf-8-sig").split("|")
    assert len(cust) == 17 and cust[1] == "" and cust[9] == "Nuova S.r.l."
    # leads have no legacy text layout: JSON in tracciato mode too
    lead = decode_record("leads", {"id": 1, "unique_id": "L/1", "descrizione1": "X"})
    lref = sink.write(lead)
    assert lref.ref.startswith("leads_L_1-") and lref.ref.endswith(".json")


def test_files_sink_refuses_what_the_layout_cannot_hold(tmp_path: Path) -> None:
    sink = FilesSink(tmp_path / "in", "tracciato")
    with pytest.raises(PermanentError) as exc:
        sink.write(_order(note="x" * 4001))  # type: ignore[arg-type]
    assert "FILLER5" in str(exc.value) and "4000" in str(exc.value)  # T_NOTE's column
    assert [p.name for p in (tmp_path / "in").iterdir()] == []  # nothing half-written


def test_files_sink_unwritable_folder_is_transient(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    sink = FilesSink(folder, "json")
    os.chmod(folder, 0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user that ignores permissions (root)")
        with pytest.raises(TransientError):
            sink.write(_order())  # type: ignore[arg-type]
    finally:
        os.chmod(folder, 0o700)


def test_files_sink_folder_replaced_by_a_file_is_transient(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    sink = FilesSink(folder, "json")
    folder.rmdir()
    folder.write_text("not a folder")
    with pytest.raises(TransientError) as exc:
        sink.write(_order())  # type: ignore[arg-type]
    assert str(folder) in str(exc.value)


def test_build_sink_files(config_factory: object, tmp_path: Path) -> None:
    cfg = config_factory(**{"import": {"enabled": True, "erp": {  # type: ignore[operator]
        "sink": "files", "path": str(tmp_path / "x"), "format": "tracciato"}}})
    sink = build_sink(cfg)
    assert isinstance(sink, FilesSink) and sink.format == "tracciato"


@pytest.mark.parametrize("params, url", [
    (AmParams("ic.acme", "https://am.example/api/v1/progetti/ic.acme", "https://am.example/api"),
     "https://am.example/api/v1/progetti/ic.acme"),
    (AmParams("ic.acme", None, "http://h/api_x/v1/progetti"), "http://h/api_x/v1/progetti/ic.acme"),
    (AmParams("ic.acme", "http://h/x", "http://h/api_x/v1"), "http://h/api_x/v1/progetti/ic.acme"),
    (AmParams("ic.acme", None, "http://h/api_x"), "http://h/api_x/v1/progetti/ic.acme"),
])
def test_base_url_from_lm_answers(params: AmParams, url: str) -> None:
    assert base_url_from(params) == url


def test_license_manager_discovery(tmp_path: Path) -> None:
    with SandboxServer(tmp_path / "sb.sqlite", auth_key=AUTH_KEY, lm_key="lm-secret-99") as sb:
        params = discover(sb.lm_url, "lm-secret-99", retry_initial=0.01)
        assert base_url_from(params) == sb.url and params.cod_prog == "ic.acme"
        with pytest.raises(AuthError) as exc:
            discover(sb.lm_url, "wrong-lm-key", retry_initial=0.01)
        assert "wrong-lm-key" not in str(exc.value)


def test_write_many_batch_mixed_outcomes(tmp_path: Path) -> None:
    from connector.model import to_jsonable

    sink = FilesSink(tmp_path / "in", "tracciato", company="ACME")
    rng = random.Random(9)
    recs = [decode_record("orders", {**sandbox_demo.demo_order(rng, rows=2), "id": i,
                                     "unique_id": 700 + i}) for i in range(1, 6)]
    too_long = decode_record("orders", {**sandbox_demo.demo_order(rng, rows=1), "id": 6,
                                        "unique_id": 706, "note": "y" * 4001})
    sink.write(recs[0])  # already landed
    out = sink.write_many([*recs, too_long, recs[1]])  # recs[1] twice in one batch
    assert [type(o).__name__ for o in out] == ["ErpRef"] * 5 + ["PermanentError", "ErpRef"]
    refs = [o for o in out if isinstance(o, type(sink.write(recs[0])))]
    assert [r.duplicate for r in refs] == [True, False, False, False, False, True]
    names = sorted(p.name for p in (tmp_path / "in").iterdir() if not p.name.startswith("."))
    assert names == [f"AM_ORD_ACME_{700 + i}.DAT" for i in range(1, 6)]
    ledger = (tmp_path / "in" / LEDGER).read_text(encoding="utf-8").split()
    assert sorted(ledger) == names
    # JSON rendering is the same as the generic to_jsonable of the model
    jsink = FilesSink(tmp_path / "j", "json")
    jsink.write_many(recs[:2])
    doc = json.loads((tmp_path / "j" / "orders_701.json").read_text(encoding="utf-8"))
    assert doc["record"] == json.loads(json.dumps(to_jsonable(recs[0].model)))
    jsink.close()


def test_tls_is_verified_and_a_private_ca_can_be_trusted(tmp_path: Path) -> None:
    import ssl

    import trustme

    from adapters.appmanager.client import AppManagerClient

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with SandboxServer(tmp_path / "sb.sqlite", auth_key=AUTH_KEY, tls=server_ctx) as sb:
        assert sb.url.startswith("https://")
        trusting = AppManagerClient(sb.url, AUTH_KEY, ca_bundle=ca_file, retry_initial=0.01)
        assert len(trusting.fetch("orders", 0, 50).items) == 8
        default = AppManagerClient(sb.url, AUTH_KEY, retry_initial=0.01)
        with pytest.raises(PermanentError) as exc:
            default.fetch("orders", 0, 50)
        assert "TLS verification failed" in str(exc.value)
        assert AUTH_KEY not in str(exc.value)
        assert sb.requests <= 1  # refused at the handshake, not retried in a loop
