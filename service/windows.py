"""The connector as a Windows service (pywin32's ServiceFramework).

SvcStop posts the same STOP request a SIGTERM does (service.signals), so the runner
stops the loops within service.stop_deadline_seconds exactly as on Linux. SvcDoRun
runs the same Runner as `connector run`, with one more log handler: warnings and
errors also go to the Windows event log (Application log, source = service name).

The configuration path lives in the service's registry Parameters key
(win32serviceutil.SetServiceCustomOption), written by `connector service install`.
Type-checked on Linux with `mypy --platform win32 service/windows.py`.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import servicemanager
import win32service
import win32serviceutil

from connector.config import Config
from connector.errors import ConfigError

CONFIG_OPTION = "config"
DEFAULT_NAME = "icommerce-connector"


class _Runner(Protocol):
    def run(self) -> int: ...

    def request_stop(self) -> None: ...


RunnerFactory = Callable[[str, Sequence[logging.Handler]], _Runner]


def _default_runner(config: str, handlers: Sequence[logging.Handler]) -> _Runner:
    from service.runner import Runner

    return Runner(config, extra_log_handlers=handlers, install_signals=False, console_logs=False)


def event_log_handler(name: str) -> logging.Handler | None:
    """Warnings and errors to the Application event log; None when it cannot be opened."""
    try:
        import win32evtlogutil  # noqa: F401 - NTEventLogHandler only prints when it is missing

        handler = logging.handlers.NTEventLogHandler(name)
    except Exception:  # noqa: BLE001 - no event log (rights, no pywin32): the file log remains
        return None
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    return handler


class ConnectorService(win32serviceutil.ServiceFramework):
    _svc_name_ = DEFAULT_NAME
    _svc_display_name_ = "iCommerce connector"
    _svc_description_ = "Moves data between the ERP and iCommerce AppManager."

    # Swapped in tests; the real one builds service.runner.Runner.
    runner_factory: RunnerFactory = staticmethod(_default_runner)  # type: ignore[assignment]

    def __init__(self, args: Sequence[str]) -> None:
        super().__init__(args)
        self.service_name = str(args[0]) if args else self._svc_name_
        self._lock = threading.Lock()
        self._runner: _Runner | None = None
        self._stop_early = False
        self.exit_code: int | None = None

    def SvcStop(self) -> None:  # noqa: N802 - pywin32's name
        self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
        with self._lock:
            runner = self._runner
            self._stop_early = runner is None
        if runner is not None:
            runner.request_stop()

    def SvcDoRun(self) -> None:  # noqa: N802 - pywin32's name
        servicemanager.LogMsg(servicemanager.EVENTLOG_INFORMATION_TYPE,
                              servicemanager.PYS_SERVICE_STARTED, (self.service_name, ""))
        _ensure_importable()
        config = win32serviceutil.GetServiceCustomOption(self.service_name, CONFIG_OPTION)
        if not config:
            servicemanager.LogErrorMsg(f"{self.service_name}: no configuration path in the service "
                                       "parameters; run `connector service install` again")
            self.exit_code = 2
            return
        handler = event_log_handler(self.service_name)
        runner = self.runner_factory(str(config), [handler] if handler else [])
        with self._lock:
            self._runner = runner
            stop_now = self._stop_early
        if stop_now:
            runner.request_stop()
        try:
            self.exit_code = runner.run()
        except ConfigError as exc:
            servicemanager.LogErrorMsg(f"{self.service_name}: {exc.message}: " + "; ".join(exc.errors))
            self.exit_code = 2
        except Exception as exc:
            servicemanager.LogErrorMsg(f"{self.service_name}: stopped by an error: {exc}")
            self.exit_code = 1
            raise
        servicemanager.LogMsg(servicemanager.EVENTLOG_INFORMATION_TYPE,
                              servicemanager.PYS_SERVICE_STOPPED, (self.service_name, ""))


def _ensure_importable() -> None:
    # pythonservice.exe imports this module by file path; the packages sit one level up.
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    # The import's decode worker is a spawned process, and spawn starts sys.executable,
    # which here is the service host, not an interpreter. (None found: the pages are
    # decoded in the service's own process.)
    for exe in (Path(sys.exec_prefix) / "Scripts" / "python.exe",
                Path(sys.exec_prefix) / "python.exe", Path(sys.base_exec_prefix) / "python.exe"):
        if exe.is_file():
            multiprocessing.set_executable(str(exe))
            break


# Install and control ---------------------------------------------------------------------
def install(cfg: Config, config_path: Path) -> None:
    name = cfg.service.name
    win32serviceutil.InstallService(
        win32serviceutil.GetServiceClassString(ConnectorService),
        name,
        f"iCommerce connector ({cfg.company})",
        startType=win32service.SERVICE_AUTO_START,
        description=ConnectorService._svc_description_,
    )
    win32serviceutil.SetServiceCustomOption(name, CONFIG_OPTION, str(config_path))


def uninstall(cfg: Config) -> None:
    try:
        win32serviceutil.StopService(cfg.service.name)
    except Exception:  # noqa: BLE001, S110 - not running is fine here
        pass
    win32serviceutil.RemoveService(cfg.service.name)


def start(cfg: Config) -> None:
    win32serviceutil.StartService(cfg.service.name)


def stop(cfg: Config) -> None:
    win32serviceutil.StopService(cfg.service.name)


_STATES = {
    win32service.SERVICE_STOPPED: "stopped",
    win32service.SERVICE_START_PENDING: "starting",
    win32service.SERVICE_STOP_PENDING: "stopping",
    win32service.SERVICE_RUNNING: "running",
    win32service.SERVICE_CONTINUE_PENDING: "continuing",
    win32service.SERVICE_PAUSE_PENDING: "pausing",
    win32service.SERVICE_PAUSED: "paused",
}


def state(cfg: Config) -> dict[str, Any]:
    try:
        status = win32serviceutil.QueryServiceStatus(cfg.service.name)
    except Exception as exc:  # noqa: BLE001 - not installed, no rights
        return {"ActiveState": "unknown", "error": str(exc)}
    return {"ActiveState": _STATES.get(status[1], str(status[1]))}


def main() -> None:
    """`python -m service.windows` lets pywin32 handle its own command line (debug, etc.)."""
    win32serviceutil.HandleCommandLine(ConnectorService)


if __name__ == "__main__":
    main()
