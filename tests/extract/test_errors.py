"""Bad input and faults: bad rows (nothing handed over, every problem listed, no .part
left), duplicate CHIAVE in and out of key order, an unreachable database (password never
shown), a query the database rejects, an undeclared parameter; and the whole way through
the export pipeline into the Dropbox folder; and the status section."""

from __future__ import annotations

import io

import pytest

from connector import status as core_status
from connector.app import export_once, extract_sources
from connector.app import extract_once as run_once
from connector.errors import ConfigError
from connector.extract import status as extract_status
from connector.state import StateStore


def test_bad_rows_hand_over_nothing_and_list_every_problem(sqlite_erp, extract_config):
    erp = sqlite_erp
    erp.execute("UPDATE {p}articles SET um = 'PZZZ' WHERE code IN ('A0005', 'A0009')")
    erp.execute("UPDATE {p}articles SET descr = NULL, code = ' ' WHERE code = 'A0020'")
    cfg = extract_config(erp, jobs=erp.jobs(["io_art", "io_giacenze"]))
    store = StateStore(cfg.state_dir)
    dry = run_once(cfg, store, dry_run=True, out=io.StringIO())
    assert not dry.ok
    for expected in ("io_art: 47 rows, invalid (3 problems: nothing would be published)",
                     "error: line 7, column UM1, value 'PZZZ': text is 4 characters long; "
                     "the maximum for UM1 is 3",  # line 2 is ' ' (sorted first)
                     "error: line 11, column UM1, value 'PZZZ'",
                     "error: line 2, column COD_ART, value ' ': COD_ART is required",
                     "io_giacenze: 80 rows, dry-run (would be published)",
                     "dry run: ERRORS found (see above); nothing was written"):
        assert expected in dry.report, dry.report
    res = run_once(cfg, store, out=io.StringIO())
    assert not res.ok
    assert sorted(p.name for p in cfg.export.watch.iterdir()) == ["io_giacenze.dat"]
    assert store.last_events("error", 5)[0]["message"].startswith("io_art: 3 problems")


@pytest.mark.parametrize("order", ["ORDER BY code", "ORDER BY descr"])
def test_duplicate_chiave_is_found_in_and_out_of_key_order(sqlite_erp, extract_config, order):
    erp = sqlite_erp
    cfg = extract_config(erp, jobs=[{
        "layout": "io_art", "key": "{COD_DITTA}§{COD_FAM}",  # a careless key: not unique
        "query": f"SELECT code AS cod_art, family AS cod_fam, descr AS des_art "
                 f"FROM {erp.table('articles')} WHERE code <= 'A0012' {order}"}],
        fetch_rows=4)
    res = run_once(cfg, StateStore(cfg.state_dir), out=io.StringIO())
    (o,) = res.outcomes
    assert o.status == "invalid" and not cfg.export.watch.joinpath("io_art.dat").exists()
    assert not [p.name for p in cfg.export.watch.iterdir()]  # nor a temporary file
    assert o.problems.count == 7  # 12 rows, 5 families: 7 repeats
    assert all(p.column == "CHIAVE" and "duplicate CHIAVE" in p.rule for p in o.problems.items)
    dry = run_once(cfg, StateStore(cfg.state_dir), dry_run=True, out=io.StringIO())
    (o,) = dry.outcomes
    assert o.validation is not None and o.validation.violation_count == 7, dry.report
    assert dry.report.count("invalid: line") == 7 and "error: " not in dry.report


def test_unreachable_database_is_transient_and_hides_the_password(sqlite_erp, extract_config):
    cfg = extract_config(sqlite_erp, url="postgresql+psycopg://erp:s3cret@127.0.0.1:1/erp",
                         jobs=sqlite_erp.jobs(["io_art"]))
    res = run_once(cfg, StateStore(cfg.state_dir), out=io.StringIO())
    (o,) = res.outcomes
    assert o.status == "failed" and not res.ok
    assert "cannot read the ERP database postgresql+psycopg://erp:***@127.0.0.1:1/erp" in o.message
    assert "s3cret" not in res.report


