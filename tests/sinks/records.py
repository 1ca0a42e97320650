"""Inbound records for the sink tests, one per stream, built as AppManager sends them."""

from __future__ import annotations

from typing import Any

from connector.model import InboundRecord, decode_record


def order_item(uid: str = "O-1", queue_id: int = 1, rows: int = 3, new_customer: bool = False,
               guid: str | None = None) -> dict[str, Any]:
    righe = []
    for i in range(rows):
        righe.append({
            "id": i + 1, "codice_articolo": f"ART-{i}", "descrizione_riga": f"Articolo {i}",
            "cod_um_1": "PZ", "qta": 2 + i, "prezzo": "1.25", "sconto_1": 10,
            "ext_cod_tipo_riga_omag": "2" if i == 2 else "0", "tipo_um": 1,
            "data_consegna_riga": "2026-12-01T00:00:00",
            "dettagli": [{"cod_taglia": "42", "qta": 1}, {"cod_taglia": "43", "qta": 1}] if i == 0 else [],
        })
    item: dict[str, Any] = {
        "id": queue_id, "unique_id": uid, "guid_test_ord": guid or f"guid-{uid}",
        "cod_ditta": "ACME", "cod_clifor": None if new_customer else "C001", "cod_agente": "AG1",
        "data_ordine": "2026-11-21T10:30:00", "ext_cod_tipo_ord": "CLI-MOBORD", "sconto_1": 2.5,
        "note": "consegna\nal mattino", "righe": righe,
    }
    if new_customer:
        item["clienti"] = [{"ragione_sociale": "Nuovo Cliente Srl", "partita_iva": "01234567890",
                            "indirizzo_consegna": "Via Po 3"}]
    return item


ITEMS: dict[str, dict[str, Any]] = {
    "customers": {"id": 11, "unique_id": "CF-1", "cod_cliente": "C001", "cod_ditta": "ACME",
                  "ragione_sociale": "Rossi Srl", "telefono1": "02 123", "email": "a@rossi.example"},
    "customer_notes": {"id": 12, "unique_id": "CN-1", "cod_cliente": "C001", "cod_ditta": "ACME",
                       "nota": "Richiamare§lunedi", "progressivo": "0", "tipo_nota": "Visita"},
    "leads": {"id": 13, "unique_id": "LD-1", "cod_lead": "", "cod_ditta": "ACME",
              "descrizione1": "Bianchi Spa", "fatturato": 125000.5, "cod_fonte": "FI"},
    "lead_notes": {"id": 14, "unique_id": "LN-1", "cod_lead": "L1", "cod_ditta": "ACME",
                   "nota": "Telefonata", "progressivo": "1"},
    "activities": {"id": 15, "unique_id": "AT-1", "cod_ditta": "ACME", "cod_lead": "L1",
                   "cod_tipo_attivita": "VIS", "des_oggetto": "Visita", "cod_stato": "D",
                   "data_esecuzione": "2026-11-25T00:00:00", "ora_esecuzione": "09:30"},
}


def record(stream: str, **over: Any) -> InboundRecord:
    item = order_item() if stream == "orders" else dict(ITEMS[stream])
    item.update(over)
    return decode_record(stream, item)


def all_records() -> list[InboundRecord]:
    return [decode_record("orders", order_item(new_customer=True))] + [
        decode_record(s, dict(i)) for s, i in ITEMS.items()]


def refused_record() -> InboundRecord:
    """A customer change every ERP route refuses: a name far longer than any ERP field
    (SQL: 255 characters; tracciato files: 4000; the test ERP program: 255)."""
    return record("customers", unique_id="CF-REFUSED", ragione_sociale="X" * 5000)
