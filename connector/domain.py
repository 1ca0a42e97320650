"""The inbound domain model: what the agents entered on their iPads, as our own frozen structs
(msgspec `Struct`s: immutable, attribute access like dataclasses, decoded in C).

Both import routes (the AppManager web service and the legacy AM_*.DAT files) produce
`InboundRecord`s; the journal stores them and the ERP sinks write them.

Field names follow the AppManager wire names (`cod_clifor`, `righe` -> `rows`), so an ERP
consultant can match them against ../shared/spec/appmanager-api.md §2. The model has every
field AMHelper's web-service classes define, across their history (WS/ws_rec_*.cs, 2014
to 2022: e.g. the 2014 header `sconto`, colour and material per row, the 2022 header
fields); a field it does not know is kept, as sent, in the `extra` of the part it came
with (the record, a row, a size detail, the new customer), so nothing an agent entered is
lost. Types follow the library (a lead's `fatturato` is text). The code values of §2.10
are interpreted into extra fields (`Order.kind`, `OrderRow.is_descriptive`,
`OrderRow.free_goods`, `OrderRow.uom`) as the reference connector reads them: an unknown
unit type is the primary unit, an unknown free-goods type a normal row, each with a
warning on the record (`InboundRecord.warnings`), never a refusal.

Decoding (`decode_record(stream, item)`) is strict on what identifies a record (`id`,
`unique_id` when sent) and on typed fields (numbers, dates): a malformed item raises
RecordError naming the field, so the caller can quarantine that one item and go on with
the page. A record sent without a unique_id (null or blank: the library declares it a
string) gets a fallback identity derived from its content (`fallback_identity`), stable
when AppManager queues it again, and a warning.

Two decoders give the same result. `decode_raw(stream, raw_json)` (the import path) decodes an
item straight into the model with msgspec (C speed), the dates through a hook; anything it
does not take as is (a number sent as text, a date or code it cannot read, a non-finite
number, a wrong type, a field the model does not know) goes to the checking decoder,
`decode_record(stream, item)`, which either reads it the lenient way or raises the
RecordError naming the field. Numbers keep the digits they were sent with (`12.50` stays
`12.50`).

Dates on the wire are not documented; `parse_wire_datetime` accepts the forms seen:
ISO 8601 with or without zone (and with 7 fractional digits, as .NET writes them),
`yyyy/mm/dd hh:mm:ss`, the .NET JSON form `/Date(1234567890000+0100)/`, and null/"".
"""

from __future__ import annotations

import abc
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from msgspec.structs import force_setattr

from connector.errors import RecordError

STREAM_NAMES = ("orders", "customers", "customer_notes", "leads", "lead_notes", "activities")

# ext_cod_tipo_ord values that mean an offer ("preventivo"); anything else is an order (§2.10).
OFFER_TYPES = frozenset({"CLI-MOBPRE", "CLI-IGAMMAPRE", "P", "Q"})
ORDER_TYPES = frozenset({"CLI-MOBORD", "CLI-IGAMMAORD", "R"})
FREE_GOODS = {
    0: "normal",
    1: "free_goods_recharged",
    2: "free_goods_not_recharged",
    3: "goods_discount",
    4: "goods_discount_not_in_total",
}
UOM_TYPES = {1: "primary", 2: "secondary", 3: "package"}
ACTIVITY_STATES = {"D": "to_do", "E": "done", "A": "cancelled"}


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------
if TYPE_CHECKING:
    WireDateTime = datetime
    WireId = str
    WireScalar = str | int
else:
    class WireDateTime(abc.ABC):  # noqa: B024 - a marker, not an interface
        """A datetime decoded through `_dec_hook` (the wire forms of parse_wire_datetime)."""

    WireDateTime.register(datetime)
    # unique_id as sent (text or number); made text by the decoders.
    WireId = str | int
    # A value kept as sent, text or a whole number (fields whose type AMHelper got wrong).
    WireScalar = str | int

# Wire-only fields: the lists as sent (righe, dettagli, clienti), moved into the model's own
# fields by the decoder and then UNSET, so they are never encoded nor compared.
_WireRows = tuple["OrderRow", ...] | None | UnsetType
_WireDetails = tuple["RowDetail", ...] | None | UnsetType
_WireCustomers = tuple["NewCustomer", ...] | None | UnsetType
# The fields an item carried that the model does not know, as sent (JSON values).
_Extra = dict[str, Any] | UnsetType

class _Model(msgspec.Struct, frozen=True, kw_only=True, gc=False, forbid_unknown_fields=True):
    """Our records' base: immutable, and an item with a field the model does not know is
    not decoded by msgspec (it raises) but by the checking decoder, which keeps that field
    in `extra` (pass-through; UNSET, so not encoded, when there is none)."""


class RowDetail(_Model, frozen=True, kw_only=True):
    """A size/assortment detail of an order row (DettaglioRigaOrdineExport)."""

    cod_assortimento: str | None = None
    cod_sviluppo: str | None = None
    cod_taglia: str | None = None
    cod_taglia_guida: str | None = None
    ext_cod_tipo_det_riga_ord: str | None = None
    qta: Decimal | None = None
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent


