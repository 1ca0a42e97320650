"""SIGKILL during a legacy import (a real subprocess, killed again and again while it
writes to the SQL staging tables): in the end every order lands exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.erp.sql_sink import SqlSink
from connector.config import load_config
from connector.importing.journal import Journal
from connector.state import StateStore
from tests.legacy.samples import customer_line, order_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

N_ORDERS = 30

# The child imports the folder until it is empty. Each ERP write is followed by a short
# pause, so a kill often lands between the ERP write and the journal's outcome.
CHILD = """
import sys, time, threading
from adapters.erp import sql_sink
from connector.config import load_config
from connector.app import legacy_once as run_once
from connector.state import StateStore

write = sql_sink.SqlSink.write
def slow_write(self, record):
    ref = write(self, record)
    time.sleep(0.03)
    return ref
sql_sink.SqlSink.write = slow_write

cfg = load_config(sys.argv[1])
store = StateStore(cfg.state_dir)
while any(cfg.legacy_folder.iterdir()):
    run_once(cfg, store)
"""


def _count(sink: SqlSink, logical: str) -> int:
    with sink.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count())
                                .select_from(sink.schema.tables[logical])).scalar_one())


def _child(cfg_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(cfg_path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_during_a_legacy_import_loses_and_duplicates_nothing(
        tmp_path: Path, config_file: Any) -> None:
    cfg_path = config_file(**{"import": {
        "enabled": True, "source": "legacy",
        "legacy": {"folder": str(tmp_path / "appmanager"), "settle_seconds": 0.01},
        "erp": {"sink": "sql", "sql": {"url": f"sqlite:///{tmp_path / 'staging.sqlite'}"}}}})
    cfg = load_config(cfg_path)
    folder = cfg.legacy_folder
    folder.mkdir(parents=True)
    for i in range(N_ORDERS):
        (folder / f"IB_AM_ORD_ACME_{i:04d}.DAT").write_text(order_file(str(5000 + i)), encoding="utf-8")
    (folder / "IB_AM_CF_ANA_ACME_1.DAT").write_text(
        "\r\n".join(customer_line(f"C{i:03d}", str(i)) for i in range(20)), encoding="utf-8")
    sink = SqlSink(cfg.import_.erp.sql)
    sink.create_tables()

    kills_mid_import = 0
    for _ in range(4):
        before = _count(sink, "orders")
        if before >= N_ORDERS:
            break
        proc = _child(cfg_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if _count(sink, "orders") > before:
                break
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if _count(sink, "orders") < N_ORDERS:
                kills_mid_import += 1
    assert kills_mid_import >= 2, "the kills never interrupted an import"

    proc = _child(cfg_path)  # and now let it finish
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]

    assert list(folder.iterdir()) == []
    assert _count(sink, "orders") == N_ORDERS
    assert _count(sink, "order_rows") == N_ORDERS * 4
    assert _count(sink, "customer_changes") == 20
    with sink.engine.connect() as conn:
        t = sink.schema.tables["orders"]
        refs = conn.execute(sa.select(t.c.source_ref)).scalars().all()
    assert sorted(refs) == sorted(f"IB_AM_ORD_ACME_{i:04d}.DAT" for i in range(N_ORDERS))
    journal = Journal(StateStore(cfg.state_dir))
    entries = journal.entries()
    assert len(entries) == N_ORDERS + 20 and {e.state for e in entries} == {"delivered"}
    sink.close()
