"""The files sink's ledger on a full disk (a real tmpfs mounted for the test): a short
write followed by ENOSPC is an error, the ledger is left as it was (no torn name), the
record's file is taken back and the record is not delivered; once there is room it lands
once, and the ledger names it once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.erp.files_sink import FilesSink
from adapters.erp.files_writer import LEDGER
from connector.errors import TransientError
from connector.importing.journal import Journal
from connector.model import decode_raw
from connector.state import StateStore

PAGE = 4096


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount")):
        pytest.skip("mounting a tmpfs needs root on Linux")
    where = tmp_path / "erp"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _order(uid: str, qid: int) -> bytes:
    return json.dumps({"id": qid, "unique_id": uid, "cod_clifor": "C1"}).encode()


def _fill_but_one_page(disk: Path) -> Path:
    """Fill the disk to its last byte, then give back exactly one page."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass
        os.ftruncate(fd, os.fstat(fd).st_size - PAGE)
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("batch", [False, True], ids=["write", "write_many"])
def test_a_short_ledger_write_on_a_full_disk_is_an_error_and_nothing_is_delivered(
        small_disk: Path, tmp_path: Path, batch: bool) -> None:
    sink = FilesSink(small_disk, "json", company="ACME")
    ledger = small_disk / LEDGER
    ledger.write_bytes(b"x" * 4049 + b"\n")  # 46 bytes left in the ledger's last page
    filler = _fill_but_one_page(small_disk)  # room for the record's file, not for the ledger
    uid = "U" * 120  # its name in the ledger is about 100 bytes: a short write, then ENOSPC
    rec = decode_raw("customers", _order(uid, 1))
    store = StateStore(tmp_path / "state")
    journal = Journal(store)
    journal.record_page("customers", [rec], mark=1)

    outcome = journal.deliver_many([rec, rec] if batch else [rec], sink)

    assert outcome[0] == "failed", outcome
    assert ledger.read_bytes() == b"x" * 4049 + b"\n"  # as it was: no torn name
    assert sorted(p.name for p in small_disk.iterdir()) == sorted([LEDGER, "filler"])
    entry = journal.entry(rec.key)
    assert entry is not None and entry.state == "pending" and entry.attempts == 1
    assert "No space left on device" in (entry.last_error or "")

    filler.unlink()
    assert journal.deliver_many(journal.retry_due(force=True), sink) == ["delivered"]
    lines = ledger.read_bytes().split(b"\n")
    assert [ln for ln in lines if uid[:80].encode() in ln] == [lines[1]]  # once, whole
    landed = [p.name for p in small_disk.iterdir() if p.name.startswith("customers_")]
    assert len(landed) == 1


def test_direct_write_raises_transient_and_takes_the_file_back(small_disk: Path) -> None:
    sink = FilesSink(small_disk, "json", company="ACME")
    (small_disk / LEDGER).write_bytes(b"y" * 4049 + b"\n")
    _fill_but_one_page(small_disk)
    with pytest.raises(TransientError, match="No space left on device"):
        sink.write(decode_raw("customers", _order("V" * 120, 2)))
    assert not [p for p in small_disk.iterdir() if p.name.startswith("customers_")]
