"""The export and upload pages over HTTP, on a real server over real folders: run now, the
history, templates; upload, preview (errors grouped, keys added/changed/removed against
the last published version), confirm (published through the export pipeline); refusals."""

from __future__ import annotations

import json
import re

import httpx
from console_helpers import Console, csrf

from connector.state import StateStore

CITTA_HEADER = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD"


def citta(codes: list[int], renamed: dict[int, str] | None = None) -> bytes:
    lines = [CITTA_HEADER]
    for i in codes:
        name = (renamed or {}).get(i, f"CITTA {i}")
        lines.append(f"ACME§A{i:03d}|ACME|A{i:03d}|{name}|350{i:02d}|PD|01011900000000")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _published(console: Console) -> bytes:
    data = (console.cfg.dropbox_folder("gestionale") / "io_citta.dat").read_bytes()
    return data.removeprefix(b"\xef\xbb\xbf")  # the published form has a BOM


def _upload(client: httpx.Client, name: str, data: bytes, token: str | None = None
            ) -> httpx.Response:
    return client.post("/upload", data={"csrf_token": token or csrf(client, "/upload")},
                       files={"file": (name, data, "application/octet-stream")})


def _token(r: httpx.Response) -> str:
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/upload/([A-Za-z0-9_-]+)", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


def _actions(console: Console) -> list[str]:
    return [f"{a['user']}:{a['action']}" for a in console.backend.actions(50)]


def test_run_now_publishes_what_waits_and_the_page_shows_it(console: Console) -> None:
    client = console.login()
    console.cfg.export.watch.mkdir(parents=True, exist_ok=True)
    (console.cfg.export.watch / "io_citta.dat").write_bytes(citta([1, 2, 3]))
    page = client.get("/export").text
    assert "Files waiting in the export folder: 1" in page and "io_citta.dat" in page
    r = client.post("/export/run", data={"csrf_token": csrf(client, "/export")})
    assert r.status_code == 200, r.text
    assert "Published 1, unchanged 0, quarantined 0." in r.text
    assert _published(console) == citta([1, 2, 3])
    page = client.get("/export").text
    assert "gestionale/io_citta.dat" in page
    assert "Files waiting in the export folder: 0" in page
    assert re.search(r"<summary>.*published 1", page)  # the run, with its per-file outcome
    assert "admin:export.publish" in _actions(console)


def test_a_template_for_every_layout(console: Console) -> None:
    client = console.login()
    page = client.get("/export").text
    links = re.findall(r'href="/export/template/([^"]+)"', page)
    assert "io_citta" in links and len(links) > 10
    r = client.get("/export/template/io_citta")
    assert r.status_code == 200
    assert 'filename="io_citta.dat"' in r.headers["content-disposition"]
    assert r.text.splitlines()[0].startswith("CHIAVE|")
    assert client.get("/export/template/io_nothing").status_code == 404


def test_upload_preview_confirm_publishes_through_the_pipeline(console: Console) -> None:
    client = console.login()
    console.cfg.export.watch.mkdir(parents=True, exist_ok=True)
    (console.cfg.export.watch / "io_citta.dat").write_bytes(citta([1, 2, 3]))
    client.post("/export/run", data={"csrf_token": csrf(client, "/export")})
    new = citta([2, 3, 4, 5], renamed={2: "CITTA RINOMINATA"})
    token = _token(_upload(client, "io_citta.dat", new))
    staged = console.cfg.state_dir / "console" / "uploads" / token
    assert (staged / "upload").read_bytes() == new
    assert not (console.cfg.export.watch / "io_citta.dat").exists()  # not yet: a preview only
    page = client.get(f"/upload/{token}").text
    assert "The file is valid." in page
    changes = page[page.index('id="changes"'):]
    assert re.search(r"Added</td><td>2</td><td><code>ACME§A004</code> <code>ACME§A005</code>",
                     changes), changes
    assert re.search(r"Changed</td><td>1</td><td><code>ACME§A002</code>", changes)
    assert re.search(r"Removed</td><td>1</td><td><code>ACME§A001</code>", changes)
    assert re.search(r"Unchanged</td><td>1<", changes)
    assert _published(console) == citta([1, 2, 3])  # nothing published before confirming
    r = client.post(f"/upload/{token}/confirm", data={"csrf_token": csrf(client, "/upload")})
    assert r.status_code == 200, r.text
    assert "io_citta.dat is in the export folder." in r.text
    assert "Published 1" in r.text
    assert _published(console) == new
    assert not staged.exists()
    # The pipeline's own journal and archive have it, as for any dropped file.
    store = StateStore(console.cfg.state_dir)
    try:
        rows = store.query("SELECT outcome FROM export_files WHERE source = 'io_citta.dat'")
        assert [r["outcome"] for r in rows] == ["published", "published"]
    finally:
        store.close()
    assert list(console.cfg.export.archive.rglob("io_citta.dat"))
    acts = _actions(console)
    assert "admin:upload" in acts and "admin:upload.confirm" in acts
    # The token is spent.
    r = client.post(f"/upload/{token}/confirm", data={"csrf_token": csrf(client, "/upload")})
    assert r.status_code == 404 and "expired" in r.text


