"""Catalog media from the ERP: images by URL against a loopback HTTP server (a good image,
a 404, a slow answer, an oversized file, a wrong content type, a liar, a flaky server),
images from the ERP image folder (by file name, by code, placeholder), resizing with
Pillow, incremental by hash, io_catalogo.dat valid."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from PIL import Image

from adapters.media_download import DownloadPolicy, HttpImageDownloader, download
from connector.app import extract_once as run_once
from connector.errors import PermanentError, TransientError
from connector.state import StateStore
from formats import get_layout, validate_file


def _image(fmt: str, size: tuple[int, int], color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


GOOD = _image("JPEG", (640, 480))
PNG = _image("PNG", (300, 200), "blue")
BIG = _image("BMP", (300, 300))  # ~270 KB of bytes, served as image/jpeg


class _Handler(BaseHTTPRequestHandler):
    flaky_calls = 0

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, ctype: str, body: bytes, *, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, size cap): that is the point of the test

    def do_GET(self) -> None:  # http.server's name
        path = self.path
        if path == "/good.jpg":
            self._send(200, "image/jpeg", GOOD)
        elif path == "/missing.jpg":
            self._send(404, "text/html", b"<h1>not found</h1>")
        elif path == "/slow.jpg":
            time.sleep(2.5)
            self._send(200, "image/jpeg", GOOD)
        elif path == "/big.jpg":
            self._send(200, "image/jpeg", BIG)
        elif path == "/big-unsized.jpg":
            self.close_connection = True
            self._send(200, "image/jpeg", BIG, length=False)
        elif path == "/page":
            self._send(200, "text/html; charset=utf-8", b"<html>a login page</html>")
        elif path == "/liar.jpg":
            self._send(200, "image/jpeg", b"<html>not an image</html>")
        elif path == "/flaky.png":
            type(self).flaky_calls += 1
            if type(self).flaky_calls == 1:
                self._send(503, "text/plain", b"busy")
            else:
                self._send(200, "image/png", PNG)
        else:
            self._send(404, "text/plain", b"?")


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.flaky_calls = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


POLICY = DownloadPolicy(connect_timeout=5, read_timeout=1.0, max_bytes=100_000, attempts=2,
                        retry_initial=0.05)


@pytest.mark.parametrize("path,error,reason", [
    ("/missing.jpg", PermanentError, "HTTP 404"),
    ("/slow.jpg", TransientError, "timed out (read timeout)"),
    ("/big.jpg", PermanentError, "bytes is over the 100000-byte cap"),
    ("/big-unsized.jpg", PermanentError, "more than 100000 bytes (over the size cap)"),
    ("/page", PermanentError, "content type text/html is not one of image/jpeg"),
    ("/liar.jpg", PermanentError, "the body is not a JPEG, PNG or GIF image"),
])
def test_download_faults(server, path, error, reason):
    with requests.Session() as s, pytest.raises(error) as err:
        download(s, server + path, POLICY)
    assert reason in str(err.value) and path in str(err.value)


def test_download_good_and_retried(server):
    fetcher = HttpImageDownloader(POLICY)
    try:
        got = fetcher.download(server + "/good.jpg")
        assert got.data == GOOD and got.content_type == "image/jpeg"
        flaky = fetcher.download(server + "/flaky.png")
    finally:
        fetcher.close()
    assert flaky.data == PNG and _Handler.flaky_calls == 2


def _media_table(erp, rows: list[tuple[str, str, str | None, str | None]]) -> None:
    erp.execute("CREATE TABLE {p}media (code VARCHAR(25), title VARCHAR(100), "
                "url VARCHAR(200), image VARCHAR(100))")
    for code, title, url, image in rows:
        erp.execute("INSERT INTO {p}media VALUES (:c, :t, :u, :i)",
                    {"c": code, "t": title, "u": url, "i": image})


def test_url_images_each_fault_reported_good_ones_published(sqlite_erp, extract_config,
                                                             server):
    erp = sqlite_erp
    urls = ["/good.jpg", "/missing.jpg", "/slow.jpg", "/big.jpg", "/page", "/liar.jpg",
            "/flaky.png"]
    _media_table(erp, [(f"A{i:04d}", f"Foto {i}", server + u, None)
                       for i, u in enumerate(urls, 1)])
    cfg = extract_config(erp, jobs=[], media={
        "enabled": True, "query": f"SELECT code AS cod_art, title AS titolo, url, "
                                  f"'Foto' AS l1 FROM {erp.table('media')} ORDER BY code",
        "read_timeout_seconds": 1.0, "attempts": 2, "max_download_mb": 0.1})
    store = StateStore(cfg.state_dir)
    res = run_once(cfg, store, entities=["io_catalogo"], out=io.StringIO())
    (o,) = res.outcomes
    assert not res.ok and o.status == "partial"
    report = res.report
    for expected in ("images: 2 new, 0 changed, 0 unchanged, 5 failed",
                     "image failed: missing.jpg (A0002): ", "HTTP 404",
                     "image failed: slow.jpg (A0003): ", "timed out",
                     "image failed: big.jpg (A0004): ", "over the 104857-byte cap",
                     "image failed: A0005.jpg (A0005): ", "content type text/html",
                     "image failed: liar.jpg (A0006): ", "not a JPEG, PNG or GIF"):
        assert expected in report, report
    watch = cfg.export.watch
    assert sorted(p.name for p in watch.iterdir()) == ["flaky.png", "good.jpg",
                                                       "io_catalogo.dat"]
    assert (watch / "good.jpg").read_bytes() == GOOD
    catalog = watch / "io_catalogo.dat"
    assert validate_file(catalog, get_layout("io_catalogo")).valid
    lines = catalog.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0] == "NOMEFILE|TITOLO|COD_ART|L1|DAT_ULT_MOD"
    assert lines[1:-1] == ["good.jpg|Foto 1|A0001|Foto|01011900000000",
                           "flaky.png|Foto 7|A0007|Foto|01011900000000"]


def test_local_images_resize_placeholder_and_incremental(sqlite_erp, extract_config, tmp_path):
    erp = sqlite_erp
    images = tmp_path / "erp-images"
    images.mkdir()
    (images / "A0001.jpg").write_bytes(_image("JPEG", (1200, 800)))
    (images / "A0002.jpg").write_bytes(_image("JPEG", (100, 80), "green"))
    (images / "empty-image.jpg").write_bytes(_image("JPEG", (64, 64), "white"))
    (images / "A0004.png").write_bytes(_image("PNG", (50, 50)))  # found by code
    query = (f"SELECT a.code AS cod_art, a.descr AS titolo, a.family_descr AS l1, "
             f"a.image AS immagine FROM {erp.table('articles')} a WHERE a.code <= 'A0004' "
             "ORDER BY a.code")
    cfg = extract_config(erp, jobs=[], media={
        "enabled": True, "query": query, "image_dir": str(images),
        "placeholder": "empty-image.jpg", "max_pixels": 256})
    store = StateStore(cfg.state_dir)
    res = run_once(cfg, store, out=io.StringIO())
    assert res.ok, res.report
    watch = cfg.export.watch
    assert sorted(p.name for p in watch.iterdir()) == [
        "A0001.jpg", "A0002.jpg", "A0004.png", "empty-image.jpg", "io_catalogo.dat"]
    with Image.open(watch / "A0001.jpg") as img:
        assert img.size == (256, 171)  # shrunk, aspect kept
    assert (watch / "A0002.jpg").read_bytes() == (images / "A0002.jpg").read_bytes()
    lines = (watch / "io_catalogo.dat").read_bytes().decode("utf-8-sig").split("\r\n")
    assert [line.split("|")[0] for line in lines[1:-1]] == [
        "A0001.jpg", "A0002.jpg", "empty-image.jpg", "A0004.png"]  # A0003: the placeholder
    assert validate_file(watch / "io_catalogo.dat", get_layout("io_catalogo")).valid

    for p in watch.iterdir():  # the export pipeline takes them
        p.unlink()
    res = run_once(cfg, store, mode="changed", out=io.StringIO())
    assert res.ok and "images: 0 new, 0 changed, 4 unchanged, 0 failed" in res.report
    assert list(watch.iterdir()) == []

    (images / "A0002.jpg").write_bytes(_image("JPEG", (100, 80), "black"))
    dry = run_once(cfg, store, mode="changed", dry_run=True, out=io.StringIO())
    assert "images: 0 new, 1 changed, 3 unchanged, 0 failed (dry run: none copied)" in dry.report
    assert list(watch.iterdir()) == []
    res = run_once(cfg, store, mode="changed", out=io.StringIO())
    assert sorted(p.name for p in watch.iterdir()) == ["A0002.jpg"]  # catalog rows unchanged


def test_missing_image_without_placeholder_is_reported(sqlite_erp, extract_config, tmp_path):
    erp = sqlite_erp
    images = tmp_path / "erp-images"
    images.mkdir()
    (images / "A0001.jpg").write_bytes(_image("JPEG", (10, 10)))
    cfg = extract_config(erp, jobs=[], media={
        "enabled": True, "image_dir": str(images),
        "query": f"SELECT code AS cod_art, image AS immagine FROM {erp.table('articles')} "
                 "WHERE code <= 'A0002' ORDER BY code"})
    res = run_once(cfg, StateStore(cfg.state_dir), out=io.StringIO())
    assert not res.ok and res.outcomes[0].status == "partial"
    assert (f"image failed: A0002.jpg (A0002): line 3: image 'A0002.jpg' not found in {images}; "
            "set extract.media.placeholder for a stand-in") in res.report, res.report
    # the entry with an image is published all the same
    lines = (cfg.export.watch / "io_catalogo.dat").read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[1:-1] == ["A0001.jpg|A0001|A0001|Catalogo|01011900000000"]


def test_entry_names_are_safe_short_and_unique(tmp_path):
    from connector.extract.media import _local_image, _safe_name, _unique

    assert _safe_name("../../etc/passwd") == "passwd"
    assert _safe_name("Libreria Kwaba [kw07].jpg") == "Libreria Kwaba _kw07_.jpg"
    long = _safe_name("Libreria Kwaba [kw07] scaffale grande.jpg")
    assert len(long) <= 25 and long.endswith(".jpg") and "[" not in long
    taken: dict[str, str] = {}
    a = _unique("image.jpg", "url:http://cdn/1/image.jpg", taken)
    b = _unique("image.jpg", "url:http://cdn/2/image.jpg", taken)
    again = _unique("image.jpg", "url:http://cdn/1/image.jpg", taken)
    assert a == again == "image.jpg" and b != a and b.startswith("image_") and len(b) <= 25
    images = tmp_path / "img"
    images.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    assert _local_image(images, "../secret.jpg", "A1", [".jpg"]) is None  # no escaping the folder


def test_a_linked_image_is_never_read(sqlite_erp, extract_config, tmp_path):
    """The image folder is written by others too: A0001.jpg -> a secret outside it, and a
    JPEG outside reached by a link, are both refused by name and reason; the rest proceeds."""
    import os

    erp = sqlite_erp
    images = tmp_path / "erp-images"
    images.mkdir()
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(_image("JPEG", (12, 12), "black"))
    os.symlink(secret, images / "A0001.jpg")
    (images / "A0002.jpg").write_bytes(_image("JPEG", (10, 10)))
    cfg = extract_config(erp, jobs=[], media={
        "enabled": True, "image_dir": str(images),
        "query": f"SELECT code AS cod_art, image AS immagine FROM {erp.table('articles')} "
                 "WHERE code <= 'A0002' ORDER BY code"})
    res = run_once(cfg, StateStore(cfg.state_dir), out=io.StringIO())
    assert not res.ok and "A0001.jpg" in res.report and "symbolic link" in res.report
    assert sorted(p.name for p in cfg.export.watch.iterdir()) == ["A0002.jpg", "io_catalogo.dat"]