class OrderRow(_Model, frozen=True, kw_only=True):
    """One row of an order or offer (RigaOrdineExport): an article or a descriptive row."""

    id: int | None = None
    codice_articolo: str | None = None
    descrizione_riga: str | None = None
    note: str | None = None
    ext_cod_tipo_riga_ord: str | None = None
    ext_cod_tipo_riga_omag: str | None = None
    tipo_um: str | None = None
    cod_um_1: str | None = None
    cod_um_2: str | None = None
    fattore_conversione: Decimal | None = None
    qta: Decimal | None = None
    qta_2: Decimal | None = None
    codice_confezione: str | None = None
    qta_confezione: Decimal | None = None
    prezzo: Decimal | None = None
    prezzo_2: Decimal | None = None
    sconto_1: Decimal | None = None
    sconto_2: Decimal | None = None
    sconto_3: Decimal | None = None
    sconto_4: Decimal | None = None
    sconto_5: Decimal | None = None
    sconto_6: Decimal | None = None
    sconto_importo: Decimal | None = None
    mag_perc_1: Decimal | None = None
    mag_perc_2: Decimal | None = None
    mag_importo: Decimal | None = None
    data_consegna_riga: WireDateTime | None = None
    cod_combinazione: str | None = None
    cod_catalogo: str | None = None
    cod_tipo_fattura: str | None = None
    # Colour and material per row (wtrendy variants), cod_materiale1/cod_colore1 .. 15.
    cod_materiale1: str | None = None
    cod_colore1: str | None = None
    cod_materiale2: str | None = None
    cod_colore2: str | None = None
    cod_materiale3: str | None = None
    cod_colore3: str | None = None
    cod_materiale4: str | None = None
    cod_colore4: str | None = None
    cod_materiale5: str | None = None
    cod_colore5: str | None = None
    cod_materiale6: str | None = None
    cod_colore6: str | None = None
    cod_materiale7: str | None = None
    cod_colore7: str | None = None
    cod_materiale8: str | None = None
    cod_colore8: str | None = None
    cod_materiale9: str | None = None
    cod_colore9: str | None = None
    cod_materiale10: str | None = None
    cod_colore10: str | None = None
    cod_materiale11: str | None = None
    cod_colore11: str | None = None
    cod_materiale12: str | None = None
    cod_colore12: str | None = None
    cod_materiale13: str | None = None
    cod_colore13: str | None = None
    cod_materiale14: str | None = None
    cod_colore14: str | None = None
    cod_materiale15: str | None = None
    cod_colore15: str | None = None
    details: tuple[RowDetail, ...] = ()
    # Interpreted (§2.10) -------------------------------------------------------------
    is_descriptive: bool = False  # ext_cod_tipo_riga_ord == "2": text only
    free_goods: str = "normal"  # FREE_GOODS[ext_cod_tipo_riga_omag]
    uom: str = "primary"  # UOM_TYPES[tipo_um]: with secondary/package, qta is primary-unit, qta_2 the count
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent
    _dettagli: _WireDetails = msgspec.field(default=UNSET, name="dettagli")

    @property
    def discounts(self) -> tuple[Decimal | None, ...]:
        return (self.sconto_1, self.sconto_2, self.sconto_3, self.sconto_4, self.sconto_5,
                self.sconto_6)


class NewCustomer(_Model, frozen=True, kw_only=True):
    """The customer an agent created on the iPad (`clienti[0]` of an order whose cod_clifor
    is empty). The ERP must create it before the order."""

    ragione_sociale: str | None = None
    indirizzo: str | None = None
    cap: str | None = None
    cod_citta: str | None = None
    des_citta: str | None = None
    provincia: str | None = None
    cod_nazione: str | None = None
    des_nazione: str | None = None
    telefono: str | None = None  # AMHelper 2014; telefono1/telefono2 since
    telefono1: str | None = None
    telefono2: str | None = None
    cellulare: str | None = None
    fax: str | None = None
    email: str | None = None
    partita_iva: str | None = None
    codice_fiscale: str | None = None
    iban: str | None = None
    note: str | None = None
    cod_canale_vendita: str | None = None
    cod_categoria: str | None = None
    cod_classe_sconto: str | None = None
    cod_cond_pag: str | None = None
    des_cond_pag: str | None = None
    cod_porto_sped: str | None = None
    des_porto_sped: str | None = None
    ragione_sociale_consegna: str | None = None
    indirizzo_consegna: str | None = None
    cod_citta_consegna: str | None = None
    des_citta_consegna: str | None = None
    cap_consegna: str | None = None
    provincia_consegna: str | None = None
    cod_nazione_consegna: str | None = None
    des_nazione_consegna: str | None = None
    telefono_consegna: str | None = None
    cellulare_consegna: str | None = None
    fax_consegna: str | None = None
    cod_porto_consegna: str | None = None
    pec_clifor: str | None = None
    cod_gg_cons_clifor: str | None = None
    cod_tipo_cli_clifor: str | None = None
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent

    @property
    def has_delivery_address(self) -> bool:
        """Any *_consegna field set: the ERP adds a delivery destination too."""
        return any(getattr(self, name) for name in self.__struct_fields__
                   if name.endswith("_consegna"))


class Order(_Model, frozen=True, kw_only=True):
    """An order or an offer (TestataOrdineExport) with its rows."""

    id: int
    unique_id: WireId
    guid_test_ord: str | None = None
    kind: Literal["order", "offer"] = "order"
    ext_cod_tipo_ord: str | None = None
    cod_prog: str | None = None
    cod_ditta: str | None = None
    utente: str | None = None
    importatore: str | None = None
    cod_clifor: str | None = None
    cod_destinazione: str | None = None
    cod_agente: str | None = None
    cod_operatore: str | None = None
    cod_cliente_utente: str | None = None
    data_ordine: WireDateTime | None = None
    data_consegna: WireDateTime | None = None
    data_import: WireDateTime | None = None
    cod_cond_pag: str | None = None
    cod_cond_pag_deperibilita: str | None = None
    cod_porto: str | None = None
    des_porto: str | None = None
    cod_mod_sped: str | None = None
    des_mod_sped: str | None = None
    cod_valuta: str | None = None
    sconto: Decimal | None = None  # AMHelper 2014: one header discount; sconto_1..6 since
    sconto_1: Decimal | None = None
    sconto_2: Decimal | None = None
    sconto_3: Decimal | None = None
    sconto_4: Decimal | None = None
    sconto_5: Decimal | None = None
    sconto_6: Decimal | None = None
    cod_magazzino: str | None = None
    cod_serie_ordini: str | None = None
    num_doc_aggiunta: str | None = None
    nr_ord_orig: str | None = None  # the device's order number (legacy AM_ORD files only)
    cod_urgenza: Decimal | None = None
    flg_aggiunta: Decimal | None = None
    # AMHelper (2022) declares data_ritiro a number and flg_ritiro a date, which looks
    # swapped: both are kept as sent (text or a whole number), never refused.
    data_ritiro: WireScalar | None = None
    flg_ritiro: WireScalar | None = None
    pec_clifor: str | None = None
    cod_gg_consegna_clifor: str | None = None
    cod_tipo_cliente_clifor: str | None = None
    cod_zona_consegna_clifor: str | None = None
    cod_colore_estensione1: str | None = None
    cod_colore_estensione2: str | None = None
    cod_materiale_estensione1: str | None = None
    cod_materiale_estensione2: str | None = None
    note: str | None = None
    des_note_fat: str | None = None
    des_note_cons: str | None = None
    des_note_gen: str | None = None
    new_customer: NewCustomer | None = None
    rows: tuple[OrderRow, ...] = ()
    # The ERP header's delivery date: the latest row delivery date, else the header's
    # (§2.10). Set by the decoders (delivery_date_of).
    delivery_date: WireDateTime | None = None
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent
    _righe: _WireRows = msgspec.field(default=UNSET, name="righe")
    _clienti: _WireCustomers = msgspec.field(default=UNSET, name="clienti")


