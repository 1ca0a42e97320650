"""Benchmark of formats/: validate + canonicalize a big io_clifor_gen file against a plain loop.

    python -m bench.formats [--rows N] [--rss-rows A,B] [--repeat K] [--no-rss]
                            [--warned] [--pathological]

Prints, for three inputs (canonical as the reference connector writes it; LF line ends
and no BOM, so every line is rewritten; canonical but with keys in scrambled order, so
the CHIAVE table is in use), and with --warned a fourth (every row with a warning: a
coordinate with a decimal comma, repaired), the time of
`canonicalize` (validate every field + CHIAVE uniqueness + write the canonical form)
against a plain Python loop that reads the same file, splits each line on | and writes
it back, measured in this same run (best of --repeat, interleaved). The target ratio is
judged on CPU time (time.process_time), which other processes on a shared machine
cannot inflate the way they inflate wall time; both are printed. Then the peak RSS
(VmHWM) of a child process doing the same at each size of --rss-rows.

--pathological: the inputs of issue 18 finding 8 (a 128 MB file without a line end, a
header of a million columns) through the validator and the export pipeline: time, peak
traced memory, report and state-store size.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from formats import canonicalize, get_layout

LAYOUT = "io_clifor_gen"
# The columns the reference connector writes for io_clifor_gen (a subset, in its order).
_HEADER = ("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|INDIRIZZO|PARTITA_IVA|CODICE_FISCALE|"
           "TELEFONO1|TELEFONO2|FAX|CELLULARE|EMAIL|INTERNET|CAP|CITTA|PROVINCIA|LATITUDINE|"
           "LONGITUDINE|COD_CLASSE_SCONTO|FLG_MOD_NEL_DISP|FLG_DEPERIBILITA|NAZIONE|PAGAMENTO|"
           "BANCA|AGENZIA|VALUTA|SCO_PERC1|SCO_PERC2|SCONTO_PIEDE|COD_LISTINO|COD_CONDPAG|"
           "COD_VALUTA|DATA_CREAZIONE|ZONA|CATEGORIA|DATA_ULT_DOC_FT|DATA_ULT_ORDINE|"
           "FIDO_AZIENDALE|COD_ZONA|COD_CATEGORIA|FLG_NEW_CLIFOR|TAG|DAT_ULT_MOD")
COLUMNS = _HEADER.split("|")


def _row(i: int, lat: str = "45.3601") -> str:
    """About 170 bytes, like a real customer row: code, name, address, VAT, terms, dates."""
    code = f"C{i:07d}"
    day = 1 + i % 28
    return "|".join((
        f"ACME§{code}", "ACME", str(i % 2), code, f"ROSSI {i % 997}", f"VIA ROMA {i % 300}",
        f"IT{i:011d}", "", "", "", "", "", "", "", "35031", "PADOVA", "PD",
        lat, "11.7897", "", "0", "0", "", "", "", "", "EUR", "5,5", "", "", "L1", "",
        "", f"{day:02d}012013", "", "", "", "", "1000,00", "", "", "0", "", "01011900000000"))


def generate(path: Path, rows: int, *, canonical: bool, shuffled: bool = False,
             warned: bool = False) -> None:
    """A valid io_clifor_gen file; canonical: BOM + CRLF, else no BOM + LF.

    Rows come sorted by CHIAVE unless shuffled (then every key is still unique); warned:
    every row's LATITUDINE has a decimal comma (a warning, repaired to a dot).
    """
    lat = "45,3601" if warned else "45.3601"
    eol = "\r\n" if canonical else "\n"
    modulus = rows if rows % 2 and rows % 5 else rows + 1  # coprime with 2654435761
    with open(path, "w", encoding="utf-8", newline="") as f:
        if canonical:
            f.write("\ufeff")
        f.write("|".join(COLUMNS) + eol)
        batch = []
        for i in range(rows):
            batch.append(_row((i * 2654435761) % modulus if shuffled else i, lat))
            if len(batch) == 10000:
                f.write(eol.join(batch) + eol)
                batch.clear()
        if batch:
            f.write(eol.join(batch) + eol)


def baseline(src: Path, dst: Path) -> tuple[float, float]:
    """The plain loop: read, split on |, write. Returns (wall, cpu) seconds."""
    t, c = time.perf_counter(), time.process_time()
    with open(src, encoding="utf-8-sig", newline="") as f, \
            open(dst, "w", encoding="utf-8", newline="") as out:
        for line in f:
            parts = line.rstrip("\r\n").split("|")
            out.write("|".join(parts) + "\r\n")
    return time.perf_counter() - t, time.process_time() - c


def ours(src: Path, dst: Path) -> tuple[float, float]:
    """validate + canonicalize. Returns (wall, cpu) seconds."""
    t, c = time.perf_counter(), time.process_time()
    with open(src, "rb") as f, open(dst, "wb") as out:
        report = canonicalize(f, out, get_layout(LAYOUT))
    elapsed = time.perf_counter() - t, time.process_time() - c
    if not report.valid:
        raise SystemExit("bench: generated file judged invalid: " + report.first_error())
    return elapsed


def pathological(tmp: Path) -> None:
    """Issue 18 finding 8: the validator and the export pipeline on hostile shapes."""
    import threading
    import tracemalloc

    from connector.app import build_publisher
    from connector.config import parse_config
    from connector.export.pipeline import ExportPipeline
    from connector.state import StateStore
    from formats import validate_file

    shapes = {
        "128 MB without a line end": lambda f: [f.write(b"x" * (1 << 20)) for _ in range(128)],
        "a header, then 128 MB without a line end": lambda f: [
            f.write(b"CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\r\n")] + [
            f.write(b"x" * (1 << 20)) for _ in range(128)],
        "a header of 1,000,000 columns": lambda f: f.write(
            b"|".join(b"COLONNA_%d" % i for i in range(1_000_000)) + b"\r\nx\r\n"),
    }
    get_layout("io_citta")  # the layouts are parsed once, not timed here
    print("pathological inputs (issue 18, finding 8):")
    for shape, write in shapes.items():
        root = tmp / f"patho{len(shape)}"
        (root / "export").mkdir(parents=True)
        path = root / "export" / "io_citta.dat"
        with open(path, "wb") as f:
            write(f)
        tracemalloc.start()
        t = time.perf_counter()
        report = validate_file(path)
        took, peak = time.perf_counter() - t, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {shape} ({path.stat().st_size / 1e6:.0f} MB): validator {took * 1000:.1f} ms, "
              f"peak {peak / 1024:.0f} KiB, report {len(report.to_text(path.name))} chars: "
              f"{report.first_error()[:70]}...")
        cfg = parse_config({"version": 1, "company": "ACME", "create_folders": True,
                            "state_dir": str(root / "state"),
                            "dropbox": {"root": str(root / "Dropbox"),
                                        "staging": str(root / "staging"),
                                        "create_company_folder": True},
                            "export": {"watch": str(root / "export"),
                                       "archive": str(root / "archive"),
                                       "quarantine": str(root / "quarantine"),
                                       "min_free_mb": 1},
                            "import": {"enabled": False}, "sandbox": {"enabled": False}}, root)
        store = StateStore(cfg.state_dir)
        pipeline = ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event()))
        tracemalloc.start()
        t = time.perf_counter()
        result = pipeline.process(["io_citta.dat"])
        took, peak = time.perf_counter() - t, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        store.close()
        state = sum(p.stat().st_size for p in (root / "state").iterdir())
        errors = (root / "quarantine" / "io_citta.dat.errors.txt").stat().st_size
        print(f"    export pipeline: {result.outcomes[0].outcome} in {took * 1000:.1f} ms, peak "
              f"{peak / 1024:.0f} KiB, errors.txt {errors} bytes, state store {state / 1024:.0f} "
              "KiB")


def peak_rss_kib() -> int:
    """This process's own peak RSS. VmHWM, because on Linux ru_maxrss also carries the
    parent's resident size at fork time into a child."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child_rss(src: Path) -> None:
    """Run inside a subprocess: canonicalize src, print peak RSS in KiB."""
    ours(src, src.with_suffix(".out"))
    print(peak_rss_kib())


