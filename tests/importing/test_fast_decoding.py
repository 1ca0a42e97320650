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
from adapters.appmanager.client import PageMeta, RawPage
from adapters.erp.files_sink import json_document
from connector import domain
from connector.domain import STREAM_NAMES, Order, decode_raw, decode_record
from connector.errors import RecordError


def _same(stream: str, item: dict[str, Any], mp: pytest.MonkeyPatch | None = None) -> None:
    """With mp: decode_raw must not need the checking decoder for this item."""
    raw = json.dumps(item).encode("utf-8")
    checked = decode_record(stream, item)
    if mp is not None:
        with mp.context() as m:
            m.setattr(domain, "_decode_model", _not_called)
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


@pytest.mark.parametrize("stream", STREAM_NAMES)
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
    ({"id": 1}, "unique_id"),
    ({"id": 1, "unique_id": "  "}, "unique_id"),
    ({"id": 1, "unique_id": True}, "unique_id"),
    ({"id": 1, "unique_id": 2, "righe": [{"tipo_um": "7"}]}, "righe[0].tipo_um"),
    ({"id": 1, "unique_id": 2, "righe": [{}, {"ext_cod_tipo_riga_omag": "9"}]},
     "righe[1].ext_cod_tipo_riga_omag"),
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
