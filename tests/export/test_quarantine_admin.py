"""The quarantine controls (`connector quarantine list|show|requeue|purge`) on real folders,
a real export loop and a real daemon: a requeued file is judged again, never written over a
newer file of its name; no ID reaches outside the quarantine; every change is an action."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from connector import controls, i18n
from connector.export import quarantine_admin as qa
from connector.state import StateStore
from service.cli import main
from tests.conftest import make_config_dict
from tests.export.conftest import CITTA_HEADER, citta_file, running_export, wait_for

REPO = Path(__file__).resolve().parents[2]
BAD = (CITTA_HEADER + "\r\n"
       "ACME§A001|ACME|A001|ABANO|35031|PD|01011900000000\r\n"
       "ACME§A002|ACME|A002|PADOVA|35100|PD\r\n").encode("utf-8")  # line 3: a field missing
WHO = f"cli:{getpass.getuser()}"


@pytest.fixture(autouse=True)
def _keep_locale():
    """The commands set the process's locale from the configuration: put it back."""
    before = i18n.current()
    yield
    i18n.set_default(before)


def _lay(root: Path, rel: str, body: bytes = BAD, report: str | None = None,
         age_days: float = 0.0) -> Path:
    """A refused file as the export leaves it: the file and its report beside it."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    rep = path.with_name(path.name + ".errors.txt")
    rep.write_text(report if report is not None else
                   f"{rel}: INVALID, 1 problem\n  line 3: expected 7 fields, got 6\n",
                   encoding="utf-8")
    if age_days:
        when = time.time() - age_days * 86400
        os.utime(rep, (when, when))
    return path


def test_a_refused_file_is_listed_shown_fixed_and_requeued_to_a_running_export(
        tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory()
    (tmp_path / "export").mkdir()
    store = StateStore(cfg.state_dir)
    with running_export(cfg):
        (tmp_path / "export" / "io_citta.dat").write_bytes(BAD)
        wait_for(lambda: (tmp_path / "quarantine" / "io_citta.dat").exists()
                 and (tmp_path / "quarantine" / "io_citta.dat.errors.txt").exists())
        (entry,) = qa.entries(cfg, store)
        assert entry.kind == "file" and entry.name == "io_citta.dat"
        assert entry.size == len(BAD) and abs(entry.at - time.time()) < 60
        assert "line 3" in entry.why and "\n" not in entry.why
        assert len(entry.id) == 8 and qa.entries(cfg, store)[0].id == entry.id  # stable
        shown = qa.show(cfg, store, entry.id)
        assert "line 3" in shown.report and not shown.truncated
        # the clerk fixes the file where it lies, then requeues it: the export takes it
        (tmp_path / "quarantine" / "io_citta.dat").write_bytes(citta_file(3))
        done = qa.requeue(cfg, store, entry.id[:5], who="console:anna")  # a prefix will do
        assert done.dest == str(tmp_path / "export" / "io_citta.dat")
        wait_for((gestionale / "io_citta.dat").exists)
    assert qa.entries(cfg, store) == []
    assert not (tmp_path / "quarantine" / "io_citta.dat.errors.txt").exists()
    (act,) = controls.actions(store)
    assert (act.action, act.who, act.target) == ("quarantine.requeue", "console:anna",
                                                 "io_citta.dat")
    assert entry.id in act.detail


def test_a_requeued_file_still_wrong_is_judged_again_and_quarantined_again(
        tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory()
    (tmp_path / "export").mkdir()
    store = StateStore(cfg.state_dir)
    _lay(tmp_path / "quarantine", "io_citta.dat")
    (entry,) = qa.entries(cfg, store)
    with running_export(cfg):
        qa.requeue(cfg, store, entry.id, who=WHO)
        wait_for(lambda: (tmp_path / "quarantine" / "io_citta.dat.errors.txt").exists()
                 and not (tmp_path / "export" / "io_citta.dat").exists())
    (again,) = qa.entries(cfg, store)
    assert again.name == "io_citta.dat" and "line 3" in again.why
    assert not (gestionale / "io_citta.dat").exists()


def test_requeue_never_writes_over_a_newer_file_of_the_same_name(tmp_path: Path,
                                                                 config_factory) -> None:
    cfg = config_factory()
    (tmp_path / "export").mkdir()
    store = StateStore(cfg.state_dir)
    _lay(tmp_path / "quarantine", "io_citta.dat")
    newer = tmp_path / "export" / "io_citta.dat"
    newer.write_bytes(citta_file(5))
    (entry,) = qa.entries(cfg, store)
    with pytest.raises(qa.QuarantineError, match="already in the export folder"):
        qa.requeue(cfg, store, entry.id, who=WHO)
    assert newer.read_bytes() == citta_file(5)
    assert (tmp_path / "quarantine" / "io_citta.dat").read_bytes() == BAD
    assert controls.actions(store) == []
    # the same race decided at the last moment: the link refuses an existing name
    with pytest.raises(FileExistsError):
        qa._move_no_clobber(tmp_path / "quarantine" / "io_citta.dat", newer)
    assert newer.read_bytes() == citta_file(5)
    assert (tmp_path / "quarantine" / "io_citta.dat").exists()


@pytest.mark.parametrize("ident", ["../x", "..", "/etc/passwd", "a/../../b", "zzzzzzzz",
                                   "0123456789", "", "abc", "ab\x1b[2Jcd"])
def test_an_id_that_is_not_one_is_refused(tmp_path: Path, config_factory, ident: str) -> None:
    cfg = config_factory()
    store = StateStore(cfg.state_dir)
    _lay(tmp_path / "quarantine", "io_citta.dat")
    with pytest.raises(qa.QuarantineError) as exc:
        qa.requeue(cfg, store, ident, who=WHO)
    assert "\x1b" not in str(exc.value)
    with pytest.raises(qa.QuarantineError):
        qa.purge(cfg, store, who=WHO, ident=ident)
    assert (tmp_path / "quarantine" / "io_citta.dat").exists()


def test_the_listing_names_second_copies_held_back_rows_and_lone_reports(
        tmp_path: Path, config_factory) -> None:
    cfg = config_factory()
    (tmp_path / "export").mkdir()
    store = StateStore(cfg.state_dir)
    q = tmp_path / "quarantine"
    _lay(q, "io_citta.dat", age_days=2)
    _lay(q, "io_citta (2).dat", age_days=1)
    _lay(q, "sub/io_clifor.dat")
    (q / "gone.dat.errors.txt").write_text("gone.dat: INVALID, 1 problem\n  file: vanished\n",
                                           encoding="utf-8")
    held = q / "held-back" / "20261201-101010-abcdef12"
    _lay(held, "io_citta.dat", body=(CITTA_HEADER + "\r\nbad\r\n").encode(),
         report="io_citta.dat: 1 row(s) of io_citta.dat held back (1 problem(s)); ...\n"
                "  line 2 (line 7 of the dropped file): expected 7 fields\n")
    _lay(q / "legacy", "AM_ORD.DAT")  # the legacy route's quarantine: not the export's
    os.symlink("/etc/passwd", q / "link.dat")
    (q / ".io_x.dat.tmp").write_bytes(b"being written")
    found = {(e.kind, e.name) for e in qa.entries(cfg, store)}
    assert found == {("file", "io_citta.dat"), ("file", "sub/io_clifor.dat"),
                     ("report", "gone.dat"), ("held-back", "io_citta.dat"),
                     ("file", "link.dat")}
    assert sum(1 for e in qa.entries(cfg, store) if e.name == "io_citta.dat") == 3
    by_kind = {e.kind: e for e in qa.entries(cfg, store)}
    assert by_kind["held-back"].why.startswith("line 2 (line 7")
    assert len({e.id for e in qa.entries(cfg, store)}) == 6
    link = next(e for e in qa.entries(cfg, store) if e.link)
    with pytest.raises(qa.QuarantineError, match="link"):
        qa.requeue(cfg, store, link.id, who=WHO)
    with pytest.raises(qa.QuarantineError, match="only its report"):
        qa.requeue(cfg, store, by_kind["report"].id, who=WHO)
    # the held-back rows go back under the name they came from, their folder leaves
    qa.requeue(cfg, store, by_kind["held-back"].id, who=WHO)
    assert (tmp_path / "export" / "io_citta.dat").read_bytes().startswith(CITTA_HEADER.encode())
    assert not held.exists()
    # a file in a subfolder goes back to its subfolder
    sub = next(e for e in qa.entries(cfg, store) if e.name == "sub/io_clifor.dat")
    qa.requeue(cfg, store, sub.id, who=WHO)
    assert (tmp_path / "export" / "sub" / "io_clifor.dat").read_bytes() == BAD
    # purging the link deletes the link, never what it points to
    qa.purge(cfg, store, who=WHO, ident=link.id)
    assert not os.path.lexists(q / "link.dat") and Path("/etc/passwd").exists()


def test_requeue_writes_the_done_marker_the_export_waits_for(tmp_path: Path,
                                                             config_factory) -> None:
    cfg = config_factory(export={"done_marker": ".ok"})
    (tmp_path / "export").mkdir()
    store = StateStore(cfg.state_dir)
    _lay(tmp_path / "quarantine", "io_citta.dat")
    qa.requeue(cfg, store, qa.entries(cfg, store)[0].id, who=WHO)
    assert (tmp_path / "export" / "io_citta.dat").exists()
    assert (tmp_path / "export" / "io_citta.dat.ok").exists()


def test_show_escapes_control_characters_and_bounds_the_report(tmp_path: Path,
                                                               config_factory) -> None:
    cfg = config_factory()
    store = StateStore(cfg.state_dir)
    _lay(tmp_path / "quarantine", "io_citta.dat",
         report="io_citta.dat: INVALID\n  line 2, value 'A\x1b[2J\x07\x9b': bad\u2028x\n"
                + "  line 9: more\n" * 50_000)
    e = qa.entries(cfg, store)[0]
    assert "\x1b" not in e.why and "\\x1b[2J" in e.why
    shown = qa.show(cfg, store, e.id, limit=1000)
    assert "\\x1b[2J\\x07\\x9b" in shown.report and "\\u2028" in shown.report
    assert shown.truncated and len(shown.report) <= 1000 + 100


def test_purge_by_age_and_all_and_the_actions_recorded(tmp_path: Path, config_file,
                                                       capsys) -> None:
    config = config_file()
    q = tmp_path / "quarantine"
    _lay(q, "old.dat", age_days=40)
    _lay(q, "new.dat", age_days=1)
    base = ["--config", str(config), "quarantine"]
    assert main([*base, "purge", "--older-than", "30"]) == 0
    out = capsys.readouterr().out
    assert "old.dat" in out and "new.dat" not in out
    assert not (q / "old.dat").exists() and not (q / "old.dat.errors.txt").exists()
    assert (q / "new.dat").exists()
    assert main([*base, "purge", "--all"]) == 2  # asks nothing: wants --yes
    assert "--yes" in capsys.readouterr().err
    assert (q / "new.dat").exists()
    with pytest.raises(SystemExit) as exc:
        main([*base, "purge", "--older-than", "-1"])
    assert exc.value.code == 2
    capsys.readouterr()
    assert main([*base, "purge", "--all", "--yes"]) == 0
    assert not (q / "new.dat").exists()
    store = StateStore(tmp_path / "state")
    acts = controls.actions(store)
    assert [(a.action, a.who) for a in acts] == [("quarantine.purge", WHO)] * 2
    assert "new.dat" in acts[0].detail and acts[1].target == "older than 30 days"
    assert main([*base, "list"]) == 0
    assert "empty" in capsys.readouterr().out


def test_the_commands_print_plain_lines_json_and_italian(tmp_path: Path, config_file,
                                                         capsys) -> None:
    config = config_file()
    (tmp_path / "export").mkdir()
    _lay(tmp_path / "quarantine", "io_citta.dat")
    base = ["--config", str(config), "quarantine"]
    assert main([*base, "list", "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["name"] == "io_citta.dat" and item["kind"] == "file"
    assert main([*base, "list"]) == 0
    out = capsys.readouterr().out
    assert item["id"] in out and "io_citta.dat" in out and "line 3" in out
    assert main([*base, "show", item["id"], "--json"]) == 0
    assert "line 3" in json.loads(capsys.readouterr().out)["report_text"]
    assert main([*base, "show", "../../etc"]) == 1
    assert "not a quarantine ID" in capsys.readouterr().err
    it = config_file(locale="it")
    assert main(["--config", str(it), "quarantine", "show", item["id"]]) == 0
    assert "in quarantena" in capsys.readouterr().out
    assert main(["--config", str(it), "quarantine", "requeue", item["id"]]) == 0
    assert "cartella di esportazione" in capsys.readouterr().out
    assert main(["--config", str(it), "quarantine", "requeue", item["id"]]) == 1
    assert "nessun file" in capsys.readouterr().err.lower()


def test_a_running_daemon_publishes_a_file_requeued_from_the_command_line(tmp_path: Path) -> None:
    data = make_config_dict(tmp_path)
    data["log"]["format"] = "json"
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "export").mkdir()
    _lay(tmp_path / "quarantine", "io_citta.dat", body=citta_file(4))  # fixed in quarantine
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "connector", "--config", str(config)]
    listed = subprocess.run([*cli, "quarantine", "list", "--json"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    ident = json.loads(listed.stdout)[0]["id"]
    daemon = subprocess.Popen([*cli, "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              text=True, env=env)
    try:
        published = tmp_path / "Dropbox" / "ACME" / "gestionale" / "io_citta.dat"
        log = tmp_path / "log" / "connector.log"
        wait_for(lambda: daemon.poll() is not None or (
            log.exists() and "watching export folder" in log.read_text(encoding="utf-8")),
            timeout=60)
        assert daemon.poll() is None
        done = subprocess.run([*cli, "quarantine", "requeue", ident], capture_output=True,
                              text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and done.stderr == ""
        wait_for(published.exists, timeout=60)
        assert "ACME§A004" in published.read_text(encoding="utf-8-sig")
    finally:
        daemon.terminate()
        daemon.wait(30)
    acts = controls.actions(StateStore(tmp_path / "state"))
    assert [(a.action, a.who) for a in acts] == [("quarantine.requeue", WHO)]


@pytest.mark.parametrize("way", ["renameat2", "link"])
def test_the_move_never_clobbers_and_leaves_one_name(tmp_path: Path, way: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if way == "link":  # where renameat2 is not available: a hard link, then the unlink
        monkeypatch.setattr(qa, "_rename_noreplace", lambda src, dest: False)
    src, dest = tmp_path / "q.dat", tmp_path / "out" / "q.dat"
    dest.parent.mkdir()
    src.write_bytes(b"old")
    dest.write_bytes(b"newer")
    with pytest.raises(FileExistsError):
        qa._move_no_clobber(src, dest)
    assert dest.read_bytes() == b"newer" and src.read_bytes() == b"old"
    dest.unlink()
    qa._move_no_clobber(src, dest)
    assert dest.read_bytes() == b"old" and not src.exists()
    assert os.stat(dest).st_nlink == 1


def test_the_move_across_volumes_copies_then_links(tmp_path: Path) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second volume (/dev/shm) here")
    folder = other / f"qa-{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir()
    try:
        src = tmp_path / "q.dat"
        src.write_bytes(b"x" * 100_000)
        (folder / "taken.dat").write_bytes(b"newer")
        with pytest.raises(FileExistsError):
            qa._move_no_clobber(src, folder / "taken.dat")
        assert (folder / "taken.dat").read_bytes() == b"newer" and src.exists()
        qa._move_no_clobber(src, folder / "q.dat")
        assert (folder / "q.dat").read_bytes() == b"x" * 100_000 and not src.exists()
        assert sorted(p.name for p in folder.iterdir()) == ["q.dat", "taken.dat"]  # no temp left
    finally:
        import shutil

        shutil.rmtree(folder)


def test_requeue_never_follows_a_linked_subfolder_out_of_the_export_folder(
        tmp_path: Path, config_factory) -> None:
    cfg = config_factory()
    (tmp_path / "export").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "export" / "sub")
    store = StateStore(cfg.state_dir)
    _lay(tmp_path / "quarantine", "sub/io_citta.dat")
    (entry,) = qa.entries(cfg, store)
    with pytest.raises(qa.QuarantineError, match="not a name inside the export folder"):
        qa.requeue(cfg, store, entry.id, who=WHO)
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert (tmp_path / "quarantine" / "sub" / "io_citta.dat").exists()
