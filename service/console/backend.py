"""ConsoleBackend: the console's only way into the connector.

Pages ask this object and nothing else (no page imports an engine or the state store), so
the console follows the connector's facade (connector.app) in one place. Each method is
thin: facts come from connector.status and the live daemon (service.status_http.LiveView),
actions from the facade when it offers them. Every action a person takes goes through
`record_action` (the journal the dashboard shows: who, when, what).

The backend follows the daemon across reloads: it reads the current LiveView through the
callable it was given, never a daemon kept from before.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from connector import controls
from connector.config import Config
from connector.logsetup import redact
from connector.state import StateStore
from service.console.users import Users
from service.status_http import LiveView

# Configuration keys whose values are secrets or may hold one (URLs with a password).
_SECRET_KEY = re.compile(r"(?i)(auth_?key|password|secret|token)$")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s]+)(@)")
MASK = "***"


def mask_value(key: str, value: Any) -> Any:
    """A configuration value as the console shows it: secrets masked, passwords in URLs too."""
    if isinstance(value, str):
        if _SECRET_KEY.search(key) and not key.endswith("_env") and value:
            return MASK
        return redact(_URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", value))
    return value


def masked_config(cfg: Config) -> list[tuple[str, str]]:
    """The effective configuration, flattened into (key path, shown value) rows."""
    rows: list[tuple[str, str]] = []

    def walk(obj: Any, path: str) -> None:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                if f.name == "source_path":
                    continue
                name = "import" if f.name == "import_" else f.name
                walk(getattr(obj, f.name), f"{path}.{name}" if path else name)
        elif isinstance(obj, list) and obj and any(dataclasses.is_dataclass(v) for v in obj):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")
        elif isinstance(obj, dict) and obj:
            for k, v in obj.items():
                walk(v, f"{path}.{k}")
        else:
            shown = mask_value(path.rsplit(".", 1)[-1], obj)
            if isinstance(shown, Path):
                shown = str(shown)
            rows.append((path, "null" if shown is None else
                         (str(shown).lower() if isinstance(shown, bool) else str(shown))))

    walk(cfg, "")
    return rows


class ConsoleBackend:
    def __init__(self, view: Callable[[], LiveView], hasher: PasswordHasher | None = None) -> None:
        self._view = view
        self._hasher = hasher  # tests pass a cheap one; None: argon2-cffi's defaults
        self._users: Users | None = None
        self._lock = threading.Lock()

    # The live daemon ------------------------------------------------------------------------
    @property
    def live(self) -> LiveView:
        return self._view()

    @property
    def cfg(self) -> Config:
        return self.live.daemon.cfg

    @property
    def store(self) -> StateStore:
        return self.live.daemon.store

    def facade(self) -> Any | None:
        """connector.app.Connector for this configuration, once it exists."""
        cls = getattr(importlib.import_module("connector.app"), "Connector", None)
        return cls(self.cfg) if cls is not None else None

    def health(self) -> dict[str, Any]:
        h = self.live.health()
        return {"status": "ok" if h.ok else "failing",
                "bad": {lh.name: lh.reason for lh in h.bad},
                "loops": {n: lh.ok for n, lh in h.loops.items()}}

    def healthy(self) -> bool:
        return bool(self.live.health().ok)

    def status(self) -> dict[str, Any]:
        return self.live.status()

    def metrics(self) -> bytes:
        return self.live.metrics()

    def release(self) -> None:
        """Close this thread's state store connection (a request ran in a worker thread)."""
        self.store.close()

    # People -----------------------------------------------------------------------------------
    @property
    def users(self) -> Users:
        with self._lock:
            if self._users is None or self._users.store is not self.store:
                self._users = Users(self.store, self._users.hasher if self._users else
                                    self._hasher)
            return self._users

    def record_action(self, name: str, detail: str, who: str, target: str = "") -> None:
        """The journal of operator actions (connector.controls: the console's, the CLI's)."""
        controls.record_action(self.store, name, who=who, target=target, detail=detail)

    def actions(self, limit: int = 20) -> list[dict[str, Any]]:
        return [{"at": a.at, "user": a.who, "action": a.action,
                 "detail": " ".join(x for x in (a.target, a.detail) if x)}
                for a in controls.actions(self.store, limit)]

    # Pauses ---------------------------------------------------------------------------------
    def paused(self) -> list[str]:
        return sorted(controls.paused(self.store))

    # The dashboard --------------------------------------------------------------------------
    def dashboard(self) -> dict[str, Any]:
        """Parts with their state, last success, what waits, the error in words."""
        facts = self.status()
        loops = facts.get("loops") or {}
        paused = set(self.paused())
        parts: list[dict[str, Any]] = []

        def loop_state(name: str, enabled: bool = True) -> tuple[str, str | None]:
            if name in paused:
                return "paused", None
            lh = loops.get(name)
            if lh is None:
                return ("idle" if enabled else "off"), None
            return ("ok", None) if lh.get("ok") else ("down", lh.get("reason"))

        ex = facts.get("export")
        if ex is not None:
            state, err = loop_state("export", self.cfg.export.enabled)
            outage = ex.get("outage")
            if outage:
                state, err = "down", outage.get("reason")
            published = [p.get("published_at") or 0 for p in ex.get("published", [])]
            parts.append({"kind": "export", "name": "export", "state": state,
                          "last_success": max(published) if published else None,
                          "waiting": len(ex.get("waiting", [])),
                          "quarantined": len(ex.get("quarantined", [])), "error": err})
        imp = facts.get("import") or {}
        if imp.get("enabled"):
            state, err = loop_state("import")
            for stream, s in (imp.get("streams") or {}).items():
                parts.append({"kind": "import", "name": stream,
                              "state": "down" if s.get("error") else state,
                              "last_success": s.get("last_import_at"),
                              "waiting": int(s.get("pending") or 0) + int(s.get("failing") or 0),
                              "dead": s.get("dead") or 0,
                              "error": s.get("error") or err})
        ext = facts.get("extract") or {}
        if ext.get("enabled"):
            state, err = loop_state("extract")
            last = {p["layout"]: p["at"] for p in ext.get("published", [])}
            for job in ext.get("jobs", []):
                parts.append({"kind": "extract", "name": job.get("job"), "state": state,
                              "last_success": last.get(job.get("job")),
                              "next_due": job.get("next_due"), "waiting": 0, "error": err})
        known = {"export", "import", "extract"}
        for name in sorted(loops):
            if name.split(":")[0] not in known and not any(p["name"] == name for p in parts):
                state, err = loop_state(name)
                parts.append({"kind": "loop", "name": name, "state": state,
                              "last_success": None, "waiting": 0, "error": err})
        return {"company": facts.get("company"), "healthy": facts.get("healthy"),
                "generated_at": facts.get("generated_at"),
                "started_at": facts.get("started_at"), "parts": parts,
                "paused": sorted(paused), "last_errors": facts.get("last_errors", []),
                "actions": self.actions(10)}

    # Configuration, doctor, logs ------------------------------------------------------------
    def effective_config(self) -> list[tuple[str, str]]:
        return masked_config(self.cfg)

    def config_path(self) -> str | None:
        return str(self.cfg.source_path) if self.cfg.source_path else None

    def _doctor_module(self) -> Any | None:
        try:
            return importlib.import_module("connector.doctor")
        except ModuleNotFoundError as exc:
            if exc.name and "connector.doctor".startswith(exc.name):
                return None
            raise

    def doctor_available(self) -> bool:
        return getattr(self._doctor_module(), "run_checks", None) is not None

    def doctor(self) -> list[dict[str, Any]] | None:
        """The checks of `connector doctor` (connector.doctor.run_checks), each as
        {name, ok (True, False, None for a warning), message}; None without the module."""
        fn = getattr(self._doctor_module(), "run_checks", None)
        if fn is None:
            return None
        return [c if isinstance(c, dict) else
                {"name": getattr(c, "name", ""), "ok": getattr(c, "ok", None),
                 "message": getattr(c, "message", "")} for c in fn(self.cfg)]

    def log_file(self) -> Path:
        return self.cfg.log.dir / "connector.log"
