from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connector.config import load_config, parse_config
from connector.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_configuration_is_valid() -> None:
    cfg = load_config(REPO / "connector.yaml")
    assert cfg.company == "ACME"
    assert cfg.export.watch == REPO / "var/erp/export"
    assert cfg.dropbox_folder("gestionale") == Path(REPO / "var/Dropbox/ACME/gestionale")
    assert cfg.import_.erp.sink == "files"


def test_every_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    data = {
        "version": 1,
        "company": "ACME",
        "exprot": {},
        "export": {"settle_seconds": "slow", "rescan_seconds": 5, "length_policy": "maybe"},
        "import": {"appmanager": {"page_size": "x", "streams": ["orders", "ordres"]}},
        "log": {"level": 3},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, tmp_path)
    errors = "\n".join(info.value.errors)
    assert "exprot: unknown key (did you mean 'export'?)" in errors
    assert "export.settle_seconds: expected a number" in errors
    assert "export.length_policy: must be one of error, truncate" in errors
    assert "import.appmanager.page_size: expected a whole number, got 'x'" in errors
    assert "log.level: must be one of" in errors


def test_semantic_rules(tmp_path: Path) -> None:
    data = {"company": "AC/ME", "dropbox": {"root": str(tmp_path / "db"), "chunk_mib": 6},
            "export": {"watch": str(tmp_path / "db" / "inside")},
            "import": {"appmanager": {"streams": ["ordres"]}}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, tmp_path)
    errors = "\n".join(info.value.errors)
    assert "company:" in errors
    assert "dropbox.chunk_mib" in errors
    assert "export.watch: must be outside the synced Dropbox folder" in errors
    assert "import.appmanager.streams[0]: unknown stream 'ordres'" in errors


