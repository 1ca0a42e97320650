"""The publish-time fill: a pure transform over header and rows, and its streaming writer."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.fsutil import HashingWriter
from connector.geocode.address import Address
from connector.geocode.fill import (
    PLANS,
    CacheLookup,
    FillingWriter,
    RowFiller,
    fill_rows,
    format_coordinate,
    is_empty,
)
from formats.layout import get_layout
from tests.geocode.conftest import CUSTOMERS, GEN_HEADER, gen_file, gen_row

GEN_COLUMNS = get_layout("io_clifor_gen").field_names
KNOWN = {"VIA ROMA 1|35100|PADOVA|PD|IT": (45.4064349, 11.8767611),
         "PIAZZA BRA 2|37121|VERONA|VR|IT": (45.438384, 10.991622)}


def cells(line: str) -> list[str]:
    return line.split("|")


class Lookup:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def __call__(self, address: Address, origin: Callable[[], str]) -> tuple[float, float] | None:
        self.asked.append((address.key, origin()))
        return KNOWN.get(address.key)


def filler(header: str = GEN_HEADER, layout: str = "io_clifor_gen", suppliers: bool = False,
           ) -> RowFiller:
    return RowFiller(PLANS[layout], header.split("|"), get_layout(layout).field_names,
                     default_country="IT", suppliers=suppliers)


def test_empty_and_zero_are_filled_erp_coordinates_kept() -> None:
    f, look = filler(), Lookup()
    rows = [r.split("|") for r in CUSTOMERS]
    out = list(fill_rows(f, rows, look))
    lat, lon = f.header_out.index("LATITUDINE"), f.header_out.index("LONGITUDINE")
    assert (out[0][lat], out[0][lon]) == ("45.406435", "11.876761")  # empty -> filled, 6 decimals
    assert (out[1][lat], out[1][lon]) == ("45.438384", "10.991622")  # zero -> filled
    assert out[2] == rows[2]  # the ERP's own coordinates: untouched, and not even looked up
    assert [k for k, _ in look.asked] == list(KNOWN)
    assert look.asked[0][1] == "io_clifor_gen C001"
    assert (f.counts.filled, f.counts.kept, f.counts.missing) == (2, 1, 0)


def test_half_a_coordinate_is_the_erps() -> None:
    f = filler()
    row = gen_row("C9", "Via Roma 1", "35100", "Padova", "PD", "45.1", "").split("|")
    assert f.fill(row, Lookup()) == row


def test_unknown_address_stays_empty_and_is_counted() -> None:
    f = filler()
    row = gen_row("C9", "Via Ignota 3", "35100", "Padova", "PD").split("|")
    assert f.fill(row, Lookup()) == row and f.counts.missing == 1


def test_suppliers_are_left_out_unless_asked() -> None:
    row = gen_row("F1", "Via Roma 1", "35100", "Padova", "PD", kind="1").split("|")
    look = Lookup()
    assert filler().fill(row, look) == row and not look.asked
    assert filler(suppliers=True).fill(row, look) != row


def test_missing_columns_are_added_in_layout_order() -> None:
    """An ERP file without LATITUDINE/LONGITUDINE gets them, where the layout puts them."""
    header = "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|INDIRIZZO|CAP|CITTA|PROVINCIA|NAZIONE|DAT_ULT_MOD"
    f = filler(header)
    assert f.header_out == ["CHIAVE", "COD_DITTA", "TIPO_CLIFOR", "COD_CLIFOR", "INDIRIZZO",
                            "CAP", "CITTA", "PROVINCIA", "LATITUDINE", "LONGITUDINE", "NAZIONE",
                            "DAT_ULT_MOD"]
    row = cells("ACME§C1|ACME|0|C1|Via Roma 1|35100|Padova|PD|Italia|01011900000000")
    assert f.fill(row, Lookup())[8:10] == ["45.406435", "11.876761"]
    unknown = cells("ACME§C2|ACME|0|C2|Via Ignota 1|35100|Padova|PD||01011900000000")
    assert f.fill(unknown, Lookup())[8:10] == ["", ""]


def test_destinations_have_no_coordinate_columns_to_fill() -> None:
    """io_clifor_dest documents no LATITUDINE/LONGITUDINE: nothing is added or asked."""
    header = "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_DEST|INDIRIZZO|CAP|CITTA|PROVINCIA|DAT_ULT_MOD"
    f = filler(header, "io_clifor_dest")
    row = cells("ACME§C1§1|ACME|0|C1|1|Via Roma 1|35100|Padova|PD|01011900000000")
    look = Lookup()
    assert not f.active and f.header_out == header.split("|")
    assert f.fill(row, look) == row and not look.asked


def test_no_writer_gives_destinations_coordinate_columns() -> None:
    """Checked against every public writer (docs/guide/geocoding.md): the documented
    io_clifor_dest has no LATITUDINE/LONGITUDINE, so the connector adds none. Should a
    layout gain them, this fails and the guide's paragraph must change with it."""
    assert not {"LATITUDINE", "LONGITUDINE"} & set(get_layout("io_clifor_dest").field_names)
    assert {"LATITUDINE", "LONGITUDINE"} <= set(get_layout("io_clifor_gen").field_names)
    assert {"LATITUDINE", "LONGITUDINE"} <= set(get_layout("io_leads").field_names)