def delivery_date_of(rows: tuple[OrderRow, ...], header: datetime | None) -> datetime | None:
    """The latest row delivery date (compared without zone), else the header's."""
    dates = [d for d in (r.data_consegna_riga for r in rows) if d is not None]
    if not dates:
        return header
    if len(dates) == 1:
        return dates[0]
    # Wall times compared, whatever the zone: the first of the latest, as a loop would.
    return max(dates, key=_wall_time)


def _wall_time(d: datetime) -> datetime:
    return d.replace(tzinfo=None) if d.tzinfo is not None else d


class CustomerChange(_Model, frozen=True, kw_only=True):
    """An edit to an existing ERP customer (TestataCf)."""

    id: int
    unique_id: WireId
    cod_cliente: str | None = None
    tipo_clifor: str | None = None  # legacy AM_CF_ANA files only
    cod_ditta: str | None = None
    cod_prog: str | None = None
    cod_agente: str | None = None
    cod_operatore: str | None = None
    utente: str | None = None
    ragione_sociale: str | None = None
    indirizzo: str | None = None
    cap: str | None = None
    citta: str | None = None
    provincia: str | None = None
    telefono1: str | None = None
    telefono2: str | None = None
    cellulare: str | None = None
    fax: str | None = None
    email: str | None = None
    partita_iva: str | None = None
    codice_fiscale: str | None = None
    cod_cond_pag: str | None = None
    data_import: WireDateTime | None = None
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent


class CustomerNote(_Model, frozen=True, kw_only=True):
    """A customer note (TestataCfNote). progressivo "0": the main note; empty: a new note;
    other: numbered note to update (or create)."""

    id: int
    unique_id: WireId
    cod_cliente: str | None = None
    tipo_clifor: str | None = None  # legacy AM_CF_NOTE files only
    cod_ditta: str | None = None
    cod_prog: str | None = None
    cod_agente: str | None = None
    cod_operatore: str | None = None
    utente: str | None = None
    nota: str | None = None
    progressivo: str | None = None
    tipo_nota: str | None = None
    data_import: WireDateTime | None = None
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent

    @property
    def note_kind(self) -> Literal["main", "new", "numbered"]:
        if self.progressivo == "0":
            return "main"
        return "numbered" if self.progressivo else "new"


class Lead(_Model, frozen=True, kw_only=True):
    """A new lead (cod_lead empty) or an update to one (TestataLeadsExport)."""

    id: int
    unique_id: WireId
    cod_lead: str | None = None
    cod_ditta: str | None = None
    cod_prog: str | None = None
    cod_agente: str | None = None
    cod_agente_lead: str | None = None
    cod_operatore: str | None = None
    utente: str | None = None
    descrizione1: str | None = None
    descrizione2: str | None = None
    nome: str | None = None
    cognome: str | None = None
    partita_iva: str | None = None
    codice_fiscale: str | None = None
    telefono: str | None = None
    cellulare: str | None = None
    email: str | None = None
    fax: str | None = None
    internet: str | None = None
    note: str | None = None
    indirizzo: str | None = None
    cod_citta: str | None = None
    citta: str | None = None
    cap: str | None = None
    provincia: str | None = None
    cod_nazione: str | None = None
    nazione: str | None = None
    fatturato: str | None = None  # text in AMHelper (a number sent is kept as its text)
    cod_valuta: str | None = None
    cod_campagna: str | None = None
    campagna: str | None = None
    cod_categoria: str | None = None
    categoria: str | None = None
    cod_canale_vendita: str | None = None
    canale_vendita: str | None = None
    cod_concorrente: str | None = None
    concorrente: str | None = None
    cod_modalita_acquisizione: str | None = None
    modalita_acquisizione: str | None = None
    cod_fonte: str | None = None
    fonte: str | None = None
    cod_interesse: str | None = None
    interesse: str | None = None
    cod_settore: str | None = None
    settore: str | None = None
    cod_mansione: str | None = None
    mansione: str | None = None
    data_import: WireDateTime | None = None
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent

    @property
    def is_new(self) -> bool:
        return not self.cod_lead


class LeadNote(_Model, frozen=True, kw_only=True):
    """A note on a lead (TestataLeadsNoteExport); always inserted."""

    id: int
    unique_id: WireId
    cod_lead: str | None = None
    cod_ditta: str | None = None
    cod_prog: str | None = None
    cod_agente: str | None = None
    cod_operatore: str | None = None
    utente: str | None = None
    nota: str | None = None
    progressivo: str | None = None
    tipo_nota: str | None = None
    data_import: WireDateTime | None = None
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent


