"""`connector dropbox login` and `connector dropbox check` against the fake Dropbox."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from tests.dropbox_api.conftest import REPO, PublisherRunner
from tests.dropbox_api.fake_dropbox import FakeDropbox


def write_config(tmp_path: Path, fake: FakeDropbox, token_file: Path) -> Path:
    cfg = {"version": 1, "company": "ACME", "state_dir": str(tmp_path / "state"),
           "create_folders": True,
           "log": {"dir": str(tmp_path / "log")},
           "dropbox": {"mode": "api", "root": "/", "ca_bundle": str(fake.ca_file),
                       "token_file": str(token_file)},
           "import": {"enabled": False}, "sandbox": {"enabled": False}}
    path = tmp_path / "connector.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def connector(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", *args], cwd=REPO, env=env,
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_login_stores_a_private_token_file_and_never_prints_the_token(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    token_file = tmp_path / "secret" / "dropbox.json"
    config = write_config(tmp_path, fake, token_file)
    env = publisher.env()
    env.pop("DROPBOX_REFRESH_TOKEN")
    env.pop("DROPBOX_APP_SECRET")  # PKCE
    code = fake.issue_auth_code()
    refresh = fake.auth_codes[code]
    done = connector(["--config", str(config), "dropbox", "login", "--store", "file"], env,
                     stdin=code + "\n")
    assert done.returncode == 0, done.stderr
    assert f"https://{fake.host}/oauth2/authorize?" in done.stdout
    assert "code_challenge" in done.stdout and "token_access_type=offline" in done.stdout
    assert str(token_file) in done.stdout
    assert refresh not in done.stdout + done.stderr
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert json.loads(token_file.read_text()) == {"app_key": fake.app_key,
                                                  "refresh_token": refresh}
    # the stored token works: check refreshes and lists the company folder
    fake.put_file("/ACME/gestionale/io_art.dat", b"x")
    checked = connector(["--config", str(config), "dropbox", "check"], env)
    assert checked.returncode == 0, checked.stderr
    assert "refresh token from file" in checked.stdout
    assert "/ACME: gestionale" in checked.stdout


def test_login_with_a_bad_code_stores_nothing(fake: FakeDropbox, publisher: PublisherRunner,
                                              tmp_path: Path) -> None:
    token_file = tmp_path / "dropbox.json"
    config = write_config(tmp_path, fake, token_file)
    env = publisher.env()
    done = connector(["--config", str(config), "dropbox", "login", "--store", "file"], env,
                     stdin="not-a-code\n")
    assert done.returncode == 1
    assert "refused the authorization code" in done.stderr
    assert not token_file.exists()


def test_login_without_app_key_is_a_config_error(fake: FakeDropbox, publisher: PublisherRunner,
                                                 tmp_path: Path) -> None:
    config = write_config(tmp_path, fake, tmp_path / "t.json")
    env = {k: v for k, v in publisher.env().items() if k != "DROPBOX_APP_KEY"}
    done = connector(["--config", str(config), "dropbox", "login"], env)
    assert done.returncode == 2
    assert "DROPBOX_APP_KEY" in done.stderr
    assert os.path.exists(tmp_path / "t.json") is False


def test_login_into_the_keyring_then_publish_with_it(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("keyring")
    from tests.dropbox_api.conftest import item, make_file

    token_file = tmp_path / "dropbox.json"
    config = write_config(tmp_path, fake, token_file)
    keyring_file = tmp_path / "keyring.json"
    backend = {"PYTHON_KEYRING_BACKEND": "tests.dropbox_api.file_keyring.JsonFileKeyring",
               "TEST_KEYRING_FILE": str(keyring_file)}
    env = {**publisher.env(), **backend}
    env.pop("DROPBOX_REFRESH_TOKEN")
    code = fake.issue_auth_code()
    refresh = fake.auth_codes[code]
    done = connector(["--config", str(config), "dropbox", "login", "--store", "keyring",
                      "--code", code], env)
    assert done.returncode == 0, done.stderr
    assert "stored in the OS keyring" in done.stdout and refresh not in done.stdout
    assert not token_file.exists()
    assert refresh in keyring_file.read_text()
    checked = connector(["--config", str(config), "dropbox", "check"], env)
    assert "refresh token from keyring" in checked.stdout, checked.stderr
    # the publisher finds it there too
    publisher.refresh_token = ""
    publisher.env_extra.update(backend)
    publisher.dropbox["token_file"] = str(token_file)
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([item(f)])
    assert result["ok"], result