def test_rejected_query_and_undeclared_parameter(sqlite_erp, extract_config):
    erp = sqlite_erp
    cfg = extract_config(erp, jobs=[
        {"layout": "io_art", "key": "{COD_DITTA}§{COD_ART}",
         "query": "SELECT code AS cod_art FROM no_such_table"},
        {"layout": "io_giacenze", "key": "{COD_DITTA}§{COD_ARTICOLO}",
         "query": f"SELECT article AS cod_articolo, warehouse AS cod_deposito "
                  f"FROM {erp.table('stock')} WHERE warehouse = :warehouse"}])
    res = run_once(cfg, StateStore(cfg.state_dir), out=io.StringIO())
    art, stock = res.outcomes
    assert art.status == "failed"
    assert art.message == ("io_art (extract.jobs[0]): the ERP database rejected the query: "
                           "no such table: no_such_table")
    assert stock.status == "failed"
    assert "extract.jobs[1]: the query uses :warehouse but no such parameter is declared" \
        in stock.message


def test_unknown_entity_and_bad_mode_are_config_errors(sqlite_erp, extract_config):
    cfg = extract_config(sqlite_erp)
    store = StateStore(cfg.state_dir)
    with pytest.raises(ConfigError):
        run_once(cfg, store, entities=["io_nope"], out=io.StringIO())
    with pytest.raises(ConfigError):
        run_once(cfg, store, mode="partial", out=io.StringIO())


def test_through_the_export_pipeline_into_dropbox(sqlite_erp, extract_config):
    cfg = extract_config(sqlite_erp, jobs=sqlite_erp.jobs(["io_art", "io_giacenze"]))
    store = StateStore(cfg.state_dir)
    assert run_once(cfg, store, out=io.StringIO()).ok
    export_once(cfg, store, max_wait=10)
    gestionale = cfg.dropbox_folder("gestionale")
    assert {"io_art.dat", "io_giacenze.dat"} <= {p.name for p in gestionale.iterdir()}
    assert not list(cfg.export.watch.glob("io_*.dat"))


def test_status_section(sqlite_erp, extract_config):
    cfg = extract_config(sqlite_erp, jobs=[
        {**sqlite_erp.jobs(["io_art"])[0], "schedule": {"cron": "0 23 * * *", "mode": "full"}}])
    store = StateStore(cfg.state_dir)
    run_once(cfg, store, out=io.StringIO())
    section = extract_status.collect(cfg, store)
    lines = extract_status.render(section)
    assert lines[0] == "extract:" and lines[1] == "  running now: nothing"
    assert any("full (manual): ok - io_art published" in line for line in lines), lines
    assert any(line.startswith("  last publish io_art: 50 rows at ") for line in lines)
    assert any(line.startswith("  schedule io_art: full cron '0 23 * * *'; next ")
               for line in lines)
    assert "extract:" in core_status.render(core_status.collect(cfg, store))


def test_watch_folder_unwritable_fails_the_job_with_a_clear_line(sqlite_erp, extract_config):
    cfg = extract_config(sqlite_erp, jobs=sqlite_erp.jobs(["io_art"]))
    cfg.export.watch.parent.mkdir(parents=True, exist_ok=True)
    cfg.export.watch.write_text("not a folder")  # the watch path is a file
    res = run_once(cfg, StateStore(cfg.state_dir), out=io.StringIO())
    (o,) = res.outcomes
    assert o.status == "failed" and o.message.startswith("cannot write "), o.message
    assert str(cfg.export.watch) in o.message


def test_scheduler_retries_an_unreachable_database_later(sqlite_erp, extract_config):
    import datetime as dt
    import threading

    from connector.extract.loop import ExtractScheduler

    cfg = extract_config(sqlite_erp, url="postgresql+psycopg://erp@127.0.0.1:1/erp", jobs=[
        {**sqlite_erp.jobs(["io_art"])[0], "schedule": {"every_minutes": 1}}])
    store = StateStore(cfg.state_dir)
    now = dt.datetime(2026, 3, 2, 10, 0)
    sched = ExtractScheduler(cfg, store, extract_sources(cfg), clock=lambda: now)
    assert sched.due(now) == {"changed": ["io_art"]}
    sched.tick(threading.Event())
    row = store.query_one("SELECT last_run FROM extract_schedule WHERE job = 'io_art'")
    assert row is not None and row["last_run"] is None  # not counted as a run
    assert sched.due(now) == {}  # but not retried at every tick either
    sched._retry_at["io_art"] = 0.0  # the retry delay has passed
    assert sched.due(now) == {"changed": ["io_art"]}
