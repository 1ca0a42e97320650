"""A real SIGKILL at each step of publishing a file with held-back rows: the next run
repeats work, and the held-back rows are neither lost nor held twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml

from connector.app import build_publisher
from connector.config import load_config
from connector.export.pipeline import ExportPipeline, cleanup_staging
from connector.state import StateStore
from tests.conftest import make_config_dict
from tests.export.conftest import CITTA_HEADER, citta_file

REPO = Path(__file__).resolve().parents[2]

# Runs the pipeline once in a child process, which kills itself with SIGKILL at `step`.
CHILD = textwrap.dedent("""
    import os, signal, sys, threading
    from connector.config import load_config
    from connector.export import heldback
    from connector.export import pipeline as pl
    from connector.app import build_publisher
    from connector.state import StateStore

    cfg = load_config(sys.argv[1])
    step = sys.argv[2]
    store = StateStore(cfg.state_dir)
    p = pl.ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event()))

    def die(*_a, **_k):
        os.kill(os.getpid(), signal.SIGKILL)

    if step == "holding":      # the report of the held rows written, the rows not yet moved
        heldback.move_durably = lambda *a, **k: die()
    elif step == "held":       # the held rows in quarantine, nothing published
        p.publisher.publish_batch = die
    elif step == "published":  # in Dropbox, not journaled
        p.journal.record = die
    elif step == "journaled":  # journaled, the source not archived
        p._archive = die
    p.process(["io_citta.dat"])
    print("not killed")
""")


def _rows() -> list[str]:
    return citta_file(40).decode("utf-8").split("\r\n")[1:-1]


@pytest.mark.parametrize("step", ["holding", "held", "published", "journaled"])
def test_sigkill_with_held_back_rows_loses_nothing(tmp_path: Path, step: str) -> None:
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(make_config_dict(tmp_path)), encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir()
    rows = _rows()
    blank_code = "|".join(" " if i == 2 else p for i, p in enumerate(rows[10].split("|")))
    bad = [blank_code, rows[3]]  # an empty entity code, a repeated CHIAVE
    rows[10], rows[30] = bad
    dropped = ("\r\n".join([CITTA_HEADER, *rows]) + "\r\n").encode("utf-8")
    (export / "io_citta.dat").write_bytes(dropped)

    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.run([sys.executable, "-c", CHILD, str(config), step], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr

    cfg = load_config(config)  # the restart: what the loop does at start, then the burst
    cleanup_staging(cfg)
    store = StateStore(cfg.state_dir)
    left = sorted(p.name for p in export.iterdir())
    again = ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event()))
    result = again.process(left)
    if step == "journaled":  # published and journaled before the kill: now unchanged
        assert [o.outcome for o in result.outcomes] == ["unchanged"]
    else:
        assert [o.outcome for o in result.outcomes] == ["published"]

    good = [r for i, r in enumerate(_rows()) if i not in (10, 30)]
    published = tmp_path / "Dropbox" / "ACME" / "gestionale" / "io_citta.dat"
    assert published.read_bytes() == ("\ufeff" + "\r\n".join([CITTA_HEADER, *good])
                                      + "\r\n").encode("utf-8")
    held_dirs = list((tmp_path / "quarantine" / "held-back").iterdir())
    assert len(held_dirs) == 1, held_dirs  # held once, not twice
    held = held_dirs[0] / "io_citta.dat"
    assert held.read_bytes().decode("utf-8").split("\r\n") == [CITTA_HEADER, *bad, ""]
    assert (held_dirs[0] / "io_citta.dat.errors.txt").exists()
    assert sorted(p.name for p in held_dirs[0].iterdir()) == ["io_citta.dat",
                                                              "io_citta.dat.errors.txt"]
    assert not list(export.iterdir())
    archived = [p.read_bytes() for p in (tmp_path / "archive").rglob("io_citta.dat")]
    assert archived == [dropped]
    row = store.query_one("SELECT held_back, held_path FROM export_verdicts")
    assert row is not None and (row["held_back"], row["held_path"]) == (2, str(held))
