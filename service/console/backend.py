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
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from connector import controls
from connector.app import Connector
from connector.config import Config
from connector.export import quarantine_admin
from connector.importing import deadletters
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

    def facade(self) -> Connector:
        """The connector's facade for this configuration (the daemon's own state store)."""
        return Connector(self.cfg, store=self.store)

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

    def doctor_available(self) -> bool:
        return True

    def doctor(self) -> list[dict[str, Any]]:
        """The checks of `connector doctor`, each as {name, ok (True, False, None for a
        warning), message}."""
        from connector.doctor import run_checks

        return [{"name": c.name, "ok": c.ok, "message": c.message}
                for c in run_checks(self.cfg)]

    def log_file(self) -> Path:
        return self.cfg.log.dir / "connector.log"

    # Export, upload, quarantine, import (service/console/operations.py) ----------------------
    def loop_running(self, name: str) -> bool:
        """True when the daemon runs the loop `name` now (export, import, extract...)."""
        return bool(self.live.daemon.alive().get(name))

    def export_facts(self) -> dict[str, Any]:
        from service.console import operations

        facts = operations.export_page(self.cfg, self.store)
        facts["jobs"] = self.extract_jobs()
        facts["loop"] = self.loop_running("export")
        return facts

    def extract_jobs(self) -> list[str]:
        ext = getattr(self.cfg, "extract", None)
        if ext is None or not ext.enabled:
            return []
        from connector.extract.jobs import select_jobs

        return [j.name for j in select_jobs(self.cfg, None)]

    def publish_waiting(self, who: str, max_wait: float = 30.0) -> dict[str, Any]:
        """Publish what the export folder holds, as `connector export --once` does: left to
        the daemon's export loop when it runs (one process publishes), else one run here."""
        waiting = len(self.export_facts()["waiting"])
        if self.loop_running("export"):
            self.record_action("export.publish", f"{waiting} waiting; left to the export loop", who)
            return {"delegated": True, "waiting": waiting}
        from connector.app import export_once

        counts = export_once(self.cfg, self.store, max_wait=max_wait)
        self.record_action("export.publish", counts.summary(), who)
        return {"delegated": False, "published": counts.published,
                "unchanged": counts.unchanged, "quarantined": counts.quarantined,
                "held_back": sum(counts.held_back.values())}

    def run_extract(self, mode: str, entities: list[str] | None, who: str) -> Any:
        """One extraction run (`connector export --once --full|--changed [--entity ...]`);
        what it writes into the watch folder is then published as any dropped file."""
        from connector.app import extract_once

        target = ",".join(entities) if entities else "all"
        self.record_action("extract", mode, who, target)
        return extract_once(self.cfg, self.store, mode=mode, entities=entities, out=None,
                            trigger=f"console:{who}")

    def template(self, layout: str) -> tuple[str, str]:
        from service.console import operations

        return operations.template_for(layout)

    def layouts(self) -> list[tuple[str, str]]:
        from service.console import operations

        return operations.layouts()

    def stage_upload(self, name: str, src: Any, who: str, limit_bytes: int) -> str:
        from service.console import operations

        token = operations.stage_upload(self.cfg, name, src, who, limit_bytes)
        self.record_action("upload", "", who, name)
        return token

    def preview_upload(self, token: str) -> Any:
        from service.console import operations

        return operations.preview(self.cfg, self.store, token)

    def confirm_upload(self, token: str, who: str) -> dict[str, Any]:
        """The staged file into the watch folder; then published as `publish_waiting`."""
        from service.console import operations

        name = operations.confirm_upload(self.cfg, token)
        self.record_action("upload.confirm", "", who, name)
        return {"name": name, **self.publish_waiting(who)}

    def cancel_upload(self, token: str, who: str) -> None:
        from service.console import operations

        meta = operations.staged_meta(self.cfg, token)
        operations.drop_upload(self.cfg, token)
        self.record_action("upload.cancel", "", who, str(meta.get("name")))

    # Quarantine and dead letters: the functions of `connector quarantine ...` and
    # `connector deadletters ...` (connector/export/quarantine_admin.py,
    # connector/importing/deadletters.py), which record their actions themselves.
    @staticmethod
    def controls_available() -> bool:
        return True

    def quarantine(self) -> list[Any] | None:
        if not self.controls_available():
            return None
        qa = quarantine_admin
        return list(qa.entries(self.cfg, self.store))

    def quarantine_show(self, ident: str) -> Any:
        qa = quarantine_admin
        return qa.show(self.cfg, self.store, ident)

    def quarantine_file(self, ident: str) -> tuple[str, Path] | None:
        """(download name, path) of a quarantined file; None when only its report is left
        or it is a link (never followed)."""
        qa = quarantine_admin
        e = qa.find(self.cfg, self.store, ident)
        if e.kind == "report" or e.link:
            return None
        path = Path(e.path) / e.name if e.kind == "held-back" else Path(e.path)
        if path.is_symlink() or not path.is_file():
            return None
        return e.name.rsplit("/", 1)[-1], path

    def quarantine_requeue(self, ident: str, who: str) -> Any:
        qa = quarantine_admin
        return qa.requeue(self.cfg, self.store, ident, who=who)  # it records the action

    def quarantine_purge(self, ident: str, who: str) -> Any:
        qa = quarantine_admin
        return qa.purge(self.cfg, self.store, who=who, ident=ident)  # it records the action

    def dead_letters(self) -> list[Any] | None:
        if not self.controls_available():
            return None
        dl = deadletters
        return list(dl.letters(self.store))

    def dead_letter(self, ident: str) -> Any:
        dl = deadletters
        return dl.show(self.store, ident)

    def discard_dead_letter(self, ident: str, who: str) -> Any:
        dl = deadletters
        return dl.discard(self.store, ident, who=who)  # it records the action

    # The import ------------------------------------------------------------------------------
    def import_facts(self) -> dict[str, Any]:
        from connector.importing import status as import_status

        facts = import_status.collect(self.cfg, self.store)
        facts["loop"] = self.loop_running("import")
        return facts

    def _handover(self, kind: str, args: dict[str, Any], wait: float) -> dict[str, Any]:
        """Ask the daemon's import loop to do it (one process writes to the ERP) and wait."""
        from connector.importing.handover import Handover

        handover = Handover(self.store)
        request = handover.ask(kind, args)
        done = handover.wait(request, timeout=wait,
                             daemon_alive=lambda: self.loop_running("import"))
        if done.error:
            from connector.errors import ConnectorError

            raise ConnectorError(done.error)
        return dict(done.result or {})

    def import_now(self, streams: list[str], who: str, wait: float = 120.0) -> dict[str, Any]:
        """One import cycle for `streams` (`connector import --once`): handed to the daemon's
        import loop when it runs, else run here. {stream: counts} plus "(retries)"."""
        if self.loop_running("import"):
            got = self._handover("import", {"streams": streams}, wait)
            result = {"(retries)": got.get("recovered", {}), **got.get("streams", {})}
        else:
            from connector.app import build_importer

            importer = build_importer(self.cfg, self.store)
            try:
                cycle = importer.run_cycle(streams)
            finally:
                importer.close()
            result = {"(retries)": dataclasses.asdict(cycle.recovered),
                      **{k: dataclasses.asdict(v) for k, v in cycle.streams.items()}}
        self.record_action("import.now", "", who, ",".join(streams))
        return result

    def retry_dead_letter(self, ident: str, who: str) -> dict[str, Any]:
        """Write one dead letter to the ERP again now. ERP writes are idempotent on the
        record's key, so this is safe beside the daemon's own retries of the same stream."""
        from connector.app import build_sink
        from connector.importing.journal import journal_for

        letter = self.dead_letter(ident).letter
        journal = journal_for(self.cfg, self.store)
        recs = [r for r in journal.retry_due(letter.stream, force=True) if r.key == letter.id]
        if not recs:
            from connector.errors import ConnectorError

            raise ConnectorError(f"{letter.id}: nothing to retry (delivered or discarded)")
        sink = build_sink(self.cfg)
        try:
            outcomes = list(journal.deliver_many(recs, sink))
        finally:
            sink.close()
        after = journal.entry(letter.id)
        state = after.state if after is not None else "?"
        self.record_action("deadletter.retry", state, who, letter.id)
        return {"id": letter.id, "state": state, "outcomes": [str(o) for o in outcomes],
                "reason": after.last_error if after is not None else None}
