"""The publishers under the contract, each in a child process (publisher_child.py), and
its destination seen from outside: the synced folder on disk, the fake HTTPS Dropbox
server's store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import make_config_dict
from tests.dropbox_api.fake_dropbox import FakeDropbox

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("publisher_child.py")


class PublisherError(Exception):
    """A ConnectorError raised in the child, by its class name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class Harness:
    """One publisher under test, and what its destination holds."""

    kind = ""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.proc: subprocess.Popen[str] | None = None
        self.n = 0

    # The publisher, through the child ---------------------------------------------------
    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO)}

    def open(self) -> Harness:
        spec = self.tmp / "publisher.json"
        spec.write_text(json.dumps({"config": self.config(), "base": str(self.tmp)}))
        self.proc = subprocess.Popen([sys.executable, str(CHILD), str(spec)], cwd=REPO,
                                     env=self.env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = self._answer()
        assert ready.get("ready"), ready
        return self

    def _answer(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"the publisher child ended:\n{err[-4000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, op: str, items: list[dict[str, str]] | None = None) -> Any:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, "items": items or []}) + "\n")
        self.proc.stdin.flush()
        answer = self._answer()
        if not answer["ok"]:
            raise PublisherError(answer["error"], answer["message"])
        return answer["result"]

    def publish(self, *items: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Receipts by name."""
        return {r["name"]: r for r in self.call("publish", list(items))}

    def holding(self, *items: dict[str, str]) -> set[tuple[str, str]]:
        return {(f, n) for f, n in self.call("holding", list(items))}

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.call("close")
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
            self.proc = None

    # Staged files -------------------------------------------------------------------------
    def stage(self, folder: str, name: str, data: bytes) -> dict[str, str]:
        """A staged file, complete as the pipeline hands them over (its local name is its
        own: a name the destination refuses may be one no local file system takes)."""
        self.n += 1
        path = self.tmp / "staging" / f"run{self.n}" / f"{self.n}.staged"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return {"path": str(path), "folder": folder, "name": name}

    # The destination, seen from outside ----------------------------------------------------
    def read(self, folder: str, name: str) -> bytes | None:
        raise NotImplementedError

    def delete(self, folder: str, name: str) -> None:
        raise NotImplementedError

    def remove_root(self) -> None:
        raise NotImplementedError

    def root_exists(self) -> bool:
        raise NotImplementedError

    def make_root(self) -> None:
        raise NotImplementedError


class FolderHarness(Harness):
    kind = "folder"

    @property
    def company(self) -> Path:
        return self.tmp / "Dropbox" / "ACME"

    def config(self) -> dict[str, Any]:
        data = make_config_dict(self.tmp)
        data["dropbox"]["create_company_folder"] = False
        return data

    def read(self, folder: str, name: str) -> bytes | None:
        path = self.company / folder / name
        return path.read_bytes() if path.is_file() else None

    def delete(self, folder: str, name: str) -> None:
        (self.company / folder / name).unlink()

    def remove_root(self) -> None:
        shutil.rmtree(self.company)

    def root_exists(self) -> bool:
        return self.company.exists()

    def make_root(self) -> None:
        self.company.mkdir(parents=True, exist_ok=True)


class ApiHarness(Harness):
    kind = "api"

    def __init__(self, tmp: Path, fake: FakeDropbox) -> None:
        super().__init__(tmp)
        self.fake = fake
        self.refresh_token = fake.issue_refresh_token()

    def config(self) -> dict[str, Any]:
        data = make_config_dict(self.tmp)
        data["dropbox"] = {"mode": "api", "root": "/", "ca_bundle": str(self.fake.ca_file),
                           "chunk_mib": 4, "single_upload_limit_mib": 1, "concurrency": 4,
                           "timeout_seconds": 5.0, "attempts": 4}
        return data

    def env(self) -> dict[str, str]:
        env = self.fake.env()
        env.update(DROPBOX_APP_KEY=self.fake.app_key,
                   DROPBOX_APP_SECRET=self.fake.app_secret or "",
                   DROPBOX_REFRESH_TOKEN=self.refresh_token, PYTHONPATH=str(REPO))
        return env

    def read(self, folder: str, name: str) -> bytes | None:
        entry = self.fake.entry(f"/ACME/{folder}/{name}")
        return self.fake.read(f"/ACME/{folder}/{name}") if entry is not None else None

    def delete(self, folder: str, name: str) -> None:
        self.fake.remove(f"/ACME/{folder}/{name}")

    def remove_root(self) -> None:
        self.fake.remove("/ACME")

    def root_exists(self) -> bool:
        with self.fake.lock:
            return "/acme" in self.fake.folders

    def make_root(self) -> None:
        self.fake.put_folder("/ACME")
