"""The whole export path in API mode: `connector export --once` (a real process, the real
SDK) from a watch folder into our fake Dropbox.

A file Dropbox refuses is quarantined alone; nested catalog media publish as in folder
mode; a file deleted from Dropbox is restored by the same content dropped again; a
missing company folder is an outage, never recreated.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.dropbox_api.conftest import REPO, PublisherRunner
from tests.dropbox_api.fake_dropbox import FakeDropbox
from tests.export.conftest import citta_file

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 4


class Cli:
    def __init__(self, runner: PublisherRunner, tmp: Path) -> None:
        self.runner = runner
        self.tmp = tmp
        self.export = tmp / "export"
        self.export.mkdir(exist_ok=True)
        self.dropbox = dict(runner.dropbox)

    def run(self) -> subprocess.CompletedProcess[str]:
        config = {
            "version": 1, "company": "ACME", "state_dir": str(self.tmp / "state"),
            "log": {"dir": str(self.tmp / "log")}, "dropbox": self.dropbox,
            "export": {"watch": str(self.export), "archive": str(self.tmp / "archive"),
                       "quarantine": str(self.tmp / "quarantine"), "settle_seconds": 0.1,
                       "min_free_mb": 1},
            "import": {"enabled": False}, "sandbox": {"enabled": False}}
        path = self.tmp / "connector.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "connector", "--config", str(path),
                               "export", "--once", "--wait", "20"], cwd=REPO,
                              env=self.runner.env(), capture_output=True, text=True,
                              timeout=120)

    def drop(self, rel: str, data: bytes) -> None:
        path = self.export / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def waiting(self) -> list[str]:
        return sorted(p.relative_to(self.export).as_posix() for p in self.export.rglob("*")
                      if p.is_file())


def _cli(publisher: PublisherRunner, tmp_path: Path) -> Cli:
    return Cli(publisher, tmp_path)


def test_nested_media_publish_beside_a_tracciato(fake: FakeDropbox, publisher: PublisherRunner,
                                                 tmp_path: Path) -> None:
    """multimedia/<tree> is published as is, as in folder mode; io_citta.dat goes too."""
    fake.put_folder("/ACME")
    cli = _cli(publisher, tmp_path)
    cli.drop("multimedia/Catalogo/Sedie/poltrona [A1] {1}.jpg", JPEG)
    cli.drop("io_citta.dat", citta_file(3))
    done = cli.run()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "published 2, unchanged 0, quarantined 0" in done.stdout
    assert fake.read("/ACME/multimedia/Catalogo/Sedie/poltrona [A1] {1}.jpg") == JPEG
    assert fake.read("/ACME/gestionale/io_citta.dat") == b"\xef\xbb\xbf" + citta_file(3)
    assert fake.entry("/ACME/gestionale/io_info.dat") is not None
    assert cli.waiting() == []


def test_a_file_dropbox_refuses_is_quarantined_alone(fake: FakeDropbox,
                                                     publisher: PublisherRunner,
                                                     tmp_path: Path) -> None:
    """A catalog folder whose name ends with a space (Dropbox strips it) used to fail the
    whole burst every 30 s, forever, a valid io_citta.dat included."""
    fake.put_folder("/ACME")
    cli = _cli(publisher, tmp_path)
    cli.drop("multimedia/Sedie /poltrona [A1].jpg", JPEG)
    cli.drop("io_citta.dat", citta_file(3))
    done = cli.run()
    assert "published 1, unchanged 0, quarantined 1" in done.stdout, done.stderr[-3000:]
    assert done.returncode == 1  # something was quarantined
    assert fake.listing("/ACME/gestionale") == ["/ACME/gestionale/io_citta.dat",
                                                "/ACME/gestionale/io_info.dat"]
    assert fake.listing("/ACME/multimedia") == []
    report = (tmp_path / "quarantine" / "multimedia" / "Sedie " / "poltrona [A1].jpg.errors.txt")
    assert "leading or trailing spaces" in report.read_text(encoding="utf-8")
    assert cli.waiting() == []
    again = cli.run()  # nothing is left to fail again
    assert again.returncode == 0 and "published 0, unchanged 0, quarantined 0" in again.stdout


def test_a_file_deleted_from_dropbox_is_restored_by_the_same_content(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    fake.put_folder("/ACME")
    cli = _cli(publisher, tmp_path)
    cli.drop("multimedia/foto [A1].jpg", JPEG)
    assert cli.run().returncode == 0
    assert fake.read("/ACME/multimedia/foto [A1].jpg") == JPEG
    # still there: the same content is unchanged, nothing is uploaded
    fake.reset_stats()
    cli.drop("multimedia/foto [A1].jpg", JPEG)
    done = cli.run()
    assert "published 0, unchanged 1" in done.stdout, done.stderr[-2000:]
    assert fake.stats["files/upload"] == 0 and fake.stats["files/upload_session/start"] == 0
    # someone deletes it in Dropbox: the same content dropped again is published again
    fake.remove("/ACME/multimedia/foto [A1].jpg")
    cli.drop("multimedia/foto [A1].jpg", JPEG)
    done = cli.run()
    assert "published 1, unchanged 0" in done.stdout, done.stderr[-2000:]
    assert fake.read("/ACME/multimedia/foto [A1].jpg") == JPEG


def test_a_missing_company_folder_is_an_outage_never_recreated(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    cli = _cli(publisher, tmp_path)
    cli.drop("io_citta.dat", citta_file(3))
    done = cli.run()
    assert done.returncode != 0
    assert "/ACME is not there" in done.stderr and "never creates it" in done.stderr
    assert fake.listing() == [] and "/acme" not in fake.folders
    assert cli.waiting() == ["io_citta.dat"]  # nothing archived, nothing quarantined
    fake.put_folder("/ACME")  # the folder is shared again
    done = cli.run()
    assert done.returncode == 0, done.stderr[-2000:]
    assert fake.read("/ACME/gestionale/io_citta.dat") == b"\xef\xbb\xbf" + citta_file(3)


def test_the_company_folder_is_created_at_start_only_when_configured(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    cli = _cli(publisher, tmp_path)
    cli.dropbox["create_company_folder"] = True
    cli.drop("io_citta.dat", citta_file(1))
    done = cli.run()
    assert done.returncode == 0, done.stderr[-2000:]
    assert fake.stats["files/create_folder_v2"] == 1
    assert fake.entry("/ACME/gestionale/io_citta.dat") is not None
