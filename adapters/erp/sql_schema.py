"""The staging tables of the SQL sink, declared once on SQLAlchemy Core.

The ERP reads these tables; we only ever append. Each top-level record (an order
header, a customer change, a note, a lead, an activity) carries:

- `unique_id`: the record's stable identity, UNIQUE, so a replay cannot insert twice
  (orders also have a unique `guid_test_ord`);
- `erp_status` (0 = new, 1 = read by the ERP, 2 = the ERP found an error),
  `erp_read_at` and `erp_message`: the ERP sets them once it has read the row;
- `payload`: the whole record as JSON, as received.

Every table, order rows included, has `extra`: the fields AppManager sent for that part
of the record that this version does not know, as a JSON object (NULL when none).

Order rows, their size details and the new customer embedded in an order hang off
the header (`order_id`) and are written in the same transaction.

Columns added after the first release (ADDED_COLUMNS) are added to an existing
installation's tables by `connector db init` (ALTER TABLE ... ADD, nullable); until then
the sink writes the columns the tables have and logs once which are missing (their
values are in `payload` meanwhile).

Table and column names are configurable (`import.erp.sql.table_prefix`, `tables`,
`columns`): the logical names below stay the interface of this module, the physical
names are whatever the ERP's integrator wants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from connector.errors import ConfigError

# Column kinds: text with a maximum length, long text, decimal, date-time, integer.
S50, S255, TEXT, DEC, DT, INT, BIGINT, SMALL = "s50", "s255", "text", "dec", "dt", "int", "bigint", "small"
# A code of up to 50 characters that MySQL/MariaDB store as TEXT: the 30 colour and
# material codes of an order row as VARCHAR(50) would pass InnoDB's row size limit (8 KB).
S50_WIDE = "s50w"

LENGTHS = {S50: 50, S255: 255, S50_WIDE: 50}

_STATUS: list[tuple[str, str]] = [("erp_status", SMALL), ("erp_read_at", DT), ("erp_message", TEXT)]
_PROVENANCE: list[tuple[str, str]] = [
    ("queue_id", BIGINT),  # AppManager's queue id (`id`), informative only: it can repeat
    ("unique_id", "uid"),
    ("source", S50),  # api | legacy
    ("source_ref", S255),  # legacy: the file name it came from
    ("received_at", DT),  # when the connector wrote the row (UTC)
]

_ORDER_HEADER: list[tuple[str, str]] = [
    ("guid_test_ord", "guid"),
    ("cod_prog", S50), ("cod_ditta", S50), ("utente", S255), ("importatore", S255),
    ("cod_clifor", S50), ("cod_destinazione", S50), ("cod_agente", S50), ("cod_operatore", S50),
    ("cod_cliente_utente", S50),
    ("data_ordine", DT), ("data_consegna", DT), ("data_import", DT),
    ("cod_cond_pag", S50), ("cod_cond_pag_deperibilita", S50),
    ("cod_porto", S50), ("des_porto", S255), ("cod_mod_sped", S50), ("des_mod_sped", S255),
    ("cod_valuta", S50),
    *[(f"sconto_{i}", DEC) for i in range(1, 7)],
    ("ext_cod_tipo_ord", S50), ("cod_magazzino", S50), ("cod_serie_ordini", S50),
    ("num_doc_aggiunta", S50), ("nr_ord_orig", S50), ("cod_urgenza", INT), ("flg_aggiunta", INT),
    ("note", TEXT), ("des_note_fat", TEXT), ("des_note_cons", TEXT), ("des_note_gen", TEXT),
    ("payload", TEXT),
    # Added later (AMHelper 2014 and 2022 fields, pass-through):
    ("sconto", DEC), ("data_ritiro", S50), ("flg_ritiro", S50), ("pec_clifor", S255),
    ("cod_gg_consegna_clifor", S50), ("cod_tipo_cliente_clifor", S50),
    ("cod_zona_consegna_clifor", S50), ("cod_colore_estensione1", S50),
    ("cod_colore_estensione2", S50), ("cod_materiale_estensione1", S50),
    ("cod_materiale_estensione2", S50), ("extra", TEXT),
]

_ORDER_ROW: list[tuple[str, str]] = [
    ("order_id", "fk"), ("order_unique_id", S255), ("row_no", INT), ("row_queue_id", BIGINT),
    ("codice_articolo", S50), ("descrizione_riga", TEXT), ("note", TEXT),
    ("ext_cod_tipo_riga_ord", S50), ("ext_cod_tipo_riga_omag", S50), ("tipo_um", S50),
    ("cod_um_1", S50), ("cod_um_2", S50), ("fattore_conversione", DEC),
    ("qta", DEC), ("qta_2", DEC), ("codice_confezione", S50), ("qta_confezione", DEC),
    ("prezzo", DEC), ("prezzo_2", DEC),
    *[(f"sconto_{i}", DEC) for i in range(1, 7)],
    ("sconto_importo", DEC), ("mag_perc_1", DEC), ("mag_perc_2", DEC), ("mag_importo", DEC),
    ("data_consegna_riga", DT), ("cod_combinazione", S50), ("cod_catalogo", S50),
    ("cod_tipo_fattura", S50),
    # Added later: colour and material per row, pass-through.
    *[(f"{kind}{i}", S50_WIDE) for i in range(1, 16) for kind in ("cod_materiale", "cod_colore")],
    ("extra", TEXT),
]

_ORDER_ROW_DETAIL: list[tuple[str, str]] = [
    ("order_id", "fk"), ("order_unique_id", S255), ("row_no", INT), ("detail_no", INT),
    ("cod_assortimento", S50), ("cod_sviluppo", S50), ("cod_taglia", S50),
    ("cod_taglia_guida", S50), ("ext_cod_tipo_det_riga_ord", S50), ("qta", DEC),
    ("extra", TEXT),  # added later
]

_NEW_CUSTOMER: list[tuple[str, str]] = [
    ("order_id", "fk"), ("order_unique_id", "uid"),
    *[(name, S255) for name in (
        "ragione_sociale", "indirizzo", "cap", "cod_citta", "des_citta", "provincia", "cod_nazione",
        "des_nazione", "telefono1", "telefono2", "cellulare", "fax", "email", "partita_iva",
        "codice_fiscale", "iban")],
    ("note", TEXT),
    *[(name, S255) for name in (
        "cod_canale_vendita", "cod_categoria", "cod_classe_sconto", "cod_cond_pag", "des_cond_pag",
        "cod_porto_sped", "des_porto_sped", "ragione_sociale_consegna", "indirizzo_consegna",
        "cod_citta_consegna", "des_citta_consegna", "cap_consegna", "provincia_consegna",
        "cod_nazione_consegna", "des_nazione_consegna", "telefono_consegna", "cellulare_consegna",
        "fax_consegna", "cod_porto_consegna", "pec_clifor", "cod_gg_cons_clifor",
        "cod_tipo_cli_clifor")],
    ("telefono", S255), ("extra", TEXT),  # added later
]

_PARTY = [("cod_ditta", S50), ("cod_prog", S50), ("cod_agente", S50), ("cod_operatore", S50),
          ("utente", S255)]

_CUSTOMER_CHANGE: list[tuple[str, str]] = [
    ("cod_cliente", S50), ("tipo_clifor", S50), *_PARTY,
    *[(name, S255) for name in (
        "ragione_sociale", "indirizzo", "cap", "citta", "provincia", "telefono1", "telefono2",
        "cellulare", "fax", "email", "partita_iva", "codice_fiscale")],
    ("cod_cond_pag", S50), ("data_import", DT), ("payload", TEXT),
    ("extra", TEXT),  # added later
]

_CUSTOMER_NOTE: list[tuple[str, str]] = [
    ("cod_cliente", S50), ("tipo_clifor", S50), *_PARTY,
    ("progressivo", S50), ("tipo_nota", S255), ("nota", TEXT), ("data_import", DT),
    ("payload", TEXT),
    ("extra", TEXT),  # added later
]

_LEAD_PAIRS = ("campagna", "categoria", "canale_vendita", "concorrente", "modalita_acquisizione",
               "fonte", "interesse", "settore", "mansione")
_LEAD: list[tuple[str, str]] = [
    ("cod_lead", S50), *_PARTY, ("cod_agente_lead", S50),
    *[(name, S255) for name in (
        "descrizione1", "descrizione2", "nome", "cognome", "partita_iva", "codice_fiscale",
        "telefono", "cellulare", "email", "fax", "internet", "indirizzo", "cod_citta", "citta",
        "cap", "provincia", "cod_nazione", "nazione")],
    ("note", TEXT), ("fatturato", DEC), ("cod_valuta", S50),
    *[col for pair in _LEAD_PAIRS for col in ((f"cod_{pair}", S50), (pair, S255))],
    ("data_import", DT), ("payload", TEXT),
    # Added later. fatturato is text in AMHelper: `fatturato_text` holds it as sent,
    # `fatturato` its value when it reads as a number (else NULL).
    ("fatturato_text", S255), ("extra", TEXT),
]

_LEAD_NOTE: list[tuple[str, str]] = [
    ("cod_lead", S50), *_PARTY,
    ("progressivo", S50), ("tipo_nota", S255), ("nota", TEXT), ("data_import", DT),
    ("payload", TEXT),
    ("extra", TEXT),  # added later
]

_ACTIVITY: list[tuple[str, str]] = [
    ("cod_attivita", S50), ("cod_lead", S50), ("cod_tipo_attivita", S50), ("des_oggetto", S255),
    ("cod_ditta", S50), ("cod_operatore", S50), ("cod_agente", S50), ("utente", S255),
    ("cod_stato", S50), ("data_esecuzione", DT), ("ora_esecuzione", S50), ("des_note", TEXT),
    ("data_import", DT), ("payload", TEXT),
    ("des_note_attivita", TEXT), ("extra", TEXT),  # added later
]

# Logical table -> its own columns. Top-level tables get provenance and status columns.
TOP_LEVEL: dict[str, list[tuple[str, str]]] = {
    "orders": _ORDER_HEADER,
    "customer_changes": _CUSTOMER_CHANGE,
    "customer_notes": _CUSTOMER_NOTE,
    "leads": _LEAD,
    "lead_notes": _LEAD_NOTE,
    "activities": _ACTIVITY,
}
CHILDREN: dict[str, list[tuple[str, str]]] = {
    "order_rows": _ORDER_ROW,
    "order_row_details": _ORDER_ROW_DETAIL,
    "new_customers": _NEW_CUSTOMER,
}
LOGICAL_TABLES = (*TOP_LEVEL, *CHILDREN)

# (table, column) added after the first release: an installation made before has tables
# without them; `connector db init` adds them, the sink works without them meanwhile.
ADDED_COLUMNS: frozenset[tuple[str, str]] = frozenset(
    {("orders", c) for c in (
        "sconto", "data_ritiro", "flg_ritiro", "pec_clifor", "cod_gg_consegna_clifor",
        "cod_tipo_cliente_clifor", "cod_zona_consegna_clifor", "cod_colore_estensione1",
        "cod_colore_estensione2", "cod_materiale_estensione1", "cod_materiale_estensione2")}
    | {("order_rows", f"{kind}{i}") for i in range(1, 16)
       for kind in ("cod_materiale", "cod_colore")}
    | {("new_customers", "telefono"), ("leads", "fatturato_text"),
       ("activities", "des_note_attivita")}
    | {(t, "extra") for t in ("orders", "order_rows", "order_row_details", "new_customers",
                              "customer_changes", "customer_notes", "leads", "lead_notes",
                              "activities")})

# Stream (as the import pipeline names it) -> the top-level table it lands in.
STREAM_TABLES = {
    "orders": "orders",
    "customers": "customer_changes",
    "customer_notes": "customer_notes",
    "leads": "leads",
    "lead_notes": "lead_notes",
    "activities": "activities",
}

ERP_STATUS_NEW, ERP_STATUS_READ, ERP_STATUS_ERROR = 0, 1, 2


def _columns_of(logical: str) -> list[tuple[str, str]]:
    if logical in TOP_LEVEL:
        return [("id", "pk"), *_PROVENANCE, *TOP_LEVEL[logical], *_STATUS]
    return [("id", "pk"), *CHILDREN[logical]]


def _sa_type(kind: str) -> sa.types.TypeEngine[Any]:
    t: sa.types.TypeEngine[Any]
    if kind in (S50, S255):
        t = sa.Unicode(LENGTHS[kind])  # NVARCHAR on SQL Server, VARCHAR elsewhere
    elif kind == S50_WIDE:
        t = sa.Unicode(LENGTHS[kind]).with_variant(mysql.TEXT(), "mysql", "mariadb")
    elif kind in ("uid", "guid"):
        t = sa.Unicode(LENGTHS[S255] if kind == "uid" else 100)
    elif kind == TEXT:
        # MySQL's TEXT stops at 64 KiB: a big order's payload needs more.
        t = sa.UnicodeText().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
    elif kind == DEC:
        t = sa.Numeric(28, 8)
    elif kind == DT:
        t = sa.DateTime()
    elif kind == SMALL:
        t = sa.SmallInteger()
    elif kind == INT:
        t = sa.Integer()
    else:  # bigint, pk, fk
        t = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    return t


@dataclass(frozen=True)
class ColumnSpec:
    logical: str
    physical: str
    kind: str

    @property
    def max_length(self) -> int | None:
        if self.kind in LENGTHS:
            return LENGTHS[self.kind]
        return {"uid": 255, "guid": 100}.get(self.kind)


@dataclass(frozen=True)
class StagingSchema:
    """The MetaData plus the logical -> physical maps the sink needs."""

    metadata: sa.MetaData
    tables: dict[str, sa.Table]  # logical table -> Table
    columns: dict[str, dict[str, ColumnSpec]]  # logical table -> logical column -> spec

    def col(self, table: str, column: str) -> sa.Column[Any]:
        return self.tables[table].c[self.columns[table][column].physical]


def build_schema(table_prefix: str = "ic_", tables: Mapping[str, str] | None = None,
                 columns: Mapping[str, str] | None = None) -> StagingSchema:
    """Declare the staging tables with the configured names; ConfigError lists every bad key."""
    tables = dict(tables or {})
    columns = dict(columns or {})
    errors: list[str] = []
    for key in tables:
        if key not in LOGICAL_TABLES:
            errors.append(f"import.erp.sql.tables.{key}: unknown table; known: {', '.join(LOGICAL_TABLES)}")
    known_cols = {(t, c) for t in LOGICAL_TABLES for c, _ in _columns_of(t)}
    for key in columns:
        table, _, col = key.partition(".")
        if (table, col) not in known_cols:
            errors.append(f"import.erp.sql.columns.{key}: unknown column (write it as table.column, "
                          "e.g. orders.cod_clifor)")
    if errors:
        raise ConfigError(errors)

    md = sa.MetaData()
    out_tables: dict[str, sa.Table] = {}
    out_cols: dict[str, dict[str, ColumnSpec]] = {}
    physical_names: dict[str, str] = {}
    for logical in LOGICAL_TABLES:
        physical_names[logical] = tables.get(logical) or f"{table_prefix}{logical}"
    for logical in LOGICAL_TABLES:
        tname = physical_names[logical]
        specs = {c: ColumnSpec(c, columns.get(f"{logical}.{c}", c), kind) for c, kind in _columns_of(logical)}
        out_cols[logical] = specs
        cols: list[sa.Column[Any]] = []
        for spec in specs.values():
            cols.append(_column(spec, physical_names, out_cols))
        out_tables[logical] = sa.Table(tname, md, *cols, *_table_args(logical, tname, specs),
                                       mysql_charset="utf8mb4", mariadb_charset="utf8mb4")
    return StagingSchema(md, out_tables, out_cols)


def _column(spec: ColumnSpec, physical_tables: dict[str, str],
            specs: dict[str, dict[str, ColumnSpec]]) -> sa.Column[Any]:
    kind = spec.kind
    if kind == "pk":
        return sa.Column(spec.physical, _sa_type("pk"), primary_key=True, autoincrement=True)
    if kind == "fk":
        orders_id = specs["orders"]["id"].physical
        return sa.Column(spec.physical, _sa_type("fk"),
                         sa.ForeignKey(f"{physical_tables['orders']}.{orders_id}", ondelete="CASCADE"),
                         nullable=False)
    if kind == "uid":
        return sa.Column(spec.physical, _sa_type(kind), nullable=False)
    if spec.logical == "erp_status":
        return sa.Column(spec.physical, _sa_type(kind), nullable=False, default=ERP_STATUS_NEW,
                         server_default=sa.text(str(ERP_STATUS_NEW)))
    return sa.Column(spec.physical, _sa_type(kind), nullable=True)


def _table_args(logical: str, tname: str, specs: dict[str, ColumnSpec]) -> Iterable[Any]:
    if logical in TOP_LEVEL:
        yield sa.UniqueConstraint(specs["unique_id"].physical, name=f"uq_{tname}_uid"[:63])
        yield sa.Index(f"ix_{tname}_status"[:63], specs["erp_status"].physical)
    if logical == "orders":
        # A unique index that ignores NULLs on every engine (SQL Server needs the filter).
        guid: sa.ColumnClause[Any] = sa.column(specs["guid_test_ord"].physical)
        yield sa.Index(f"uq_{tname}_guid"[:63], specs["guid_test_ord"].physical, unique=True,
                       mssql_where=guid.isnot(None))
    if logical in ("order_rows", "order_row_details"):
        yield sa.Index(f"ix_{tname}_order"[:63], specs["order_id"].physical)
    if logical == "new_customers":
        yield sa.UniqueConstraint(specs["order_unique_id"].physical, name=f"uq_{tname}_order"[:63])


def ddl(schema: StagingSchema, dialect_name: str) -> str:
    """CREATE TABLE / CREATE INDEX statements for one dialect, as `connector db init --sql` prints."""
    url = {"sqlite": "sqlite://", "postgresql": "postgresql://", "mysql": "mysql://",
           "mariadb": "mariadb://", "mssql": "mssql://"}.get(dialect_name, f"{dialect_name}://")
    dialect_cls: Any = sa.engine.make_url(url).get_dialect()
    # SQL Server: NVARCHAR(max), not the deprecated NTEXT (decided at connect time otherwise).
    dialect = dialect_cls(deprecate_large_types=True) if dialect_name == "mssql" else dialect_cls()
    parts: list[str] = []
    for table in schema.metadata.sorted_tables:
        parts.append(str(sa.schema.CreateTable(table).compile(dialect=dialect)).strip() + ";")
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            parts.append(str(sa.schema.CreateIndex(index).compile(dialect=dialect)).strip() + ";")
    return "\n\n".join(parts) + "\n"
