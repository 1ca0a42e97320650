"""Benchmark of the SQL source: a million-row article table into io_art.dat.

    python -m bench.sql_source [--rows N] [--repeat K] [--keep DIR]

Builds an SQLite "ERP" with an article table of --rows rows (20 columns, like a real
anagrafica articoli: codes, descriptions, families, units, prices as NUMERIC, dates as
text), then measures in this same run (best of --repeat):

- baseline: the same query through SQLAlchemy Core (server-side cursor, partitions of
  5000) written with csv.writer (delimiter |): the least any extraction can do;
- first run: `connector.extract.run_once` full, empty key store: every value formatted
  by the tracciato rules, CHIAVE built, every row hashed into the key store, the file
  written as .part, fsynced and renamed into the watch folder;
- steady run: run_once full again (key store holds the previous publish, nothing
  changed), i.e. the nightly run;
- dry run: run_once changed --dry-run after 3 rows changed in the ERP (formats
  validator over the whole file + the key-by-key diff against the last publish);
- changed run: run_once changed after those 3 rows changed.

Prints rows per second and the ratio to the baseline for each.
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from connector.app import extract_once as run_once
from connector.config import parse_config
from connector.state import StateStore

QUERY = """
SELECT a.code AS cod_art, a.descr AS des_art, a.fam AS cod_fam, a.fam_des AS des_fam,
       a.sfam AS cod_sfam, a.sfam_des AS des_sfam, a.um1 AS um1, a.um2 AS um2,
       a.state AS cod_stato, a.factor AS fattore_conversione, a.min_qty AS qta_min_vend,
       a.disc_class AS cod_classe_sconto, a.min_price AS prezzo_min_ven,
       a.max_disc AS sconto_max_ven, a.retail AS prezzo_retail, a.filter1 AS des_filtro1,
       a.filter2 AS des_filtro2, a.filter3 AS des_filtro3, a.um_lock AS flg_mod_um_default
FROM bench_art a
"""


def build_erp(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("""CREATE TABLE bench_art (code TEXT PRIMARY KEY, descr TEXT, fam TEXT,
        fam_des TEXT, sfam TEXT, sfam_des TEXT, um1 TEXT, um2 TEXT, state TEXT,
        factor NUMERIC, min_qty NUMERIC, disc_class TEXT, min_price NUMERIC, max_disc NUMERIC,
        retail NUMERIC, filter1 TEXT, filter2 TEXT, filter3 TEXT, um_lock INTEGER,
        created TEXT)""")

    def gen() -> object:
        for i in range(rows):
            yield (f"ART{i:07d}", f"Vite testa esagonale M{i % 40} x {i % 200} zincata",
                   f"F{i % 90:03d}", f"Famiglia {i % 90}", f"S{i % 12:02d}",
                   f"Sottofamiglia {i % 12}", "PZ", "CF" if i % 3 else None,
                   "" if i % 50 else "BLK", 12 if i % 3 else None, 1, f"CL{i % 7}",
                   round(0.05 + (i % 1000) / 37, 2), 10, round(0.1 + (i % 5000) / 13, 2),
                   f"Filtro {i % 20}", f"Misura {i % 40}", None, 0 if i % 2 else -1,
                   f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}")

    conn.executemany("INSERT INTO bench_art VALUES (" + ",".join("?" * 20) + ")", gen())  # type: ignore[arg-type]
    conn.commit()
    conn.close()


class _Clock:
    """Wall and CPU seconds of one measured step (CPU time is steady on a busy machine)."""

    def __enter__(self) -> _Clock:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


def baseline(url: str, out: Path) -> tuple[float, float]:
    engine = sa.create_engine(url)
    clock = _Clock().__enter__()
    with engine.connect() as conn, open(out, "w", encoding="utf-8", newline="") as f:
        result = conn.execution_options(stream_results=True).execute(sa.text(QUERY))
        w = csv.writer(f, delimiter="|", lineterminator="\r\n")
        w.writerow(result.keys())
        for part in result.partitions(5000):
            w.writerows(part)
    clock.__exit__()
    engine.dispose()
    return clock.wall, clock.cpu


_CHILD = """
import io, sys
from pathlib import Path
from connector.config import parse_config
from connector.app import extract_once as run_once
from connector.state import StateStore
from bench.sql_source import QUERY
work, url = Path(sys.argv[1]), sys.argv[2]
import shutil
shutil.rmtree(work / "state-rss", ignore_errors=True)  # a first run: every row is new
shutil.rmtree(work / "watch-rss", ignore_errors=True)
cfg = parse_config({"company": "ACME", "create_folders": True, "state_dir": str(work / "state-rss"),
    "log": {"dir": str(work / "log")}, "export": {"watch": str(work / "watch-rss")},
    "import": {"enabled": False}, "sandbox": {"enabled": False},
    "extract": {"enabled": True, "url": url, "jobs": [
        {"layout": "io_art", "query": QUERY, "key": "{COD_DITTA}§{COD_ART}"}]}}, work)
