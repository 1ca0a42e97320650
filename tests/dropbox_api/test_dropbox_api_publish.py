"""The real SDK against our fake Dropbox: files land byte-identical, re-runs upload nothing."""

from __future__ import annotations

from pathlib import Path

from tests.dropbox_api.conftest import PublisherRunner, item, make_file
from tests.dropbox_api.fake_dropbox import FakeDropbox

UPLOAD_ROUTES = ("files/upload", "files/upload_session/start", "files/upload_session/append_v2")


def uploads(fake: FakeDropbox) -> int:
    return sum(fake.stats[r] for r in UPLOAD_ROUTES)


def test_small_files_land_byte_identical_and_rerun_uploads_nothing(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    a = make_file(tmp_path / "out" / "io_art.dat", 1000)
    b = make_file(tmp_path / "out" / "io_clifor_gen.dat", 300_000)
    img = make_file(tmp_path / "out" / "A001.jpg", 70_000)
    empty = make_file(tmp_path / "out" / "io_empty.dat", 0)
    batch = [item(a), item(b), item(img, "multimedia"), item(empty)]
    first, second = publisher.run(batch, batch)
    assert first["ok"], first
    assert [r["uploaded"] for r in first["receipts"]] == [True, True, True, True]
    assert first["receipts"][0]["remote_path"] == "/ACME/gestionale/io_art.dat"
    for path, folder in ((a, "gestionale"), (b, "gestionale"), (img, "multimedia"),
                         (empty, "gestionale")):
        assert fake.read(f"/ACME/{folder}/{path.name}") == path.read_bytes()
    # the second burst found everything in place: no upload at all
    assert second["ok"], second
    assert [r["uploaded"] for r in second["receipts"]] == [False] * 4
    assert uploads(fake) == 4
    assert fake.stats["files/upload_session/finish_batch_v2"] == 1
    # nothing left behind in staging, nothing but the published files
    assert fake.listing("/ACME") == sorted(["/ACME/gestionale/io_art.dat",
                                           "/ACME/gestionale/io_clifor_gen.dat",
                                           "/ACME/gestionale/io_empty.dat",
                                           "/ACME/multimedia/A001.jpg"])


def test_changed_file_replaces_the_old_one_and_unchanged_ones_are_skipped(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    fake.put_file("/ACME/gestionale/io_art.dat", b"old content")
    same = make_file(tmp_path / "out" / "io_ese.dat", 5000)
    fake.put_file("/ACME/gestionale/io_ese.dat", same.read_bytes())
    new = make_file(tmp_path / "out" / "io_art.dat", 2000)
    (result,) = publisher.run([item(new), item(same)])
    assert result["ok"], result
    assert [r["uploaded"] for r in result["receipts"]] == [True, False]
    assert fake.read("/ACME/gestionale/io_art.dat") == new.read_bytes()
    assert fake.listing("/ACME") == ["/ACME/gestionale/io_art.dat", "/ACME/gestionale/io_ese.dat"]
    assert fake.stats["files/upload"] == 1  # a single changed file: one files/upload call


def test_root_folder_is_honoured(fake: FakeDropbox, publisher: PublisherRunner,
                                 tmp_path: Path) -> None:
    publisher.dropbox["root"] = "/Apps/iCommerce/"
    f = make_file(tmp_path / "out" / "report.pdf", 10)
    (result,) = publisher.run([item(f, "reports")])
    assert result["ok"], result
    assert fake.listing() == ["/Apps/iCommerce/ACME/reports/report.pdf"]


def test_many_small_files_are_committed_in_batches(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = [make_file(out / f"IMG{i:04d}.jpg", 100 + i) for i in range(1001)]
    first, second = publisher.run([item(f, "multimedia") for f in files],
                                  [item(f, "multimedia") for f in files], timeout=120)
    assert first["ok"], first
    assert all(r["uploaded"] for r in first["receipts"])
    assert fake.stats["files/upload_session/start"] == 1001
    assert fake.stats["files/upload_session/finish_batch_v2"] == 2  # 1000 + 1
    assert len(fake.listing("/ACME/multimedia")) == 1001
    assert fake.read("/ACME/multimedia/IMG0777.jpg") == files[777].read_bytes()
    assert second["ok"] and not any(r["uploaded"] for r in second["receipts"])
    assert fake.stats["files/upload_session/start"] == 1001


def test_a_file_that_appears_at_the_destination_meanwhile_is_replaced(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    """Another client writes the destination between our look and our move: the move gets
    to/conflict, the intruder is moved aside, ours lands (AppManager reads our version)."""
    f = make_file(tmp_path / "out" / "io_art.dat", 100)
    g = make_file(tmp_path / "out" / "io_ese.dat", 100)
    fake.add_fault("files/move_batch_v2", "hook",
                   hook=lambda: fake.put_file("/ACME/gestionale/io_art.dat", b"intruder"))
    (result,) = publisher.run([item(f), item(g)])
    assert result["ok"], result
    assert fake.read("/ACME/gestionale/io_art.dat") == f.read_bytes()
    assert fake.listing() == ["/ACME/gestionale/io_art.dat", "/ACME/gestionale/io_ese.dat"]
    assert fake.stats["files/move_batch_v2"] == 3  # publish (conflict), move aside, publish
