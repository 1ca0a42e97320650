"""The watch folder's writers are not trusted with anything outside it.

Each test drops what an attacker with write access to the export share would (a symbolic
link to a secret, a linked folder, a hard link, a named pipe, a file whose name lies about
its content) beside a valid tracciato, runs the real export loop, and checks that nothing
of the secret reached the Dropbox folder, that the name was moved to quarantine with a
report (the link itself, never its target), and that the valid file went through.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.export.journal import ExportJournal
from connector.state import StateStore
from tests.export.conftest import citta_file, running_export, wait_for

SECRET = b"APPMANAGER_AUTH_KEY=s3cr3t-0123456789\nroot:$6$hash:19000:0:99999:7:::\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + os.urandom(200)
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200)


def _dropbox_bytes(tmp_path: Path) -> bytes:
    root = tmp_path / "Dropbox"
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _secret(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "shadow"
    secret.write_bytes(SECRET)
    return secret


def _report(tmp_path: Path, rel: str) -> str:
    return (tmp_path / "quarantine" / f"{rel}.errors.txt").read_text(encoding="utf-8")


def test_symlinks_to_secrets_are_quarantined_as_links_and_never_read(
        tmp_path: Path, config_factory, gestionale) -> None:
    """ln -s /proc/self/environ env.pdf, /etc/shadow as a report, /etc/passwd as an image."""
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    secret = _secret(tmp_path)
    links = {"env.pdf": "/proc/self/environ", "io_art.dat": str(secret),
             "passwd [A1].jpg": str(secret), "reports/shadow.pdf": str(secret)}
    (export / "reports").mkdir()
    for rel, target in links.items():
        os.symlink(target, export / rel)
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(2))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        for rel in links:
            wait_for(lambda rel=rel: (tmp_path / "quarantine" / f"{rel}.errors.txt").exists())
    published = _dropbox_bytes(tmp_path)
    assert b"s3cr3t" not in published and b"PATH=" not in published
    assert os.environ.get("PATH", "").encode() not in published
    for rel, target in links.items():
        moved = tmp_path / "quarantine" / rel
        assert moved.is_symlink() and os.readlink(moved) == target, rel  # the link itself
        assert not os.path.lexists(export / rel)
        assert "is a symbolic link" in _report(tmp_path, rel)
        assert "s3cr3t" not in _report(tmp_path, rel)
    assert secret.read_bytes() == SECRET  # the target is untouched
    listed = {q["source"] for q in ExportJournal(StateStore(cfg.state_dir)).quarantine_list()}
    assert listed == set(links)


def test_a_linked_subfolder_is_moved_aside_and_nothing_under_it_is_read(
        tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    (export / "multimedia").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "foto [A1].jpg").write_bytes(JPEG)
    os.symlink(elsewhere, export / "multimedia" / "catalogo")
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(2))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: (tmp_path / "quarantine" / "multimedia" / "catalogo.errors.txt").exists())
    assert (tmp_path / "quarantine" / "multimedia" / "catalogo").is_symlink()
    assert (elsewhere / "foto [A1].jpg").read_bytes() == JPEG  # nothing moved out of it
    assert not (tmp_path / "Dropbox" / "ACME" / "multimedia").exists()
    assert "symbolic link" in _report(tmp_path, "multimedia/catalogo")


def test_a_path_through_a_linked_folder_is_refused_at_the_link(tmp_path: Path) -> None:
    """What a file event under a linked folder would hand the pipeline."""
    from connector.fsutil import UnsafePath, move_inside, open_inside

    root = tmp_path / "export"
    (root / "multimedia").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.jpg").write_bytes(JPEG)
    os.symlink(elsewhere, root / "multimedia" / "sub")
    with pytest.raises(UnsafePath) as err:
        open_inside(root, "multimedia/sub/x.jpg")
    assert err.value.culprit == "multimedia/sub" and err.value.kind == "symlink"
    with pytest.raises(UnsafePath):
        move_inside(root, "multimedia/sub/x.jpg", tmp_path / "archive")
    assert (elsewhere / "x.jpg").read_bytes() == JPEG
    with pytest.raises(UnsafePath):
        open_inside(root, "../elsewhere/x.jpg")


def test_a_hard_link_to_another_file_is_refused(tmp_path: Path, config_factory,
                                                gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    secret = _secret(tmp_path)
    os.link(secret, export / "io_clienti.dat")
    os.link(secret, export / "listino.pdf")
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(2))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: (tmp_path / "quarantine" / "listino.pdf.errors.txt").exists())
        wait_for(lambda: (tmp_path / "quarantine" / "io_clienti.dat.errors.txt").exists())
    assert b"s3cr3t" not in _dropbox_bytes(tmp_path)
    assert "hard links" in _report(tmp_path, "listino.pdf")
    assert "s3cr3t" not in _report(tmp_path, "io_clienti.dat")  # never read, never echoed
    assert secret.read_bytes() == SECRET and secret.stat().st_nlink == 3


def test_the_extracts_own_hard_link_is_accepted(tmp_path: Path, config_factory,
                                                gestionale) -> None:
    """The SQL extract keeps a hard link of each file it hands over (its keystore): that one
    second name is ours, and the file is published."""
    from connector.extract.keystore import PublishLog

    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    handed = export / "io_citta.dat"
    handed.write_bytes(citta_file(3))
    PublishLog(StateStore(cfg.state_dir), cfg.state_dir).keep(handed, "io_citta.dat")
    assert handed.stat().st_nlink == 2
    with running_export(cfg):
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
    assert not list((tmp_path / "quarantine").rglob("*"))


def test_a_named_pipe_is_quarantined_and_blocks_nothing(tmp_path: Path, config_factory,
                                                        gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    os.mkfifo(export / "io_art.dat")
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(2))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: (tmp_path / "quarantine" / "io_art.dat.errors.txt").exists())
    assert "named pipe" in _report(tmp_path, "io_art.dat")


def test_media_are_checked_by_content_not_by_name(tmp_path: Path, config_factory) -> None:
    # The empty image is judged once it has stayed empty (export.empty_settle_seconds).
    cfg = config_factory(export={"empty_settle_seconds": 1.0})
    export = tmp_path / "export"
    export.mkdir()
    multimedia = tmp_path / "Dropbox" / "ACME" / "multimedia"
    reports = tmp_path / "Dropbox" / "ACME" / "reports"
    bad = {"listino.pdf": b"HOME=/root\nPATH=/usr/bin\n", "foto [A1].jpg": PNG,
           "video [A2].mp4": b"just some text, not a video at all",
           "vuota [A3].png": b""}
    good = {"vera [A4].jpg": JPEG, "vera [A5].png": PNG, "catalogo.pdf": b"%PDF-1.7\n%\xe2\xe3\n",
            "spot [A6].mp4": b"\x00\x00\x00\x20ftypisom" + os.urandom(64),
            "spot [A7].avi": b"RIFF\x00\x10\x00\x00AVI LIST" + os.urandom(32),
            "spot [A8].mpg": b"\x00\x00\x01\xba" + os.urandom(64)}
    with running_export(cfg):
        for name, body in {**bad, **good}.items():
            (export / name).write_bytes(body)
        for name in bad:
            wait_for(lambda name=name: (tmp_path / "quarantine" / f"{name}.errors.txt").exists())
        wait_for(lambda: len([p for p in multimedia.iterdir()]) == 5 if multimedia.is_dir()
                 else False)
    assert (reports / "catalogo.pdf").read_bytes() == good["catalogo.pdf"]
    assert "not a PDF document" in _report(tmp_path, "listino.pdf")
    assert "is a PNG image, not a JPEG image" in _report(tmp_path, "foto [A1].jpg")
    assert "not an MP4/QuickTime video" in _report(tmp_path, "video [A2].mp4")
    assert "empty" in _report(tmp_path, "vuota [A3].png")
    assert not (reports / "listino.pdf").exists()


def test_across_volumes_a_link_moves_as_a_link_and_a_hard_link_is_not_copied(
        tmp_path: Path) -> None:
    """The quarantine on another file system: the name is moved, never what it points to."""
    from connector.fsutil import move_inside

    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system here")
    root = tmp_path / "export"
    root.mkdir()
    secret = _secret(tmp_path)
    os.symlink(secret, root / "env.pdf")
    os.link(secret, root / "hard.pdf")
    (root / "plain.dat").write_bytes(b"plain")
    import tempfile

    with tempfile.TemporaryDirectory(dir=other) as q:
        quarantine = Path(q)
        link = move_inside(root, "env.pdf", quarantine, copy=False)
        assert link is not None and link.is_symlink() and os.readlink(link) == str(secret)
        assert move_inside(root, "hard.pdf", quarantine, copy=False) is None
        assert not (quarantine / "hard.pdf").exists()
        plain = move_inside(root, "plain.dat", quarantine)
        assert plain is not None and plain.read_bytes() == b"plain"
    assert sorted(p.name for p in root.iterdir()) == []
    assert secret.read_bytes() == SECRET and secret.stat().st_nlink == 1
