"""Paused parts and the operator's actions: kept in the state store, seen by every process."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector import controls
from connector.state import StateStore


def test_a_pause_survives_a_new_store_on_the_same_folder(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    assert controls.pause(store, "export", who="cli:mario")
    assert not controls.pause(store, "export", who="cli:mario")  # already paused
    store.close()
    again = StateStore(tmp_path)  # as a restart, or another process, sees it
    found = controls.paused(again)
    assert list(found) == ["export"]
    assert found["export"].who == "cli:mario" and found["export"].since > 0
    assert controls.is_paused(again, "export") and not controls.is_paused(again, "import")
    assert controls.resume(again, "export", who="console:admin")
    assert not controls.resume(again, "export", who="console:admin")
    assert controls.paused(again) == {}


def test_every_change_is_an_action_with_who_and_when(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    controls.pause(store, "import", who="cli:root")
    controls.resume(store, "import", who="cli:root")
    controls.record_action(store, "requeue", who="console:anna", target="io_clifor_gen.dat",
                           detail="x" * 5000)
    got = controls.actions(store, limit=10)
    assert [(a.action, a.target, a.who) for a in got] == [
        ("requeue", "io_clifor_gen.dat", "console:anna"),
        ("resume", "import", "cli:root"), ("pause", "import", "cli:root")]
    assert len(got[0].detail) == 2000
    assert got[0].at >= got[1].at >= got[2].at
    assert len(controls.actions(store, limit=1)) == 1


def test_an_unknown_part_is_refused(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    with pytest.raises(ValueError, match="unknown part 'exports'"):
        controls.pause(store, "exports", who="cli")
