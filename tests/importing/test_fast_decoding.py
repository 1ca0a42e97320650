"""decode_raw (msgspec straight into the model, the import path) gives what the checking
decoder gives, sends what it cannot take to it, and keeps the item's text as its payload."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from adapters.appmanager import sandbox_demo
from adapters.erp.files_render import json_document
from connector.errors import RecordError
from connector.model import (
    MAX_DEPTH,
    STREAMS,
    Order,
    PageMeta,
    RawPage,
    decode_raw,
    decode_record,
    inbound,
)


def _same(stream: str, item: dict[str, Any], mp: pytest.MonkeyPatch | None = None) -> None:
    """With mp: decode_raw must not need the checking decoder for this item."""
    raw = json.dumps(item).encode("utf-8")
    checked = decode_record(stream, item)
    if mp is not None:
        with mp.context() as m:
            m.setattr(inbound, "decode_model", _not_called)
            fast = decode_raw(stream, raw)
    else:
        fast = decode_raw(stream, raw)
    assert fast.model == checked.model
    assert msgspec.json.encode(fast.model) == msgspec.json.encode(checked.model)
    assert (fast.queue_id, fast.unique_id, fast.key, fast.guid) == (
        checked.queue_id, checked.unique_id, checked.key, checked.guid)
    assert json_document(fast) == json_document(checked)
    assert fast.payload == item and fast.payload_json() == raw.decode("utf-8")


def _not_called(stream: str, item: Any) -> Any:
    raise AssertionError("the checking decoder was needed")


@pytest.mark.parametrize("stream", STREAMS)
def test_demo_items_decode_the_same_both_ways(stream: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    rng = random.Random(11)
    for i in range(40):
        item = sandbox_demo.demo_records(stream, rng)
        _same(stream, {**item, "id": i + 1, "unique_id": rng.choice([1000 + i, f" U-{i} "])},
              monkeypatch)  # the demo data, as the sandbox sends it, takes the fast path
    if stream == "orders":
        new = {**sandbox_demo.demo_order(rng, new_customer=True), "id": 99, "unique_id": "N"}
        _same(stream, new, monkeypatch)
        model = decode_raw(stream, json.dumps(new).encode()).model
        assert isinstance(model, Order) and model.new_customer is not None


@pytest.mark.parametrize("change", [
    {"unique_id": " 77 "},
    {"unique_id": 77},
    {"data_consegna": ""},  # empty date: None
    {"data_consegna": "/Date(1709284500000+0100)/"},
    {"data_consegna": "2024-03-01T10:15:00.1234567"},
    {"sconto_1": "2,5"},  # decimal comma: the checking path
    {"sconto_1": " 2.5 "},
    {"sconto_1": ""},
    {"cod_clifor": 12345},  # a number for a text
    {"cod_clifor": "  ", "clienti": [{"ragione_sociale": "Nuovo"}, {"x": 1}]},
    {"cod_clifor": "C1", "clienti": ["not an object"]},  # ignored with a known customer
    {"righe": None},
    {"righe": [{"ext_cod_tipo_riga_omag": " 02", "tipo_um": 3}]},  # codes in other forms
    {"righe": [{"ext_cod_tipo_riga_ord": " 2 ", "dettagli": None}]},
    {"righe": [{"dettagli": "", "qta": 1.0}]},
    {"kind": "offer", "rows": [], "delivery_date": "2020-01-01", "new_customer": None},
    {"descrizione": "Banana infuso, NaN in the text"},
    {"id": 9.0},
])
def test_irregular_items_decode_the_same_both_ways(change: dict[str, Any]) -> None:
    item = {**sandbox_demo.demo_order(random.Random(3), rows=3), "id": 9, "unique_id": "U9"}
    _same("orders", {**item, **change})


@pytest.mark.parametrize("item, field", [
    ({"unique_id": 1}, "id"),
    ({"id": "x", "unique_id": 1}, "id"),
    ({"id": 1, "unique_id": True}, "unique_id"),
    ({"id": 1, "unique_id": [2]}, "unique_id"),
    ({"id": 1, "unique_id": 2, "righe": "nope"}, "righe"),
    ({"id": 1, "unique_id": 2, "righe": [{"dettagli": [{"qta": "x"}]}]},
     "righe[0].dettagli[0].qta"),
    ({"id": 1, "unique_id": 2, "sconto_1": True}, "sconto_1"),
    ({"id": 1, "unique_id": 2, "sconto_1": "NaN"}, "sconto_1"),
    ({"id": 1, "unique_id": 2, "righe": [{"prezzo": " -Infinity"}]}, "righe[0].prezzo"),
    ({"id": 1, "unique_id": 2, "righe": [{"qta": "\u00a0sNaN"}]}, "righe[0].qta"),
    ({"id": 1, "unique_id": 2, "data_ordine": "yesterday"}, "data_ordine"),
    ({"id": 1, "unique_id": 2, "righe": [{"data_consegna_riga": 5}]},
     "righe[0].data_consegna_riga"),
    ({"id": 1, "unique_id": 2, "cod_clifor": None, "clienti": [{"cap": []}]}, "clienti[0].cap"),
])
def test_malformed_items_name_the_field(item: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as exc:
        decode_raw("orders", json.dumps(item).encode("utf-8"))
    assert exc.value.field == field


@pytest.mark.parametrize("text", [b'"NaN"', b'" -Infinity "', b'"inf"', b'"sNaN12"',
                                  b'"\\u00a0nan"', b'"\\u004eaN"', b'"\\u0049nf"',
                                  '"\u2003NaN"'.encode()])
def test_non_finite_numbers_sent_as_text_are_refused(text: bytes) -> None:
    raw = b'{"id": 1, "unique_id": 2, "note": "info@x.example", "righe": [{"qta": ' + text + b"}]}"
    with pytest.raises(RecordError) as exc:
        decode_raw("orders", raw)
    assert exc.value.field == "righe[0].qta"


def test_numbers_keep_their_digits_and_the_payload_is_the_text_received() -> None:
    raw = (b'{"id": 5, "unique_id": 50, "sconto_1": 2.50, "extra": {"k": [1, 2]},'
           b' "righe": [{"qta": 1e2, "prezzo": 0.1000000000000000055511151231257827}]}')
    rec = decode_raw("orders", raw)
    o = rec.model
    assert isinstance(o, Order)
    assert str(o.sconto_1) == "2.50" and o.rows[0].qta == Decimal(100)
    assert o.rows[0].prezzo == Decimal("0.1000000000000000055511151231257827")
    assert rec.payload_json() == raw.decode("utf-8")  # journaled as received
    assert rec.payload["extra"] == {"k": [1, 2]} and rec.sent_unique_id == 50
    doc = json.loads(json_document(rec))
    assert doc["unique_id"] == 50 and doc["record"]["unique_id"] == "50"
    # the lists as sent are not part of the model's output
    assert "righe" not in doc["record"] and "rows" in doc["record"]
    assert "dettagli" not in doc["record"]["rows"][0]


@pytest.mark.parametrize("bad", [
    b'{"id": 2, "unique_id": "U2", "note": "bad \xff here"}',  # a field of the model
    b'{"id": 2, "unique_id": "U2", "zz_unknown": "bad \xff here"}',  # a field it skips
])
def test_an_item_that_is_not_utf8_is_quarantined_alone(bad: bytes) -> None:
    good = json.dumps({"id": 1, "unique_id": "U1", "note": "caff\u00e8"},
                      ensure_ascii=False).encode("utf-8")
    page = RawPage("orders", (good, bad), 2, PageMeta()).decode()
    assert [r.unique_id for r in page.items] == ["U1"]
    assert page.items[0].payload_json() == good.decode("utf-8")
    (m,) = page.malformed
    assert m.queue_id == 2 and m.error.field == "item" and "UTF-8" in str(m.error)
    assert isinstance(m.item, str) and "bad" in m.item  # kept, as text


def _order(**over: Any) -> dict[str, Any]:
    return {**sandbox_demo.demo_order(random.Random(3), rows=3), "id": 9, "unique_id": "U9",
            **over}


def test_fields_the_model_does_not_know_are_kept_where_they_came_both_ways() -> None:
    item = _order(zz_head={"a": [1, 2.5]}, cod_clifor=None,
                  clienti=[{"ragione_sociale": "Nuova Srl", "zz_cli": "c"},
                           {"ragione_sociale": "Seconda"}, {"cap": None}])
    item["righe"][0]["zz_row"] = "r"
    item["righe"][1]["dettagli"] = [{"cod_taglia": "M", "zz_det": 1}, {"cod_taglia": "L"}]
    _same("orders", item)
    o = decode_raw("orders", json.dumps(item).encode()).model
    assert isinstance(o, Order) and o.new_customer is not None
    # the second customer sent is kept; the third carries nothing
    assert o.extra == {"zz_head": {"a": [1, 2.5]}, "clienti": [{"ragione_sociale": "Seconda"},
                                                               {"cap": None}]}
    assert o.new_customer.extra == {"zz_cli": "c"}
    assert o.rows[0].extra == {"zz_row": "r"} and o.rows[1].extra is msgspec.UNSET
    assert [d.extra for d in o.rows[1].details] == [{"zz_det": 1}, msgspec.UNSET]
    doc = json.loads(json_document(decode_raw("orders", json.dumps(item).encode())))
    assert doc["record"]["extra"]["zz_head"] == {"a": [1, 2.5]}
    assert doc["record"]["rows"][0]["extra"] == {"zz_row": "r"}
    assert "extra" not in doc["record"]["rows"][2]  # nothing unknown: no key


@pytest.mark.parametrize("change", [
    {"clienti": [{"ragione_sociale": "Con un cliente noto"}]},  # kept, the customer is known
    {"clienti": [{"ragione_sociale": None, "cap": ""}]},  # carries nothing: dropped
    {"extra": "a key named like ours"},
    {"cod_colore_estensione1": "NER", "sconto": 5, "data_ritiro": 20260101,
     "flg_ritiro": "2026-01-01T00:00:00", "importatore": "x"},
    {"data_ritiro": True, "flg_ritiro": 1.0},
])
def test_known_customer_extra_key_and_scalars_decode_the_same_both_ways(
        change: dict[str, Any]) -> None:
    _same("orders", _order(**change))


def test_the_library_types_data_ritiro_and_flg_ritiro_are_kept_as_sent() -> None:
    o = decode_raw("orders", json.dumps(_order(data_ritiro=20260101, flg_ritiro="2026-01-02",
                                               )).encode()).model
    assert isinstance(o, Order) and (o.data_ritiro, o.flg_ritiro) == (20260101, "2026-01-02")
    o = decode_raw("orders", json.dumps(_order(data_ritiro=1.5, flg_ritiro=True)).encode()).model
    assert isinstance(o, Order) and (o.data_ritiro, o.flg_ritiro) == ("1.5", 1)
    with pytest.raises(RecordError) as exc:
        decode_raw("orders", json.dumps(_order(flg_ritiro=[1])).encode())
    assert exc.value.field == "flg_ritiro"


@pytest.mark.parametrize(("row", "expected", "warned"), [
    ({"tipo_um": "7"}, (False, "normal", "primary"), ["righe[0].tipo_um: unknown "
                                                      "unit-of-measure type '7', read as 1"]),
    ({"tipo_um": "x"}, (False, "normal", "primary"), ["righe[0].tipo_um"]),
    ({"tipo_um": 0}, (False, "normal", "primary"), ["righe[0].tipo_um"]),
    ({"ext_cod_tipo_riga_omag": "9"}, (False, "normal", "primary"),
     ["righe[0].ext_cod_tipo_riga_omag: unknown free-goods type '9', read as a normal row"]),
    ({"ext_cod_tipo_riga_omag": "gratis"}, (False, "normal", "primary"),
     ["righe[0].ext_cod_tipo_riga_omag"]),
    ({"ext_cod_tipo_riga_ord": "5"}, (False, "normal", "primary"),
     ["righe[0].ext_cod_tipo_riga_ord: unknown row type '5', read as an article row"]),
    ({"ext_cod_tipo_riga_ord": "2", "tipo_um": "0"}, (True, "normal", "primary"), []),
    ({"ext_cod_tipo_riga_ord": "2", "tipo_um": None}, (True, "normal", "primary"), []),
    ({"ext_cod_tipo_riga_omag": " 02", "tipo_um": "3.0"},
     (False, "free_goods_not_recharged", "package"), []),
])
def test_unknown_codes_are_read_as_the_reference_connector_does_with_a_warning(
        row: dict[str, Any], expected: tuple[bool, str, str], warned: list[str]) -> None:
    item = _order()
    item["righe"][0].update({"ext_cod_tipo_riga_ord": "0", "ext_cod_tipo_riga_omag": "0",
                             "tipo_um": "1", **row})
    _same("orders", item)
    for rec in (decode_raw("orders", json.dumps(item).encode()), decode_record("orders", item)):
        r = rec.model.rows[0]  # type: ignore[union-attr]
        assert (r.is_descriptive, r.free_goods, r.uom) == expected
        assert len(rec.warnings) == len(warned)
        for w, start in zip(rec.warnings, warned, strict=True):
            assert w.startswith(start)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("missing", [{"unique_id": None}, {"unique_id": ""},
                                     {"unique_id": "  "}, {}])
def test_a_record_without_unique_id_gets_an_identity_from_its_content(
        stream: str, missing: dict[str, Any]) -> None:
    """Stable when AppManager queues it again (new queue id, new data_import), different
    for another content, the same through both decoders, with a warning."""
    item = {**sandbox_demo.demo_records(stream, random.Random(4)), "id": 5, **missing}
    item.pop("unique_id", None) if not missing else None
    item["data_import"] = "2026-11-20T10:00:00"
    _same(stream, item)
    first = decode_raw(stream, json.dumps(item).encode())
    again = decode_raw(stream, json.dumps({**item, "id": 77,
                                           "data_import": "2026-11-21T08:00:00"}).encode())
    other = decode_raw(stream, json.dumps({**item, "cod_ditta": "BETA"}).encode())
    assert first.unique_id.startswith("fp-") and len(first.unique_id) == 35
    assert first.key == again.key != other.key
    assert first.warnings and "identity is derived from its content" in first.warnings[0]
    assert first.sent_unique_id == item.get("unique_id")


def test_a_leads_turnover_is_text_as_in_the_library() -> None:
    for sent, text in (("circa 2 milioni", "circa 2 milioni"), (250000, "250000"),
                       (125000.50, "125000.5"), ("1.200.000", "1.200.000")):
        item = {"id": 1, "unique_id": "L1", "fatturato": sent}
        _same("leads", item)
        assert decode_raw("leads", json.dumps(item).encode()).model.fatturato == text  # type: ignore[union-attr]


@pytest.mark.parametrize("depth", [64, 65, 900])
def test_a_field_passed_through_nested_too_deep_is_refused_naming_it(depth: int) -> None:
    """A poison value in a field the model does not know: quarantined with its field
    named, not a crash of the page (the bound is connector.model.MAX_DEPTH)."""
    nested = b"[" * depth + b"]" * depth
    for uid in (b'"x"', b"null"):  # the fallback identity reads the content too
        raw = b'{"id": 1, "unique_id": ' + uid + b', "righe": [{"zz": ' + nested + b"}]}"
        if depth <= MAX_DEPTH:
            assert decode_raw("orders", raw).model.rows[0].extra  # type: ignore[union-attr]
            continue
        with pytest.raises(RecordError) as exc:
            decode_raw("orders", raw)
        assert exc.value.field == "righe[0].zz" and "levels deep" in str(exc.value)
