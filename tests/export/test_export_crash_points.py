"""A crash at each step of a burst: the next run repeats work and loses nothing.

The crash is an exception that no handler catches (as a kill would leave it: the
journal transaction not committed, the sources not archived); the "restart" is a new
pipeline on the same folders and state store.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from connector.app import build_publisher
from connector.export import pipeline as pl
from connector.export.pipeline import ExportPipeline, cleanup_staging
from connector.state import StateStore
from tests.export.conftest import citta_file


class Crash(BaseException):
    pass


def _pipeline(cfg) -> ExportPipeline:  # type: ignore[no-untyped-def]
    store = StateStore(cfg.state_dir)
    return ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event()))


@pytest.mark.parametrize("step", ["publish", "journal", "archive"])
def test_crash_at_each_step_repeats_work_without_loss(tmp_path: Path, config_factory,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      step: str) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    (export / "io_citta.dat").write_bytes(citta_file(3))
    (export / "foto [A1].jpg").write_bytes(b"\xff\xd8\xffone")
    rels = ["foto [A1].jpg", "io_citta.dat"]
    first = _pipeline(cfg)

    def boom(*_a: object, **_k: object) -> None:
        raise Crash(step)

    if step == "publish":   # a crash half-way through moving files into Dropbox
        real = first.publisher.publish_batch
        monkeypatch.setattr(first.publisher, "publish_batch",
                            lambda items: (real(items[:1]), boom()))
    elif step == "journal":  # files in Dropbox, journal not written
        monkeypatch.setattr(first.journal, "record", boom)
    else:                    # journaled, the first source archived, then the crash
        calls = iter([True, False])
        real_archive = first._archive
        monkeypatch.setattr(first, "_archive",
                            lambda rel: real_archive(rel) if next(calls) else boom())
    with pytest.raises(Crash):
        first.process(rels)
    monkeypatch.undo()

    cleanup_staging(cfg)  # what the loop does at start
    second = _pipeline(cfg)
    left = sorted(p.relative_to(export).as_posix() for p in export.rglob("*") if p.is_file())
    result = second.process(left)
    assert not result.deferred and not result.quarantined
    company = tmp_path / "Dropbox" / "ACME"
    assert (company / "gestionale" / "io_citta.dat").read_bytes() == b"\xef\xbb\xbf" + citta_file(3)
    assert (company / "multimedia" / "foto [A1].jpg").read_bytes() == b"\xff\xd8\xffone"
    assert not list(export.iterdir())
    archived = sorted(p.name for p in (tmp_path / "archive").rglob("*") if p.is_file())
    assert archived == ["foto [A1].jpg", "io_citta.dat"]
    published = StateStore(cfg.state_dir).query("SELECT name FROM export_published ORDER BY name")
    assert [r["name"] for r in published] == ["foto [A1].jpg", "io_citta.dat"]
    assert (company / "gestionale" / "io_info.dat").exists()
    assert not any((tmp_path / "staging").rglob("*.*"))
    for p in company.rglob("*"):
        assert not p.name.startswith("."), p


def test_staging_leftovers_are_removed_at_start(tmp_path: Path, config_factory) -> None:
    cfg = config_factory()
    leftover = cfg.staging_dir / "20260101-000000-abcdef" / "gestionale"
    leftover.mkdir(parents=True)
    (leftover / "io_art.dat").write_bytes(b"half")
    cleanup_staging(cfg)
    assert list(cfg.staging_dir.iterdir()) == []
    assert pl.cleanup_staging is cleanup_staging
