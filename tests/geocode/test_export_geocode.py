"""Geocoding end to end, through the real export pipeline, folder publisher and CLI."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from connector.app import build_geocoder
from connector.app import export_once as run_once
from connector.config import load_config
from connector.geocode.cache import GeocodeCache
from connector.geocode.loop import GeocodeLoop
from connector.state import StateStore
from service.cli import main
from tests.geocode.conftest import CUSTOMERS, GEN_HEADER, gen_file, gen_row
from tests.geocode.standin import StandIn

EXPORT = "export"
PUBLISHED = Path("Dropbox") / "ACME" / "gestionale" / "io_clifor_gen.dat"


def drop(tmp_path: Path, data: bytes, name: str = "io_clifor_gen.dat") -> None:
    folder = tmp_path / EXPORT
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def published_rows(tmp_path: Path) -> dict[str, dict[str, str]]:
    text = (tmp_path / PUBLISHED).read_bytes().decode("utf-8-sig")
    header, *rows = [line.split("|") for line in text.split("\r\n") if line]
    return {r[header.index("COD_CLIFOR")]: dict(zip(header, r, strict=True)) for r in rows}


@pytest.fixture
def cfg_path(config_file: Any, standin: StandIn) -> Path:
    path: Path = config_file(geocode={"enabled": True, "provider": "nominatim",
                                      "url": standin.url, "requests_per_second": 20,
                                      "timeout_seconds": 2})
    return path


def test_done_when(cfg_path: Path, tmp_path: Path, standin: StandIn,
                   capsys: pytest.CaptureFixture[str]) -> None:
    """An io_clifor_gen dropped with empty coordinates is published; `connector geocode
    --once` resolves its addresses; the same file dropped again is published with them."""
    args = ["--config", str(cfg_path)]
    drop(tmp_path, gen_file(*CUSTOMERS))
    assert main([*args, "export", "--once", "--wait", "10"]) == 0
    rows = published_rows(tmp_path)
    assert rows["C001"]["LATITUDINE"] == "" and rows["C002"]["LATITUDINE"] == "0"
    assert not standin.requests  # publishing asked nobody

    # Nothing learnt yet: the same file again is unchanged, not republished.
    drop(tmp_path, gen_file(*CUSTOMERS))
    assert main([*args, "export", "--once", "--wait", "10"]) == 0
    assert "unchanged 1" in capsys.readouterr().out

    assert main([*args, "geocode", "--once"]) == 0
    assert "asked 2: found 2" in capsys.readouterr().out
    assert len(standin.requests) == 2  # C003 came with coordinates: never asked

    drop(tmp_path, gen_file(*CUSTOMERS))
    assert main([*args, "export", "--once", "--dry-run"]) == 0  # the dry run sees it too
    assert "(would be published)" in capsys.readouterr().out
    assert main([*args, "export", "--once", "--wait", "10"]) == 0
    assert "published 1" in capsys.readouterr().out  # only the coordinates changed
    rows = published_rows(tmp_path)
    assert (rows["C001"]["LATITUDINE"], rows["C001"]["LONGITUDINE"]) == ("45.406435", "11.876761")
    assert (rows["C002"]["LATITUDINE"], rows["C002"]["LONGITUDINE"]) == ("45.438384", "10.991622")
    assert (rows["C003"]["LATITUDINE"], rows["C003"]["LONGITUDINE"]) == ("45.100000", "11.200000")
    assert len(standin.requests) == 2  # the fill read the cache only

    # And again: identical output, not republished.
    drop(tmp_path, gen_file(*CUSTOMERS))
    assert main([*args, "export", "--once", "--wait", "10"]) == 0
    assert "unchanged 1" in capsys.readouterr().out


def test_an_erp_file_without_coordinate_columns_gets_them(cfg_path: Path, tmp_path: Path,
                                                          standin: StandIn) -> None:
    header = "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|INDIRIZZO|CAP|CITTA|PROVINCIA|DAT_ULT_MOD"
    row = "ACME§C001|ACME|0|C001|Via Roma 1|35100|Padova|PD|01011900000000"
    cfg = load_config(cfg_path)
    store = StateStore(cfg.state_dir)
    drop(tmp_path, gen_file(row, header=header))
    assert run_once(cfg, store, max_wait=10).published == 1
    assert main(["--config", str(cfg_path), "geocode", "--once"]) == 0
    drop(tmp_path, gen_file(row, header=header))
    assert run_once(cfg, store, max_wait=10).published == 1
    rows = published_rows(tmp_path)
    assert rows["C001"]["LATITUDINE"] == "45.406435"
    assert list(rows["C001"])[8:10] == ["LATITUDINE", "LONGITUDINE"]
    assert main(["validate", str(tmp_path / PUBLISHED)]) == 0  # still a valid tracciato


def test_publishing_never_waits_for_the_geocoder(cfg_path: Path, tmp_path: Path,
                                                 standin: StandIn) -> None:
    """While the geocoder's server holds a request, the export publishes."""
    cfg = load_config(cfg_path)
    store = StateStore(cfg.state_dir)
    slow = cfg.geocode.__class__(**{**cfg.geocode.__dict__, "timeout_seconds": 60.0})
    drop(tmp_path, gen_file(*CUSTOMERS))
    assert run_once(cfg, store, max_wait=10).published == 1  # C001, C002 now pending
    standin.script.append("hang")
    stop = threading.Event()
    loop = GeocodeLoop(slow, StateStore(cfg.state_dir), lambda: build_geocoder(cfg))
    t = threading.Thread(target=loop.run, args=(stop, lambda: None))
    t.start()
    try:
        assert standin.hanging.wait(20), "the geocoder never asked"
        drop(tmp_path, gen_file(*CUSTOMERS, gen_row("C004", "Via Nuova 4", "35100", "Padova",
                                                    "PD")))
        counts = run_once(cfg, store, max_wait=10)
        published, quarantined = counts.published, counts.quarantined
        assert (published, quarantined) == (1, 0)
        assert "C004" in published_rows(tmp_path)
        # The geocoder is still inside its held request: nothing it asked is answered.
        assert GeocodeCache(store).counts()["found"] == 0 and len(standin.requests) == 1
    finally:
        standin.release.set()
        stop.set()
        t.join(20)
    assert not t.is_alive()
    counts = GeocodeCache(store).counts()
    assert counts["found"] + counts["pending"] == 3  # C004 noted, nobody lost


def test_suppliers_and_erp_coordinates_are_never_sent(cfg_path: Path, tmp_path: Path,
                                                      standin: StandIn) -> None:
    cfg = load_config(cfg_path)
    store = StateStore(cfg.state_dir)
    drop(tmp_path, gen_file(gen_row("F001", "Via Roma 1", "35100", "Padova", "PD", kind="1"),
                            CUSTOMERS[2]))
    assert run_once(cfg, store, max_wait=10).published == 1
    assert sum(GeocodeCache(store).counts().values()) == 0


def test_geocoding_off_changes_nothing(config_file: Any, tmp_path: Path) -> None:
    cfg = load_config(config_file())
    store = StateStore(cfg.state_dir)
    data = b"\xef\xbb\xbf" + gen_file(*CUSTOMERS)
    drop(tmp_path, data)
    assert run_once(cfg, store, max_wait=10).published == 1
    assert (tmp_path / PUBLISHED).read_bytes() == data
    assert sum(GeocodeCache(store).counts().values()) == 0
    assert GEN_HEADER in data.decode("utf-8-sig")
