"""The SQL sink: each inbound record becomes rows in the ERP's staging tables.

One transaction per record: an order's header, rows, size details and new customer
land together or not at all. The record's `unique_id` (and, for orders, the device's
`guid_test_ord`) is UNIQUE in the header table, so writing a record twice is a no-op
that reports `duplicate=True` - whether the second write comes from a replay, a
re-queued record or a crash between this write and the journal.

Errors are classified once, here: a lost connection, a lock timeout or a missing
table is a TransientError (the record waits and is tried again); a value the table
cannot hold (too long, out of range, a broken constraint) is a PermanentError naming
the table, column and reason (the record goes to the dead letter).

Fields the model does not know go, as JSON, into the `extra` column of the table of the
part they came with (header, row, size detail, new customer). Tables made by an earlier
version lack the columns added since (sql_schema.ADDED_COLUMNS): `create_tables` (`connector
db init`) adds them; until then the sink writes the columns the tables have, logs once
which are missing, and their values stay in `payload`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import exc as sa_exc

from adapters.erp.sql_schema import (
    ADDED_COLUMNS,
    BIGINT,
    DEC,
    DT,
    INT,
    SMALL,
    STREAM_TABLES,
    ColumnSpec,
    StagingSchema,
    build_schema,
    ddl,
)
from connector.errors import ConfigError, PermanentError, TransientError
from connector.model import InboundRecord
from connector.ports import ErpRef

log = structlog.get_logger(__name__)

# Columns the sink fills itself, not from the record's model or payload.
_OWN = frozenset({"id", "queue_id", "unique_id", "source", "source_ref", "received_at", "payload",
                  "erp_status", "erp_read_at", "erp_message", "order_id", "order_unique_id",
                  "row_no", "row_queue_id", "detail_no", "extra", "fatturato_text"})
_MAX_DECIMAL = Decimal(10) ** 20  # NUMERIC(28, 8): 20 digits before the point
# MySQL/MariaDB error numbers that are about the value, not the connection.
_MYSQL_DATA_ERRORS = {1048, 1264, 1265, 1292, 1366, 1406, 3819, 4025}


@dataclass(frozen=True)
class SqlSinkSettings:
    """What the SQL sink is given (connector/app.py makes it of import.erp.sql, the URL
    read from the environment variable url_env names when set)."""

    url: str
    table_prefix: str = "ic_"
    tables: dict[str, str] = field(default_factory=dict)  # logical name -> table name
    columns: dict[str, str] = field(default_factory=dict)  # "table.column" -> column name


def make_engine(url: str) -> sa.Engine:
    """An engine with the settings a staging writer wants on each backend."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL: the ERP can read while we write; FULL: a committed row survives power loss,
            # because the journal calls the record delivered as soon as we return.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_recycle=1800)

