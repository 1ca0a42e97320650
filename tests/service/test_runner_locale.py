"""The daemon speaks connector.yaml's `locale` (reports, notifications), from its start and
after a reload that changes it; log lines stay English."""

from __future__ import annotations

import threading
from pathlib import Path

import yaml
from svc_helpers import config_dict, wait_until

from connector import i18n
from connector.app import Daemon
from connector.config import Config
from service.runner import Runner


def test_the_daemon_takes_the_configured_locale_and_a_reload_changes_it(tmp_path: Path) -> None:
    cfg_path = tmp_path / "connector.yaml"
    cfg_path.write_text(yaml.safe_dump(config_dict(tmp_path, locale="it")))
    seen: list[str] = []

    def factory(cfg: Config) -> Daemon:
        seen.append(i18n.current())  # what the loops will write their reports in
        return Daemon(cfg, loops=[])

    runner = Runner(cfg_path, daemon_factory=factory, install_signals=False, console_logs=False)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(runner.run()), daemon=True)
    thread.start()
    try:
        assert runner.ready.wait(15)
        assert seen == ["it"] and i18n._("Line by line:") == "Riga per riga:"
        cfg_path.write_text(yaml.safe_dump(config_dict(tmp_path, locale="en")))
        runner.request_reload()
        wait_until(lambda: len(seen) == 2, what="the reload")
        assert seen == ["it", "en"]
    finally:
        runner.request_stop()
        thread.join(15)
    assert not thread.is_alive() and codes == [0]
