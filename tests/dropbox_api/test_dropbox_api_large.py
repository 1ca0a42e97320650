"""Large files: upload sessions in chunks, a real file over 150 MB, SIGKILL and restart."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.dropbox_api.conftest import PublisherRunner, item
from tests.dropbox_api.fake_dropbox import FakeDropbox

MIB = 1024 * 1024


def sparse_file(path: Path, size: int) -> Path:
    """Mostly holes (cheap to create), with random blocks so every 4 MiB block differs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
        for offset in range(0, size, 16 * MIB):
            f.seek(offset)
            f.write(os.urandom(min(4096, size - offset)))
        f.seek(size - 7)
        f.write(b"THE-END")
    return path


def same_bytes(fake: FakeDropbox, remote: str, local: Path) -> bool:
    entry = fake.entry(remote)
    assert entry is not None, remote
    if entry.size != local.stat().st_size:
        return False
    with open(entry.blob, "rb") as a, open(local, "rb") as b:
        while True:
            x, y = a.read(4 * MIB), b.read(4 * MIB)
            if x != y:
                return False
            if not x:
                return True


def test_file_over_150_mb_lands_byte_identical(fake: FakeDropbox, publisher: PublisherRunner,
                                               tmp_path: Path) -> None:
    publisher.dropbox.update(single_upload_limit_mib=150, chunk_mib=32)
    big = sparse_file(tmp_path / "out" / "catalogo_2027.mp4", 150 * MIB + 5 * MIB + 17)
    small = sparse_file(tmp_path / "out" / "io_art.dat", 1000)
    (result,) = publisher.run([item(big, "multimedia"), item(small)], timeout=120)
    assert result["ok"], result
    assert same_bytes(fake, "/ACME/multimedia/catalogo_2027.mp4", big)
    assert fake.read("/ACME/gestionale/io_art.dat") == small.read_bytes()
    # 155 MiB in 32 MiB chunks: one start, four appends (the last one closes)
    assert fake.stats["files/upload_session/start"] == 2  # the big one and the small one
    assert fake.stats["files/upload_session/append_v2"] == 4
    assert fake.stats["files/upload_session/finish_batch_v2"] == 1


def test_sigkill_during_a_large_upload_then_restart_completes_the_file(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "out" / "video.mp4", 48 * MIB + 123)
    batch = [item(big, "multimedia")]
    proc = publisher.popen([batch])
    deadline = time.monotonic() + 30
    while fake.stats["files/upload_session/append_v2"] < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert fake.entry("/ACME/multimedia/video.mp4") is None  # nothing half-visible
    sent_before = fake.bytes_in

    (result,) = publisher.run(batch)
    assert result["ok"], (result, publisher.stdout[-2000:])
    assert same_bytes(fake, "/ACME/multimedia/video.mp4", big)
    assert fake.listing() == ["/ACME/multimedia/video.mp4"]  # staging of the dead run is gone
    # the restart resumed the journaled session instead of sending everything again
    assert "dropbox_session_resumed" in publisher.stdout
    assert fake.stats["files/upload_session/start"] == 1
    assert fake.bytes_in - sent_before < big.stat().st_size


def test_lost_session_is_uploaded_again(fake: FakeDropbox, publisher: PublisherRunner,
                                        tmp_path: Path) -> None:
    """A journaled session that Dropbox forgot (expired) restarts from offset 0."""
    big = sparse_file(tmp_path / "out" / "video.mp4", 10 * MIB)
    proc = publisher.popen([[item(big, "multimedia")]])
    while fake.stats["files/upload_session/append_v2"] < 1:
        assert proc.poll() is None
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with fake.lock:
        fake.sessions.clear()  # Dropbox expired them
    (result,) = publisher.run([item(big, "multimedia")])
    assert result["ok"], (result, publisher.stdout[-2000:])
    assert same_bytes(fake, "/ACME/multimedia/video.mp4", big)
    assert "dropbox_session_restart" in publisher.stdout


def test_chunk_retries_reread_the_bytes(fake: FakeDropbox, publisher: PublisherRunner,
                                        tmp_path: Path) -> None:
    """Failures in the middle of a chunked upload (before and after the server took the
    bytes) resend exactly the right bytes: the file lands identical, in one session."""
    big = sparse_file(tmp_path / "out" / "video.mp4", 20 * MIB + 1)
    fake.add_fault("files/upload_session/append_v2", "drop", when="after")
    fake.add_fault("files/upload_session/append_v2", "server_error")
    fake.add_fault("files/upload_session/append_v2", "drop")
    (result,) = publisher.run([item(big, "multimedia")])
    assert result["ok"], result
    assert same_bytes(fake, "/ACME/multimedia/video.mp4", big)
    assert fake.stats["files/upload_session/start"] == 1
    assert "dropbox_offset_resync" in publisher.stdout
    assert json.loads(json.dumps(result))["receipts"][0]["uploaded"] is True


def test_lost_answer_of_the_closing_append(fake: FakeDropbox, publisher: PublisherRunner,
                                           tmp_path: Path) -> None:
    """The closing append took effect but its answer was lost: the retry hears `closed`,
    which means done (not a reason to start the upload again)."""
    big = sparse_file(tmp_path / "out" / "video.mp4", 6 * MIB)  # start 4 MiB + closing append
    fake.add_fault("files/upload_session/append_v2", "drop", when="after")
    (result,) = publisher.run([item(big, "multimedia")])
    assert result["ok"], result
    assert same_bytes(fake, "/ACME/multimedia/video.mp4", big)
    assert fake.stats["files/upload_session/start"] == 1
    assert fake.stats["files/upload_session/append_v2"] == 2
    assert "dropbox_session_restart" not in publisher.stdout


def test_two_identical_large_files_in_one_burst(fake: FakeDropbox, publisher: PublisherRunner,
                                                tmp_path: Path) -> None:
    a = sparse_file(tmp_path / "out" / "a.mp4", 9 * MIB)
    b = tmp_path / "out" / "b.mp4"
    b.write_bytes(a.read_bytes())
    (result,) = publisher.run([item(a, "multimedia"), item(b, "multimedia")])
    assert result["ok"], result
    assert same_bytes(fake, "/ACME/multimedia/a.mp4", a)
    assert same_bytes(fake, "/ACME/multimedia/b.mp4", b)
    assert fake.stats["files/upload_session/start"] == 2  # one session each
    assert "dropbox_sessions_lost" not in publisher.stdout
