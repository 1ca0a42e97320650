"""Install, remove, start, stop and query the connector as a systemd service.

`render_unit(cfg)` is pure: the unit text from service/connector.service.tmpl and the
configuration (every folder the connector writes becomes a ReadWritePaths= line, the
rest of the file system stays read-only). The functions that touch the system take a
`run` callable (subprocess.run by default) so nothing here hides a shell.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from connector.config import Config
from connector.errors import ConnectorError

DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
Run = Callable[..., "subprocess.CompletedProcess[str]"]


class ServiceError(ConnectorError):
    """A service-manager step failed; the message says which and what it printed."""


def connector_executable() -> list[str]:
    """The console script beside this interpreter (the venv's bin/connector), else python -m."""
    exe = Path(sys.executable)
    script = exe.parent / ("connector.exe" if os.name == "nt" else "connector")
    if script.exists():
        return [str(script)]
    return [str(exe), "-m", "connector"]


def writable_paths(cfg: Config) -> list[Path]:
    """Every folder the daemon writes, outermost only (a nested folder is covered already)."""
    ex, im = cfg.export, cfg.import_
    paths: list[Path] = [cfg.state_dir, cfg.log.dir, cfg.staging_dir]
    if ex.enabled:
        paths += [ex.watch, ex.archive, ex.quarantine]
    if cfg.dropbox.mode == "folder":
        paths.append(cfg.company_folder)
    elif cfg.dropbox.token_file is not None:
        paths.append(cfg.dropbox.token_file.parent)
    if im.enabled:
        if im.source in ("legacy", "both"):
            paths.append(cfg.legacy_folder)
            if im.legacy.archive is not None:
                paths.append(im.legacy.archive)
        if im.erp.sink == "files":
            paths.append(im.erp.path)
        elif im.erp.sink == "command" and im.erp.command.workdir is not None:
            paths.append(im.erp.command.workdir)
        elif im.erp.sink == "sql" and not im.erp.sql.url_env:
            m = re.match(r"sqlite:///(.+)", im.erp.sql.url)
            if m:
                db = Path(m.group(1))
                base = cfg.source_path.parent if cfg.source_path else Path.cwd()
                paths.append((db if db.is_absolute() else base / db).parent)
    if cfg.sandbox.enabled:
        paths.append(cfg.sandbox.db.parent)
    unique = sorted({Path(os.path.abspath(p)) for p in paths}, key=lambda p: (len(p.parts), str(p)))
    outer: list[Path] = []
    for p in unique:
        if not any(p.is_relative_to(o) for o in outer):
            outer.append(p)
    return sorted(outer)


def unit_quote(value: str) -> str:
    """One word of a unit file: '%' and '$' escaped, quoted when it holds blanks or quotes."""
    value = value.replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\]", value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def render_unit(cfg: Config, *, executable: Sequence[str] | None = None,
                config_path: Path | None = None) -> str:
    config = Path(os.path.abspath(config_path or cfg.source_path or "connector.yaml"))
    argv = [*(executable or connector_executable()), "--config", str(config), "run"]
    template = string.Template(
        resources.files("service").joinpath("connector.service.tmpl").read_text(encoding="utf-8"))
    svc = cfg.service
    return template.substitute(
        name=svc.name,
        company=cfg.company.replace("%", "%%"),
        config_uri=config.as_uri().replace("%", "%%"),
        exec_start=" ".join(unit_quote(a) for a in argv),
        watchdog=max(1, int(svc.watchdog_seconds)),
        stop_timeout=int(svc.stop_deadline_seconds) + 10,
        user=svc.user,
        workdir=unit_quote(str(config.parent)),
        read_write_paths="\n".join(f"ReadWritePaths={unit_quote(str(p))}"
                                   for p in writable_paths(cfg)),
    )


def unit_path(cfg: Config, unit_dir: Path | None = None) -> Path:
    return (unit_dir or DEFAULT_UNIT_DIR) / f"{cfg.service.name}.service"


def _run(run: Run, argv: list[str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        done = run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ServiceError(f"{what}: {argv[0]} not found (is this a systemd system?)") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout or "").strip().splitlines()
        raise ServiceError(f"{what} failed (exit {done.returncode}): "
                           f"{detail[-1] if detail else ' '.join(argv)}")
    return done


def ensure_user(user: str, run: Run = subprocess.run) -> bool:
    """Create the dedicated system user unless it exists; True when created."""
    import pwd

    try:
        pwd.getpwnam(user)
        return False
    except KeyError:
        pass
    _run(run, ["useradd", "--system", "--user-group", "--no-create-home",
               "--shell", "/usr/sbin/nologin", user], f"creating user {user}")
    return True


def prepare_folders(cfg: Config) -> list[Path]:
    """Create the writable folders (ReadWritePaths must exist) and give them to service.user."""
    import pwd

    try:
        pw = pwd.getpwnam(cfg.service.user)
    except KeyError:
        raise ServiceError(f"service.user: no such user {cfg.service.user!r}") from None
    made = []
    for p in writable_paths(cfg):
        p.mkdir(parents=True, exist_ok=True)
        os.chown(p, pw.pw_uid, pw.pw_gid)
        made.append(p)
    return made


def _need_root(what: str) -> None:
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise ServiceError(f"{what} needs root (run it with sudo); to only see or write the unit "
                           "use --print, or --unit-dir DIR --no-system")


def install_systemd(cfg: Config, *, unit_dir: Path | None = None, system: bool = True,
                    run: Run = subprocess.run, executable: Sequence[str] | None = None) -> Path:
    text = render_unit(cfg, executable=executable)
    path = unit_path(cfg, unit_dir)
    if system:
        _need_root("service install")
        ensure_user(cfg.service.user, run)
        prepare_folders(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".service.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    if system:
        _run(run, ["systemctl", "daemon-reload"], "systemctl daemon-reload")
        _run(run, ["systemctl", "enable", cfg.service.name], f"enabling {cfg.service.name}")
    return path


def uninstall_systemd(cfg: Config, *, unit_dir: Path | None = None, system: bool = True,
                      run: Run = subprocess.run) -> bool:
    """Stop, disable and remove the unit; the user, the state and the logs stay."""
    path = unit_path(cfg, unit_dir)
    if system:
        _need_root("service uninstall")
        # A unit that is not running or not enabled is fine here: go on with the removal.
        run(["systemctl", "disable", "--now", cfg.service.name], capture_output=True, text=True,
            check=False)
    existed = path.exists()
    path.unlink(missing_ok=True)
    if system:
        _run(run, ["systemctl", "daemon-reload"], "systemctl daemon-reload")
    return existed


def systemctl(action: str, cfg: Config, run: Run = subprocess.run) -> None:
    _run(run, ["systemctl", action, cfg.service.name], f"systemctl {action} {cfg.service.name}")


def systemd_state(cfg: Config, run: Run = subprocess.run) -> dict[str, Any]:
    """ActiveState, SubState, MainPID, NRestarts... of the unit (empty when unknown)."""
    try:
        done = run(["systemctl", "show", cfg.service.name, "--no-pager",
                    "--property=LoadState,ActiveState,SubState,MainPID,NRestarts,"
                    "ExecMainStartTimestamp,StatusText,UnitFileState"],
                   capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return {}
    if done.returncode != 0:
        return {}
    out: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def have_systemctl() -> bool:
    return shutil.which("systemctl") is not None
