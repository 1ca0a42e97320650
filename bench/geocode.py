"""Benchmark of the publish-time geocoding fill: what it adds to publishing io_clifor_gen.

    python -m bench.geocode [--rows N] [--distinct D] [--repeat K]   (D defaults to N)

Canonicalizes a generated io_clifor_gen.dat of N rows (the columns the reference
connector writes) into a hashing writer, as the export pipeline stages it, four ways,
interleaved in this same process, best of --repeat:

- off: geocoding disabled (the baseline, a plain HashingWriter);
- kept: geocoding on, every row with the ERP's own coordinates (nothing looked up);
- filled: every row without coordinates, all D distinct addresses in the cache;
- pending: every row without coordinates, none cached (each distinct address is noted
  as pending in the state store when the file is flushed).

Prints wall and CPU seconds, each case's ratio to `off` (on CPU time, which other
processes on a shared machine inflate less than wall time) and the fill's own cost per
row. The issue sets no speed target: the figures say what geocoding adds to a publish.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.formats import COLUMNS
from connector.config import GeocodeConfig
from connector.geocode.address import normalise
from connector.geocode.cache import GeocodeCache
from connector.geocode.fill import PublishFill
from connector.ports import GeoMatch
from connector.state import StateStore
from formats import canonicalize, get_layout


def _row(i: int, distinct: int, coords: bool) -> str:
    code = f"C{i:07d}"
    street = f"VIA ROMA {i % distinct}"
    lat, lon = ("45.360100", "11.789700") if coords else ("", "")
    return "|".join((
        f"ACME§{code}", "ACME", "0", code, f"ROSSI {i % 997}", street,
        f"IT{i:011d}", "", "", "", "", "", "", "", "35031", "PADOVA", "PD",
        lat, lon, "", "0", "0", "ITALIA", "", "", "", "EUR", "5,5", "", "", "L1", "",
        "", "01012013", "", "", "", "", "1000,00", "", "", "0", "", "01011900000000"))


def _generate(path: Path, rows: int, distinct: int, coords: bool) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\ufeff" + "|".join(COLUMNS) + "\r\n")
        for start in range(0, rows, 10000):
            f.write("\r\n".join(_row(i, distinct, coords)
                                for i in range(start, min(rows, start + 10000))) + "\r\n")


def _seed(store: StateStore, distinct: int) -> None:
    cache = GeocodeCache(store)
    items = []
    for i in range(distinct):
        a = normalise(f"VIA ROMA {i}", "35031", "PADOVA", "PD", "ITALIA", "IT")
        assert a is not None
        items.append((a, "bench"))
    cache.note_pending(items)
    for row in store.query("SELECT id FROM geocode_cache"):
        cache.record_match(row["id"], GeoMatch(45.36, 11.78, "house", "bench"), "found")


def _run(src: Path, dst: Path, fill: PublishFill) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    with open(src, "rb") as fin, open(dst, "wb") as raw:
        writer = fill.writer(raw, "io_clifor_gen.dat")
        report = canonicalize(fin, writer, get_layout("io_clifor_gen"))  # type: ignore[arg-type]
        writer.flush()
    assert report.valid, report.first_error()
    return time.perf_counter() - t, time.process_time() - c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.geocode")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--distinct", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    args.distinct = args.distinct or args.rows
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with_coords, without = root / "with.dat", root / "without.dat"
        _generate(with_coords, args.rows, args.distinct, True)
        _generate(without, args.rows, args.distinct, False)
        on = GeocodeConfig(enabled=True)
        cached_store = StateStore(root / "cached")
        _seed(cached_store, args.distinct)
        cases = {
            "off": (without, lambda: PublishFill(GeocodeConfig(), StateStore(root / "off"))),
            "kept": (with_coords, lambda: PublishFill(on, StateStore(root / "kept"))),
            "filled": (without, lambda: PublishFill(on, cached_store)),
            "pending": None,
        }
        best: dict[str, tuple[float, float]] = {}
        for k in range(args.repeat):
            for name, case in cases.items():
                if case is None:  # a fresh, empty cache each round
                    src, fill = without, PublishFill(on, StateStore(root / f"pending{k}"))
                else:
                    src, fill = case[0], case[1]()
                wall, cpu = _run(src, root / "out.dat", fill)
                old = best.get(name)
                best[name] = (min(wall, old[0]), min(cpu, old[1])) if old else (wall, cpu)
        off_wall, off_cpu = best["off"]
        print(f"io_clifor_gen, {args.rows:,} rows, {args.distinct:,} distinct addresses, "
              f"best of {args.repeat}")
        for name, (wall, cpu) in best.items():
            extra = (f"  +{(cpu - off_cpu) / args.rows * 1e6:5.1f} us a row"
                     if name != "off" else "")
            print(f"  {name:<8} wall {wall:6.2f} s ({wall / off_wall:4.2f} x)  "
                  f"cpu {cpu:6.2f} s ({cpu / off_cpu:4.2f} x){extra}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