def test_an_invalid_upload_shows_its_errors_grouped(console: Console) -> None:
    client = console.login()
    lines = [CITTA_HEADER] + [f"|ACME|A{i:03d}|CITTA|35001|PD|01011900000000" for i in range(1, 5)]
    lines.append("ACME§A009|ACME|A009|CITTA|35001|PD|notadate")  # a warning only
    bad = ("\r\n".join(lines) + "\r\n").encode()  # four rows without their CHIAVE
    page = client.get(f"/upload/{_token(_upload(client, 'io_citta.dat', bad))}").text
    assert "The file has errors" in page
    errors = page[page.index('id="errors"'):]
    m = re.search(r"<strong>(\d+) × ([^<]+)</strong>", errors)
    assert m and m.group(1) == "4" and "CHIAVE is required" in m.group(2), errors[:800]
    assert errors.split('id="warnings"')[0].count('class="muted">line ') == 3  # a few, not all
    warnings = page[page.index('id="warnings"'):]
    assert re.search(r"<strong>1 × DAT_ULT_MOD", warnings), warnings[:800]
    assert "shown once the file has no errors" in page and 'id="changes"' not in page


def test_an_expired_or_unknown_preview_is_refused(console: Console) -> None:
    client = console.login()
    token = _token(_upload(client, "io_citta.dat", citta([1])))
    meta = console.cfg.state_dir / "console" / "uploads" / token / "meta.json"
    data = json.loads(meta.read_text())
    data["at"] -= 3600
    meta.write_text(json.dumps(data))
    r = client.get(f"/upload/{token}")
    assert r.status_code == 404 and "expired" in r.text
    assert not meta.parent.exists()
    for bad in ("nope", "../../etc", "a" * 100):
        assert client.get(f"/upload/{bad}").status_code == 404
    r = client.post("/upload/AAAAAAAAAAAAAAAAAAAAAAAA/confirm",
                    data={"csrf_token": csrf(client, "/upload")})
    assert r.status_code == 404
    assert not (console.cfg.export.watch / "io_citta.dat").exists()


