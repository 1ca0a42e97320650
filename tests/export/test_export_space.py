"""A burst is staged as far as space allows (a real small file system, the real loop).

The finding: a burst larger than half the free space was never published, even when each
file fitted. Now what fits is published, the rest waits for the next burst, and the log,
the events and `connector status` say so.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.export import status as export_status
from connector.state import StateStore
from tests.export.conftest import running_export, wait_for

MB = 1024 * 1024


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs holding the Dropbox folder and the staging folder (one volume)."""
    vol = tmp_path / "vol"
    vol.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(vol)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    try:
        yield vol
    finally:
        subprocess.run(["umount", "-l", str(vol)], capture_output=True)


def _jpeg(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def test_what_fits_is_published_and_the_rest_waits_for_room(
        tmp_path: Path, config_factory, small_volume: Path) -> None:
    cfg = config_factory(dropbox={"root": str(small_volume / "Dropbox"),
                                  "staging": str(small_volume / "staging")},
                         export={"min_free_mb": 1})
    export = tmp_path / "export"
    (export / "multimedia").mkdir(parents=True)
    multimedia = small_volume / "Dropbox" / "ACME" / "multimedia"
    names = [f"foto{i} [A{i}].jpg" for i in range(4)]  # 4 x 7 MiB: each fits, not all
    store = StateStore(cfg.state_dir)
    for name in names:  # dropped together (while the connector was stopped): one burst
        (export / "multimedia" / name).write_bytes(_jpeg(7 * MB))
    with running_export(cfg):
        wait_for(lambda: multimedia.is_dir() and len(list(multimedia.iterdir())) == 3,
                 timeout=30)
        wait_for(lambda: export_status.collect(cfg, store)["space"])
        facts = export_status.collect(cfg, store)
        assert facts["space"]["waiting"] == 1
        assert any("WAITING FOR SPACE" in line for line in export_status.render(facts))
        # The status is written just before the event: wait for both.
        wait_for(lambda: any("not enough free space to stage 1 of 4 file(s)" in r["message"]
                             for r in store.last_events("warning", 20)))
        (waiting,) = [p.name for p in (export / "multimedia").iterdir()]
        published = sorted(p.name for p in multimedia.iterdir())
        for name in published[:2]:  # room is made on the volume
            (multimedia / name).unlink()
        wait_for((multimedia / waiting).exists, timeout=30)
        wait_for(lambda: export_status.collect(cfg, store)["space"] is None)
    assert not list((export / "multimedia").iterdir())
    outcomes = [r["outcome"] for r in store.query("SELECT outcome FROM export_files")]
    assert outcomes == ["published"] * 4


def test_nothing_fits_is_a_clear_error_and_nothing_moves(
        tmp_path: Path, config_factory, small_volume: Path) -> None:
    cfg = config_factory(dropbox={"root": str(small_volume / "Dropbox"),
                                  "staging": str(small_volume / "staging")},
                         export={"min_free_mb": 20})
    export = tmp_path / "export"
    export.mkdir()
    store = StateStore(cfg.state_dir)
    with running_export(cfg):
        (export / "listino.jpg").write_bytes(_jpeg(5 * MB))
        wait_for(lambda: store.last_events("error", 1))
    assert "nothing was moved" in store.last_events("error", 1)[0]["message"]
    assert (export / "listino.jpg").stat().st_size == 5 * MB
