"""The ERP database the extraction reads (the ErpDatabase port of connector/ports.py),
through SQLAlchemy 2 Core: one engine, one streamed query at a time.

Rows come through a server-side cursor in partitions of `fetch_rows`, so a million-row
table never sits in memory. For the drivers whose server-side cursor we know (sqlite3,
psycopg 3, PyMySQL) the query is compiled by SQLAlchemy for the dialect and read from
the DBAPI cursor of SQLAlchemy's own connection: plain tuples, without building a Row
per row (about a third of the fetch time, see docs/PERFORMANCE.md, "SQL source"). Any other
driver goes through SQLAlchemy's Result with `stream_results`.

Driver exceptions become the connector's: a database that cannot be reached is a
TransientError, a query the database rejects is a PermanentError naming the job. The
password never appears in a message: URLs are rendered with it hidden. The wiring
(connector/app.py) gives it the URL, password included, read from the environment.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from connector.errors import ConfigError, ConnectorError, PermanentError, TransientError


@dataclass(frozen=True)
class ErpDbSettings:
    url: str = field(repr=False)  # a SQLAlchemy URL, its password included: never shown
    fetch_rows: int = 5000  # rows per round trip of the server-side cursor


class SqlErpDatabase:
    """One engine for one extraction run; closed (disposed) at its end."""

    def __init__(self, settings: ErpDbSettings) -> None:
        self.url = settings.url
        self.fetch_rows = settings.fetch_rows
        self.engine = make_engine(self.url)

    def param_names(self, sql: str) -> list[str]:
        """The `:name` bind parameters of the query, as SQLAlchemy's text() finds them."""
        return sorted(sa.text(sql)._bindparams)  # the documented way to list them

    def stream(self, sql: str, params: Mapping[str, Any], what: str
               ) -> contextlib.AbstractContextManager[tuple[list[str], Iterator[Sequence[Any]]]]:
        return stream_query(self.engine, self.url, sql, dict(params), self.fetch_rows, what)

    def close(self) -> None:
        self.engine.dispose()


def safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str) -> Engine:
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except sa_exc.ArgumentError as exc:
        raise ConfigError([f"extract.url: not a SQLAlchemy URL ({safe_url(url)}): {exc}"]) from None
    except ModuleNotFoundError as exc:
        raise ConfigError([f"extract.url: the database driver {exc.name!r} is not installed "
                           f"(pip install it, e.g. psycopg[binary] or PyMySQL)"]) from None


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


_REJECTED = ("syntax", "no such", "doesn't exist", "does not exist", "unknown column",
             "undefined", "ambiguous")


def translate(exc: BaseException, what: str, url: str) -> ConnectorError:
    """A driver or SQLAlchemy exception as the connector's (transient vs rejected)."""
    reason = _reason(exc)
    name = type(getattr(exc, "orig", None) or exc).__name__
    operational = isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or (
        not isinstance(exc, sa_exc.SQLAlchemyError)
        and name in ("OperationalError", "InterfaceError", "ConnectionFailure"))
    if operational and not any(w in reason.lower() for w in _REJECTED):
        return TransientError(f"{what}: cannot read the ERP database {safe_url(url)}: {reason}")
    return PermanentError(f"{what}: the ERP database rejected the query: {reason}")


_RAW_DRIVERS = ("pysqlite", "psycopg", "pymysql")


def _raw_cursor(conn: sa.Connection, sql: str, params: dict[str, Any]) -> Any | None:
    """An executed server-side DBAPI cursor for the known drivers, else None."""
    dialect = conn.dialect
    if dialect.driver not in _RAW_DRIVERS:
        return None
    compiled = sa.text(sql).compile(dialect=dialect)
    args: Any
    if compiled.positional:
        args = tuple(params[name] for name in (compiled.positiontup or ()))
    else:
        args = {name: params[name] for name in compiled.params}
    dbapi_conn: Any = conn.connection.dbapi_connection
    if dialect.driver == "psycopg":
        cursor = dbapi_conn.cursor(name=f"connector_extract_{uuid.uuid4().hex[:12]}")
    elif dialect.driver == "pymysql":
        import pymysql.cursors

        cursor = dbapi_conn.cursor(pymysql.cursors.SSCursor)
    else:
        cursor = dbapi_conn.cursor()
    try:
        cursor.execute(compiled.string, args)
    except BaseException:
        with contextlib.suppress(Exception):
            cursor.close()
        raise
    return cursor


@contextlib.contextmanager
def stream_query(engine: Engine, url: str, sql: str, params: dict[str, Any], fetch_rows: int,
                 what: str) -> Iterator[tuple[list[str], Iterator[Sequence[Any]]]]:
    """(column names, partitions of rows) of one query, read through a server-side cursor."""
    driver_errors: tuple[type[BaseException], ...] = (sa_exc.DBAPIError,)
    dbapi = getattr(engine.dialect, "dbapi", None) or getattr(engine.dialect, "loaded_dbapi", None)
    if dbapi is not None and isinstance(getattr(dbapi, "Error", None), type):
        driver_errors += (dbapi.Error,)
    try:
        conn = engine.connect()
    except driver_errors as exc:
        raise translate(exc, what, url) from None
    cursor: Any = None
    try:
        try:
            cursor = _raw_cursor(conn, sql, params)
            if cursor is None:
                result = conn.execution_options(stream_results=True, max_row_buffer=fetch_rows) \
                    .execute(sa.text(sql), params)
        except driver_errors as exc:
            raise translate(exc, what, url) from None
        if cursor is not None:
            if cursor.description is None:
                raise PermanentError(f"{what}: the query returns no rows (is it a SELECT?)")
            names = [d[0] for d in cursor.description]

            def raw_partitions() -> Iterator[Sequence[Any]]:
                try:
                    while True:
                        rows = cursor.fetchmany(fetch_rows)
                        if not rows:
                            return
                        yield rows
                except driver_errors as exc:
                    raise translate(exc, what, url) from None

            yield names, raw_partitions()
            return
        if not result.returns_rows:
            raise PermanentError(f"{what}: the query returns no rows (is it a SELECT?)")

        def partitions() -> Iterator[Sequence[Any]]:
            try:
                yield from result.partitions(fetch_rows)
            except driver_errors as exc:
                raise translate(exc, what, url) from None

        yield list(result.keys()), partitions()
    finally:
        if cursor is not None:
            with contextlib.suppress(Exception):
                cursor.close()
        with contextlib.suppress(Exception):
            conn.rollback()
        with contextlib.suppress(Exception):
            conn.close()