class Activity(_Model, frozen=True, kw_only=True):
    """A lead activity (TestataAttivita): new when cod_attivita is empty, else an update."""

    id: int
    unique_id: WireId
    cod_ditta: str | None = None
    cod_attivita: str | None = None
    cod_lead: str | None = None
    cod_tipo_attivita: str | None = None
    des_oggetto: str | None = None
    des_note_attivita: str | None = None  # the operator's note on this activity
    cod_operatore: str | None = None
    cod_stato: str | None = None
    data_esecuzione: WireDateTime | None = None
    ora_esecuzione: str | None = None
    des_note: str | None = None
    cod_agente: str | None = None
    utente: str | None = None
    data_import: WireDateTime | None = None
    state: str = "unknown"  # ACTIVITY_STATES[cod_stato]
    extra: _Extra = UNSET  # fields sent that the model does not know, as sent

    @property
    def is_new(self) -> bool:
        return not self.cod_attivita


Model = Order | CustomerChange | CustomerNote | Lead | LeadNote | Activity

STREAM_MODELS: dict[str, type] = {
    "orders": Order,
    "customers": CustomerChange,
    "customer_notes": CustomerNote,
    "leads": Lead,
    "lead_notes": LeadNote,
    "activities": Activity,
}


@dataclass(frozen=True)
class InboundRecord:
    """One record as received, with its decoded model.

    `queue_id` is AppManager's queue `id` (what lastID pages on; a re-queued record gets a
    new one). `unique_id` never changes for a record. `payload` is the item exactly as
    received (journaled as is): kept as the JSON text it came in (`raw`) and decoded into
    a dict only when asked for. `key` is the stable identity ERP writes are idempotent on.
    `sent_id` and `sent_unique_id` are `id` and `unique_id` as sent (number or text).
    `warnings` name what was read in a way of our own choosing (an unknown code value read
    as the reference connector reads it): the record is delivered, the warnings reported.

    A record decoded in the decode worker process (connector.importing.decoding) arrives
    without its model (`decoded` None) but with what the sink prepared from it there
    (`prepared`: the sink's preparer and its result); its model is decoded again from `raw`
    only if something asks for it.
    """

    stream: str
    queue_id: int
    unique_id: str
    decoded: Model | None = field(default=None, compare=False, repr=False)
    raw: bytes | None = field(default=None, compare=False, repr=False)
    sent_id: Any = field(default=None, compare=False, repr=False)
    sent_unique_id: Any = field(default=None, compare=False, repr=False)
    payload_dict: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    prepared: tuple[Any, Any] | None = field(default=None, compare=False, repr=False)
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def decoded_elsewhere(cls, stream: str, queue_id: int, unique_id: str, raw: bytes,
                          sent_id: Any, sent_unique_id: Any, guid: str | None,
                          prepared: tuple[Any, Any] | None,
                          warnings: tuple[str, ...] = ()) -> InboundRecord:
        """A record another process decoded (from `raw`, which is kept) and found valid."""
        rec = cls(stream=stream, queue_id=queue_id, unique_id=unique_id, raw=raw,
                  sent_id=sent_id, sent_unique_id=sent_unique_id, prepared=prepared,
                  warnings=warnings)
        rec.__dict__["guid"] = guid  # what the cached property would compute from the model
        return rec

    @property
    def model(self) -> Model:
        m = self.decoded
        if m is None:
            m = decode_raw(self.stream, self.raw or b"{}").model
            object.__setattr__(self, "decoded", m)
        return m

    @property
    def payload(self) -> dict[str, Any]:
        """The item as received, as a dict (decoded from `raw` on first use)."""
        p = self.payload_dict
        if p is None:
            p = _plain_json(self.raw or b"{}")
            object.__setattr__(self, "payload_dict", p)
        return p

    def payload_json(self) -> str:
        """The item as received, as JSON text."""
        return self.payload_bytes().decode("utf-8")

    def payload_bytes(self) -> bytes:
        """The item as received, as JSON text encoded in UTF-8 (what the journal stores)."""
        return self.raw if self.raw is not None else _ENCODE(self.payload)

    @cached_property
    def key(self) -> str:
        return f"{self.stream}/{self.unique_id}"

    @cached_property
    def guid(self) -> str | None:
        """Orders: the device's guid_test_ord, a second identity (a re-queued order with a
        new unique_id but the same guid is the same order)."""
        model = self.model
        if isinstance(model, Order) and model.guid_test_ord:
            return model.guid_test_ord.strip().lower() or None
        return None


_plain_json = msgspec.json.Decoder().decode
_ENCODE = msgspec.json.Encoder().encode


# ---------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------
_NET_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_OFFSETS: dict[str, timezone] = {}  # "+0100" -> its timezone: a handful, built once each
_SLASH_DATE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_from_iso = datetime.fromisoformat


def parse_wire_datetime(value: Any, field_name: str = "date") -> datetime | None:
    """A date as AppManager may send it; None for null or "". RecordError otherwise."""
    # The two common forms first, without the checks below (this runs for every date of
    # every row): ISO 8601 as sent (Python 3.11 reads "Z" too), and .NET /Date(ms±hhmm)/.
    if type(value) is str and value:
        if "0" <= value[0] <= "9":
            try:
                return _from_iso(value)
            except ValueError:
                pass
        elif value[0] == "/":
            m = _NET_DATE.match(value)
            if m:
                return _net_date(m, value, field_name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field_name}: expected a date string, got {value!r}", field=field_name)
    text = value.strip()
    if not text:
        return None
    m = _NET_DATE.match(text)
    if m:
        return _net_date(m, value, field_name)
    m = _SLASH_DATE.match(text)
    if m:
        parts = [int(p) if p else 0 for p in m.groups()]
        try:
            return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
        except ValueError:
            raise RecordError(f"{field_name}: not a valid date: {value!r}",
                              field=field_name) from None
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    # .NET writes up to 7 fractional digits; Python's parser may want at most 6.
    m2 = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", iso)
    if m2:
        try:
            return datetime.fromisoformat(f"{m2.group(1)}.{m2.group(2)[:6].ljust(6, '0')}"
                                          f"{m2.group(3)}")
        except ValueError:
            pass
    raise RecordError(f"{field_name}: not a date in a known form (ISO 8601, /Date(ms)/): "
                      f"{value!r}", field=field_name)