def test_destination_files_that_carry_coordinates_of_their_own_are_filled() -> None:
    """An ERP that writes the two columns anyway (extra columns, published as they are)
    gets them filled like customers, never overwriting its own values."""
    header = ("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_DEST|INDIRIZZO|CAP|CITTA|PROVINCIA|"
              "LATITUDINE|LONGITUDINE|DAT_ULT_MOD")
    f = filler(header, "io_clifor_dest")
    row = cells("ACME§C1§1|ACME|0|C1|1|Via Roma 1|35100|Padova|PD|||01011900000000")
    own = cells("ACME§C1§2|ACME|0|C1|2|Via Roma 1|35100|Padova|PD|45.1|11.2|01011900000000")
    look = Lookup()
    assert f.active and f.header_out == header.split("|")
    assert f.fill(row, look)[9:11] == ["45.406435", "11.876761"]
    assert f.fill(own, look) == own
    assert look.asked[0][1] == "io_clifor_dest C1 1"


def test_leads_with_extra_columns() -> None:
    header = "CHIAVE|COD_DITTA|COD_LEAD|INDIRIZZO|CITTA|CAP|PROVINCIA|LATITUDINE|LONGITUDINE|NAZIONE|STATUS|DAT_ULT_MOD"
    f = filler(header, "io_leads")
    row = cells("ACME§L1|ACME|L1|Via Roma 1|Padova|35100|PD|0,000000|0,000000|Italia|nuovo|01011900000000")
    look = Lookup()
    assert f.fill(row, look)[7:9] == ["45.406435", "11.876761"]
    assert look.asked[0][1] == "io_leads L1"


@pytest.mark.parametrize("value,empty", [("", True), ("  ", True), ("0", True), ("0.0", True),
                                         ("0,000000", True), ("-0.0", True), ("45.1", False),
                                         ("n/a", False)])
def test_is_empty(value: str, empty: bool) -> None:
    assert is_empty(value) is empty


@pytest.mark.parametrize("value,text", [(45.4064349, "45.406435"), (-0.0000001, "0.000000"),
                                        (11.0, "11.000000"), (-73.98551249, "-73.985512"),
                                        (179.9999999, "180.000000")])
def test_format_coordinate(value: float, text: str) -> None:
    assert format_coordinate(value) == text


class FakeCache:
    def __init__(self) -> None:
        self.noted: list[tuple[Address, str]] = []
        self.reads = 0

    def point(self, key: str) -> tuple[float, float] | None:
        self.reads += 1
        return KNOWN.get(key)

    def note_pending(self, items: list[tuple[Address, str]]) -> int:
        self.noted.extend(items)
        return len(items)


def stream(data: bytes, cuts: list[int]) -> tuple[bytes, FakeCache, HashingWriter]:
    raw = io.BytesIO()
    cache = FakeCache()
    w = FillingWriter(raw, lambda h: filler("|".join(h)), CacheLookup(cache), "io_clifor_gen.dat")  # type: ignore[arg-type]
    last = 0
    for cut in sorted(cuts) + [len(data)]:
        w.write(data[last:cut])
        last = max(last, cut)
    w.flush()
    return raw.getvalue(), cache, w


BOM = b"\xef\xbb\xbf"
SOURCE = BOM + gen_file(*CUSTOMERS, gen_row("C004", "Via Ignota 9", "35100", "Padova", "PD"),
                        gen_row("C005", "Via Roma 1", "35100", "Padova", "PD"))


def test_streamed_output_is_filled_and_hashed() -> None:
    out, cache, w = stream(SOURCE, [])
    lines = out.split(b"\r\n")
    assert out.startswith(BOM + GEN_HEADER.encode())
    assert b"|45.406435|11.876761|" in lines[1] and b"|45.438384|10.991622|" in lines[2]
    assert lines[3] == SOURCE.split(b"\r\n")[3]  # the ERP's coordinates, byte for byte
    assert [a.key for a, _ in cache.noted] == ["VIA IGNOTA 9|35100|PADOVA|PD|IT"]
    assert cache.reads == 3  # C005 repeats C001's address: read once
    import hashlib

    assert w.sha256 == hashlib.sha256(out).hexdigest() and w.size == len(out)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SOURCE)), max_size=12))
def test_any_write_boundaries_give_the_same_bytes(cuts: list[int]) -> None:
    """However the canonical writer slices its output, the filled file is the same."""
    assert stream(SOURCE, cuts)[0] == stream(SOURCE, [])[0]


def test_nothing_to_fill_is_byte_identical() -> None:
    data = BOM + gen_file(CUSTOMERS[2])
    assert stream(data, [7])[0] == data