def test_upload_refusals(console_factory) -> None:
    c: Console = console_factory(settings={"max_body_bytes": 50_000})
    c.add_user()
    c.add_user("lucia", "lucia password", "viewer")
    uploads = c.cfg.state_dir / "console" / "uploads"

    def staged() -> list[str]:
        return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []

    # No login.
    anon = c.client()
    r = anon.post("/upload", data={"csrf_token": csrf(anon)},
                  files={"file": ("io_citta.dat", citta([1]))})
    assert r.status_code == 401
    assert anon.get("/upload").status_code == 303
    # A viewer reads the pages but cannot upload or confirm.
    viewer = c.login("lucia", "lucia password")
    assert viewer.get("/export").status_code == 200
    page = viewer.get("/upload").text
    assert "Only an administrator can upload files." in page and 'type="file"' not in page
    r = _upload(viewer, "io_citta.dat", citta([1]), token=csrf(viewer, "/export"))
    assert r.status_code == 403
    assert viewer.post("/export/run", data={"csrf_token": csrf(viewer, "/export")}
                       ).status_code == 403
    admin = c.login()
    token = _token(_upload(admin, "io_citta.dat", citta([1])))
    r = viewer.post(f"/upload/{token}/confirm", data={"csrf_token": csrf(viewer, "/export")})
    assert r.status_code == 403
    assert not (c.cfg.export.watch / "io_citta.dat").exists()
    # No CSRF token.
    r = admin.post("/upload", files={"file": ("io_citta.dat", citta([1]))})
    assert r.status_code == 403
    assert admin.post(f"/upload/{token}/confirm").status_code == 403
    assert admin.post("/export/run").status_code == 403
    before = staged()
    # Too large: refused before anything is written.
    r = _upload(admin, "io_citta.dat", citta(list(range(1, 100))) * 10)
    assert r.status_code == 413
    assert staged() == before
    # A path in the name.
    for evil in ("../x.dat", "a/b.dat", "/etc/io_citta.dat", "..", ".hidden.dat"):
        r = _upload(admin, evil, citta([1]))
        assert r.status_code == 400, evil
        assert "is refused" in r.text, evil
    assert staged() == before
    assert not (c.cfg.state_dir / "console" / "x.dat").exists()
    assert sorted(p.name for p in c.cfg.export.watch.iterdir()) == [] \
        if c.cfg.export.watch.exists() else True


def test_upload_names_with_a_path_or_nul_are_refused() -> None:
    import pytest

    from service.console.operations import UploadError, safe_upload_name

    for evil in ("../x.dat", "a/b.dat", "a\\b.dat", "/etc/passwd", "C:x.dat", "x\x00.dat",
                 "..", ".", "", " ", ".io_citta.dat", "x\n.dat"):
        with pytest.raises(UploadError):
            safe_upload_name(evil)
    assert safe_upload_name("io_citta.dat") == "io_citta.dat"
    assert safe_upload_name("articoli ERP 2026.csv") == "articoli ERP 2026.csv"


def test_extraction_full_changed_and_chosen_tracciati(console_factory, tmp_path) -> None:
    """The SQL extraction from the export page, on the extraction tests' SQLite ERP: every
    job, one chosen, then only what changed; what it writes is published as a drop."""
    from tests.extract.conftest import open_erp

    erp = open_erp("sqlite", tmp_path)
    c: Console = console_factory(extract={"enabled": True, "url": erp.url, "jobs": erp.jobs()})
    c.add_user()
    client = c.login()
    page = client.get("/export").text
    jobs = re.findall(r'name="entity" value="([^"]+)"', page)
    assert "io_art" in jobs and "io_giacenze" in jobs
    r = client.post("/export/extract", data={"csrf_token": csrf(client, "/export"),
                                             "mode": "full", "entity": "io_art"})
    assert r.status_code == 200, r.text[-2000:]
    assert "Extraction done." in r.text and "io_art" in r.text
    written = sorted(p.name for p in c.cfg.export.watch.iterdir())
    assert written == ["io_art.dat"], written  # the chosen one only
    r = client.post("/export/run", data={"csrf_token": csrf(client, "/export")})
    assert "Published 1" in r.text
    r = client.post("/export/extract", data={"csrf_token": csrf(client, "/export"),
                                             "mode": "changed", "entity": "io_art"})
    assert r.status_code == 200 and "unchanged" in r.text
    assert not [p for p in c.cfg.export.watch.iterdir() if p.is_file()]  # nothing new
    r = client.post("/export/extract", data={"csrf_token": csrf(client, "/export"),
                                             "mode": "sideways"})
    assert r.status_code == 400
    r = client.post("/export/extract", data={"csrf_token": csrf(client, "/export"),
                                             "mode": "full", "entity": "io_nothing"})
    assert r.status_code == 400
    acts = [(a["user"], a["action"], a["detail"]) for a in c.backend.actions(20)]
    assert ("admin", "extract", "io_art full") in acts
    assert ("admin", "extract", "io_art changed") in acts
    erp.engine.dispose()


