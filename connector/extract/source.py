"""The ERP database through SQLAlchemy 2 Core: one engine, one streamed query at a time.

Rows come through a server-side cursor (`stream_results`) in partitions of
`fetch_rows`, so a million-row table never sits in memory. Driver exceptions become the
connector's: a database that cannot be reached is a TransientError, a query the
database rejects is a PermanentError naming the job. The password never appears in a
message: URLs are rendered with it hidden.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from connector.config import Config, secret
from connector.errors import ConfigError, ConnectorError, PermanentError, TransientError


def database_url(cfg: Config) -> str:
    ex = cfg.extract
    url = secret(ex.url_env) if ex.url_env else None
    if ex.url_env and not url and not ex.url:
        raise ConfigError([f"extract.url_env: the environment variable {ex.url_env} is not set"])
    url = url or ex.url
    if not url:
        raise ConfigError(["extract.url: set url or url_env (the ERP database)"])
    return url


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


def translate(exc: BaseException, what: str, url: str) -> ConnectorError:
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) and not isinstance(
            exc, sa_exc.ProgrammingError):
        reason = _reason(exc)
        if any(w in reason.lower() for w in ("syntax", "no such", "doesn't exist",
                                               "does not exist", "unknown column")):
            return PermanentError(f"{what}: the ERP database rejected the query: {reason}")
        return TransientError(f"{what}: cannot read the ERP database {safe_url(url)}: {reason}")
    return PermanentError(f"{what}: the ERP database rejected the query: {_reason(exc)}")


@contextlib.contextmanager
def stream_query(engine: Engine, url: str, sql: str, params: dict[str, Any], fetch_rows: int,
                 what: str) -> Iterator[tuple[list[str], Iterator[Sequence[Any]]]]:
    """(column names, partitions of rows) of one query, read through a server-side cursor."""
    try:
        conn = engine.connect()
    except sa_exc.DBAPIError as exc:
        raise translate(exc, what, url) from None
    try:
        try:
            result = conn.execution_options(stream_results=True, max_row_buffer=fetch_rows) \
                .execute(sa.text(sql), params)
        except sa_exc.DBAPIError as exc:
            raise translate(exc, what, url) from None
        if not result.returns_rows:
            raise PermanentError(f"{what}: the query returns no rows (is it a SELECT?)")

        def partitions() -> Iterator[Sequence[Any]]:
            try:
                yield from result.partitions(fetch_rows)
            except sa_exc.DBAPIError as exc:
                raise translate(exc, what, url) from None

        yield list(result.keys()), partitions()
    finally:
        with contextlib.suppress(sa_exc.DBAPIError):
            conn.rollback()
        with contextlib.suppress(sa_exc.DBAPIError):
            conn.close()
