"""Benchmark of formats/: validate + canonicalize a big io_clifor_gen file against a plain loop.

    python -m bench.formats [--rows N] [--rss-rows A,B] [--repeat K] [--no-rss]

Prints, for two inputs (one already canonical as the reference connector writes it, one
with LF line ends and no BOM that must be rewritten), the time of
`canonicalize` (validate every field + CHIAVE uniqueness + write the canonical form)
against a plain Python loop that reads the same file, splits each line on | and writes
it back, measured in this same run (best of --repeat). Then the peak RSS of a child
process doing the same at each size of --rss-rows (ru_maxrss).
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


def _row(i: int) -> str:
    """About 170 bytes, like a real customer row: code, name, address, VAT, terms, dates."""
    code = f"C{i:06d}"
    day = 1 + i % 28
    return "|".join((
        f"ACME§{code}", "ACME", str(i % 2), code, f"ROSSI SRL {i % 997}", f"VIA ROMA {i % 300}",
        f"IT{i:011d}", "", "049123456", "", "", "", "", "", "35031", "ABANO TERME", "PD",
        "45.3601", "11.7897", "", "0", "0", "", "", "", "", "EUR", "5,5", "", "", "L1", "RB30",
        "", f"{day:02d}012013", "", "", "", "", "1000,00", "", "", "0", "", "01011900000000"))


def generate(path: Path, rows: int, *, canonical: bool, shuffled: bool = False) -> None:
    """A valid io_clifor_gen file; canonical: BOM + CRLF, else no BOM + LF.

    Rows come sorted by CHIAVE unless shuffled (then every key is still unique).
    """
    eol = "\r\n" if canonical else "\n"
    modulus = rows if rows % 2 and rows % 5 else rows + 1  # coprime with 2654435761
    with open(path, "w", encoding="utf-8", newline="") as f:
        if canonical:
            f.write("\ufeff")
        f.write("|".join(COLUMNS) + eol)
        batch = []
        for i in range(rows):
            batch.append(_row((i * 2654435761) % modulus if shuffled else i))
            if len(batch) == 10000:
                f.write(eol.join(batch) + eol)
                batch.clear()
        if batch:
            f.write(eol.join(batch) + eol)


def baseline(src: Path, dst: Path) -> float:
    """The plain loop: read, split on |, write."""
    t = time.perf_counter()
    with open(src, encoding="utf-8-sig", newline="") as f, \
            open(dst, "w", encoding="utf-8", newline="") as out:
        for line in f:
            parts = line.rstrip("\r\n").split("|")
            out.write("|".join(parts) + "\r\n")
    return time.perf_counter() - t


def ours(src: Path, dst: Path) -> float:
    t = time.perf_counter()
    with open(src, "rb") as f, open(dst, "wb") as out:
        report = canonicalize(f, out, get_layout(LAYOUT))
    elapsed = time.perf_counter() - t
    if not report.valid:
        raise SystemExit("bench: generated file judged invalid: " + report.first_error())
    return elapsed


def child_rss(src: Path) -> None:
    """Run inside a subprocess: canonicalize src, print peak RSS in KiB."""
    ours(src, src.with_suffix(".out"))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


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
    ap.add_argument("--child-rss", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_rss:
        child_rss(args.child_rss)
        return 0
    print(f"bench.formats: {args.rows:,} rows of {LAYOUT}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmpdir:
        tmp = Path(tmpdir)
        variants = ((True, False, "canonical input (BOM, CRLF), sorted keys"),
                    (False, False, "LF input, no BOM (rewritten), sorted keys"),
                    (True, True, "canonical input, keys in scrambled order"))
        for canonical, shuffled, kind in variants:
            src = tmp / "io_clifor_gen.dat"
            generate(src, args.rows, canonical=canonical, shuffled=shuffled)
            size = src.stat().st_size
            base_t, our_t = [], []
            for _ in range(args.repeat):
                base_t.append(baseline(src, tmp / "base.out"))
                our_t.append(ours(src, tmp / "ours.out"))
            b, o = min(base_t), min(our_t)
            ratio = o / b
            worst = max(worst, ratio)
            print(f"  {kind}: {size / 1e6:.0f} MB; plain loop {b:.2f} s; validate+canonicalize "
                  f"{o:.2f} s ({args.rows / o / 1e6:.2f} M rows/s); ratio {ratio:.2f}")
            src.unlink()
        print(f"ratio (worst of the three): {worst:.2f}  (target <= 1.6)")
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