def test_an_erp_csv_is_previewed_as_the_tracciato_it_becomes(console_factory) -> None:
    """An ERP CSV named in export.dialects: judged as converted, compared with the
    tracciato it is published as (io_citta), published under its own name on confirm."""
    from tests.export.test_export_dialect import DIALECT

    c: Console = console_factory(export={"dialects": [DIALECT]})
    c.add_user()
    client = c.login()
    c.cfg.export.watch.mkdir(parents=True, exist_ok=True)
    (c.cfg.export.watch / "io_citta.dat").write_bytes(citta([1, 2]))
    client.post("/export/run", data={"csrf_token": csrf(client, "/export")})
    csv = "Codice;Comune;Cap;Prov\r\nA002;Forlì;47121;FC\r\nA003;Lodi;26900;LO\r\n"
    token = _token(_upload(client, "comuni_2026.csv", csv.encode("cp1252")))
    page = client.get(f"/upload/{token}").text
    assert "The file is valid." in page and "gestionale/io_citta.dat" in page
    changes = page[page.index('id="changes"'):]
    assert re.search(r"Added</td><td>1</td><td><code>ACME§A003</code>", changes), changes
    assert re.search(r"Changed</td><td>1</td><td><code>ACME§A002</code>", changes)
    assert re.search(r"Removed</td><td>1</td><td><code>ACME§A001</code>", changes)
    r = client.post(f"/upload/{token}/confirm", data={"csrf_token": csrf(client, "/upload")})
    assert "comuni_2026.csv is in the export folder." in r.text and "Published 1" in r.text
    assert "ACME§A003|ACME|A003|Lodi|26900|LO" in _published(c).decode("utf-8")


def test_the_last_published_version_from_the_archive_or_none_at_hand(console: Console) -> None:
    """Not in the Dropbox folder (deleted there, or the API publisher): the newest archived
    copy of the day (`io_citta (2).dat`); neither: the preview says so, no comparison."""
    client = console.login()
    watch = console.cfg.export.watch
    watch.mkdir(parents=True, exist_ok=True)
    for rows in ([1, 2], [1, 2, 3]):  # two publishes the same day: two archived copies
        (watch / "io_citta.dat").write_bytes(citta(rows))
        r = client.post("/export/run", data={"csrf_token": csrf(client, "/export")})
        assert "Published 1" in r.text
    copies = sorted(p.name for p in console.cfg.export.archive.rglob("io_citta*"))
    assert copies == ["io_citta (2).dat", "io_citta.dat"], copies
    (console.cfg.dropbox_folder("gestionale") / "io_citta.dat").unlink()
    page = client.get(f"/upload/{_token(_upload(client, 'io_citta.dat', citta([1, 2, 3, 4])))}"
                      ).text
    changes = page[page.index('id="changes"'):]
    assert "io_citta (2).dat" in changes
    assert re.search(r"Added</td><td>1</td><td><code>ACME§A004</code>", changes), changes
    assert re.search(r"Unchanged</td><td>3<", changes)
    for p in console.cfg.export.archive.rglob("io_citta*"):
        p.unlink()
    page = client.get(f"/upload/{_token(_upload(client, 'io_citta.dat', citta([1])))}").text
    assert "It was published before, but that version is not at hand" in page
    assert "every row is new" not in page and 'class="changes"' not in page


def test_confirm_never_replaces_a_file_waiting_under_that_name(console: Console) -> None:
    client = console.login()
    token = _token(_upload(client, "io_citta.dat", citta([1, 2])))
    watch = console.cfg.export.watch
    watch.mkdir(parents=True, exist_ok=True)
    (watch / "io_citta.dat").write_bytes(citta([7]))  # dropped meanwhile
    r = client.post(f"/upload/{token}/confirm", data={"csrf_token": csrf(client, "/upload")})
    assert r.status_code == 409 and "already waiting in the export folder" in r.text
    assert (watch / "io_citta.dat").read_bytes() == citta([7])
    (watch / "io_citta.dat").unlink()
    r = client.post(f"/upload/{token}/confirm", data={"csrf_token": csrf(client, "/upload")})
    assert r.status_code == 200 and "Published 1" in r.text  # the preview was kept
    assert _published(console) == citta([1, 2])
