"""Our records: what the agents entered on their iPads, as frozen structs (msgspec
`Struct`s: immutable, attribute access like dataclasses, decoded in C).

Field names follow the AppManager wire names (`cod_clifor`, `righe` -> `rows`), so an ERP
consultant can match them against ../shared/spec/appmanager-api.md §2. The model has every
field AMHelper's web-service classes define, across their history (WS/ws_rec_*.cs, 2014
to 2022: e.g. the 2014 header `sconto`, colour and material per row, the 2022 header
fields); a field it does not know is kept, as sent, in the `extra` of the part it came
with (the record, a row, a size detail, the new customer), so nothing an agent entered is
lost. Types follow the library (a lead's `fatturato` is text). The code values of §2.10
are interpreted into extra fields (`Order.kind`, `OrderRow.is_descriptive`,
`OrderRow.free_goods`, `OrderRow.uom`: connector.model.codes).

The fields every part shares are declared once, in the bases: `extra` (`_Model`) and a
queue record's `id` and `unique_id` (`_Queued`).
"""

from __future__ import annotations

import abc
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

if TYPE_CHECKING:
    WireDateTime = datetime
    WireId = str
    WireScalar = str | int
else:
    class WireDateTime(abc.ABC):  # noqa: B024 - a marker, not an interface
        """A datetime decoded through the fast decoder's hook (the wire forms of
        connector.model.wire.parse_wire_datetime)."""

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
    in `extra` (pass-through; UNSET, so not encoded, when there is none).

    `extra` is keyword-only, so it comes after every field of a subclass (msgspec orders
    keyword-only fields last): a record encodes as before, its fields in wire order."""

    extra: _Extra = UNSET  # fields sent that the model does not know, as sent


class _Queued(_Model, frozen=True):
    """A record of an export queue: its queue `id` (what lastID pages on) and its
    `unique_id`, the first fields of every stream's record."""

    id: int
    unique_id: WireId


class RowDetail(_Model, frozen=True):
    """A size/assortment detail of an order row (DettaglioRigaOrdineExport)."""

    cod_assortimento: str | None = None
    cod_sviluppo: str | None = None
    cod_taglia: str | None = None
    cod_taglia_guida: str | None = None
    ext_cod_tipo_det_riga_ord: str | None = None
    qta: Decimal | None = None


class OrderRow(_Model, frozen=True):
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
    _dettagli: _WireDetails = msgspec.field(default=UNSET, name="dettagli")

    @property
    def discounts(self) -> tuple[Decimal | None, ...]:
        return (self.sconto_1, self.sconto_2, self.sconto_3, self.sconto_4, self.sconto_5,
                self.sconto_6)


class NewCustomer(_Model, frozen=True):
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

    @property
    def has_delivery_address(self) -> bool:
        """Any *_consegna field set: the ERP adds a delivery destination too."""
        return any(getattr(self, name) for name in self.__struct_fields__
                   if name.endswith("_consegna"))


class Order(_Queued, frozen=True):
    """An order or an offer (TestataOrdineExport) with its rows."""

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


class CustomerChange(_Queued, frozen=True):
    """An edit to an existing ERP customer (TestataCf)."""

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


class CustomerNote(_Queued, frozen=True):
    """A customer note (TestataCfNote). progressivo "0": the main note; empty: a new note;
    other: numbered note to update (or create)."""

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

    @property
    def note_kind(self) -> Literal["main", "new", "numbered"]:
        if self.progressivo == "0":
            return "main"
        return "numbered" if self.progressivo else "new"


class Lead(_Queued, frozen=True):
    """A new lead (cod_lead empty) or an update to one (TestataLeadsExport)."""

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

    @property
    def is_new(self) -> bool:
        return not self.cod_lead


class LeadNote(_Queued, frozen=True):
    """A note on a lead (TestataLeadsNoteExport); always inserted."""

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


class Activity(_Queued, frozen=True):
    """A lead activity (TestataAttivita): new when cod_attivita is empty, else an update."""

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


def to_jsonable(value: Any) -> Any:
    """A model (or part of one) as plain JSON values: decimals as strings, dates in ISO 8601
    (the same rendering as the files sink's JSON, which encodes with msgspec)."""
    return msgspec.to_builtins(value)
