from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.config import Config, parse_config
from connector.state import StateStore
from tests.conftest import make_config_dict
from tests.geocode.standin import Place, StandIn, StandInServer

# Addresses of io_clifor_gen rows, and where the stand-in puts them.
PADOVA = Place(45.406435, 11.876761, "house", "Via Roma 1, Padova")
VERONA = Place(45.438384, 10.991622, "house", "Piazza Bra 2, Verona")
VICENZA = Place(45.545479, 11.535421, "street", "Corso Palladio, Vicenza")
ROVIGO = Place(45.070000, 11.790000, "city", "Rovigo")

GEN_HEADER = ("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|INDIRIZZO|CAP|CITTA|PROVINCIA|"
              "LATITUDINE|LONGITUDINE|NAZIONE|DAT_ULT_MOD")


def gen_row(code: str, street: str, cap: str, city: str, prov: str, lat: str = "",
            lon: str = "", kind: str = "0", nation: str = "ITALIA") -> str:
    return (f"ACME§{code}|ACME|{kind}|{code}|Cliente {code}|{street}|{cap}|{city}|{prov}|"
            f"{lat}|{lon}|{nation}|01011900000000")


def gen_file(*rows: str, header: str = GEN_HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


CUSTOMERS = (
    gen_row("C001", "Via Roma 1", "35100", "Padova", "PD"),
    gen_row("C002", "Piazza Bra 2", "37121", "Verona", "VR", "0", "0"),
    gen_row("C003", "Corso Palladio 5", "36100", "Vicenza", "VI", "45.100000", "11.200000"),
)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandInServer() as state:
        state.places.update({"ROMA 1": PADOVA, "PIAZZA BRA": VERONA, "PALLADIO": VICENZA,
                             "ROVIGO": ROVIGO})
        yield state


@pytest.fixture
def geo_config(tmp_path: Path, standin: StandIn) -> Any:
    def make(**geocode: Any) -> Config:
        section = {"enabled": True, "provider": "nominatim", "url": standin.url,
                   "requests_per_second": 50, "timeout_seconds": 2, "attempts": 2}
        section.update(geocode)
        return parse_config(make_config_dict(tmp_path, geocode=section), tmp_path)

    return make


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state")


class FakeTime:
    """A monotonic and a wall clock that move only when somebody waits."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_800_000_000.0
        self.lock = threading.Lock()
        self.waits: list[float] = []

    def clock(self) -> float:
        with self.lock:
            return self.mono

    def wall_clock(self) -> float:
        with self.lock:
            return self.wall

    def sleep(self, stop: threading.Event, seconds: float) -> bool:
        if stop.is_set():
            return True
        with self.lock:
            self.waits.append(seconds)
            self.mono += seconds
            self.wall += seconds
        return False


def assert_spaced(grants: list[float], interval: float) -> None:
    ordered = sorted(grants)
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert b >= a + interval, (a, b, interval)
