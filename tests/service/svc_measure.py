"""Start-to-READY and SIGTERM-to-exit of the real daemon, against an import baseline.

Run: .venv/bin/python tests/service/svc_measure.py   (not a test: prints figures only)
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from svc_helpers import HERE, REPO, NotifyListener, config_dict


def once(tmp: Path) -> tuple[float, float]:
    cfg = tmp / "connector.yaml"
    cfg.write_text(yaml.safe_dump(config_dict(tmp)))
    nl = NotifyListener()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)]),
           "FAKE_LOOPS": "beat", "FAKE_DIR": str(tmp / "fake"), "NOTIFY_SOCKET": nl.name}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(HERE / "svc_daemon_main.py"), "--config", str(cfg),
                             "run"], env=env, stderr=subprocess.DEVNULL)
    nl.wait_for("READY=1")
    ready = time.perf_counter() - t0
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    nl.close()
    return ready, time.perf_counter() - t1


def baseline() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import service.cli, structlog, yaml"], check=True,
                   env={**os.environ, "PYTHONPATH": str(REPO)})
    return time.perf_counter() - t0


def main() -> None:
    runs, bases = [], []
    for _ in range(5):
        with tempfile.TemporaryDirectory() as d:
            runs.append(once(Path(d)))
        bases.append(baseline())
    b = statistics.median(bases)
    ready = statistics.median(r[0] for r in runs)
    stop = statistics.median(r[1] for r in runs)
    print(f"baseline import service.cli: {b * 1000:.0f} ms")
    print(f"start -> READY=1: {ready * 1000:.0f} ms (x{ready / b:.2f})")
    print(f"SIGTERM -> exit: {stop * 1000:.0f} ms (x{stop / b:.2f})")


if __name__ == "__main__":
    main()
