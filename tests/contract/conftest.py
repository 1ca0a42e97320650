"""Fixtures of the publisher contract: each publisher (folder, API against the fake HTTPS
Dropbox server), with a company folder at its destination."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.publishers import ApiHarness, FolderHarness, Harness
from tests.dropbox_api.fake_dropbox import FakeDropbox


@pytest.fixture(params=["folder", "api"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    fake: FakeDropbox | None = None
    if request.param == "api":
        fake = FakeDropbox(tmp_path / "fake").start()
        h: Harness = ApiHarness(tmp_path, fake)
    else:
        h = FolderHarness(tmp_path)
    h.make_root()
    try:
        yield h
    finally:
        h.close()
        if fake is not None:
            fake.stop()
