"""Secret masking masks whole secrets, never letters of other words (issue 15: the key `x`
turned exportPaginazione into e***portPaginazione)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from adapters.appmanager.http import HttpJson
from adapters.geocode.errors import scrub
from connector.errors import ConnectorError
from connector.logsetup import mask_secrets


def test_a_short_secret_is_masked_only_as_a_whole_token() -> None:
    text = "GET http://h/v1/progetti/ic.acme/exportPaginazione/codaOrdini: key x refused"
    assert mask_secrets(text, ["x"]) == \
        "GET http://h/v1/progetti/ic.acme/exportPaginazione/codaOrdini: key *** refused"
    assert mask_secrets("ab-ab_ab/ab", ["ab"]) == "***-ab_ab/***"
    assert mask_secrets("tabs and ab.", ["ab"]) == "tabs and ***."


def test_a_long_secret_is_masked_anywhere() -> None:
    assert mask_secrets("prefixs3cr3tKEYsuffix and s3cr3tKEY", ["s3cr3tKEY"]) == \
        "prefix***suffix and ***"
    # the longer of two overlapping secrets first, so no part of it is left in clear
    assert mask_secrets("abcdefgh", ["abcdef", "abcdefgh"]) == "***"
    assert mask_secrets("nothing", ["", None]) == "nothing"  # type: ignore[list-item]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_appmanager_errors_keep_the_words_around_a_short_key(tmp_path: Path) -> None:
    """A real failed request (nothing listens): the error names the URL unmangled."""
    client = HttpJson(what="AppManager", attempts=1, connect_timeout=2, secrets=("x",))
    url = f"http://127.0.0.1:{_closed_port()}/api/v1/progetti/ic.acme/exportPaginazione/codaOrdini"
    with pytest.raises(ConnectorError) as info:
        client.call("GET", url, lambda body: body, params={"authKey": "x"},
                    shown="exportPaginazione/codaOrdini")
    text = str(info.value)
    assert "exportPaginazione" in text and "e***port" not in text
    assert client.clean(f"{url}?authKey=x") == f"{url}?authKey=***"


def test_geocode_scrub_keeps_other_words() -> None:
    assert scrub("Nominatim exploded (x): key=x examples", ["x"]) == \
        "Nominatim exploded (***): key=*** examples"
