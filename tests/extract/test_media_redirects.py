"""Catalog images behind redirects, against real loopback servers (one over TLS with a
throwaway CA from trustme): followed on the same host (same scheme and port, or up from
http to https) for at most 5 hops; refused, without a request to the target, from https
down to http, to another host or port, and past 5 hops (issue 18: redirects)."""

from __future__ import annotations

import io
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import trustme
from PIL import Image

from adapters.media_download import DownloadPolicy, download
from connector.errors import PermanentError

_buf = io.BytesIO()
Image.new("RGB", (8, 8), "green").save(_buf, format="PNG")
IMAGE = _buf.getvalue()


@dataclass
class Site:
    url: str = ""
    requests: list[str] = field(default_factory=list)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            site.requests.append(self.path)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/image.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(IMAGE)))
                self.end_headers()
                self.wfile.write(IMAGE)
                return
            if parts.path == "/to":  # /to?url=...&code=...
                target = query["url"][0]
                code = int(query.get("code", ["302"])[0])
            elif parts.path.startswith("/hops/"):  # /hops/N: N redirects, then the image
                left = int(parts.path.rsplit("/", 1)[1])
                target = f"/hops/{left - 1}" if left > 1 else "/image.png"
                code = 301
            else:
                target, code = "/to-itself", 302  # forever
            self.send_response(code)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@pytest.fixture
def sites(ca: tuple[trustme.CA, Path]) -> Iterator[dict[str, Site]]:
    servers = []
    made: dict[str, Site] = {}
    for name in ("https", "http", "http2"):
        site = Site()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
        httpd.daemon_threads = True
        if name == "https":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca[0].issue_cert("127.0.0.1").configure_cert(ctx)
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        scheme = "https" if name == "https" else "http"
        site.url = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(httpd)
        made[name] = site
    yield made
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def get(url: str, ca_file: Path) -> bytes:
    policy = DownloadPolicy(connect_timeout=5, read_timeout=5, attempts=3, retry_initial=0.01,
                            verify=str(ca_file))
    with requests.Session() as s:
        return download(s, url, policy).data


def to(site: Site, target: str, code: int = 302) -> str:
    return f"{site.url}/to?{requests.compat.urlencode({'url': target, 'code': code})}"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_https_down_to_http_is_refused(sites: dict[str, Site], ca: tuple[trustme.CA, Path],
                                       code: int) -> None:
    secure, plain = sites["https"], sites["http"]
    assert get(secure.url + "/image.png", ca[1]) == IMAGE  # TLS itself is fine
    with pytest.raises(PermanentError) as err:
        get(to(secure, plain.url + "/image.png", code), ca[1])
    assert "refused a redirect" in str(err.value) and "https down to plain http" in str(err.value)
    assert plain.requests == []
    assert len(secure.requests) == 2  # not retried: the same answer would come again


@pytest.mark.parametrize("target,why", [
    ("http://localhost:{port}/image.png", "to another host"),
    ("{other}/image.png", "to another port"),
    ("ftp://127.0.0.1/image.png", "not an http(s) address"),
])
def test_off_host_redirects_are_refused(sites: dict[str, Site], ca: tuple[trustme.CA, Path],
                                        target: str, why: str) -> None:
    plain, other = sites["http"], sites["http2"]
    port = urlsplit(other.url).port
    with pytest.raises(PermanentError) as err:
        get(to(plain, target.format(port=port, other=other.url)), ca[1])
    assert why in str(err.value)
    assert other.requests == []


def test_same_host_redirects_are_followed(sites: dict[str, Site],
                                          ca: tuple[trustme.CA, Path]) -> None:
    secure, plain = sites["https"], sites["http"]
    assert get(to(secure, "/image.png", 307), ca[1]) == IMAGE  # relative, same origin
    assert get(to(plain, secure.url + "/image.png"), ca[1]) == IMAGE  # up to https
    assert secure.requests[-1] == "/image.png"


def test_at_most_five_hops(sites: dict[str, Site], ca: tuple[trustme.CA, Path]) -> None:
    secure = sites["https"]
    assert get(secure.url + "/hops/5", ca[1]) == IMAGE
    secure.requests.clear()
    with pytest.raises(PermanentError, match="more than 5 redirects"):
        get(secure.url + "/hops/6", ca[1])
    assert len(secure.requests) == 6
    with pytest.raises(PermanentError, match="more than 5 redirects"):
        get(secure.url + "/forever", ca[1])
