"""The quarantine and import pages over HTTP on a real server: a file refused by a real
export run, read, downloaded, requeued, purged; a real import from the sandbox, dead
letters refused by the ERP, shown, retried, discarded; the refusals."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import Console, csrf

from adapters.appmanager import sandbox_demo
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.files_sink import FilesSink
from service.console.backend import ConsoleBackend
from tests.importing.conftest import AUTH_KEY as RIG_AUTH_KEY
from tests.importing.conftest import Rig
from tests.importing.test_import_sandbox import PickySink

controls = pytest.mark.skipif(not ConsoleBackend.controls_available(),
                              reason="the quarantine and dead-letter controls (issue 15) "
                                     "are not in this tree yet")

# A header without CHIAVE: the whole file is refused (quarantined), not rows held back.
BAD_CITTA = (b"COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\r\n"
             b"ACME|A001|ROMA|00100|RM|01011900000000\r\n")
GOOD = b"CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\r\n"


def _quarantine_one(c: Console, name: str = "io_citta.dat", data: bytes = BAD_CITTA) -> str:
    client = c.login()
    c.cfg.export.watch.mkdir(parents=True, exist_ok=True)
    (c.cfg.export.watch / name).write_bytes(data)
    r = client.post("/export/run", data={"csrf_token": csrf(client, "/export")})
    assert "quarantined 1" in r.text, r.text[:3000]
    page = client.get("/quarantine").text
    ids = re.findall(r'<tr id="q-([0-9a-f]+)">', page)
    assert len(ids) == 1, page
    return ids[0]


@controls
def test_quarantine_list_report_download_requeue(console: Console) -> None:
    ident = _quarantine_one(console)
    client = console.login()
    page = client.get("/quarantine").text
    assert "io_citta.dat" in page and "required column CHIAVE is missing" in page
    report = client.get(f"/quarantine/{ident}")
    assert report.status_code == 200 and "line 1, column CHIAVE" in report.text
    got = client.get(f"/quarantine/{ident}/file")
    assert got.status_code == 200 and got.content == BAD_CITTA
    assert "io_citta.dat" in got.headers["content-disposition"]
    r = client.post(f"/quarantine/{ident}/requeue",
                    data={"csrf_token": csrf(client, "/quarantine")})
    assert r.status_code == 200 and "back in the export folder" in r.text
    assert (console.cfg.export.watch / "io_citta.dat").read_bytes() == BAD_CITTA
    assert "The quarantine is empty." in client.get("/quarantine").text
    assert any(a["action"] == "quarantine.requeue" and a["user"] == "admin"
               for a in console.backend.actions(20))
    # The same name in the export folder already: refused, nothing moved.
    ident = _quarantine_one(console)
    (console.cfg.export.watch / "io_citta.dat").write_bytes(GOOD)
    r = client.post(f"/quarantine/{ident}/requeue",
                    data={"csrf_token": csrf(client, "/quarantine")})
    assert r.status_code == 409 and "already in the export folder" in r.text
    assert (console.cfg.export.watch / "io_citta.dat").read_bytes() == GOOD


@controls
def test_quarantine_purge_and_refusals(console: Console) -> None:
    ident = _quarantine_one(console)
    console.add_user("lucia", "lucia password", "viewer")
    viewer = console.login("lucia", "lucia password")
    assert viewer.get("/quarantine").status_code == 200
    assert "Requeue" not in viewer.get("/quarantine").text
    assert viewer.get(f"/quarantine/{ident}/file").status_code == 200  # reading is allowed
    for action in ("requeue", "purge"):
        r = viewer.post(f"/quarantine/{ident}/{action}",
                        data={"csrf_token": csrf(viewer, "/quarantine")})
        assert r.status_code == 403
    admin = console.login()
    assert admin.post(f"/quarantine/{ident}/purge").status_code == 403  # no CSRF token
    assert console.client().post(f"/quarantine/{ident}/purge").status_code == 401
    for bad in ("zzzz", "0000000g", "%2e%2e"):
        assert admin.get(f"/quarantine/{bad}").status_code == 404
        assert admin.get(f"/quarantine/{bad}/file").status_code == 404
    quarantined = list(console.cfg.export.quarantine.rglob("io_citta*"))
    assert quarantined
    r = admin.post(f"/quarantine/{ident}/purge", data={"csrf_token": csrf(admin, "/quarantine")})
    assert r.status_code == 200 and "Deleted from the quarantine: io_citta.dat." in r.text
    assert not any(p.exists() for p in quarantined)
    assert "The quarantine is empty." in admin.get("/quarantine").text


# The import ---------------------------------------------------------------------------------
AUTH_KEY = RIG_AUTH_KEY  # the key the importing tests' Rig sends


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    sb = SandboxServer(tmp_path / "sandbox.sqlite", auth_key=AUTH_KEY, seed=False)
    sb.set_faults(retry_after=0.2, hang_seconds=1.0)
    with sb:
        yield sb


@pytest.fixture
def import_console(console_factory: Any, sandbox: SandboxServer, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Console:
    monkeypatch.setenv("CONSOLE_TEST_AUTH_KEY", AUTH_KEY)
    c: Console = console_factory(**{"import": {
        "enabled": True, "appmanager": {"url": sandbox.url,
                                        "auth_key_env": "CONSOLE_TEST_AUTH_KEY"},
        "erp": {"sink": "files", "path": str(tmp_path / "erp"), "format": "json"}}})
    c.add_user()
    return c


def test_import_page_streams_and_import_now(import_console: Console,
                                            sandbox: SandboxServer) -> None:
    c = import_console
    client = c.login()
    page = client.get("/import").text
    assert "orders" in page and "Mark (lastID)" in page
    ids = sandbox.enqueue_demo("orders", 3, rows=1)
    r = client.post("/import/run", data={"csrf_token": csrf(client, "/import"),
                                         "stream": "orders"})
    assert r.status_code == 200, r.text
    assert "Import done." in r.text
    row = re.search(r"<tr><td>orders</td><td>(\d+)</td><td>(\d+)</td>", r.text)
    assert row and (int(row.group(1)), int(row.group(2))) == (3, 3), r.text[-3000:]
    assert len(list((c.cfg.import_.erp.path).glob("orders_*.json"))) == 3
    assert re.search(rf"<td>orders</td><td>{max(ids)}</td>", client.get("/import").text)
    assert any(a["action"] == "import.now" for a in c.backend.actions(10))
    c.add_user("lucia", "lucia password", "viewer")
    viewer = c.login("lucia", "lucia password")
    assert viewer.post("/import/run", data={"csrf_token": csrf(viewer, "/import")}
                       ).status_code == 403
    assert client.post("/import/run", data={"stream": "orders"}).status_code == 403
    r = client.post("/import/run", data={"csrf_token": csrf(client, "/import"),
                                         "stream": "nonsense"})
    assert r.status_code == 400


def _dead_letters(c: Console, sandbox: SandboxServer, tmp_path: Path, ids: list[int]) -> None:
    picky = PickySink(FilesSink(tmp_path / "erp", "json", company="ACME"))
    rig = Rig(sandbox, tmp_path, sink=picky)
    try:
        for uid in ids:
            picky.refuse.add(f"orders/{uid}")
            order = sandbox_demo.demo_order(random.Random(uid), rows=1)
            sandbox.enqueue("orders", {**order, "unique_id": uid, "cod_clifor": f"C{uid}"})
        rig.importer.run_cycle(["orders"])
    finally:
        rig.close()


@controls
def test_dead_letters_shown_retried_discarded(import_console: Console, sandbox: SandboxServer,
                                              tmp_path: Path) -> None:
    c = import_console
    _dead_letters(c, sandbox, tmp_path, [201, 202])
    client = c.login()
    page = client.get("/import").text
    assert "orders/201" in page and "orders/202" in page and "is blocked" in page
    shown = client.get("/import/dead/orders/201")
    assert shown.status_code == 200
    assert "is blocked" in shown.text and "&#34;unique_id&#34;: 201" in shown.text
    # Retry: the ERP takes it now (the configured sink refuses nothing).
    r = client.post("/import/dead/orders/201/retry", data={"csrf_token": csrf(client, "/import")})
    assert r.status_code == 200 and "orders/201 written to the ERP." in r.text, r.text[-2000:]
    assert (tmp_path / "erp" / "orders_201.json").exists()
    assert "orders/201" not in client.get("/import").text.split('id="dead-letters"')[1]
    # Discard: never written.
    c.add_user("lucia", "lucia password", "viewer")
    viewer = c.login("lucia", "lucia password")
    for action in ("retry", "discard"):
        assert viewer.post(f"/import/dead/orders/202/{action}",
                           data={"csrf_token": csrf(viewer, "/import")}).status_code == 403
    assert client.post("/import/dead/orders/202/discard").status_code == 403
    r = client.post("/import/dead/orders/202/discard",
                    data={"csrf_token": csrf(client, "/import")})
    assert r.status_code == 200 and "orders/202 discarded" in r.text
    r = client.post("/import/dead/orders/202/retry", data={"csrf_token": csrf(client, "/import")})
    assert r.status_code == 409
    assert not (tmp_path / "erp" / "orders_202.json").exists()
    assert client.get("/import/dead/orders/999").status_code == 404
    acts = [a["action"] for a in c.backend.actions(20)]
    assert "deadletter.retry" in acts and "deadletter.discard" in acts


def test_with_the_daemons_loops_running_work_is_handed_to_them(
        console_factory: Any, config_factory: Any, sandbox: SandboxServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real export and import loops run: publish now is left to the export loop, a
    confirmed upload is published by it, import now is handed to the import loop (one
    process writes to the ERP) and its counts come back."""
    import time

    from connector.app import build_export, build_import
    from connector.state import StateStore

    monkeypatch.setenv("CONSOLE_TEST_AUTH_KEY", AUTH_KEY)
    ov = {"import": {"enabled": True,
                     "appmanager": {"url": sandbox.url, "auth_key_env": "CONSOLE_TEST_AUTH_KEY",
                                    "poll_seconds": 3600},
                     "erp": {"sink": "files", "path": str(tmp_path / "erp"), "format": "json"}}}
    cfg = config_factory(**ov)
    store = StateStore(cfg.state_dir)
    c: Console = console_factory(loops=[*build_export(cfg, store), *build_import(cfg, store)],
                                 **ov)
    c.add_user()
    client = c.login()
    deadline = time.monotonic() + 20
    while not (c.backend.loop_running("export") and c.backend.loop_running("import")):
        assert time.monotonic() < deadline, "the loops did not start"
        time.sleep(0.05)
    r = client.post("/export/run", data={"csrf_token": csrf(client, "/export")})
    assert r.status_code == 200 and "the export loop publishes them" in r.text
    data = GOOD + "ACME§A001|ACME|A001|ROMA|00100|RM|01011900000000\r\n".encode()
    r = client.post("/upload", data={"csrf_token": csrf(client, "/upload")},
                    files={"file": ("io_citta.dat", data)})
    token = r.headers["location"].rsplit("/", 1)[1]
    r = client.post(f"/upload/{token}/confirm", data={"csrf_token": csrf(client, "/upload")})
    assert r.status_code == 200 and "io_citta.dat is in the export folder." in r.text
    published = c.cfg.dropbox_folder("gestionale") / "io_citta.dat"
    deadline = time.monotonic() + 30
    while not (published.exists() and published.read_bytes().endswith(data[-40:])):
        assert time.monotonic() < deadline, "the export loop did not publish the upload"
        time.sleep(0.1)
    sandbox.enqueue_demo("orders", 2, rows=1)
    r = client.post("/import/run", data={"csrf_token": csrf(client, "/import"),
                                         "stream": "orders"})
    assert r.status_code == 200, r.text[-2000:]
    row = re.search(r"<tr><td>orders</td><td>(\d+)</td><td>(\d+)</td>", r.text)
    assert row and (int(row.group(1)), int(row.group(2))) == (2, 2), r.text[-3000:]
    store.close()
