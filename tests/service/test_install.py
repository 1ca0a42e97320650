"""The systemd unit: rendered from the configuration, verified by systemd-analyze, written
with --unit-dir; install/uninstall against a fake systemctl on PATH."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from svc_helpers import config_dict

from connector.config import load_config
from service.cli import main
from service.install import render_unit, unit_quote, writable_paths


def _config(tmp_path: Path, **overrides: object) -> Path:
    path = tmp_path / "etc" / "connector.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = config_dict(tmp_path, **overrides)
    path.write_text(yaml.safe_dump(data))
    return path


def _directives(unit: str) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in unit.splitlines()  # type: ignore[misc]
            if "=" in line and not line.startswith("#")]


def test_unit_has_the_service_contract(tmp_path):
    path = _config(tmp_path, export={"enabled": True},
                   service={"user": "icconn", "watchdog_seconds": 45, "stop_deadline_seconds": 20},
                   **{"import": {"enabled": True, "source": "api",
                                 "erp": {"sink": "files", "path": str(tmp_path / "erp in")}}})
    unit = render_unit(load_config(path))
    d = _directives(unit)
    one = dict(d)
    assert one["Type"] == "notify"
    assert one["WatchdogSec"] == "45s"
    assert one["Restart"] == "on-failure"
    assert one["User"] == "icconn"
    assert one["ProtectSystem"] == "strict"
    assert one["NoNewPrivileges"] == "yes"
    assert one["TimeoutStopSec"] == "30s"
    assert one["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert one["ExecStart"].endswith(f"--config {path} run")
    assert one["ExecStart"].split()[0] in (str(Path(sys.executable).parent / "connector"),
                                           sys.executable)
    rw = [v for k, v in d if k == "ReadWritePaths"]
    for p in ("state", "log", "staging", "export", "archive", "quarantine", "Dropbox/ACME"):
        assert str(tmp_path / p) in rw, (p, rw)
    assert f'"{tmp_path / "erp in"}"' in rw  # quoted: it has a blank


def test_writable_paths_keep_the_outermost_only(tmp_path):
    cfg = load_config(_config(tmp_path, export={"enabled": True,
                                                "archive": str(tmp_path / "export" / "archive")}))
    paths = writable_paths(cfg)
    assert tmp_path / "export" in paths and tmp_path / "export" / "archive" not in paths


def test_unit_quote_escapes_specifiers_and_blanks():
    assert unit_quote("/opt/conn/bin/connector") == "/opt/conn/bin/connector"
    assert unit_quote("/srv/100%/x") == "/srv/100%%/x"
    assert unit_quote('/srv/my "dir"') == '"/srv/my \\"dir\\""'
    assert unit_quote("/srv/$HOME") == "/srv/$$HOME"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_generated_unit_passes_systemd_analyze_verify(tmp_path):
    path = _config(tmp_path, dropbox={"root": str(tmp_path / "my Dropbox 100%")})
    unit_dir = tmp_path / "units"
    assert main(["--config", str(path), "service", "install", "--unit-dir", str(unit_dir),
                 "--no-system"]) == 0
    unit = unit_dir / "icommerce-connector.service"
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ReadWritePaths=\"" + str(tmp_path / "my Dropbox 100%%" / "ACME") + '"' \
        in unit.read_text()
    # The check can fail: a unit with a relative ExecStart is rejected.
    broken = tmp_path / "broken" / "icommerce-connector.service"
    broken.parent.mkdir()
    broken.write_text(unit.read_text().replace("ExecStart=/", "ExecStart=", 1))
    bad = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True)
    assert bad.returncode != 0 or "ExecStart" in bad.stderr


def test_install_print_changes_nothing(tmp_path, capsys):
    path = _config(tmp_path)
    assert main(["--config", str(path), "service", "install", "--print"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# icommerce-connector.service")
    assert "Type=notify" in out
    assert not (tmp_path / "state").exists()  # not even the folders


def _fake_systemctl(tmp_path: Path) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/systemctl.calls\n'
                      'if [ "$1" = show ]; then echo ActiveState=active; echo SubState=running;'
                      ' echo NRestarts=2; fi\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bindir


def test_install_uninstall_start_stop_status_drive_systemctl(tmp_path, monkeypatch, capsys):
    if os.geteuid() != 0:
        pytest.skip("install creates folders owned by service.user: needs root")
    monkeypatch.setenv("PATH", f"{_fake_systemctl(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    path = _config(tmp_path, service={"user": "root"})
    unit_dir = tmp_path / "units"
    args = ["--config", str(path), "service"]
    assert main([*args, "install", "--unit-dir", str(unit_dir)]) == 0
    assert (unit_dir / "icommerce-connector.service").exists()
    assert (tmp_path / "state").is_dir() and (tmp_path / "Dropbox" / "ACME").is_dir()
    assert main([*args, "start"]) == 0
    assert main([*args, "stop"]) == 0
    capsys.readouterr()
    assert main([*args, "status"]) == 1  # the manager says active, but no connector holds the lock
    out = capsys.readouterr().out
    assert "icommerce-connector: active (running), restarted 2 times" in out
    assert "not running" in out
    assert main([*args, "uninstall", "--unit-dir", str(unit_dir)]) == 0
    assert not (unit_dir / "icommerce-connector.service").exists()
    calls = (tmp_path / "systemctl.calls").read_text().splitlines()
    assert calls[:4] == ["daemon-reload", "enable icommerce-connector", "start icommerce-connector",
                         "stop icommerce-connector"]
    assert "disable --now icommerce-connector" in calls and calls[-1] == "daemon-reload"


def test_a_failing_systemctl_is_one_clear_line(tmp_path, monkeypatch, capsys):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "systemctl").write_text("#!/bin/sh\necho 'Unit icommerce-connector.service not found.'"
                                      " >&2\nexit 5\n")
    (bindir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    path = _config(tmp_path)
    assert main(["--config", str(path), "service", "start"]) == 1
    err = capsys.readouterr().err
    assert "systemctl start icommerce-connector failed (exit 5)" in err
    assert "not found" in err


def test_install_without_root_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    path = _config(tmp_path)
    assert main(["--config", str(path), "service", "install"]) == 1
    assert "service install needs root" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()