def _net_date(m: re.Match[str], value: str, field_name: str) -> datetime:
    """/Date(ms)/ or /Date(ms±hhmm)/: milliseconds since 1970 (UTC), shown in that offset.
    The epoch plus a timedelta: exact to the millisecond, and no platform limit on dates
    before 1970 (Windows has one for fromtimestamp)."""
    offset = m.group(2)
    try:
        tz = _OFFSETS.get(offset) if offset else UTC
        if tz is None:
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[3:5])
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))  # under 24 h
            if len(_OFFSETS) < 256:
                _OFFSETS[offset] = tz
        return (_EPOCH + timedelta(milliseconds=int(m.group(1)))).astimezone(tz)
    except (OverflowError, ValueError):
        raise RecordError(f"{field_name}: date out of range: {value!r}",
                          field=field_name) from None


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: expected text, got {value!r}", field=name)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal) and value.is_finite():  # a number, read exactly (decode_raw)
        return str(int(value)) if value == value.to_integral_value() else str(value)
    raise RecordError(f"{name}: expected text, got {type(value).__name__}", field=name)


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: expected a number, got {value!r}", field=name)
    if isinstance(value, int | float):
        d = Decimal(str(value))
    elif isinstance(value, Decimal):  # a number, read exactly (decode_raw)
        d = value
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            raise RecordError(f"{name}: expected a number, got {value!r}", field=name) from None
    else:
        raise RecordError(f"{name}: expected a number, got {type(value).__name__}", field=name)
    if not d.is_finite():
        raise RecordError(f"{name}: expected a finite number, got {value!r}", field=name)
    return d


def _int(value: Any, name: str, required: bool = False) -> int | None:
    if value is None or value == "":
        if required:
            raise RecordError(f"{name}: missing", field=name)
        return None
    d = _decimal(value, name)
    if d is None or d != d.to_integral_value():
        raise RecordError(f"{name}: expected a whole number, got {value!r}", field=name)
    if d.adjusted() > 18:  # past 64 bits: int() of 9e487058 would take minutes
        raise RecordError(f"{name}: {d} is too large for a whole number", field=name)
    return int(d)


_TEXT, _DEC, _DATE, _INT, _SCALAR = range(5)
_PLANS: dict[type, list[tuple[str, int]]] = {}


def _plan(cls: type) -> list[tuple[str, int]]:
    """(field name, kind) for the plain fields of cls, computed once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        kinds = {str | None: _TEXT, str: _TEXT, Decimal | None: _DEC,
                 WireDateTime | None: _DATE, int | None: _INT, int: _INT,
                 WireScalar | None: _SCALAR}
        plan = [(f.name, kinds[f.type]) for f in msgspec.structs.fields(cls)
                if f.type in kinds]
        _PLANS[cls] = plan
    return plan


def _decode_fields(cls: type, item: dict[str, Any], prefix: str,
                   skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Decode the plain fields of `cls` whose wire name equals the field name."""
    fn = _DECODERS.get((cls, skip))
    if fn is None:
        fn = _DECODERS[(cls, skip)] = _compile_decoder(cls, skip)
    return fn(item, prefix)


_DECODERS: dict[tuple[type, frozenset[str]], Callable[[dict[str, Any], str], dict[str, Any]]] = {}


def _compile_decoder(cls: type, skip: frozenset[str]
                     ) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """The hot path of the import, as straight-line code generated once per class from its
    field list (names are dataclass field names, never input): the common value types are
    taken inline, anything else goes through the checking helpers, which name the field."""
    lines = ["def decode(item, prefix):", "    out = {}", "    get = item.get"]
    for name, kind in _plan(cls):
        if name in skip:
            continue
        n = repr(name)
        lines += [f"    v = get({n}, M)", "    if v is not M:"]
        if kind == _TEXT:
            lines.append(f"        out[{n}] = v if v is None or type(v) is str "
                         f"else _text(v, prefix + {n})")
        elif kind == _DEC:
            lines += ["        t = type(v)",
                      f"        if v is None: out[{n}] = None",
                      "        elif t is float or t is int:",
                      "            d = NUM.get((t, v))",
                      f"            out[{n}] = d if d is not None else _dec_number(v, prefix + {n})",
                      f"        else: out[{n}] = _decimal(v, prefix + {n})"]
        elif kind == _DATE:
            lines.append(f"        out[{n}] = None if v is None "
                         f"else parse_wire_datetime(v, prefix + {n})")
        elif kind == _SCALAR:
            lines.append(f"        out[{n}] = v if v is None or type(v) is str or type(v) is int "
                         f"else _scalar(v, prefix + {n})")
        else:
            lines.append(f"        out[{n}] = v if v is None or type(v) is int "
                         f"else _int(v, prefix + {n})")
    lines.append("    return out")
    namespace: dict[str, Any] = {"M": _MISSING, "NUM": _NUMBERS, "_dec_number": _dec_number,
                                 "_text": _text, "_scalar": _scalar,
                                 "_decimal": _decimal, "_int": _int,
                                 "parse_wire_datetime": parse_wire_datetime}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from our own field list
    fn: Callable[[dict[str, Any], str], dict[str, Any]] = namespace["decode"]
    return fn


_MISSING = object()
# Decimals of the numbers seen lately (prices, quantities and discounts repeat a lot):
# a lookup is several times cheaper than building a Decimal. Keyed by type, so 1 and 1.0
# stay distinct ("1" and "1.0").
_NUMBERS: dict[tuple[type, int | float], Decimal] = {}


def _dec_number(value: int | float, where: str) -> Decimal:
    d = _decimal(value, where)
    assert d is not None
    if len(_NUMBERS) >= 8192:
        _NUMBERS.clear()
    _NUMBERS[(type(value), value)] = d
    return d


