"""The SQL sink beyond the contract: what lands in which column, names, errors, DDL."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.erp.sql_schema import ADDED_COLUMNS, build_schema, ddl
from adapters.erp.sql_sink import SqlSink, SqlSinkSettings
from connector.app import build_import, build_sink, build_sql_sink
from connector.errors import ConfigError, PermanentError, TransientError
from connector.importing.journal import Journal
from connector.model import decode_record
from connector.state import StateStore
from service.cli import main
from tests.sinks.records import order_item, record


def _rows(sink: SqlSink, logical: str) -> list[dict[str, Any]]:
    table = sink.schema.tables[logical]
    with sink.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]


def test_an_order_lands_with_rows_details_and_new_customer_typed(sql_sink: SqlSink) -> None:
    rec = decode_record("orders", order_item("O-9", rows=3, new_customer=True))
    ref = sql_sink.write(rec)
    assert not ref.duplicate and ref.ref.startswith(sql_sink.schema.tables["orders"].name + "#")
    (head,) = _rows(sql_sink, "orders")
    assert head["unique_id"] == "O-9" and head["guid_test_ord"] == "guid-o-9"
    assert head["cod_clifor"] is None and head["cod_agente"] == "AG1"
    assert head["data_ordine"] == datetime(2026, 11, 21, 10, 30)
    assert Decimal(head["sconto_1"]) == Decimal("2.5")
    assert head["note"] == "consegna\nal mattino"
    assert head["erp_status"] == 0 and head["erp_read_at"] is None
    assert head["source"] == "api" and '"righe"' in head["payload"]
    rows = _rows(sql_sink, "order_rows")
    assert [r["row_no"] for r in rows] == [1, 2, 3]
    assert {r["order_id"] for r in rows} == {head["id"]}
    assert Decimal(rows[1]["qta"]) == 3 and Decimal(rows[1]["prezzo"]) == Decimal("1.25")
    assert rows[2]["ext_cod_tipo_riga_omag"] == "2"  # free goods as AppManager coded it
    details = _rows(sql_sink, "order_row_details")
    assert [(d["row_no"], d["detail_no"], d["cod_taglia"]) for d in details] == [
        (1, 1, "42"), (1, 2, "43")]
    (cust,) = _rows(sql_sink, "new_customers")
    assert cust["ragione_sociale"] == "Nuovo Cliente Srl" and cust["order_id"] == head["id"]


def test_the_erp_marks_rows_read_and_a_replay_stays_a_no_op(sql_sink: SqlSink) -> None:
    rec = record("customers")
    sql_sink.write(rec)
    t = sql_sink.schema.tables["customer_changes"]
    with sql_sink.engine.begin() as conn:  # what the ERP does once it has read the row
        conn.execute(sa.update(t).where(t.c.erp_status == 0)
                     .values(erp_status=1, erp_read_at=datetime(2026, 11, 22, 8, 0)))
    assert sql_sink.write(rec).duplicate
    (row,) = _rows(sql_sink, "customer_changes")
    assert row["erp_status"] == 1


def test_a_requeued_order_with_the_same_guid_is_a_duplicate(sql_sink: SqlSink) -> None:
    sql_sink.write(decode_record("orders", order_item("O-1", guid="G-1")))
    again = sql_sink.write(decode_record("orders", order_item("O-2", queue_id=2, guid="G-1")))
    assert again.duplicate
    assert len(_rows(sql_sink, "orders")) == 1


def test_a_bad_row_value_writes_nothing_of_the_order(sql_sink: SqlSink) -> None:
    item = order_item("O-5", rows=3)
    item["righe"][2]["codice_articolo"] = "A" * 51  # the rows' article column holds 50
    with pytest.raises(PermanentError, match=r"righe\[2\] codice_articolo: 51 characters"):
        sql_sink.write(decode_record("orders", item))
    assert _rows(sql_sink, "orders") == [] and _rows(sql_sink, "order_rows") == []


def test_a_database_refusal_is_permanent_and_rolls_back(fresh_sql_sink: SqlSink) -> None:
    """A constraint of the ERP's own (here: a CHECK added by the integrator) refuses a row
    mid-transaction: the header written before it is rolled back."""
    rows = fresh_sql_sink.schema.tables["order_rows"]
    if fresh_sql_sink.engine.dialect.name == "sqlite":
        pytest.skip("SQLite cannot add a CHECK constraint to an existing table")
    with fresh_sql_sink.engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {rows.name} ADD CONSTRAINT ck_{rows.name}_qta "
                             "CHECK (qta < 1000)"))
    item = order_item("O-6", rows=2)
    item["righe"][1]["qta"] = 5000
    with pytest.raises(PermanentError, match="refused by the database"):
        fresh_sql_sink.write(decode_record("orders", item))
    assert _rows(fresh_sql_sink, "orders") == []


def test_configured_table_and_column_names(tmp_path: Path) -> None:
    cfg = SqlSinkSettings(url=f"sqlite:///{tmp_path / 'erp.sqlite'}", table_prefix="x_",
                          tables={"orders": "ERP_ORDINI_TESTATE"},
                          columns={"orders.cod_clifor": "CODCLI", "orders.erp_status": "LETTO",
                                   "order_rows.order_id": "ID_TESTATA"})
    sink = SqlSink(cfg)
    sink.create_tables()
    sink.write(record("orders"))
    insp = sa.inspect(sink.engine)
    assert "ERP_ORDINI_TESTATE" in insp.get_table_names() and "x_order_rows" in insp.get_table_names()
    with sink.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT CODCLI, LETTO FROM ERP_ORDINI_TESTATE")).one() == ("C001", 0)
        assert conn.execute(sa.text("SELECT COUNT(*) FROM x_order_rows WHERE ID_TESTATA = 1")
                            ).scalar() == 3
    assert sink.write(record("orders")).duplicate
    sink.close()


def test_unknown_table_or_column_names_are_config_errors() -> None:
    with pytest.raises(ConfigError) as err:
        build_schema(tables={"ordini": "X"}, columns={"orders.codcli": "Y", "nope": "Z"})
    assert len(err.value.errors) == 3
    assert "import.erp.sql.columns.orders.codcli" in str(err.value)


def test_missing_tables_wait_for_db_init(tmp_path: Path) -> None:
    sink = SqlSink(SqlSinkSettings(url=f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    with pytest.raises(TransientError, match="run `connector db init`"):
        sink.write(record("customers"))


def test_an_unreachable_server_is_transient() -> None:
    sink = SqlSink(SqlSinkSettings(url="postgresql+psycopg://postgres@127.0.0.1:1/test"
                                     "?connect_timeout=2"))
    with pytest.raises(TransientError, match="database unavailable"):
        sink.write(record("customers"))


def test_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  config_factory: Any) -> None:
    """The builder reads import.erp.sql.url_env and hands the sink the URL it holds; an
    unset variable is a ConfigError when the sink is built, before any record is tried."""
    cfg = config_factory(**{"import": {"erp": {"sink": "sql", "sql": {
        "url": "sqlite:///not-this.sqlite", "url_env": "ERP_STAGING_URL"}}}})
    monkeypatch.setenv("ERP_STAGING_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    sink = build_sink(cfg)
    assert isinstance(sink, SqlSink)
    sink.create_tables()
    sink.close()
    assert (tmp_path / "env.sqlite").exists()
    monkeypatch.delenv("ERP_STAGING_URL")
    with pytest.raises(ConfigError, match="ERP_STAGING_URL is not set"):
        build_sink(cfg)
    # The DDL of a named dialect needs no database: no URL either.
    assert "CREATE TABLE" in build_sql_sink(cfg, need_url=False).ddl("postgresql")


def test_ddl_for_every_dialect_including_sql_server() -> None:
    schema = build_schema()
    mssql = ddl(schema, "mssql")
    assert "NVARCHAR(max)" in mssql and "NTEXT" not in mssql
    assert "CREATE UNIQUE INDEX uq_ic_orders_guid ON ic_orders (guid_test_ord) WHERE guid_test_ord IS NOT NULL" in mssql
    assert "erp_status SMALLINT NOT NULL DEFAULT 0" in mssql
    assert "MEDIUMTEXT" in ddl(schema, "mariadb")
    assert "BIGSERIAL" in ddl(schema, "postgresql")
    assert ddl(schema, "sqlite").count("CREATE TABLE") == 9


def test_db_init_command(tmp_path: Path, config_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "staging.sqlite"
    path = config_file(**{"import": {"enabled": False, "erp": {"sink": "sql", "sql": {
        "url": f"sqlite:///{db}", "table_prefix": f"t{uuid.uuid4().hex[:6]}_"}}}})
    assert main(["--config", str(path), "db", "init"]) == 0
    out = capsys.readouterr().out
    assert "staging tables ready" in out and "_orders" in out
    assert main(["--config", str(path), "db", "init"]) == 0  # idempotent
    assert "columns added" not in capsys.readouterr().out
    with sa.create_engine(f"sqlite:///{db}").begin() as conn:  # as an earlier version made it
        table = next(t for (t,) in conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE name LIKE '%_activities'")))
        conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN des_note_attivita"))
    assert main(["--config", str(path), "db", "init"]) == 0
    out = capsys.readouterr().out
    assert "columns added to existing tables" in out and f"{table}.des_note_attivita" in out
    assert main(["--config", str(path), "db", "init", "--sql", "--dialect", "mssql"]) == 0
    assert "IDENTITY" in capsys.readouterr().out


def test_a_dropped_connection_is_reconnected(tmp_path: Path) -> None:
    """PostgreSQL restarted (or a DBA killed our session) between two records: the next
    write reconnects instead of failing."""
    from tests.sinks.conftest import PG_URL, sql_url_for

    sql_url_for("postgresql", tmp_path)  # skips when the server is not there
    app = f"sinktest-{uuid.uuid4().hex[:8]}"
    sink = SqlSink(SqlSinkSettings(url=f"{PG_URL}?application_name={app}",
                                 table_prefix=f"t{uuid.uuid4().hex[:8]}_"))
    sink.create_tables()
    try:
        sink.write(record("customers"))
        killer = sa.create_engine(PG_URL)
        with killer.begin() as conn:
            killed = conn.execute(sa.text("SELECT COUNT(pg_terminate_backend(pid)) FROM "
                                          "pg_stat_activity WHERE application_name = :app"),
                                  {"app": app}).scalar_one()
        killer.dispose()
        assert killed >= 1
        assert not sink.write(record("customer_notes")).duplicate
        assert sink.write(record("customers")).duplicate
    finally:
        sink.drop_tables()
        sink.close()


def test_two_writers_racing_on_the_same_records_land_each_once(sql_sink: SqlSink) -> None:
    """The import loop and the legacy loop (or two processes) delivering the same record
    at once: the unique constraint decides, the loser reports duplicate."""
    import threading

    records = [decode_record("orders", order_item(f"R-{i}", queue_id=i + 1, rows=2))
               for i in range(15)]
    other = SqlSink(sql_sink.settings)
    results: dict[int, list[bool]] = {0: [], 1: []}
    barrier = threading.Barrier(2)

    def run(n: int, sink: SqlSink) -> None:
        barrier.wait()
        for rec in records:
            results[n].append(sink.write(rec).duplicate)

    threads = [threading.Thread(target=run, args=(0, sql_sink)),
               threading.Thread(target=run, args=(1, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    other.close()
    assert all(a != b for a, b in zip(results[0], results[1], strict=True))  # one winner each
    assert len(_rows(sql_sink, "orders")) == 15 and len(_rows(sql_sink, "order_rows")) == 30


def _as_stored(sink: SqlSink, logical: str) -> list[dict[str, Any]]:
    """The rows with the columns the table really has."""
    table = sa.Table(sink.schema.tables[logical].name, sa.MetaData(), autoload_with=sink.engine)
    with sink.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]


def _as_an_earlier_version_made_them(sink: SqlSink) -> None:
    """Make the tables again without the columns added since the first release, as an
    installation made before has them (dropping the columns instead would not do: MariaDB
    keeps dropped columns hidden in the row until the table is rebuilt)."""
    sink.drop_tables()
    old = sa.MetaData()
    for table in sink.schema.metadata.sorted_tables:
        logical = next(k for k, t in sink.schema.tables.items() if t is table)
        added = {sink.schema.columns[logical][c].physical for t, c in ADDED_COLUMNS
                 if t == logical}
        sa.Table(table.name, old, *[c._copy() for c in table.columns if c.name not in added],
                 mysql_charset="utf8mb4", mariadb_charset="utf8mb4")
    old.create_all(sink.engine)


def test_tables_of_an_earlier_version_keep_working_and_db_init_adds_the_columns(
        fresh_sql_sink: SqlSink) -> None:
    """An installation whose tables lack the columns added since (colours, materials,
    `extra`, ...) keeps importing: the sink writes the columns there are (the values of
    the others are in `payload`); `create_tables` (db init) adds them, and the next
    records fill them."""
    _as_an_earlier_version_made_them(fresh_sql_sink)
    old = SqlSink(fresh_sql_sink.settings)  # a connector started on the old tables
    item = order_item("O-OLD", rows=1)
    item["righe"][0].update(cod_colore1="NER", zz_row_new="r")
    old.write(decode_record("orders", item))
    (head,) = _as_stored(old, "orders")
    assert head["unique_id"] == "O-OLD" and '"cod_colore1":"NER"' in head["payload"]
    assert "extra" not in head and "cod_colore1" not in _as_stored(old, "order_rows")[0]

    added = fresh_sql_sink.create_tables()  # connector db init
    assert len(fresh_sql_sink.added_columns) == len(ADDED_COLUMNS) and added
    assert fresh_sql_sink.create_tables() and fresh_sql_sink.added_columns == []  # idempotent
    new = SqlSink(fresh_sql_sink.settings)
    new.write(decode_record("orders", {**item, "id": 2, "unique_id": "O-NEW",
                                       "guid_test_ord": "g-new"}))
    rows = _rows(new, "order_rows")
    assert [(r["cod_colore1"], r["extra"]) for r in rows] == [
        (None, None), ("NER", '{"zz_row_new":"r"}')]
    old.close()
    new.close()


def test_fields_the_model_does_not_know_land_in_extra(sql_sink: SqlSink) -> None:
    item = order_item("O-X", rows=1, new_customer=True)
    item["zz_head"] = {"a": [1, 2.5]}
    item["righe"][0]["zz_row"] = "r"
    item["righe"][0]["dettagli"][0]["zz_det"] = 7
    item["clienti"][0]["zz_cli"] = None
    sql_sink.write(decode_record("orders", item))
    import json
    assert json.loads(_rows(sql_sink, "orders")[0]["extra"]) == {"zz_head": {"a": [1, 2.5]}}
    assert json.loads(_rows(sql_sink, "order_rows")[0]["extra"]) == {"zz_row": "r"}
    details = _rows(sql_sink, "order_row_details")
    assert json.loads(details[0]["extra"]) == {"zz_det": 7} and details[1]["extra"] is None
    assert json.loads(_rows(sql_sink, "new_customers")[0]["extra"]) == {"zz_cli": None}


@pytest.mark.parametrize(("sent", "number"), [
    ("250000", Decimal(250000)), (125000.5, Decimal("125000.5")), ("1.200.000", None),
    ("circa 2 milioni", None), ("12,5", Decimal("12.5")), (None, None)])
def test_a_leads_turnover_is_text_kept_as_sent_and_a_number_when_it_reads_as_one(
        sql_sink: SqlSink, sent: Any, number: Decimal | None) -> None:
    sql_sink.write(record("leads", fatturato=sent))
    (lead,) = _rows(sql_sink, "leads")
    assert lead["fatturato_text"] == (None if sent is None else str(sent))
    assert (None if lead["fatturato"] is None else Decimal(lead["fatturato"])) == number


def test_an_unset_url_variable_stops_the_import_loop_and_dead_letters_nothing(
        monkeypatch: pytest.MonkeyPatch, config_factory: Any) -> None:
    """import.erp.sql.url_env naming a variable that is not set is the operator's to fix:
    the import loop stops with a ConfigError (the daemon reports it) before it writes
    anything, and a record waiting in the journal stays pending. (Before, every record
    was dead-lettered as an internal error of the sink.)"""
    monkeypatch.delenv("ERP_STAGING_URL_UNSET", raising=False)
    cfg = config_factory(**{"import": {"enabled": True, "source": "api", "erp": {
        "sink": "sql", "sql": {"url_env": "ERP_STAGING_URL_UNSET"}}}})
    store = StateStore(cfg.state_dir)
    journal = Journal(store)
    waiting = record("customers")
    assert journal.record(waiting)
    (loop,) = build_import(cfg, store)
    with pytest.raises(ConfigError, match="ERP_STAGING_URL_UNSET is not set"):
        loop.run(threading.Event(), lambda: None)
    entry = journal.entry(waiting.key)
    assert entry is not None and entry.state == "pending" and entry.attempts == 0
