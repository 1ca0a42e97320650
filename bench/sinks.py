"""Benchmark of the ERP sinks: N orders (10 rows each) written one record per call, as
the import pipeline writes them, into each sink, against the files sink measured in this
same run.

    python -m bench.sinks [--orders N] [--rows R] [--command-orders M] [--no-postgres]
                          [--no-mariadb]

Prints orders per second for: the files sink (json; the baseline), the SQL sink on SQLite
(a file in a temp dir, WAL, synchronous=FULL), on PostgreSQL and on MariaDB (the servers
on 127.0.0.1, skipped when unreachable; tables with a throw-away prefix, dropped
afterwards), and the command sink (a Python script per record; M orders only, it is
bounded by process start-up). Then the replay rate: the same orders again, all answered
duplicate=True. Every sink is durable per record (fsync / COMMIT) before write returns.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
import structlog

from adapters.erp.command_sink import CommandSink, CommandSinkSettings
from adapters.erp.files_sink import FilesSink
from adapters.erp.sql_sink import SqlSink, SqlSinkSettings
from connector.model import InboundRecord, decode_record
from connector.ports import ErpSink

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIA_URL = "mysql+pymysql://root:@127.0.0.1:3306/test?charset=utf8mb4"

ERP_SCRIPT = """import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
print("DOC-" + doc["unique_id"])
"""


def make_orders(n: int, rows: int) -> list[InboundRecord]:
    out = []
    for i in range(n):
        righe = [{"id": j + 1, "codice_articolo": f"ART-{j:04d}", "descrizione_riga": f"Articolo {j}",
                  "cod_um_1": "PZ", "qta": 1 + j, "prezzo": "12.50", "sconto_1": 10, "sconto_2": 5,
                  "tipo_um": 1, "ext_cod_tipo_riga_omag": 0,
                  "data_consegna_riga": "2026-12-01T00:00:00"} for j in range(rows)]
        out.append(decode_record("orders", {
            "id": i + 1, "unique_id": f"U{i:07d}", "guid_test_ord": str(uuid.UUID(int=i)),
            "cod_ditta": "ACME", "cod_clifor": f"C{i % 500:05d}", "cod_agente": "AG1",
            "data_ordine": "2026-11-21T10:30:00", "ext_cod_tipo_ord": "CLI-MOBORD",
            "note": "consegna al mattino", "righe": righe}))
    return out


def reachable(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - unreachable for whatever reason: skip it
        return False
    finally:
        engine.dispose()


def run(sink: ErpSink, records: list[InboundRecord]) -> tuple[float, float]:
    """(seconds to write all, seconds to replay all)."""
    t0 = time.perf_counter()
    for rec in records:
        if sink.write(rec).duplicate:
            raise AssertionError(f"{rec.key} reported duplicate on its first write")
    t1 = time.perf_counter()
    for rec in records:
        if not sink.write(rec).duplicate:
            raise AssertionError(f"{rec.key} written twice")
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sinks")
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=10)
    ap.add_argument("--command-orders", type=int, default=200)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args(argv)
    # Per-record debug lines would measure the terminal, not the sinks.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    records = make_orders(args.orders, args.rows)
    print(f"{args.orders} orders x {args.rows} rows, one write per order (durable on return)")
    print(f"{'sink':<22}{'orders':>8}{'seconds':>10}{'orders/s':>11}{'vs files':>10}"
          f"{'replay/s':>11}")
    baseline: float | None = None
    with tempfile.TemporaryDirectory(prefix="bench-sinks-") as tmp:
        root = Path(tmp)
        cases: list[tuple[str, Callable[[], ErpSink], int]] = [
            ("files (json)", lambda: FilesSink(root / "files", "json", company="ACME"), args.orders),
            ("sql sqlite", lambda: _sql(f"sqlite:///{root / 'staging.sqlite'}"), args.orders),
        ]
        if not args.no_postgres and reachable(PG_URL):
            cases.append(("sql postgresql", lambda: _sql(PG_URL), args.orders))
        if not args.no_mariadb and reachable(MARIA_URL):
            cases.append(("sql mariadb", lambda: _sql(MARIA_URL), args.orders))
        script = root / "erp_import.py"
        script.write_text(ERP_SCRIPT, encoding="utf-8")
        cases.append(("command (python)", lambda: CommandSink(CommandSinkSettings(
            argv=[sys.executable, str(script), "{file}"], workdir=root,
            ledger=root / "ledger.sqlite")), args.command_orders))
        for name, factory, n in cases:
            sink = factory()
            try:
                write_s, replay_s = run(sink, records[:n])
            finally:
                if isinstance(sink, SqlSink):
                    sink.drop_tables()
                sink.close()
            rate = n / write_s
            baseline = baseline or rate
            print(f"{name:<22}{n:>8}{write_s:>10.2f}{rate:>11.0f}{rate / baseline:>10.2f}"
                  f"{n / replay_s:>11.0f}")
    return 0


def _sql(url: str) -> SqlSink:
    sink = SqlSink(SqlSinkSettings(url=url, table_prefix=f"bench{uuid.uuid4().hex[:6]}_"))
    sink.create_tables()
    return sink


if __name__ == "__main__":
    sys.exit(main())