def _scalar(value: Any, name: str) -> str | int:
    """A value kept as sent (text or a whole number): a flag sent as true/false is 1/0,
    another number its text; only an object or a list is refused."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | str):
        return value
    if isinstance(value, float | Decimal):
        d = Decimal(str(value)) if isinstance(value, float) else value
        if d.is_finite() and d == d.to_integral_value():
            return int(d)
        return str(value)
    raise RecordError(f"{name}: expected text or a number, got {type(value).__name__}",
                      field=name)


def _require_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{where}: expected an object, got {type(value).__name__}", field=where)
    return value


def _list(item: dict[str, Any], name: str, where: str) -> list[Any]:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{where}: expected a list, got {type(value).__name__}", field=where)
    return value


# Pass-through -----------------------------------------------------------------------------
# The connector's own markers on the items of the legacy route (source, file, line): they
# have columns of their own in the SQL sink and are not the agents' data.
_INTERNAL_KEYS = frozenset({"_source", "_source_ref", "_line"})
_WIRE_NAMES: dict[type, frozenset[str]] = {}


def _wire_names(cls: type) -> frozenset[str]:
    """The item keys `cls` reads: its fields' wire names (righe, dettagli, clienti for the
    lists). The interpreted fields (kind, rows, uom, ...) count too: a key of that name is
    taken for ours, not passed through (AppManager sends none)."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = frozenset(f.encode_name for f in msgspec.structs.fields(cls)
                          if f.name != "extra") | _INTERNAL_KEYS
        _WIRE_NAMES[cls] = names
    return names


def _extras(cls: type, item: dict[str, Any], prefix: str = "") -> dict[str, Any] | UnsetType:
    """The keys of `item` that `cls` does not read, with their values as sent; UNSET when
    there is none."""
    names = _wire_names(cls)
    extra = {k: _plain(v, prefix + k) for k, v in item.items() if k not in names}
    return extra or UNSET


# Deeper than this, a value passed through is taken for a poison item, not agents' data.
MAX_DEPTH = 64


def _plain(value: Any, where: str, depth: int = 0) -> Any:
    """A JSON value as sent: numbers the checking path read exactly (Decimal) become JSON
    numbers again, so a passed-through number stays a number. RecordError when nested
    deeper than MAX_DEPTH."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise RecordError(f"{where}: nested more than {MAX_DEPTH} levels deep", field=where)
        if isinstance(value, dict):
            return {k: _plain(v, where, depth + 1) for k, v in value.items()}
        return [_plain(v, where, depth + 1) for v in value]
    return value


def _carries(value: Any, depth: int = 0) -> bool:
    """Does this value carry anything (a clienti entry of nulls and blanks does not)?
    (Called on values _plain has bounded already.)"""
    if value is None or value == "":
        return False
    if isinstance(value, dict | list) and depth < MAX_DEPTH:
        values = value.values() if isinstance(value, dict) else value
        return any(_carries(v, depth + 1) for v in values)
    return True


# Fallback identity ------------------------------------------------------------------------
# What is not part of a record's identity: the queue id (new when AppManager queues it
# again), unique_id (missing, which is why we are here), data_import (the time it entered
# the export queue: the lastDateImport filter works on it, so a re-queued record gets a
# new one) and our own markers.
_NOT_IDENTITY = frozenset({"id", "unique_id", "data_import"}) | _INTERNAL_KEYS
_canonical = msgspec.json.Encoder(order="sorted").encode
FALLBACK_PREFIX = "fp-"


def fallback_identity(item: dict[str, Any]) -> str:
    """The identity of a record sent without unique_id: `fp-` and the first 32 hex digits
    of the SHA-256 of its content (every key but id, unique_id and data_import, as JSON with
    the keys sorted, numbers as numbers). The same record queued again under a new queue
    id gets the same identity, so it lands once."""
    # The lists of an order (rows, their details) nest 4 levels below its fields.
    content = {k: _plain(v, k, -4) for k, v in item.items() if k not in _NOT_IDENTITY}
    return FALLBACK_PREFIX + hashlib.sha256(_canonical(content)).hexdigest()[:32]


# Code values --------------------------------------------------------------------------------
_ROW_SKIP = frozenset({"details", "is_descriptive", "free_goods", "uom"})
_SMALL_CODES = {str(i): i for i in range(10)}
_ROW_TYPES = frozenset({"", "0", "2"})  # article, article, descriptive


def _code_of(value: str | None, default: int) -> int | None:
    """A small numeric code as text ("2", " 02", "2.0"); the default when blank, None when
    it is not a whole number."""
    if value is None or not value.strip():
        return default
    n = _SMALL_CODES.get(value.strip())
    if n is not None:
        return n
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        return None
    return int(d) if d.is_finite() and d == d.to_integral_value() else None


def _row_codes(tipo_riga: str | None, omag: str | None, tipo_um: str | None, where: str,
               warnings: list[str]) -> tuple[bool, str, str]:
    """(descriptive, free goods, unit) of a row as the reference connector reads its codes
    (appmanager-api.md §2.10; BEIEIBUS.vb GeneraOrdineAPI): row type 2 is descriptive,
    anything else an article; an unknown free-goods type is a normal row, an unknown unit
    type the primary unit. An unknown value is read that way with a warning, never
    refused. A descriptive row's unit type 0 is no unit at all: no warning."""
    t = (tipo_riga or "").strip()
    descriptive = t == "2"
    if t not in _ROW_TYPES:
        warnings.append(f"{where}.ext_cod_tipo_riga_ord: unknown row type {tipo_riga!r}, "
                        "read as an article row (only 2 is descriptive)")
    code = _code_of(omag, 0)
    free_goods = FREE_GOODS.get(code) if code is not None else None
    if free_goods is None:
        warnings.append(f"{where}.ext_cod_tipo_riga_omag: unknown free-goods type {omag!r}, "
                        "read as a normal row (0)")
        free_goods = "normal"
    code = _code_of(tipo_um, 1)
    uom = UOM_TYPES.get(code) if code is not None else None
    if uom is None:
        if not (descriptive and code == 0):
            warnings.append(f"{where}.tipo_um: unknown unit-of-measure type {tipo_um!r}, "
                            "read as 1 (the primary unit)")
        uom = "primary"
    return descriptive, free_goods, uom