class SqlSink:
    """ErpSink writing to staging tables (SQLite, PostgreSQL, MariaDB/MySQL, SQL Server)."""

    name = "sql"

    def __init__(self, settings: SqlSinkSettings, *, engine: sa.Engine | None = None) -> None:
        self.settings = settings
        self.schema: StagingSchema = build_schema(settings.table_prefix, settings.tables,
                                                  settings.columns)
        self._url = engine.url.render_as_string(hide_password=True) if engine else None
        self._engine = engine
        self._lock = threading.Lock()
        self._tables_checked = False
        # Per logical table, the physical columns it lacks (tables of an earlier version);
        # rechecked now and then until db init has added them.
        self._missing: dict[str, frozenset[str]] = {}
        self._missing_checked_at = 0.0
        self.added_columns: list[str] = []  # by the last create_tables: "table.column"
        # Statements built once: per record only the parameters change.
        sc = self.schema
        self._insert = {name: table.insert() for name, table in sc.tables.items()}
        self._by_uid = {name: sa.select(sc.col(name, "id"))
                        .where(sc.col(name, "unique_id") == sa.bindparam("uid")).limit(1)
                        for name in STREAM_TABLES.values()}
        self._by_uid_or_guid = (sa.select(sc.col("orders", "id"))
                                .where(sa.or_(sc.col("orders", "unique_id") == sa.bindparam("uid"),
                                              sc.col("orders", "guid_test_ord") == sa.bindparam("guid")))
                                .limit(1))

    # Lifecycle ---------------------------------------------------------------------------
    @property
    def engine(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = make_engine(self.settings.url)
                except (sa_exc.ArgumentError, ImportError) as exc:
                    raise ConfigError([f"import.erp.sql.url: {exc}"]) from None
                self._url = self._engine.url.render_as_string(hide_password=True)
            return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def create_tables(self) -> list[str]:
        """CREATE what is missing (idempotent), and ADD to existing tables the columns a
        later version added (`added_columns` lists them); returns the tables' physical
        names."""
        self.added_columns = []
        try:
            self.schema.metadata.create_all(self.engine, checkfirst=True)
            self.added_columns = self._add_missing_columns()
        except sa_exc.SQLAlchemyError as exc:
            raise _classify(exc, "creating the staging tables") from None
        self._tables_checked = False  # checked again (columns included) at the next write
        return [t.name for t in self.schema.metadata.sorted_tables]

    def _add_missing_columns(self) -> list[str]:
        """ALTER TABLE ... ADD each column of ours an existing table lacks (all nullable,
        without default: quick on every engine, and the ERP's rows stay as they are)."""
        engine = self.engine
        dialect = engine.dialect
        quote = dialect.identifier_preparer
        added: list[str] = []
        missing = self._missing_columns(sa.inspect(engine))
        with engine.begin() as conn:
            for logical, names in missing.items():
                table = self.schema.tables[logical]
                for column in table.columns:
                    if column.name.lower() not in names:
                        continue
                    col_type = column.type.compile(dialect=dialect)
                    add = "ADD" if dialect.name == "mssql" else "ADD COLUMN"
                    conn.execute(sa.text(f"ALTER TABLE {quote.format_table(table)} {add} "
                                         f"{quote.quote(column.name)} {col_type}"))
                    added.append(f"{table.name}.{column.name}")
        if added:
            log.info("staging tables: columns added", columns=added)
        self._missing = {}
        return added

    def _missing_columns(self, inspector: Any) -> dict[str, frozenset[str]]:
        """Per logical table that exists, the (lower-cased) physical names of the columns
        it lacks."""
        out: dict[str, frozenset[str]] = {}
        for logical, table in self.schema.tables.items():
            if not inspector.has_table(table.name):
                continue
            present = {c["name"].lower() for c in inspector.get_columns(table.name)}
            lacking = frozenset(c.name.lower() for c in table.columns
                                if c.name.lower() not in present)
            if lacking:
                out[logical] = lacking
        return out

    def drop_tables(self) -> None:
        """For tests and benchmarks only."""
        self.schema.metadata.drop_all(self.engine, checkfirst=True)

    def ddl(self, dialect: str | None = None) -> str:
        name = dialect or sa.engine.make_url(self.settings.url).get_backend_name()
        return ddl(self.schema, name)

    def _check_tables(self) -> None:
        if self._tables_checked:
            if self._missing and time.monotonic() - self._missing_checked_at > _RECHECK_SECONDS:
                self._tables_checked = False  # has db init added them meanwhile?
            else:
                return
        try:
            inspector = sa.inspect(self.engine)
            missing = [t.name for t in self.schema.metadata.sorted_tables
                       if not inspector.has_table(t.name)]
            lacking = {} if missing else self._missing_columns(inspector)
        except sa_exc.SQLAlchemyError as exc:
            raise _classify(exc, "checking the staging tables") from None
        if missing:
            raise TransientError(f"staging tables missing in {self._url}: {', '.join(missing)}; "
                                 "run `connector db init`", missing=missing)
        if lacking and lacking != self._missing:
            later = {(t, c) for t, c in ADDED_COLUMNS}
            names = sorted(f"{self.schema.tables[t].name}.{c}" for t, cols in lacking.items()
                           for c in cols)
            known = all((t, self._logical_column(t, c)) in later
                        for t, cols in lacking.items() for c in cols)
            log.warning("staging tables lack columns: written without them (their values "
                        "are in payload) until `connector db init` adds them",
                        columns=names, from_an_earlier_version=known)
        self._missing = lacking
        self._missing_checked_at = time.monotonic()
        self._tables_checked = True

    def _logical_column(self, table: str, physical_lower: str) -> str:
        for logical, spec in self.schema.columns[table].items():
            if spec.physical.lower() == physical_lower:
                return logical
        return physical_lower

    # Writing -----------------------------------------------------------------------------
    def write(self, record: InboundRecord) -> ErpRef:
        logical = STREAM_TABLES.get(record.stream)
        if logical is None:
            raise PermanentError(f"{record.key}: the SQL sink has no table for stream {record.stream!r}")
        self._check_tables()
        header, children = self._values(record, logical)  # PermanentError on bad values, before any I/O
        if self._missing:
            header, children = self._without_missing(logical, header, children)
        table = self.schema.tables[logical]
        try:
            with self.engine.begin() as conn:
                found = self._existing(conn, logical, record)
                if found is not None:
                    return ErpRef(sink=self.name, ref=f"{table.name}#{found}", duplicate=True)
                pk = conn.execute(self._insert[logical], header).inserted_primary_key
                new_id = pk[0] if pk else None
                for child, rows in children.items():
                    if rows:
                        fk = self.schema.columns[child]["order_id"].physical
                        conn.execute(self._insert[child], [{**r, fk: new_id} for r in rows])
        except sa_exc.IntegrityError as exc:
            # A concurrent writer (or a constraint of the ERP's own) got there first: a row
            # with this identity now existing means the record is already delivered.
            found = self._existing_fresh(logical, record)
            if found is not None:
                return ErpRef(sink=self.name, ref=f"{table.name}#{found}", duplicate=True)
            raise _classify(exc, record.key) from None
        except sa_exc.SQLAlchemyError as exc:
            raise _classify(exc, record.key) from None
        log.debug("staged", key=record.key, table=table.name, id=new_id)
        return ErpRef(sink=self.name, ref=f"{table.name}#{new_id}", duplicate=False)

    def _without_missing(self, logical: str, header: dict[str, Any],
                         children: dict[str, list[dict[str, Any]]]
                         ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """The values without the columns the tables lack (an earlier version's tables)."""
        def keep(table: str, row: dict[str, Any]) -> dict[str, Any]:
            lacking = self._missing.get(table)
            if not lacking:
                return row
            return {k: v for k, v in row.items() if k.lower() not in lacking}
        return keep(logical, header), {t: [keep(t, r) for r in rows]
                                       for t, rows in children.items()}

    def _existing(self, conn: sa.Connection, logical: str, record: InboundRecord) -> Any | None:
        guid = record.guid if logical == "orders" else None
        if guid:
            return conn.execute(self._by_uid_or_guid, {"uid": record.unique_id, "guid": guid}).scalar()
        return conn.execute(self._by_uid[logical], {"uid": record.unique_id}).scalar()

    def _existing_fresh(self, logical: str, record: InboundRecord) -> Any | None:
        try:
            with self.engine.connect() as conn:
                return self._existing(conn, logical, record)
        except sa_exc.SQLAlchemyError:
            return None

    def _values(self, record: InboundRecord,
                logical: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        specs = self.schema.columns[logical]

        def table_name(name: str) -> str:
            return self.schema.tables[name].name

        model: Any = record.model
        payload = record.payload if isinstance(record.payload, Mapping) else {}
        own: dict[str, Any] = {
            "queue_id": record.queue_id,
            "unique_id": record.unique_id,
            "source": str(payload.get("_source") or "api"),
            "source_ref": payload.get("_source_ref"),
            "received_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
            "payload": json.dumps(payload, ensure_ascii=False, default=str, separators=(",", ":")),
            "extra": _extra_json(model),
        }
        if logical == "leads":
            # Text in AMHelper: kept as sent, and as a number when it reads as one.
            own["fatturato_text"] = model.fatturato
            own["fatturato"] = _number_or_none(model.fatturato)
        header = _row(specs, table_name(logical), model, payload, own, record.key)
        if logical == "orders":
            header[specs["guid_test_ord"].physical] = _coerce(
                specs["guid_test_ord"], record.guid, f"{record.key} guid_test_ord", table_name(logical))
        children: dict[str, list[dict[str, Any]]] = {}
        if logical == "orders":
            rows_out: list[dict[str, Any]] = []
            details_out: list[dict[str, Any]] = []
            righe = payload.get("righe")
            raw_rows: list[Any] = righe if isinstance(righe, list) else []
            for i, row in enumerate(model.rows, start=1):
                raw = raw_rows[i - 1] if i - 1 < len(raw_rows) and isinstance(raw_rows[i - 1], dict) else {}
                rows_out.append(_row(self.schema.columns["order_rows"], table_name("order_rows"), row, raw,
                                     {"order_unique_id": record.unique_id, "row_no": i,
                                      "row_queue_id": row.id, "extra": _extra_json(row)},
                                     f"{record.key} righe[{i - 1}]"))
                for j, det in enumerate(row.details, start=1):
                    details_out.append(_row(self.schema.columns["order_row_details"],
                                            table_name("order_row_details"), det, {},
                                            {"order_unique_id": record.unique_id, "row_no": i,
                                             "detail_no": j, "extra": _extra_json(det)},
                                            f"{record.key} righe[{i - 1}].dettagli[{j - 1}]"))
            children["order_rows"] = rows_out
            children["order_row_details"] = details_out
            if model.new_customer is not None:
                children["new_customers"] = [_row(self.schema.columns["new_customers"],
                                                  table_name("new_customers"), model.new_customer, {},
                                                  {"order_unique_id": record.unique_id,
                                                   "extra": _extra_json(model.new_customer)},
                                                  f"{record.key} clienti[0]")]
        return header, children

_RECHECK_SECONDS = 300.0
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def _extra_json(part: Any) -> str | None:
    """A part's `extra` (the fields sent that the model does not know) as JSON, or None."""
    extra = getattr(part, "extra", None)
    if not isinstance(extra, dict) or not extra:
        return None
    return json.dumps(extra, ensure_ascii=False, default=str, separators=(",", ":"))


def _number_or_none(text: str | None) -> Decimal | None:
    """A text that is a plain number (one `.` or `,` as the decimal separator, as the
    numbers AppManager sends read) as that number; anything else None (not refused: the
    text is kept beside it)."""
    if text is None or not _PLAIN_NUMBER.fullmatch(text.strip()):
        return None
    d = Decimal(text.strip().replace(",", "."))
    return d if abs(d) < _MAX_DECIMAL else None


def _row(specs: dict[str, ColumnSpec], table: str, model: Any, payload: Mapping[str, Any],
         own: dict[str, Any], where: str) -> dict[str, Any]:
    """Column values for one table row: our own values, else the model's typed field,
    else the raw payload (for wire fields the model does not keep)."""
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in ("id", "order_id", "erp_read_at", "erp_message", "guid_test_ord"):
            continue
        if name == "erp_status":
            out[spec.physical] = 0
            continue
        if name in own:
            value = own[name]
        elif name in _OWN:
            continue
        elif hasattr(model, name):
            value = getattr(model, name)
        else:
            value = payload.get(name)
        out[spec.physical] = _coerce(spec, value, f"{where} {name}", table)
    return out

def _coerce(spec: ColumnSpec, value: Any, where: str, table: str) -> Any:
    """The value as the column takes it; PermanentError naming the field when it cannot."""
    if value is None:
        return None
    kind = spec.kind
    col = f"{table}.{spec.physical}"
    if kind == DT:
        if isinstance(value, datetime):
            # Wall-clock time as the agent entered it: ERP date columns have no zone.
            return value.replace(tzinfo=None)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        raise PermanentError(f"{where}: expected a date for {col}, got {value!r}", column=col)
    if kind == DEC:
        try:
            d = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", "."))
        except InvalidOperation:
            raise PermanentError(f"{where}: expected a number for {col}, got {value!r}",
                                 column=col) from None
        if not d.is_finite() or abs(d) >= _MAX_DECIMAL:
            raise PermanentError(f"{where}: {value} does not fit {col} (NUMERIC(28,8))", column=col)
        return d
    if kind in (INT, BIGINT, SMALL):
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise PermanentError(f"{where}: expected a whole number for {col}, got {value!r}",
                                 column=col) from None
        if d != d.to_integral_value():
            raise PermanentError(f"{where}: expected a whole number for {col}, got {value!r}",
                                 column=col)
        return int(d)
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    limit = spec.max_length
    if limit is not None and len(text) > limit:
        raise PermanentError(f"{where}: {len(text)} characters, {col} holds {limit}", column=col)
    if "\x00" in text:
        raise PermanentError(f"{where}: contains a NUL character, {col} cannot hold it", column=col)
    return text

def _classify(exc: sa_exc.SQLAlchemyError, what: str) -> TransientError | PermanentError:
    """One place that decides: retry later, or this record fails for good."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:500]
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return TransientError(f"{what}: database connection lost: {reason}")
    if isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError):
        return PermanentError(f"{what}: refused by the database: {reason}")
    orig = getattr(exc, "orig", None)
    errno = orig.args[0] if orig is not None and getattr(orig, "args", None) else None
    if isinstance(errno, int) and errno in _MYSQL_DATA_ERRORS:
        return PermanentError(f"{what}: refused by the database: {reason}")
    if isinstance(exc, sa_exc.ProgrammingError):
        # A missing table or column: the schema needs fixing (db init, columns map), and
        # the record must wait for that rather than be dead-lettered.
        return TransientError(f"{what}: staging schema problem (run `connector db init`, check "
                              f"import.erp.sql.tables/columns): {reason}")
    return TransientError(f"{what}: database unavailable: {reason}")
