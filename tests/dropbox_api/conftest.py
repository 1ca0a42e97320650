"""Fixtures: the fake Dropbox server (in this process) and the publisher in a child process.

The child gets DROPBOX_API_HOST etc. pointing at the fake before it imports the SDK, and
REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE removed (unless a test keeps them on purpose); the
configuration names the fake's throwaway CA in dropbox.ca_bundle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dropbox_api.fake_dropbox import FakeDropbox

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("driver.py")


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeDropbox]:
    server = FakeDropbox(tmp_path / "fake").start()
    try:
        yield server
    finally:
        server.stop()


class PublisherRunner:
    def __init__(self, fake: FakeDropbox, tmp_path: Path) -> None:
        self.fake = fake
        self.tmp = tmp_path
        self.refresh_token = fake.issue_refresh_token()
        self.dropbox: dict[str, Any] = {
            "mode": "api", "root": "/", "ca_bundle": str(fake.ca_file), "chunk_mib": 4,
            "single_upload_limit_mib": 1, "concurrency": 4, "timeout_seconds": 5.0,
            "attempts": 6}
        self.env_extra: dict[str, str] = {}
        self.n = 0
        self.stdout = ""
        self.stderr = ""

    def spec(self, batches: list[list[dict[str, Any]]]) -> Path:
        self.n += 1
        config = {
            "version": 1, "company": "ACME", "state_dir": str(self.tmp / "state"),
            "create_folders": True,
            "log": {"dir": str(self.tmp / "log")}, "dropbox": self.dropbox,
            "export": {"watch": str(self.tmp / "export"), "archive": str(self.tmp / "archive"),
                       "quarantine": str(self.tmp / "quarantine")},
            "import": {"enabled": False}, "sandbox": {"enabled": False}}
        path = self.tmp / f"spec{self.n}.json"
        path.write_text(json.dumps({"config": config, "base": str(self.tmp),
                                    "batches": batches}))
        return path

    def env(self) -> dict[str, str]:
        env = self.fake.env()
        env.update(DROPBOX_APP_KEY=self.fake.app_key,
                   DROPBOX_APP_SECRET=self.fake.app_secret or "",
                   DROPBOX_REFRESH_TOKEN=self.refresh_token, PYTHONPATH=str(REPO),
                   DROPBOX_TEST_RETRY_INITIAL="0.05")
        env.update(self.env_extra)
        return env

    def popen(self, batches: list[list[dict[str, Any]]]) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(DRIVER), str(self.spec(batches))],
                                cwd=REPO, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *batches: list[dict[str, Any]], timeout: float = 60) -> list[dict[str, Any]]:
        proc = self.popen(list(batches))
        out, err = proc.communicate(timeout=timeout)
        self.stdout, self.stderr = out, err
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        results = [x for x in lines if "ready" not in x]
        assert results, f"driver printed nothing; stderr:\n{err[-4000:]}"
        return results


@pytest.fixture
def publisher(fake: FakeDropbox, tmp_path: Path) -> PublisherRunner:
    return PublisherRunner(fake, tmp_path)


def make_file(path: Path, size: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        block = os.urandom(min(size, 1 << 20)) if size else b""
        while left > 0:
            f.write(block[:left])
            left -= len(block[:left])
    return path


def item(path: Path, folder: str = "gestionale", name: str | None = None) -> dict[str, Any]:
    return {"path": str(path), "folder": folder, "name": name or path.name}