# The checking decoder ---------------------------------------------------------------------
def _decode_row(item: Any, where: str, warnings: list[str]) -> OrderRow:
    row = _require_dict(item, where)
    prefix = where + "."
    kw = _decode_fields(OrderRow, row, prefix, skip=_ROW_SKIP)
    raw_details = row.get("dettagli")
    details: tuple[RowDetail, ...] = ()
    if raw_details:
        details = tuple(_decode_detail(d, f"{where}.dettagli[{j}]")
                        for j, d in enumerate(_list(row, "dettagli", f"{where}.dettagli")))
    descriptive, free_goods, uom = _row_codes(kw.get("ext_cod_tipo_riga_ord"),
                                              kw.get("ext_cod_tipo_riga_omag"),
                                              kw.get("tipo_um"), where, warnings)
    return OrderRow(**kw, details=details, is_descriptive=descriptive, free_goods=free_goods,
                    uom=uom, extra=_extras(OrderRow, row, prefix))


def _decode_detail(item: Any, where: str) -> RowDetail:
    d = _require_dict(item, where)
    return RowDetail(**_decode_fields(RowDetail, d, where + "."),
                     extra=_extras(RowDetail, d, where + "."))


def order_kind(ext_cod_tipo_ord: str | None) -> Literal["order", "offer"]:
    """§2.10: offer codes are CLI-MOBPRE, CLI-IGAMMAPRE, P, Q; anything else is an order."""
    return "offer" if (ext_cod_tipo_ord or "").strip().upper() in OFFER_TYPES else "order"


def _decode_order(item: dict[str, Any], base: dict[str, Any], warnings: list[str]) -> Order:
    kw = _decode_fields(Order, item, "", skip=frozenset(
        {"id", "unique_id", "kind", "new_customer", "rows", "delivery_date"}))
    rows = tuple(_decode_row(r, f"righe[{i}]", warnings)
                 for i, r in enumerate(_list(item, "righe", "righe")))
    extra = _extras(Order, item)
    new_customer: NewCustomer | None = None
    unused: Any = None
    if not (kw.get("cod_clifor") or "").strip():
        clienti = _list(item, "clienti", "clienti")
        if clienti:
            first = _require_dict(clienti[0], "clienti[0]")
            new_customer = NewCustomer(**_decode_fields(NewCustomer, first, "clienti[0]."),
                                       extra=_extras(NewCustomer, first, "clienti[0]."))
            unused = clienti[1:]
    else:  # a known customer: the clienti sent are not a new customer, but kept
        unused = item.get("clienti")
    if _carries(unused):
        extra = {**(extra or {}), "clienti": _plain(unused, "clienti")}
    return Order(**base, **kw, kind=order_kind(kw.get("ext_cod_tipo_ord")),
                 new_customer=new_customer, rows=rows,
                 delivery_date=delivery_date_of(rows, kw.get("data_consegna")), extra=extra)


def decode_record(stream: str, item: Any) -> InboundRecord:
    """Decode one queue item of `stream`. RecordError (naming the field) when malformed."""
    data = _require_dict(item, "item") if stream in STREAM_MODELS else item
    queue_id, unique_id, model, warnings = _decode_model(stream, data)
    return InboundRecord(stream=stream, queue_id=queue_id, unique_id=unique_id, decoded=model,
                         sent_id=data.get("id"), sent_unique_id=data.get("unique_id"),
                         payload_dict=data, warnings=warnings)


def _decode_model(stream: str, item: Any) -> tuple[int, str, Model, tuple[str, ...]]:
    """The checking decoder: (queue id, unique_id, model, warnings), or RecordError naming
    the field."""
    cls = STREAM_MODELS.get(stream)
    if cls is None:
        raise ValueError(f"unknown stream {stream!r}")
    data = _require_dict(item, "item")
    queue_id = _int(data.get("id"), "id", required=True)
    assert queue_id is not None
    warnings: list[str] = []
    unique_id = (_text(data.get("unique_id"), "unique_id") or "").strip()
    base = {"id": queue_id, "unique_id": unique_id}
    model: Model
    if cls is Order:
        model = _decode_order(data, base, warnings)
    else:
        kw = _decode_fields(cls, data, "", skip=frozenset({"id", "unique_id", "state"}))
        if cls is Activity:
            stato = (kw.get("cod_stato") or "").strip().upper()
            kw["state"] = ACTIVITY_STATES.get(stato, "unknown")
        model = cls(**base, **kw, extra=_extras(cls, data))
    if not unique_id:  # after the fields (a bad one is named first)
        unique_id = fallback_identity(data)
        force_setattr(model, "unique_id", unique_id)
        warnings.insert(0, f"unique_id: missing, the record's identity is derived from its "
                           f"content: {unique_id}")
    return queue_id, unique_id, model, tuple(warnings)


# The fast decoder ------------------------------------------------------------------------
def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is WireDateTime:
        return parse_wire_datetime(obj)  # RecordError: decode_raw takes the checking path
    raise NotImplementedError(f"no wire decoding for {tp!r}")


_FAST: dict[str, msgspec.json.Decoder[Any]] = {
    stream: msgspec.json.Decoder(cls, dec_hook=_dec_hook) for stream, cls in STREAM_MODELS.items()}
# The checking path reads numbers exactly too (as the fast one does), not through float.
_exact_json = msgspec.json.Decoder(float_hook=Decimal).decode
# A text that Decimal() reads as NaN or infinity, which msgspec would take for a number
# field sent as text: such items take the checking path, which refuses non-finite numbers.
# Matched loosely (any non-ASCII or escaped character counts as the blank Decimal() strips),
# and an ASCII letter written as a \u escape sends the item to the checking path too: a
# false alarm costs speed, never a result.
_BLANK = rb'(?:\s|\\[bfnrt/]|\\u[0-9a-fA-F]{4}|[\x80-\xff])*'
_NONFINITE = re.compile(rb'"' + _BLANK + rb'[+-]?(?:inf(?:inity)?|s?nan[0-9]*)' + _BLANK + rb'"',
                        re.IGNORECASE)
_ESCAPED_LETTER = re.compile(rb'\\u00[4-7]')
_NAN, _INF, _ESCAPE = re.compile(b"nan"), re.compile(b"inf"), re.compile(rb"\\u00")  # faster than `in`