assert run_once(cfg, StateStore(cfg.state_dir), out=io.StringIO()).ok
"""


_PEAK = """
import resource, sys
try:
    with open("/proc/self/status") as f:  # VmHWM: this program's own peak, not the fork's
        print(next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) // 1024)
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _child_rss(work: Path, url: str | None) -> int:
    """Peak RSS (MiB) of a child doing one full run (or only importing, when url is None)."""
    import subprocess

    code = (_CHILD if url else "import connector.app, connector.extract.runner, adapters.erp_db, sqlalchemy\n") + _PEAK
    cp = subprocess.run([sys.executable, "-c", code, str(work), url or ""], check=True,
                        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    return int(cp.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sql_source")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-sql-"))
    work.mkdir(parents=True, exist_ok=True)
    erp = work / "erp.sqlite"
    if not erp.exists():
        t0 = time.perf_counter()
        build_erp(erp, args.rows)
        print(f"built {erp} with {args.rows} rows in {time.perf_counter() - t0:.1f} s")
    url = f"sqlite:///{erp}"

    def config(tag: str) -> object:
        return parse_config({
            "company": "ACME", "create_folders": True, "state_dir": str(work / f"state-{tag}"),
            "log": {"dir": str(work / "log")},
            "export": {"watch": str(work / f"watch-{tag}")},
            "import": {"enabled": False}, "sandbox": {"enabled": False},
            "extract": {"enabled": True, "url": url, "jobs": [
                {"layout": "io_art", "query": QUERY, "key": "{COD_DITTA}§{COD_ART}"}]},
        }, work)

    times: dict[str, list[tuple[float, float]]] = {
        "baseline (fetch + csv)": [], "first run (full, empty)": [],
        "steady run (full, same)": [], "dry run (3 rows changed)": [],
        "changed run (3 rows)": []}
    label = list(times)
    sink = io.StringIO()
    for k in range(args.repeat):
        times[label[0]].append(baseline(url, work / "baseline.csv"))
        cfg = config(str(k))
        store = StateStore(cfg.state_dir)  # type: ignore[attr-defined]
        with _Clock() as c:
            res = run_once(cfg, store, mode="full", out=sink)  # type: ignore[arg-type]
        times[label[1]].append((c.wall, c.cpu))
        assert res.ok, res.report
        with _Clock() as c:
            res = run_once(cfg, store, mode="full", out=sink)  # type: ignore[arg-type]
        times[label[2]].append((c.wall, c.cpu))
        conn = sqlite3.connect(erp)
        conn.execute("UPDATE bench_art SET retail = retail + 1 WHERE code IN "
                     "('ART0000010', 'ART0000500', 'ART0009000')")
        conn.commit()
        conn.close()
        with _Clock() as c:
            res = run_once(cfg, store, mode="changed", dry_run=True,  # type: ignore[arg-type]
                           out=sink)
        times[label[3]].append((c.wall, c.cpu))
        diff = res.outcomes[0].diff
        assert diff is not None and (diff.added, diff.changed, diff.removed) == (0, 3, 0), diff
        with _Clock() as c:
            res = run_once(cfg, store, mode="changed", out=sink)  # type: ignore[arg-type]
        times[label[4]].append((c.wall, c.cpu))
        assert res.outcomes[0].status == "published", res.report
        store.close()
    base_wall = min(w for w, _ in times[label[0]])
    base_cpu = min(c for _, c in times[label[0]])
    print(f"rows: {args.rows}; best of {args.repeat}; python {sys.version.split()[0]}; "
          f"SQLAlchemy {sa.__version__}")
    print(f"{'':28}{'wall s':>8}{'rows/s':>11}{'ratio':>7}{'cpu s':>8}{'ratio':>7}")
    for name, measured in times.items():
        wall = min(w for w, _ in measured)
        cpu = min(c for _, c in measured)
        print(f"{name:28}{wall:8.2f}{args.rows / wall:11,.0f}{wall / base_wall:7.2f}"
              f"{cpu:8.2f}{cpu / base_cpu:7.2f}")
    print(f"peak RSS of one full run in a fresh process: {_child_rss(work, url)} MiB "
          f"(a process only importing the modules: {_child_rss(work, None)} MiB)")
    if args.keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
