"""Cron expressions, schedules (interval/cron, weekdays, window), query parameters and the
checks of the extract: section."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config import ExtractScheduleConfig
from connector.errors import ConfigError
from connector.extract.cron import CronSyntaxError, parse_cron
from connector.extract.jobs import select_jobs, validated
from connector.extract.params import ParamError, resolve_params
from connector.extract.schedule import parse_schedule

D = dt.datetime


@pytest.mark.parametrize("expr,after,expected", [
    ("0 23 * * *", D(2026, 3, 2, 22, 59), D(2026, 3, 2, 23, 0)),
    ("0 23 * * *", D(2026, 3, 2, 23, 0), D(2026, 3, 3, 23, 0)),
    ("*/15 8-18 * * mon-fri", D(2026, 3, 6, 18, 50), D(2026, 3, 9, 8, 0)),  # Fri -> Mon
    ("30 6,12 1 * *", D(2026, 3, 1, 7, 0), D(2026, 3, 1, 12, 30)),
    ("0 0 29 2 *", D(2026, 3, 1), D(2028, 2, 29)),
    ("0 9 * * 0", D(2026, 3, 2), D(2026, 3, 8, 9, 0)),  # Sunday as 0
    ("0 9 * * 7", D(2026, 3, 2), D(2026, 3, 8, 9, 0)),  # ... and as 7
    ("0 9 13 * fri", D(2026, 3, 1), D(2026, 3, 6, 9, 0)),  # day OR weekday (Vixie cron)
    ("5 4 * jan,jul *", D(2026, 3, 1), D(2026, 7, 1, 4, 5)),
])
def test_cron_next_after(expr, after, expected):
    assert parse_cron(expr).next_after(after) == expected


@pytest.mark.parametrize("expr,message", [
    ("0 23 * *", "expected 5 fields"),
    ("0 0 23 * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"),
    ("61 * * * *", "minute: '61' is not valid (values 0-59;"),
    ("0 5-2 * * *", "hour: '5-2' is not valid (values 0-23; as n, a-b (a <= b)"),
    ("0 0 * * funday", "day of week: 'funday' is not valid (values 0-7 or sun-sat"),
    ("0 0 31 2 *", "day of month: '31' never comes in month '2', so the expression never fires"),
    ("0 0 30 2,4 x", "day of week: 'x' is not valid"),
    ("*/0 * * * *", "minute: '*/0' is not valid"),
])
def test_cron_errors_say_what_is_wrong(expr, message):
    with pytest.raises(CronSyntaxError) as err:
        parse_cron(expr)
    assert message in str(err.value)


@given(st.lists(st.text(alphabet="0123456789*,/-LW#?abcdefjlmnorstuvwxyz", min_size=1,
                        max_size=8), min_size=5, max_size=5))
@settings(max_examples=500, deadline=None)
def test_any_five_fields_parse_or_refuse_cleanly(parts):
    """Whatever is written, the checks get a CronSyntaxError (a line), never a crash."""
    try:
        parse_cron(" ".join(parts)).next_after(D(2026, 3, 1))
    except CronSyntaxError as exc:
        assert str(exc)


def test_a_day_field_starting_with_a_star_ands_with_the_other():
    """Vixie and Debian cron: the OR of the two day fields holds only when neither starts
    with `*`; `*/2` is a star field, so "every other day that is a Monday"."""
    assert parse_cron("0 9 */2 * mon").next_after(D(2026, 3, 1)) == D(2026, 3, 9, 9, 0)
    assert parse_cron("0 9 1-31/2 * mon").next_after(D(2026, 3, 1)) == D(2026, 3, 1, 9, 0)


def test_cron_extensions_of_the_library_work():
    assert parse_cron("0 18 L * *").next_after(D(2026, 2, 1)) == D(2026, 2, 28, 18, 0)
    assert parse_cron("0 8 * * mon#1").next_after(D(2026, 3, 3)) == D(2026, 4, 6, 8, 0)


def test_a_cron_job_across_the_dst_changes_runs_once():
    """The scheduler's times are naive wall-clock times from the state store's timestamps
    (datetime.fromtimestamp). Spring forward (02:00 -> 03:00): the 02:30 run that has no
    minute of its own runs as soon as the clock has passed it. Fall back (03:00 -> 02:00):
    the second 02:30 is the same wall-clock minute as the run already done, so it does
    not run again."""
    sched, _ = parse_schedule(ExtractScheduleConfig(cron="30 2 * * *", mode="full"), "s")
    assert sched is not None
    seen = D(2026, 3, 1)
    before = D(2026, 3, 28, 2, 30)  # the last run before the change (Europe/Rome: 29 March)
    assert not sched.is_due(D(2026, 3, 29, 1, 59), before, seen)
    assert sched.is_due(D(2026, 3, 29, 3, 0), before, seen)  # 01:59 is followed by 03:00
    first = D(2026, 10, 25, 2, 30)  # 25 October: 02:00-02:59 comes twice
    assert not sched.is_due(D(2026, 10, 25, 2, 30, fold=1), first, seen)
    assert not sched.is_due(D(2026, 10, 25, 2, 59, fold=1), first, seen)
    assert sched.next_due(first, seen) == D(2026, 10, 26, 2, 30)


def test_interval_schedule_with_weekdays_and_window_across_midnight():
    sched, errors = parse_schedule(ExtractScheduleConfig(
        every_minutes=60, weekdays=["mon", "tue"], window="22:00-02:00"), "s")
    assert errors == [] and sched is not None
    last = D(2026, 3, 2, 22, 10)  # a Monday
    assert not sched.is_due(D(2026, 3, 2, 23, 0), last, last)  # an hour not yet passed
    assert sched.is_due(D(2026, 3, 2, 23, 15), last, last)
    assert sched.is_due(D(2026, 3, 3, 1, 30), last, last)  # Tuesday, window still open
    assert not sched.is_due(D(2026, 3, 3, 12, 0), last, last)  # outside the window
    assert not sched.is_due(D(2026, 3, 4, 23, 0), last, last)  # Wednesday
    assert sched.is_due(D(2026, 3, 9, 22, 0), last, last)  # waits for the next allowed minute
    assert sched.describe() == "changed every 60 min on mon,tue between 22:00 and 02:00"
    # the next run: due at 23:10 Monday, allowed at once; from Wednesday noon: Monday 00:00
    # (the weekday is that of the minute itself, and 00:00 is inside 22:00-02:00)
    assert sched.next_run(last, last, D(2026, 3, 2, 22, 30)) == D(2026, 3, 2, 23, 10)
    assert sched.next_run(last, last, D(2026, 3, 4, 12, 0)) == D(2026, 3, 9, 0, 0)


def test_cron_schedule_first_run_waits_for_the_expression():
    sched, _ = parse_schedule(ExtractScheduleConfig(cron="0 23 * * *", mode="full"), "s")
    assert sched is not None
    seen = D(2026, 3, 2, 10, 0)
    assert not sched.is_due(D(2026, 3, 2, 22, 59), None, seen)
    assert sched.is_due(D(2026, 3, 2, 23, 0), None, seen)
    assert sched.is_due(D(2026, 3, 3, 8, 0), None, seen)  # missed while down: runs once now
    assert not sched.is_due(D(2026, 3, 3, 8, 0), D(2026, 3, 3, 7, 0), seen)


@pytest.mark.parametrize("cfg,message", [
    (ExtractScheduleConfig(), "set exactly one of every_minutes or cron"),
    (ExtractScheduleConfig(every_minutes=5, cron="* * * * *"), "set exactly one"),
    (ExtractScheduleConfig(every_minutes=0), "s.every_minutes: must be > 0"),
    (ExtractScheduleConfig(cron="0 25 * * *"), "s.cron: hour: '25' is not valid (values 0-23"),
    (ExtractScheduleConfig(every_minutes=5, weekdays=["monday", "xyz"]),
     "s.weekdays[1]: 'xyz' is not one of mon"),
    (ExtractScheduleConfig(every_minutes=5, window="8-20"), "s.window: expected HH:MM-HH:MM"),
])
def test_schedule_errors_name_the_key(cfg, message):
    sched, errors = parse_schedule(cfg, "s")
    assert sched is None and any(message in e for e in errors), errors


def test_params_builtin_declared_and_unknown():
    today = dt.date(2026, 3, 2)
    values = resolve_params(["company", "since_180", "today", "docs", "n", "agent"],
                            company="ACME", today=today,
                            declared={"docs": "days:365", "n": "int:7", "agent": "A01"})
    assert values == {"company": "ACME", "since_180": dt.date(2025, 9, 3),
                      "today": today, "docs": dt.date(2025, 3, 2), "n": 7, "agent": "A01"}
    with pytest.raises(ParamError) as err:
        resolve_params(["company", "warehouse"], company="ACME", declared={})
    assert "the query uses :warehouse but no such parameter is declared" in str(err.value)
    with pytest.raises(ParamError):
        resolve_params(["x"], company="ACME", declared={"x": "days:many"})


def test_extract_section_checks_list_every_problem(config_factory, config_file):
    bad = {"enabled": True, "jobs": [
        {"layout": "io_nope", "query": "select 1"},
        {"layout": "io_art", "query": "select 1", "query_file": "x.sql"},
        {"layout": "io_art", "query_file": "missing.sql",
         "schedule": {"cron": "0 0 * *"}},
        {"layout": "AM_ORD", "query": "select 1"},
    ]}
    with pytest.raises(ConfigError) as err:  # the loader (check-config, daemon start) refuses it
        config_factory(extract=bad)
    text = "\n".join(err.value.errors)
    for expected in ("extract.url: set url or url_env",
                     "extract.jobs[0].layout: unknown tracciato 'io_nope'",
                     "extract.jobs[1]: set exactly one of query or query_file",
                     "extract.jobs[2].layout: io_art is extracted by two jobs",
                     "extract.jobs[2].query_file: no such file",
                     "extract.jobs[2].schedule.cron: '0 0 * *': expected 5 fields",
                     "extract.jobs[3].layout: AM_ORD is a legacy return file"):
        assert expected in text, text
    cp = subprocess.run([sys.executable, "-m", "connector", "--config",
                         str(config_file(extract=bad)), "check-config"],
                        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                        timeout=60)
    assert cp.returncode == 2 and "extract.jobs[0].layout: unknown tracciato" in cp.stderr
    # a disabled section is not judged
    assert not config_factory(extract={**bad, "enabled": False}).extract.enabled


def test_validated_at_run_time_too(config_factory):
    cfg = config_factory(extract={"enabled": True, "url": "sqlite://", "jobs": [
        {"layout": "io_art", "query": "select 1"}]})
    validated(cfg)  # fine


def test_unknown_entity_is_refused_with_the_configured_ones(config_factory):
    cfg = config_factory(extract={"enabled": True, "url": "sqlite://", "jobs": [
        {"layout": "io_art", "query": "select 1"}]})
    with pytest.raises(ConfigError) as err:
        select_jobs(cfg, ["io_clifor_gen"])
    assert "--entity io_clifor_gen: no extraction job for it (configured: io_art)" in str(err.value)
    assert [j.name for j in select_jobs(cfg, ["IO_ART.dat"])] == ["io_art"]
