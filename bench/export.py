"""bench/export: latency, burst and idle CPU of `connector run` with default export settings.

    python -m bench.export [--files 200] [--burst 1000] [--idle-seconds 60] [--archive 10000]

Runs the real daemon as a subprocess on a temporary folder tree and prints each figure
with its ratio to the target of issue 3 (a ratio <= 1 meets the target):
- latency from a file being closed to its appearance in the Dropbox folder (p50, p99);
- a burst of files dropped at once, until the last one is in Dropbox;
- CPU used by an idle daemon (with many files in the archive), as % of one core.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CITTA = ("CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\r\n"
         "ACME§A001|ACME|A001|ABANO TERME|35031|PD|01011900000000\r\n")


def _config(root: Path) -> Path:
    data = {
        "version": 1, "company": "ACME", "state_dir": str(root / "state"),
        "create_folders": True,  # the folders below are made at start
        "log": {"dir": str(root / "log"), "level": "warning"},
        "dropbox": {"mode": "folder", "root": str(root / "Dropbox"),
                    "create_company_folder": True},
        "export": {"watch": str(root / "export"), "archive": str(root / "archive"),
                   "quarantine": str(root / "quarantine")},
        "import": {"enabled": False}, "sandbox": {"enabled": False},
    }
    path = root / "connector.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config), "run"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class _Appearances(threading.Thread):
    """Records when each file first shows up in a folder (scans every 5 ms)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.seen: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                names = os.listdir(self.folder)
            except FileNotFoundError:
                names = []
            now = time.monotonic()
            for n in names:
                self.seen.setdefault(n, now)
            time.sleep(0.005)


def _drop(path: Path, body: bytes) -> float:
    with open(path, "wb") as f:
        f.write(body)
    return time.monotonic()  # the moment the file is closed


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--archive", type=int, default=10000)
    args = ap.parse_args()
    settle = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = _config(root)
        export = root / "export"
        (export / "multimedia").mkdir(parents=True)
        proc = _start(config)
        try:
            time.sleep(2.0)
            # 1. latency, one small file at a time
            media = root / "Dropbox" / "ACME" / "multimedia"
            watcher = _Appearances(media)
            watcher.start()
            closed: dict[str, float] = {}
            for i in range(args.files):
                name = f"lat {i} [A{i}].jpg"
                closed[name] = _drop(export / "multimedia" / name, b"\xff\xd8\xff" + os.urandom(512))
                time.sleep(0.05)
            deadline = time.monotonic() + 60
            while len([n for n in closed if n in watcher.seen]) < len(closed):
                if time.monotonic() > deadline:
                    raise SystemExit("latency files did not all appear within 60 s")
                time.sleep(0.05)
            lat = sorted(watcher.seen[n] - closed[n] for n in closed)
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
            # 2. a burst
            t0 = time.monotonic()
            names = [f"burst {i} [B{i}].jpg" for i in range(args.burst)]
            for n in names:
                _drop(export / "multimedia" / n, b"\xff\xd8\xff" + os.urandom(256))
            dropped = time.monotonic() - t0
            while not all(n in watcher.seen for n in names):
                if time.monotonic() - t0 > 120:
                    raise SystemExit("burst did not complete within 120 s")
                time.sleep(0.02)
            burst = max(watcher.seen[n] for n in names) - t0
            watcher.done.set()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        # 3. idle CPU with a big archive
        day = root / "archive" / time.strftime("%Y-%m-%d")
        day.mkdir(parents=True, exist_ok=True)
        for i in range(args.archive):
            (day / f"old{i}.dat").write_bytes(CITTA.encode())
        proc = _start(config)
        try:
            time.sleep(3.0)
            c0, w0 = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.idle_seconds)
            c1, w1 = _cpu_seconds(proc.pid), time.monotonic()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        idle = 100.0 * (c1 - c0) / (w1 - w0)

    print(f"settle_seconds {settle:.1f} (default)")
    print(f"latency p50 {p50:.3f} s  target <= {settle + 0.5:.1f} s  ratio {p50 / (settle + 0.5):.2f}")
    print(f"latency p99 {p99:.3f} s  target <= {settle + 1.5:.1f} s  ratio {p99 / (settle + 1.5):.2f}")
    print(f"burst of {args.burst} files: {burst:.2f} s (dropping took {dropped:.2f} s)  "
          f"target < 15 s  ratio {burst / 15:.2f}")
    print(f"idle CPU over {args.idle_seconds:.0f} s with {args.archive} archived files: "
          f"{idle:.3f}% of one core  target < 1%  ratio {idle / 1.0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
