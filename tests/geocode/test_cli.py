"""`connector geocode` for support people, `connector status`, and check-config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.config import load_config
from connector.geocode.address import normalise
from connector.geocode.cache import GeocodeCache
from connector.state import StateStore
from service.cli import main
from tests.geocode.standin import StandIn


@pytest.fixture
def cfg_path(config_file: Any, standin: StandIn) -> Path:
    path: Path = config_file(geocode={"enabled": True, "url": standin.url,
                                      "requests_per_second": 20})
    return path


def seed(cfg_path: Path) -> GeocodeCache:
    cache = GeocodeCache(StateStore(load_config(cfg_path).state_dir))
    items = []
    for code, parts in (("C001", ("Via Roma 1", "35100", "Padova", "PD")),
                        ("C002", ("Piazza Bra 2", "37121", "Verona", "VR")),
                        ("C003", ("Via Roma 1", "37121", "Verona", "VR")),
                        ("L009", ("Via Inesistente 9", "35100", "Padova", "PD"))):
        a = normalise(*parts, "", "IT")
        assert a is not None
        items.append((a, f"io_clifor_gen {code}"))
    cache.note_pending(items)
    return cache


def run(cfg_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(cfg_path), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_show_list_forget_set_retry(cfg_path: Path, standin: StandIn,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    seed(cfg_path)
    assert run(cfg_path, capsys, "geocode", "--once")[0] == 0

    code, out, _ = run(cfg_path, capsys, "geocode", "--show", "roma padova")
    assert code == 0
    assert "#1  VIA ROMA 1, 35100 PADOVA PD, IT" in out and "found" in out
    assert "45.406435, 11.876761" in out and "house number by nominatim" in out
    assert "io_clifor_gen C001" in out and "openstreetmap.org/?mlat=45.406435" in out

    code, out, _ = run(cfg_path, capsys, "geocode", "--show", "C003")  # by customer code
    assert code == 0 and "VERONA" in out

    code, out, _ = run(cfg_path, capsys, "geocode", "--list", "not-found")
    assert "INESISTENTE" in out and "ROMA" not in out

    # Two entries hold "via roma": forgetting needs one.
    code, _, err = run(cfg_path, capsys, "geocode", "--forget", "via roma")
    assert code == 1 and "2 addresses match" in err and "#1" in err

    code, out, _ = run(cfg_path, capsys, "geocode", "--set", "#4", "45.41", "11.88")
    assert code == 0 and "#4 set by hand to 45.410000, 11.880000" in out
    cache = GeocodeCache(StateStore(load_config(cfg_path).state_dir))
    manual = cache.get(4)
    assert manual is not None and manual.status == "manual" and manual.point == (45.41, 11.88)

    # A hand-set entry is never asked again nor replaced; a forgotten one is asked again.
    asked = len(standin.requests)
    code, out, _ = run(cfg_path, capsys, "geocode", "--forget", "piazza bra")
    assert code == 0 and "#2 forgotten" in out
    assert run(cfg_path, capsys, "geocode", "--once")[0] == 0
    assert len(standin.requests) == asked + 1 and standin.count("PIAZZA BRA") == 2
    assert cache.get(4).status == "manual"  # type: ignore[union-attr]

    code, out, _ = run(cfg_path, capsys, "geocode", "--retry")
    assert code == 0 and out.startswith("0 address")


def test_bad_input(cfg_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(cfg_path)
    assert run(cfg_path, capsys, "geocode", "--set", "#1", "95", "11")[0] == 2
    assert run(cfg_path, capsys, "geocode", "--set", "#1", "north", "11")[0] == 2
    code, _, err = run(cfg_path, capsys, "geocode", "--set", "#99", "45", "11")
    assert code == 1 and "no address in the cache matches '#99'" in err
    assert run(cfg_path, capsys, "geocode", "--show", "nowhere at all")[0] == 1
    assert run(cfg_path, capsys, "geocode", "--once", "--limit", "0")[0] == 2


def test_limit_and_failures_exit_1(cfg_path: Path, standin: StandIn,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    seed(cfg_path)
    code, out, _ = run(cfg_path, capsys, "geocode", "--once", "--limit", "1")
    assert code == 0 and "asked 1" in out and "3 address(es) still waiting" in out
    standin.script.extend(["500"] * 3)
    code, out, _ = run(cfg_path, capsys, "geocode", "--once")
    assert code == 1 and "failed 1" in out and "keeps failing" in out


def test_off_and_missing_key(config_file: Any, standin: StandIn, monkeypatch: Any,
                             capsys: pytest.CaptureFixture[str]) -> None:
    off = config_file()
    code, _, err = run(off, capsys, "geocode", "--once")
    assert code == 2 and "geocoding is off" in err
    keyed = config_file(geocode={"enabled": True, "provider": "google", "url": standin.url,
                                 "api_key_env": "TEST_GEOCODE_KEY"})
    monkeypatch.delenv("TEST_GEOCODE_KEY", raising=False)
    code, _, err = run(keyed, capsys, "geocode", "--once")
    assert code == 2 and "TEST_GEOCODE_KEY is not set" in err
    monkeypatch.setenv("TEST_GEOCODE_KEY", "k-123")
    assert run(keyed, capsys, "geocode", "--once")[0] == 0


def test_status_shows_cached_pending_failed(cfg_path: Path, standin: StandIn,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    seed(cfg_path)
    standin.script.extend(["500"] * 3)
    run(cfg_path, capsys, "geocode", "--once", "--limit", "1")  # C001 fails
    run(cfg_path, capsys, "geocode", "--once", "--limit", "2")  # two found
    code, out, _ = run(cfg_path, capsys, "status")
    assert code == 0
    assert "geocoding (nominatim, up to 20 request(s) a second):" in out
    assert "cached 2 (found 2, by hand 0), pending 1, failed 1" in out
    assert "#1 VIA ROMA 1, 35100 PADOVA PD, IT: geocoder nominatim" in out
    facts = json.loads(run(cfg_path, capsys, "status", "--json")[1])
    assert (facts["geocode"]["cached"], facts["geocode"]["pending"],
            facts["geocode"]["failed"]) == (2, 1, 1)


def test_status_when_off(config_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(config_file(), capsys, "status")
    assert code == 0 and "geocoding: off" in out


@pytest.mark.parametrize("section,problem", [
    ({"provider": "google"}, "geocode.api_key_env: the google provider needs a key"),
    ({"provider": "mapquest"}, "geocode.provider: must be one of"),
    ({"requests_per_second": 2}, "geocode.requests_per_second: the public Nominatim server"),
    ({"requests_per_second": 0}, "geocode.requests_per_second: must be a number"),
    ({"url": "ftp://x"}, "geocode.url: expected the server's address"),
    ({"provider": "google", "api_key_env": "K", "url": "http://geo.lan"},
     "geocode.url: this provider is sent a key: use https"),
    ({"provider": "pelias"}, "geocode.url: the pelias provider has no public server"),
    ({"provider": "here", "api_key_env": "K", "url": "https://x"}, "geocode.url: the here provider"),
    ({"country": "ITA"}, "geocode.country: expected a two-letter country code"),
    ({"layouts": ["io_art"]}, "geocode.layouts[0]: 'io_art' is not geocoded"),
    ({"min_quality": "exact"}, "geocode.min_quality: must be one of"),
    ({"timeout_seconds": 0}, "geocode.timeout_seconds: must be above 0"),
    ({"timeout_seconds": 61}, "geocode.timeout_seconds: must be above 0 and at most 60"),
    ({"enabled": "yes"}, "geocode.enabled: expected true or false"),
    ({"retry_failed_minutes": -1}, "geocode.retry_failed_minutes: must be above 0"),
])
def test_check_config(config_file: Any, capsys: pytest.CaptureFixture[str],
                      section: dict[str, Any], problem: str) -> None:
    path = config_file(geocode=section)
    code, _, err = run(path, capsys, "check-config")
    assert code == 2 and problem in err


def test_the_shipped_connector_yaml_is_valid_and_off() -> None:
    cfg = load_config(Path(__file__).resolve().parents[2] / "connector.yaml")
    assert cfg.geocode.enabled is False and cfg.geocode.country == "IT"


def test_signal_handlers_are_put_back(cfg_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    seed(cfg_path)
    run(cfg_path, capsys, "geocode", "--once")
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_foreground_run_stops_on_sigterm(cfg_path: Path, standin: StandIn) -> None:
    """`connector geocode` without --once works like the daemon's loop until SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cache = seed(cfg_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "connector", "--config", str(cfg_path),
                             "geocode"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 60
        while cache.counts()["pending"]:
            assert time.monotonic() < deadline and proc.poll() is None, "nothing resolved"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and b"geocoding with nominatim" in out


def test_the_daemon_runs_the_loop_only_when_enabled(config_file: Any, standin: StandIn) -> None:
    from connector.app import build_loops

    on = load_config(config_file(export={"enabled": False},
                                 geocode={"enabled": True, "url": standin.url}))
    off = load_config(config_file(export={"enabled": False}))
    assert [lp.name for lp in build_loops(on, StateStore(on.state_dir))] == ["geocode"]
    assert build_loops(off, StateStore(off.state_dir)) == []


def test_the_command_speaks_italian(cfg_path: Path, standin: StandIn,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from connector import i18n

    seed(cfg_path)
    with i18n.use("it"):
        code, out, _ = run(cfg_path, capsys, "geocode", "--once")
        assert code == 0 and out.startswith("richiesti ")
        code, out, _ = run(cfg_path, capsys, "geocode", "--show", "roma padova")
    assert code == 0 and "    stato:     trovato" in out
    assert "numero civico da nominatim" in out
