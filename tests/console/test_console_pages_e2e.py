"""The export, upload, quarantine and import pages in a real browser (Debian's Chromium
driven by Playwright, the fixtures of conftest.py): drop a tracciato on the upload page,
read the preview, confirm, see it published; requeue a quarantined file; retry a dead
letter. With CONSOLE_SCREENSHOTS=1 the pages are saved into docs/guide/img/."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import PASSWORD, Console
from test_console_e2e import shot

from adapters.appmanager import sandbox_demo
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.files_sink import FilesSink
from service.console.backend import ConsoleBackend
from tests.importing.conftest import AUTH_KEY, Rig
from tests.importing.test_import_sandbox import PickySink

controls = pytest.mark.skipif(not ConsoleBackend.controls_available(),
                              reason="the quarantine and dead-letter controls (issue 15) "
                                     "are not in this tree yet")

HEADER = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD"


def citta(codes: list[int], renamed: dict[int, str] | None = None) -> str:
    lines = [HEADER]
    for i in codes:
        name = (renamed or {}).get(i, f"CITTA {i}")
        lines.append(f"ACME§A{i:03d}|ACME|A{i:03d}|{name}|350{i:02d}|PD|01011900000000")
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture
def page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    p = context.new_page()
    p.set_default_timeout(15000)
    yield p
    context.close()


def _login(page: Any, c: Console) -> None:
    page.goto(c.url + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(c.url + "/")


def _drop(page: Any, selector: str, name: str, text: str) -> None:
    """A file dropped onto `selector` as a person drags one from the desktop."""
    dt = page.evaluate_handle(
        """([name, text]) => { const dt = new DataTransfer();
             dt.items.add(new File([text], name, { type: "application/octet-stream" }));
             return dt; }""", [name, text])
    page.dispatch_event(selector, "dragenter", {"dataTransfer": dt})
    page.dispatch_event(selector, "drop", {"dataTransfer": dt})


def test_drop_a_tracciato_preview_confirm_published(console: Console, page: Any) -> None:
    from playwright.sync_api import expect

    c = console
    watch = c.cfg.export.watch
    watch.mkdir(parents=True, exist_ok=True)
    (watch / "io_citta.dat").write_text(citta(list(range(1, 9))), encoding="utf-8")
    _login(page, c)
    page.click("nav >> text=Export")
    expect(page.locator("#run-now")).to_contain_text("Files waiting in the export folder: 1")
    page.click("#run-form button")
    expect(page.locator("p.flash")).to_contain_text("Published 1")
    expect(page.locator("table.published")).to_contain_text("gestionale/io_citta.dat")
    shot(page, "export", full_page=False)  # the first screen: the templates list is long

    page.click("nav >> text=Upload")
    expect(page.locator("h1")).to_have_text("Upload a file")
    shot(page, "upload", full_page=False)
    new = citta([2, 3, 4, 5, 6, 7, 8, 9, 10], renamed={2: "CITTA RINOMINATA", 5: "ALTRA"})
    _drop(page, "#dropzone", "io_citta.dat", new)
    expect(page.locator("h1")).to_have_text("Preview of io_citta.dat")
    expect(page.locator("#verdict")).to_contain_text("The file is valid.")
    changes = page.locator("table.changes")
    expect(changes.locator("tr.added")).to_contain_text("2")
    expect(changes.locator("tr.added")).to_contain_text("ACME§A009")
    expect(changes.locator("tr.changed")).to_contain_text("ACME§A002")
    expect(changes.locator("tr.removed")).to_contain_text("ACME§A001")
    shot(page, "preview")
    published = c.cfg.dropbox_folder("gestionale") / "io_citta.dat"
    assert b"A010" not in published.read_bytes()  # not before confirming
    page.click("#confirm-form button")
    expect(page.locator("p.flash")).to_contain_text("io_citta.dat is in the export folder.")
    expect(page.locator("p.flash")).to_contain_text("Published 1")
    assert published.read_bytes().removeprefix(b"\xef\xbb\xbf") == new.encode()
    expect(page.locator("#runs details").first).to_contain_text("published 1")


@controls
def test_requeue_a_quarantined_file(console: Console, page: Any) -> None:
    from playwright.sync_api import expect

    c = console
    watch = c.cfg.export.watch
    watch.mkdir(parents=True, exist_ok=True)
    bad = citta([1, 2]).replace("CHIAVE|", "CHIAVX|", 1)
    (watch / "io_citta.dat").write_text(bad, encoding="utf-8")
    _login(page, c)
    page.click("nav >> text=Export")
    page.click("#run-form button")
    expect(page.locator("p.flash")).to_contain_text("quarantined 1")
    page.click("nav >> text=Quarantine")
    row = page.locator("table.quarantine tbody tr").first
    expect(row).to_contain_text("io_citta.dat")
    shot(page, "quarantine")
    row.locator("a", has_text="Report").click()
    expect(page.locator("pre.report")).to_contain_text("CHIAVE")
    page.click("nav >> text=Quarantine")
    page.locator("table.quarantine tbody tr").first.locator("form.requeue button").click()
    expect(page.locator("p.flash")).to_contain_text("is back in the export folder")
    expect(page.locator("table.quarantine")).to_contain_text("The quarantine is empty.")
    assert (watch / "io_citta.dat").read_bytes() == bad.encode()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    sb = SandboxServer(tmp_path / "sandbox.sqlite", auth_key=AUTH_KEY, seed=False)
    with sb:
        yield sb


@controls
def test_retry_a_dead_letter(console_factory: Any, sandbox: SandboxServer, tmp_path: Path,
                             page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    monkeypatch.setenv("CONSOLE_TEST_AUTH_KEY", AUTH_KEY)
    c: Console = console_factory(**{"import": {
        "enabled": True, "appmanager": {"url": sandbox.url,
                                        "auth_key_env": "CONSOLE_TEST_AUTH_KEY"},
        "erp": {"sink": "files", "path": str(tmp_path / "erp"), "format": "json"}}})
    c.add_user()
    picky = PickySink(FilesSink(tmp_path / "erp", "json", company="ACME"))
    rig = Rig(sandbox, tmp_path, sink=picky)
    try:
        picky.refuse.add("orders/301")
        order = sandbox_demo.demo_order(random.Random(301), rows=1)
        sandbox.enqueue("orders", {**order, "unique_id": 301, "cod_clifor": "C301"})
        rig.importer.run_cycle(["orders"])
    finally:
        rig.close()
    _login(page, c)
    page.click("nav >> text=Import")
    dead = page.locator("table.dead")
    expect(dead).to_contain_text("orders/301")
    expect(dead).to_contain_text("is blocked")
    shot(page, "import")
    dead.locator("a", has_text="orders/301").click()
    expect(page.locator("pre.payload")).to_contain_text('"unique_id": 301')
    page.click("form.retry button")
    expect(page.locator("p.flash")).to_contain_text("orders/301 written to the ERP.")
    expect(page.locator("table.dead")).to_contain_text("No dead letters.")
    assert (tmp_path / "erp" / "orders_301.json").exists()