def _maybe_nonfinite(raw: bytes) -> bool:
    low = raw.lower()
    return bool(((_NAN.search(low) or _INF.search(low)) and _NONFINITE.search(raw))
                or (_ESCAPE.search(raw) and _ESCAPED_LETTER.search(raw)))


def decode_raw(stream: str, raw: bytes) -> InboundRecord:
    """Decode one queue item of `stream` from its JSON text (kept as the record's payload).

    msgspec decodes it straight into the model; what it cannot take as is (including a
    field the model does not know, which the checking decoder keeps in `extra`) goes
    through the checking decoder (`decode_record`'s), with the same result or a
    RecordError naming the field."""
    dec = _FAST.get(stream)
    if dec is None:
        raise ValueError(f"unknown stream {stream!r}")
    if not raw.isascii():  # the text is journaled as is: it must be UTF-8 throughout
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(f"item: not UTF-8 text (byte {exc.start} of the item)",
                              field="item") from None
    if not _maybe_nonfinite(raw):
        try:
            model = dec.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError, RecordError):
            pass
        else:
            rec = _finish(stream, model, raw)
            if rec is not None:
                return rec
    try:
        item = _exact_json(raw)
    except msgspec.DecodeError:
        raise RecordError("item: not valid JSON", field="item") from None
    queue_id, unique_id, model, warnings = _decode_model(stream, item)
    plain = _plain_json(raw)
    return InboundRecord(stream=stream, queue_id=queue_id, unique_id=unique_id, decoded=model,
                         raw=raw, sent_id=plain.get("id"), sent_unique_id=plain.get("unique_id"),
                         payload_dict=plain, warnings=warnings)


def _finish(stream: str, model: Any, raw: bytes) -> InboundRecord | None:
    """Complete a model msgspec decoded as the checking decoder would: unique_id as text,
    interpreted codes, rows and the new customer moved from their wire lists. None when
    something needs the checking decoder (which also names the field of an error)."""
    sent = model.unique_id
    uid = (sent if type(sent) is str else str(sent)).strip()
    if not uid or model.extra is not UNSET:  # a key "extra" sent: passed through there
        return None
    warnings: tuple[str, ...] = ()
    if type(model) is Order:
        finished = _finish_order(model)
        if finished is None:
            return None
        warnings = finished
    elif type(model) is Activity:
        stato = model.cod_stato
        force_setattr(model, "state",
                      ACTIVITY_STATES.get(stato.strip().upper(), "unknown") if stato else "unknown")
    if uid is not sent:
        force_setattr(model, "unique_id", uid)
    return InboundRecord(stream=stream, queue_id=model.id, unique_id=uid, decoded=model, raw=raw,
                         sent_id=model.id, sent_unique_id=sent, warnings=warnings)


_CUSTOMER_FIELDS = tuple(f for f in NewCustomer.__struct_fields__ if f != "extra")


def _finish_order(o: Order) -> tuple[str, ...] | None:
    """The rest of an order's decoding: its warnings, or None for the checking path."""
    rows = o._righe
    if not rows:
        rows = ()
    assert isinstance(rows, tuple)
    warnings: list[str] = []
    for i, r in enumerate(rows):
        if r.extra is not UNSET:
            return None
        details = r._dettagli
        if not details:
            details = ()
        for d in details:
            if d.extra is not UNSET:
                return None
        v = r.ext_cod_tipo_riga_omag
        code = _SMALL_CODES.get(v.strip()) if v else 0
        free_goods = FREE_GOODS.get(code) if code is not None else None
        v = r.tipo_um
        code = _SMALL_CODES.get(v.strip()) if v else 1
        uom = UOM_TYPES.get(code) if code is not None else None
        v = r.ext_cod_tipo_riga_ord
        t = v.strip() if v else ""
        descriptive = t == "2"
        if free_goods is None or uom is None or t not in _ROW_TYPES:  # the rule, with warnings
            descriptive, free_goods, uom = _row_codes(
                r.ext_cod_tipo_riga_ord, r.ext_cod_tipo_riga_omag, r.tipo_um, f"righe[{i}]",
                warnings)
        if r._dettagli is not UNSET:
            force_setattr(r, "_dettagli", UNSET)
        if r.details is not details:
            force_setattr(r, "details", details)
        if r.is_descriptive is not descriptive:
            force_setattr(r, "is_descriptive", descriptive)
        if r.free_goods is not free_goods:
            force_setattr(r, "free_goods", free_goods)
        if r.uom is not uom:
            force_setattr(r, "uom", uom)
    clienti = o._clienti
    new_customer = None
    if clienti:
        cod = o.cod_clifor
        unused = clienti if (cod.strip() if cod else "") else clienti[1:]
        for c in clienti:
            if c.extra is not UNSET:
                return None
        for c in unused:  # sent with a known customer, or after the first: kept in extra
            if any(getattr(c, f) not in (None, "") for f in _CUSTOMER_FIELDS):
                return None
        if unused is not clienti:
            new_customer = clienti[0]
    if o._righe is not UNSET:
        force_setattr(o, "_righe", UNSET)
    if o._clienti is not UNSET:
        force_setattr(o, "_clienti", UNSET)
    force_setattr(o, "new_customer", new_customer)
    force_setattr(o, "rows", rows)
    force_setattr(o, "kind", order_kind(o.ext_cod_tipo_ord))
    force_setattr(o, "delivery_date", delivery_date_of(rows, o.data_consegna))
    return tuple(warnings) if warnings else ()


def queue_id_of(item: Any) -> int | None:
    """The queue id of an item, if it has a readable one (for quarantining malformed items)."""
    if not isinstance(item, dict):
        return None
    try:
        return _int(item.get("id"), "id")
    except RecordError:
        return None


def to_jsonable(value: Any) -> Any:
    """A model (or part of one) as plain JSON values: decimals as strings, dates in ISO 8601
    (the same rendering as the files sink's JSON, which encodes with msgspec)."""
    return msgspec.to_builtins(value)
