"""The Windows service with pywin32 faked in sys.modules (pywin32 does not install here).

What is checked: SvcStop reports STOP_PENDING and posts the same STOP the SIGTERM path
posts; SvcDoRun runs the runner with the configuration path from the service
parameters and an event-log handler; install registers the class and stores the path.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from service.signals import STOP, SignalInbox


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return self.returns.get(name)
        return record

    returns: ClassVar[dict[str, Any]] = {}


@pytest.fixture
def win(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[types.ModuleType, _Recorder]]:
    rec = _Recorder()
    rec.returns = {"GetServiceCustomOption": "C:\\connector\\connector.yaml",
                   "GetServiceClassString": "service.windows.ConnectorService",
                   "QueryServiceStatus": (16, 4, 0, 0, 0, 0, 0)}

    class ServiceFramework:
        def __init__(self, args: Any) -> None:
            self.args = args
            self.reported: list[int] = []

        def ReportServiceStatus(self, status: int) -> None:  # noqa: N802
            self.reported.append(status)

    wsu = types.ModuleType("win32serviceutil")
    wsu.ServiceFramework = ServiceFramework  # type: ignore[attr-defined]
    for fn in ("GetServiceCustomOption", "SetServiceCustomOption", "InstallService",
               "GetServiceClassString", "RemoveService", "StartService", "StopService",
               "QueryServiceStatus", "HandleCommandLine"):
        setattr(wsu, fn, rec(fn))
    ws = types.ModuleType("win32service")
    for i, const in enumerate(("SERVICE_STOPPED", "SERVICE_START_PENDING", "SERVICE_STOP_PENDING",
                               "SERVICE_RUNNING", "SERVICE_CONTINUE_PENDING",
                               "SERVICE_PAUSE_PENDING", "SERVICE_PAUSED"), start=1):
        setattr(ws, const, i)
    ws.SERVICE_AUTO_START = 2  # type: ignore[attr-defined]
    sm = types.ModuleType("servicemanager")
    sm.EVENTLOG_INFORMATION_TYPE = 4  # type: ignore[attr-defined]
    sm.PYS_SERVICE_STARTED = 1  # type: ignore[attr-defined]
    sm.PYS_SERVICE_STOPPED = 2  # type: ignore[attr-defined]
    sm.LogMsg = rec("LogMsg")  # type: ignore[attr-defined]
    sm.LogErrorMsg = rec("LogErrorMsg")  # type: ignore[attr-defined]
    for name, mod in (("win32serviceutil", wsu), ("win32service", ws), ("servicemanager", sm)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.delitem(sys.modules, "service.windows", raising=False)
    module = importlib.import_module("service.windows")
    yield module, rec
    sys.modules.pop("service.windows", None)


class FakeRunner:
    """Stands in for service.runner.Runner: runs until the STOP request arrives."""

    def __init__(self, config: str, handlers: Any) -> None:
        self.config = config
        self.handlers = handlers
        self.inbox = SignalInbox()
        self.started = threading.Event()

    def request_stop(self) -> None:
        self.inbox.post(STOP)  # exactly what Runner.request_stop does

    def run(self) -> int:
        self.started.set()
        while STOP not in self.inbox.wait(10):
            pass
        self.inbox.close()
        return 0


def test_svc_stop_stops_the_running_service(win):
    module, rec = win
    runners: list[FakeRunner] = []

    def factory(config: str, handlers: Any) -> FakeRunner:
        runners.append(FakeRunner(config, handlers))
        return runners[-1]

    module.ConnectorService.runner_factory = staticmethod(factory)
    svc = module.ConnectorService(["icommerce-connector"])
    t = threading.Thread(target=svc.SvcDoRun)
    t.start()
    while not runners:
        threading.Event().wait(0.01)
    assert runners[0].started.wait(10)
    assert runners[0].config == "C:\\connector\\connector.yaml"
    svc.SvcStop()
    t.join(10)
    assert not t.is_alive() and svc.exit_code == 0
    assert svc.reported == [module.win32service.SERVICE_STOP_PENDING]
    names = [c[0] for c in rec.calls]
    assert names.count("LogMsg") == 2  # started, stopped
    assert ("GetServiceCustomOption", ("icommerce-connector", "config"), {}) in rec.calls


def test_stop_before_the_runner_exists_is_not_lost(win):
    module, _rec = win
    module.ConnectorService.runner_factory = staticmethod(FakeRunner)
    svc = module.ConnectorService(["icommerce-connector"])
    svc.SvcStop()  # the service manager asks to stop while the service is still starting
    svc.SvcDoRun()  # returns: the early stop was handed to the runner
    assert svc.exit_code == 0


def test_missing_configuration_parameter_is_logged(win):
    module, rec = win
    rec.returns = {**rec.returns, "GetServiceCustomOption": None}
    svc = module.ConnectorService(["icommerce-connector"])
    svc.SvcDoRun()
    assert svc.exit_code == 2
    assert any(c[0] == "LogErrorMsg" and "connector service install" in c[1][0] for c in rec.calls)


def test_config_error_is_logged_not_raised(win, tmp_path: Path):
    module, rec = win
    from connector.errors import ConfigError

    class Bad(FakeRunner):
        def run(self) -> int:
            self.inbox.close()
            raise ConfigError(["status.http: expected host:port"], source="x.yaml")

    module.ConnectorService.runner_factory = staticmethod(Bad)
    svc = module.ConnectorService(["icommerce-connector"])
    svc.SvcDoRun()
    assert svc.exit_code == 2
    assert any("status.http" in c[1][0] for c in rec.calls if c[0] == "LogErrorMsg")


def test_install_registers_the_class_and_stores_the_config(win, config_factory, tmp_path):
    module, rec = win
    cfg = config_factory(service={"name": "ic-acme"})
    module.install(cfg, tmp_path / "connector.yaml")
    inst = next(c for c in rec.calls if c[0] == "InstallService")
    assert inst[1][:2] == ("service.windows.ConnectorService", "ic-acme")
    assert inst[2]["startType"] == module.win32service.SERVICE_AUTO_START
    assert ("SetServiceCustomOption", ("ic-acme", "config", str(tmp_path / "connector.yaml")), {}) \
        in rec.calls
    module.start(cfg)
    module.stop(cfg)
    module.uninstall(cfg)
    assert [c[0] for c in rec.calls][-4:] == ["StartService", "StopService", "StopService",
                                              "RemoveService"]
    assert module.state(cfg) == {"ActiveState": "running"}


def test_event_log_handler_is_optional(win, monkeypatch):
    module, _rec = win
    monkeypatch.setitem(sys.modules, "win32evtlogutil", None)  # not importable
    assert module.event_log_handler("icommerce-connector") is None


def test_warnings_go_to_the_event_log(win, monkeypatch):
    module, rec = win
    evt = types.ModuleType("win32evtlogutil")
    evt.__file__ = "/site-packages/win32/lib/win32evtlogutil.py"
    evt.AddSourceToRegistry = rec("AddSourceToRegistry")  # type: ignore[attr-defined]
    evt.ReportEvent = rec("ReportEvent")  # type: ignore[attr-defined]
    evtlog = types.ModuleType("win32evtlog")
    for i, const in enumerate(("EVENTLOG_INFORMATION_TYPE", "EVENTLOG_WARNING_TYPE",
                               "EVENTLOG_ERROR_TYPE"), start=1):
        setattr(evtlog, const, i)
    monkeypatch.setitem(sys.modules, "win32evtlogutil", evt)
    monkeypatch.setitem(sys.modules, "win32evtlog", evtlog)
    handler = module.event_log_handler("icommerce-connector")
    assert handler is not None
    logger = logging.getLogger("test.windows.eventlog")
    logger.addHandler(handler)
    try:
        logger.info("routine")  # below WARNING: the event log stays quiet
        logger.error("export burst failed")
    finally:
        logger.removeHandler(handler)
    reports = [c for c in rec.calls if c[0] == "ReportEvent"]
    assert len(reports) == 1 and reports[0][1][0] == "icommerce-connector"
    assert "export burst failed" in str(reports[0])
