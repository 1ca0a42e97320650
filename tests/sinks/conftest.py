"""Every ERP sink behind one harness, so one contract suite runs against all of them:
files, SQL on SQLite / PostgreSQL / MariaDB (real servers; skipped with the reason when
unreachable), and command (a small Python script as the ERP program)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.erp.command_sink import CommandSink, CommandSinkSettings
from adapters.erp.files_render import safe_part
from adapters.erp.files_sink import FilesSink
from adapters.erp.sql_sink import SqlSink, SqlSinkSettings
from connector.model import InboundRecord
from connector.ports import ErpSink
from tests.dbservers import MARIA_URL, PG_URL, server_problem

ERP_PROGRAM = Path(__file__).with_name("erp_program.py")


def sql_url_for(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'staging.sqlite'}"
    url = PG_URL if kind == "postgresql" else MARIA_URL
    problem = server_problem(url)
    if problem:
        pytest.skip(problem)
    return url


@dataclass
class Harness:
    """A sink kind: how to open it (again, as after a restart) and how often a record landed."""

    kind: str
    open: Callable[[], ErpSink]
    count: Callable[[InboundRecord], int]
    cleanup: Callable[[], None] = lambda: None


class _ServerTables:
    """Staging tables on a server, created once per test run (a unique prefix) and
    dropped at its end; emptied before each test."""

    def __init__(self) -> None:
        self.sinks: dict[str, SqlSink] = {}

    def get(self, kind: str, url: str) -> SqlSink:
        if kind not in self.sinks:
            sink = SqlSink(SqlSinkSettings(url=url, table_prefix=f"t{uuid.uuid4().hex[:8]}_"))
            sink.create_tables()
            self.sinks[kind] = sink
        sink = self.sinks[kind]
        with sink.engine.begin() as conn:
            for table in reversed(sink.schema.metadata.sorted_tables):  # children first
                conn.execute(table.delete())
        return sink

    def drop_all(self) -> None:
        for sink in self.sinks.values():
            sink.drop_tables()
            sink.close()


@pytest.fixture(scope="session")
def server_tables() -> Iterator[_ServerTables]:
    tables = _ServerTables()
    try:
        yield tables
    finally:
        tables.drop_all()


def _admin_sink(kind: str, tmp_path: Path, server_tables: _ServerTables) -> SqlSink:
    url = sql_url_for(kind, tmp_path)
    if kind == "sqlite":
        sink = SqlSink(SqlSinkSettings(url=url))
        sink.create_tables()
        return sink
    return server_tables.get(kind, url)


def _sql_harness(kind: str, tmp_path: Path, server_tables: _ServerTables) -> Harness:
    admin = _admin_sink(kind, tmp_path, server_tables)
    settings = admin.settings

    def count(rec: InboundRecord) -> int:
        s = admin.schema
        logical = {"customers": "customer_changes"}.get(rec.stream, rec.stream)
        with admin.engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(s.tables[logical])
                             .where(s.col(logical, "unique_id") == rec.unique_id)).scalar_one()
            if rec.stream == "orders":
                rows = conn.execute(sa.select(sa.func.count()).select_from(s.tables["order_rows"])
                                    .where(s.col("order_rows", "order_unique_id") == rec.unique_id)
                                    ).scalar_one()
                assert rows == n * len(getattr(rec.model, "rows", ())), "rows doubled or missing"
        return int(n)

    return Harness(f"sql-{kind}", lambda: SqlSink(settings), count)


def _files_harness(tmp_path: Path) -> Harness:
    folder = tmp_path / "erp-import"

    def count(rec: InboundRecord) -> int:
        uid = safe_part(rec.unique_id)
        return sum(1 for p in folder.iterdir() if not p.name.startswith(".")
                   and (p.stem.endswith("_" + uid)) and "_NEW_" not in p.name)

    return Harness("files", lambda: FilesSink(folder, "tracciato", company="ACME"), count)


def _command_harness(tmp_path: Path) -> Harness:
    log = tmp_path / "erp.log"
    settings = CommandSinkSettings(argv=[sys.executable, str(ERP_PROGRAM), "{file}", str(log)],
                            timeout_seconds=20, workdir=tmp_path / "erp-work",
                            ledger=tmp_path / "state" / "erp_command.sqlite")
    (tmp_path / "erp-work").mkdir()

    def count(rec: InboundRecord) -> int:
        if not log.exists():
            return 0
        return sum(1 for line in log.read_text(encoding="utf-8").splitlines()
                   if line.split("\t")[0] == rec.unique_id)

    return Harness("command", lambda: CommandSink(settings), count)


SINK_KINDS = ["files", "sql-sqlite", "sql-postgresql", "sql-mariadb", "command"]


@pytest.fixture(params=SINK_KINDS)
def harness(request: Any, tmp_path: Path, server_tables: _ServerTables) -> Iterator[Harness]:
    kind: str = request.param
    if kind == "files":
        h = _files_harness(tmp_path)
    elif kind == "command":
        h = _command_harness(tmp_path)
    else:
        h = _sql_harness(kind.removeprefix("sql-"), tmp_path, server_tables)
    try:
        yield h
    finally:
        h.cleanup()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def sql_sink(request: Any, tmp_path: Path, server_tables: _ServerTables) -> Iterator[SqlSink]:
    """A SqlSink on empty staging tables (server tables are shared by the run)."""
    admin = _admin_sink(request.param, tmp_path, server_tables)
    sink = SqlSink(admin.settings)
    try:
        yield sink
    finally:
        sink.close()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def fresh_sql_sink(request: Any, tmp_path: Path) -> Iterator[SqlSink]:
    """A SqlSink with tables of its own (for tests that alter them), dropped afterwards."""
    url = sql_url_for(request.param, tmp_path)
    sink = SqlSink(SqlSinkSettings(url=url, table_prefix=f"t{uuid.uuid4().hex[:8]}_"))
    sink.create_tables()
    try:
        yield sink
    finally:
        sink.drop_tables()
        sink.close()
