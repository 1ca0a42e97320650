"""The legacy folder is an inbox like the export folder (connector/inbox.py): a link is
never read, a report is written before its file moves (a real SIGKILL in between loses
nothing), imported files are archived by day."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from connector.app import legacy_once as run_once
from connector.config import load_config
from connector.importing.journal import Journal
from connector.state import StateStore
from tests.legacy.samples import note_line, order_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="links and SIGKILL are POSIX")

LEGACY = {"enabled": True, "source": "legacy", "erp": {"sink": "files"}}


def _config(tmp_path: Path, config_file: Any, **legacy: Any) -> Path:
    path: Path = config_file(**{"import": {
        **LEGACY, "legacy": {"folder": str(tmp_path / "appmanager"), "settle_seconds": 0.01,
                             **legacy}}})
    return path


def test_a_link_in_the_folder_is_moved_aside_never_read(tmp_path: Path,
                                                        config_file: Any) -> None:
    """AppManager's folder is a synced one: a link there (to a file of this machine) is
    quarantined as the link itself with a report; what it points to is neither read (its
    text would land in the ERP or in a report) nor moved."""
    cfg = load_config(_config(tmp_path, config_file))
    cfg.legacy_folder.mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text(note_line(DES_NOTE="password=hunter2"), encoding="utf-8")
    os.symlink(secret, cfg.legacy_folder / "AM_CF_NOTE_ACME_1.DAT")
    (cfg.legacy_folder / "AM_CF_NOTE_ACME_2.DAT").write_text(note_line(), encoding="utf-8")
    store = StateStore(cfg.state_dir)
    result = run_once(cfg, store)
    assert result.quarantined == ["AM_CF_NOTE_ACME_1.DAT"]
    assert result.imported == ["AM_CF_NOTE_ACME_2.DAT"]
    qdir = cfg.export.quarantine / "legacy"
    moved = qdir / "AM_CF_NOTE_ACME_1.DAT"
    assert moved.is_symlink() and os.readlink(moved) == str(secret)
    report = (qdir / "AM_CF_NOTE_ACME_1.DAT.errors.txt").read_text(encoding="utf-8")
    assert "symbolic link" in report and "hunter2" not in report
    assert secret.exists() and list(cfg.legacy_folder.iterdir()) == []
    erp = cfg.import_.erp.path
    assert "hunter2" not in "".join(p.read_text(errors="replace") for p in erp.rglob("*")
                                    if p.is_file())
    assert [q.source for q in Journal(store).quarantined()] == ["legacy"]


CHILD = """
import os, signal, sys
import connector.inbox as inbox
from connector.config import load_config
from connector.app import legacy_once as run_once
from connector.state import StateStore

def die(*_a, **_kw):  # the report is on disk: the process dies before the file moves
    os.kill(os.getpid(), signal.SIGKILL)
inbox.move_inside = die
cfg = load_config(sys.argv[1])
run_once(cfg, StateStore(cfg.state_dir))
"""


def test_sigkill_between_the_report_and_the_move(tmp_path: Path, config_file: Any) -> None:
    path = _config(tmp_path, config_file)
    cfg = load_config(path)
    cfg.legacy_folder.mkdir(parents=True)
    bad = order_file().replace("|120|", "|12O|").encode("utf-8")
    (cfg.legacy_folder / "AM_ORD_ACME_7.DAT").write_bytes(bad)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, timeout=60,
                          capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    qdir = cfg.export.quarantine / "legacy"
    assert (cfg.legacy_folder / "AM_ORD_ACME_7.DAT").read_bytes() == bad
    assert [p.name for p in qdir.iterdir()] == ["AM_ORD_ACME_7.DAT.errors.txt"]

    store = StateStore(cfg.state_dir)
    result = run_once(cfg, store)  # the restart judges it again and finishes the move
    assert result.quarantined == ["AM_ORD_ACME_7.DAT"]
    assert sorted(p.name for p in qdir.iterdir()) == ["AM_ORD_ACME_7.DAT",
                                                      "AM_ORD_ACME_7.DAT.errors.txt"]
    assert (qdir / "AM_ORD_ACME_7.DAT").read_bytes() == bad
    report = (qdir / "AM_ORD_ACME_7.DAT.errors.txt").read_text(encoding="utf-8")
    assert "field R_QTA_1, value '12O'" in report
    assert len(Journal(store).quarantined()) == 1


def test_imported_files_are_archived_by_day_never_overwritten(tmp_path: Path,
                                                              config_file: Any) -> None:
    cfg = load_config(_config(tmp_path, config_file, archive=str(tmp_path / "legacy-archive")))
    cfg.legacy_folder.mkdir(parents=True)
    store = StateStore(cfg.state_dir)
    for id_ in ("1", "2"):  # the same name twice (AppManager numbers by day)
        (cfg.legacy_folder / "AM_CF_NOTE_ACME_1.DAT").write_text(note_line(id_=id_),
                                                                 encoding="utf-8")
        assert run_once(cfg, store).imported == ["AM_CF_NOTE_ACME_1.DAT"]
    day = tmp_path / "legacy-archive" / time.strftime("%Y-%m-%d")
    assert sorted(p.name for p in day.iterdir()) == ["AM_CF_NOTE_ACME_1 (2).DAT",
                                                     "AM_CF_NOTE_ACME_1.DAT"]