def measure_rss(tmp: Path, rows: int, shuffled: bool) -> int:
    path = tmp / f"rss_{rows}_{int(shuffled)}" / "io_clifor_gen.dat"
    path.parent.mkdir()
    generate(path, rows, canonical=False, shuffled=shuffled)
    out = subprocess.run([sys.executable, "-m", "bench.formats", "--child-rss", str(path)],
                         check=True, capture_output=True, text=True)
    path.unlink()
    path.with_suffix(".out").unlink()
    return int(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.formats")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--rss-rows", default="1000000,4000000")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--warned", action="store_true",
                    help="also time a file whose every row has a warning (repaired)")
    ap.add_argument("--pathological", action="store_true",
                    help="only the hostile inputs of issue 18 (time, memory, sizes)")
    ap.add_argument("--child-rss", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_rss:
        child_rss(args.child_rss)
        return 0
    if args.pathological:
        with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmpdir:
            pathological(Path(tmpdir))
        return 0
    print(f"bench.formats: {args.rows:,} rows of {LAYOUT}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmpdir:
        tmp = Path(tmpdir)
        variants = [(True, False, False, "canonical input (BOM, CRLF), sorted keys"),
                    (False, False, False, "LF input, no BOM (rewritten), sorted keys"),
                    (True, True, False, "canonical input, keys in scrambled order")]
        if args.warned:
            variants.append((True, False, True, "every row with a warning (coordinate "
                             "repaired), not in the target"))
        for canonical, shuffled, warned, kind in variants:
            src = tmp / "io_clifor_gen.dat"
            generate(src, args.rows, canonical=canonical, shuffled=shuffled, warned=warned)
            size = src.stat().st_size
            base_t, our_t = [], []
            for _ in range(args.repeat):  # interleaved, best of each: noise only adds time
                base_t.append(baseline(src, tmp / "base.out"))
                our_t.append(ours(src, tmp / "ours.out"))
            bw, ow = min(w for w, _ in base_t), min(w for w, _ in our_t)
            bc, oc = min(c for _, c in base_t), min(c for _, c in our_t)
            ratio = oc / bc
            if not warned:
                worst = max(worst, ratio)
            print(f"  {kind}: {size / 1e6:.0f} MB\n"
                  f"    cpu:  plain loop {bc:.2f} s, validate+canonicalize {oc:.2f} s, "
                  f"ratio {ratio:.2f}\n"
                  f"    wall: plain loop {bw:.2f} s, validate+canonicalize {ow:.2f} s, "
                  f"ratio {ow / bw:.2f} ({args.rows / ow / 1e6:.2f} M rows/s)")
            src.unlink()
        print(f"ratio (cpu time, worst of the three): {worst:.2f}  (target <= 1.6)")
        if not args.no_rss:
            sizes = [int(x) for x in args.rss_rows.split(",") if x]
            for shuffled in (True, False):
                order = "scrambled" if shuffled else "sorted"
                rss = {n: measure_rss(tmp, n, shuffled) for n in sizes}
                for n, kb in rss.items():
                    print(f"  peak RSS at {n:,} rows ({order} keys): {kb / 1024:.1f} MiB")
                if len(sizes) >= 2:
                    a, z = rss[sizes[0]], rss[sizes[-1]]
                    print(f"peak RSS growth {sizes[0]:,} -> {sizes[-1]:,} rows ({order} keys): "
                          f"{(z - a) / a * 100:+.1f}%  (target within 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