def test_missing_company_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="company: required key is missing"):
        parse_config({"version": 1}, tmp_path)
    bad = tmp_path / "c.yaml"
    bad.write_text("company: [ACME\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    good = subprocess.run([sys.executable, "-m", "connector", "--config", str(REPO / "connector.yaml"),
                           "check-config"], capture_output=True, text=True, cwd=REPO)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "c.yaml"
    bad.write_text("version: 1\ncompany: ACME\nexport: {settle_seconds: -1}\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "connector", "--config", str(bad), "check-config"],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2
    assert "export.settle_seconds: must be at least 0, got -1" in res.stderr
    assert res.stderr.count("export.settle_seconds") == 1  # listed once, not twice
    assert "Traceback" not in res.stderr


def test_relative_defaults_resolve_against_the_config_folder(tmp_path: Path) -> None:
    cfg = parse_config({"company": "ACME", "create_folders": True,
                        "import": {"erp": {"sink": "sql"}}}, tmp_path)
    assert cfg.state_dir == tmp_path / "var/state"
    assert cfg.sandbox.db == tmp_path / "var/sandbox/appmanager.sqlite"
    assert cfg.import_.erp.path == tmp_path / "var/erp/import"
    assert cfg.import_.erp.sql.url == f"sqlite:///{tmp_path}/var/erp/staging.sqlite"
    absolute = parse_config({"company": "ACME", "create_folders": True, "import": {"erp": {"sql": {
        "url": "sqlite:////srv/erp.sqlite"}}}}, tmp_path)
    assert absolute.import_.erp.sql.url == "sqlite:////srv/erp.sqlite"


def test_state_store_opened_by_many_threads_at_once_on_a_new_file(tmp_path: Path) -> None:
    """The daemon's loops open their connections at the same moment on a first start."""
    import sqlite3
    import threading

    from connector.state import StateStore

    errors: list[BaseException] = []
    for attempt in range(60):
        folder = tmp_path / f"state{attempt}"
        folder.mkdir()
        sqlite3.connect(folder / "connector.sqlite").close()  # a new, empty database
        barrier = threading.Barrier(12)

        def open_it(folder: Path = folder, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                StateStore(folder).close()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
    assert StateStore(tmp_path / "state0").query_one("PRAGMA journal_mode")[0] == "wal"


# --- issue 15: configuration that cannot hurt ------------------------------------------------

def _problems(data: dict, base: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base)
    return info.value.errors


def test_ports_and_urls_are_checked_for_what_they_are_used_for(tmp_path: Path) -> None:
    errors = _problems({
        "company": "ACME", "create_folders": True,
        "sandbox": {"port": 99999},
        "status": {"http": "127.0.0.1:70000"},
        "import": {"appmanager": {"url": "htp//appmanager.example.com/api"}},
        "notifications": {"smtp": {"host": "mail", "port": 0}, "webhook": "http:/nohost"},
    }, tmp_path)
    text = "\n".join(errors)
    assert "sandbox.port: a port is a number between 1 and 65535, got 99999" in text
    assert "status.http: a port is a number between 1 and 65535, got 70000" in text
    assert "notifications.smtp.port: a port is a number between 1 and 65535, got 0" in text
    assert "import.appmanager.url: not a web address: it must start with http:// or https://" \
        in text
    assert "notifications.webhook: not a web address" in text
    assert len(errors) == 5, errors  # each once
    # never a library's words
    assert "Input should" not in text and "pydantic" not in text.lower()
    assert "Value error" not in text and "[type=" not in text


def test_an_out_of_range_port_in_a_url_is_named(tmp_path: Path) -> None:
    errors = _problems({"company": "ACME", "create_folders": True, "import": {
        "appmanager": {"url": "http://127.0.0.1:99999/api/v1/progetti/x"}}}, tmp_path)
    assert errors == ["import.appmanager.url: the port in this address must be a number "
                      "between 1 and 65535"]


def test_types_are_not_coerced_from_text(tmp_path: Path) -> None:
    errors = _problems({"company": "ACME", "create_folders": True,
                        "sandbox": {"port": "8765", "enabled": 1},
                        "export": {"polling": "yes"}}, tmp_path)
    assert "sandbox.port: expected a whole number, got '8765'" in errors
    assert "sandbox.enabled: expected true or false, got 1" in errors
    assert "export.polling: expected true or false, got 'yes'" in errors


def test_unknown_nested_key_gets_a_suggestion_and_source_path_is_not_a_key(
        tmp_path: Path) -> None:
    errors = _problems({"company": "ACME", "create_folders": True,
                        "export": {"setle_seconds": 2}, "source_path": "/x",
                        "import": {"appmanager": {"ur": "http://x/"}}}, tmp_path)
    assert "export.setle_seconds: unknown key (did you mean 'settle_seconds'?)" in errors
    assert "import.appmanager.ur: unknown key (did you mean 'url'?)" in errors
    assert "source_path: unknown key" in errors


def test_missing_required_keys_are_named_as_such(tmp_path: Path) -> None:
    errors = _problems({"create_folders": True, "notifications": {"smtp": {"port": 25}},
                        "extract": {"enabled": True, "url": "sqlite://",
                                    "jobs": [{"query": "select 1"}]}}, tmp_path)
    assert "company: required key is missing" in errors
    assert "notifications.smtp.host: required key is missing" in errors
    assert "extract.jobs[0].layout: required key is missing" in errors
    errors = _problems({"company": None, "create_folders": True, "log": 3}, tmp_path)
    assert "company: must not be empty" in errors
    assert "log: expected a mapping (indented key: value lines), got 3" in errors


def test_folders_that_must_exist(tmp_path: Path) -> None:
    data = {"company": "ACME", "export": {"watch": str(tmp_path / "exprot")},
            "dropbox": {"root": str(tmp_path / "Dropbox")},
            "import": {"erp": {"path": str(tmp_path / "erp-in")}}}
    errors = _problems(data, tmp_path)
    assert errors == [
        f"export.watch: the folder {tmp_path / 'exprot'} does not exist: create it, correct the "
        "path, or set create_folders: true to have it created at start",
        f"dropbox.root: the folder {tmp_path / 'Dropbox'} does not exist: create it, correct the "
        "path, or set create_folders: true to have it created at start",
        f"import.erp.path: the folder {tmp_path / 'erp-in'} does not exist: create it, correct "
        "the path, or set create_folders: true to have it created at start",
    ]
    (tmp_path / "exprot").write_text("a file, not a folder")
    (tmp_path / "Dropbox").mkdir()
    (tmp_path / "erp-in").mkdir()
    assert _problems(data, tmp_path) == [f"export.watch: {tmp_path / 'exprot'} is not a folder"]
    (tmp_path / "exprot").unlink()
    (tmp_path / "exprot").mkdir()
    assert parse_config(data, tmp_path).export.watch == tmp_path / "exprot"
    # api mode: the Dropbox root is a remote path, not a local folder
    api = dict(data, dropbox={"mode": "api", "root": "/Nowhere"})
    assert parse_config(api, tmp_path).dropbox.root == "/Nowhere"


def test_create_folders_creates_them_at_start(tmp_path: Path) -> None:
    from connector.app import Daemon

    cfg = parse_config({"company": "ACME", "create_folders": True,
                        "state_dir": str(tmp_path / "state"),
                        "import": {"enabled": False}, "sandbox": {"enabled": False}}, tmp_path)
    assert not (tmp_path / "var/erp/export").exists()
    Daemon(cfg, loops=[])
    assert (tmp_path / "var/erp/export").is_dir()
    assert (tmp_path / "var/Dropbox").is_dir()
    assert not (tmp_path / "var/erp/import").exists()  # import disabled: not needed


@pytest.mark.parametrize(("section", "values", "key", "words"), [
    ("export", {"archive": "in"}, "export.archive", "the same folder as export.watch"),
    ("dropbox", {"staging": "in/staging"}, "dropbox.staging",
     "inside the watch folder export.watch"),
    ("import", {"enabled": True, "erp": {"path": "in/erp"}}, "import.erp.path",
     "inside the watch folder export.watch"),
    ("export", {"quarantine": "arch"}, "export.quarantine", "the same folder as export.archive"),
    ("export", {"watch": "var/Dropbox/ACME"}, "export.watch",
     "must be outside the synced Dropbox folder"),
])
def test_one_folder_for_two_roles_is_refused(tmp_path: Path, section: str, values: dict,
                                             key: str, words: str) -> None:
    data: dict = {"company": "ACME", "create_folders": True, "import": {"enabled": False},
                  "export": {"watch": "in", "archive": "arch", "quarantine": "quar"}}
    data[section] = {**data.get(section, {}), **values}
    errors = _problems(data, tmp_path)
    assert [e for e in errors if e.startswith(f"{key}: {words}")], errors
    assert len(errors) == 1, errors


def test_archive_and_quarantine_may_be_subfolders_of_the_watch_folder(tmp_path: Path) -> None:
    """The watcher skips them (tests/export/test_export_folder.py): a layout ERPs use."""
    cfg = parse_config({"company": "ACME", "create_folders": True, "export": {
        "watch": "in", "archive": "in/archive", "quarantine": "in/quarantine"}}, tmp_path)
    assert cfg.export.archive == tmp_path / "in/archive"


def test_yaml_syntax_error_shows_the_line_and_a_caret(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("version: 1\ncompany: ACME\nexport:\n  watch: [var/in\n  archive: x\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    (problem,) = info.value.errors
    head, line, caret = problem.split("\n")
    assert head.startswith("line 5, column 10: not valid YAML")
    assert line.strip() == "archive: x"
    assert caret.index("^") == line.index("archive: x") + len("archive")
    tabbed = tmp_path / "t.yaml"
    tabbed.write_text("company: ACME\nexport:\n\twatch: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tabbed)
    assert "a tab: YAML indents with spaces only" in info.value.errors[0]


def test_check_config_in_italian(tmp_path: Path) -> None:
    import os

    bad = tmp_path / "c.yaml"
    bad.write_text("version: 1\ncompany: ACME\ncreate_folders: true\nsandbox: {port: 99999}\n",
                   encoding="utf-8")
    env = {**os.environ, "LANG": "it_IT.UTF-8", "LC_ALL": ""}
    res = subprocess.run([sys.executable, "-m", "connector", "--config", str(bad),
                          "check-config"], capture_output=True, text=True, cwd=REPO, env=env)
    assert res.returncode == 2
    assert "configurazione non valida" in res.stderr
    assert "sandbox.port: una porta è un numero tra 1 e 65535, non 99999" in res.stderr
