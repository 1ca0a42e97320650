"""The geopy adapter against the stand-in server: what is sent, what comes back, and
every fault turned into the exception the caller acts on."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from geopy import exc as gexc

from adapters.geocode.client import GeocoderSettings, GeopyGeocoder
from adapters.geocode.errors import QUOTA_PAUSE, translating
from adapters.geocode.providers import PROVIDERS, one_line
from connector.config import _GEOCODE_NEEDS_KEY, GeocodeProvider
from connector.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RateLimited,
    TransientError,
)
from connector.geocode.address import normalise
from connector.ports import GeoQuery
from tests.geocode.conftest import PADOVA
from tests.geocode.standin import StandIn

QUERY = normalise("Via Roma 1", "35100", "Padova", "PD", "", "IT").query()  # type: ignore[union-attr]
NOWHERE = normalise("Via Inesistente 9", "00000", "Nessunluogo", "ZZ", "", "IT").query()  # type: ignore[union-attr]


def geocoder(standin: StandIn, provider: str = "nominatim", **kw: object):  # type: ignore[no-untyped-def]
    settings = {"user_agent": "icommerce-connector/test (ACME)", "url": standin.url,
                "timeout": 1.0, "api_key": "SECRET-KEY" if provider != "nominatim" else None}
    settings.update(kw)
    return GeopyGeocoder(GeocoderSettings(provider, **settings))  # type: ignore[arg-type]


def test_nominatim_structured_query_with_country_and_user_agent(standin: StandIn) -> None:
    """Nominatim is asked street, city and CAP, restricted to Italy, with our User-Agent."""
    g = geocoder(standin, language="it")
    match = g.geocode(QUERY)
    assert match is not None
    assert (match.latitude, match.longitude) == (PADOVA.lat, PADOVA.lon)
    assert match.quality == "house" and match.provider == "nominatim"
    assert match.label == PADOVA.label and "building" in match.detail
    [req] = standin.requests
    assert req.path == "/search"
    assert req.params["street"] == "VIA ROMA 1" and req.params["city"] == "PADOVA"
    assert req.params["postalcode"] == "35100" and req.params["countrycodes"] == "it"
    assert req.params["accept-language"] == "it" and "q" not in req.params
    assert req.headers["User-Agent"] == "icommerce-connector/test (ACME)"


def test_nominatim_no_result_is_none(standin: StandIn) -> None:
    assert geocoder(standin).geocode(NOWHERE) is None


def test_google_one_line_with_key_and_region(standin: StandIn) -> None:
    """Google gets the address on one line, the key, and Italy as the region bias."""
    match = geocoder(standin, "google").geocode(QUERY)
    assert match is not None and match.quality == "house"
    assert "ROOFTOP" in match.detail
    [req] = standin.requests
    assert req.path == "/maps/api/geocode/json"
    assert req.params["address"] == "VIA ROMA 1, 35100 PADOVA PD, ITALIA"
    assert req.params["key"] == "SECRET-KEY" and req.params["region"] == "it"


def test_google_zero_results_is_none(standin: StandIn) -> None:
    assert geocoder(standin, "google").geocode(NOWHERE) is None


@pytest.mark.parametrize("provider", ["nominatim", "google"])
def test_429_is_rate_limited_with_retry_after(standin: StandIn, provider: str) -> None:
    standin.script.append(("429", 7))
    with pytest.raises(RateLimited) as info:
        geocoder(standin, provider).geocode(QUERY)
    assert info.value.retry_after == (7 if provider == "nominatim" else None)


@pytest.mark.parametrize("fault,error", [
    (("slow", 3), TransientError), ("hang", TransientError), ("malformed", TransientError),
    ("shape", TransientError), ("500", TransientError), ("denied", AuthError),
    ("400", PermanentError), ("huge", TransientError),
    (("redirect", "http://example.invalid/"), TransientError),
])
@pytest.mark.parametrize("provider", ["nominatim", "google"])
def test_faults_become_our_errors(standin: StandIn, provider: str, fault: object,
                                  error: type[Exception]) -> None:
    """Slow answers, hangs, bodies that are not JSON or not the documented shape, 5xx,
    a refused key, a refused query, oversized answers and redirects: each one of ours,
    and a single request each (no retries inside the adapter)."""
    standin.script.append(fault)
    with pytest.raises(error) as info:
        geocoder(standin, provider, timeout=1.0).geocode(QUERY)
    assert "SECRET-KEY" not in str(info.value)
    assert len(standin.requests) == 1


def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    g = GeopyGeocoder(GeocoderSettings("google", "ua/1", url=f"http://127.0.0.1:{port}",
                                        api_key="SECRET-KEY", timeout=1.0))
    with pytest.raises(TransientError) as info:
        g.geocode(QUERY)
    assert "SECRET-KEY" not in str(info.value) and f"127.0.0.1:{port}" in str(info.value)


def test_the_key_never_reaches_the_logs(standin: StandIn, tmp_path: Path) -> None:
    """At debug level, with the connector's logging, no line carries the key (geopy and
    urllib3 log request URLs, and Google's carry it)."""
    from connector.logsetup import configure_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("debug", tmp_path / "log", "json", console=False)
    try:
        standin.script.append("500")
        g = geocoder(standin, "google")
        with pytest.raises(TransientError):
            g.geocode(QUERY)
        assert g.geocode(QUERY) is not None
        logging.getLogger("geopy").debug("probe")  # the file is written
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    assert "SECRET-KEY" not in (tmp_path / "log" / "connector.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("provider,path,key_param,country", [
    ("opencage", "/geocode/v1/json", "key", ("countrycode", "it")),
    ("mapbox", "/geocoding/v5/mapbox.places/", "access_token", ("country", "it")),
    ("photon", "/api", None, None),
    ("pelias", "/v1/search", "api_key", ("boundary.country", "IT")),
])
def test_other_providers_ask_the_configured_server(standin: StandIn, provider: str, path: str,
                                                   key_param: str | None,
                                                   country: tuple[str, str] | None) -> None:
    """The other named providers are built through geopy and pointed at `url`, with the
    key and the country filter docs/guide/geocoding.md lists."""
    with pytest.raises(TransientError):  # the stand-in answers 404 on their paths
        geocoder(standin, provider).geocode(QUERY)
    [req] = standin.requests
    assert req.path.startswith(path)
    if key_param:
        assert req.params[key_param] == "SECRET-KEY"
    if country:
        assert req.params[country[0]] == country[1]


def test_here_cannot_be_pointed_elsewhere(standin: StandIn) -> None:
    with pytest.raises(ConfigError):
        geocoder(standin, "here")


def test_every_configurable_provider_is_built() -> None:
    """The configuration's provider names and the adapter's table agree."""
    import typing

    assert set(typing.get_args(GeocodeProvider)) == set(PROVIDERS)
    assert {p.name for p in PROVIDERS.values() if p.key_param} >= _GEOCODE_NEEDS_KEY


@pytest.mark.parametrize("raised,ours", [
    (gexc.GeocoderRateLimited("x", retry_after=3), RateLimited),
    (gexc.GeocoderQuotaExceeded("x"), RateLimited),
    (gexc.GeocoderAuthenticationFailure("x"), AuthError),
    (gexc.GeocoderInsufficientPrivileges("x"), AuthError),
    (gexc.GeocoderTimedOut("x"), TransientError),
    (gexc.GeocoderUnavailable("x"), TransientError),
    (gexc.GeocoderParseError("x"), TransientError),
    (gexc.GeocoderServiceError("x"), TransientError),
    (gexc.GeocoderQueryError("x"), PermanentError),
    (gexc.ConfigurationError("x"), ConfigError),
    (gexc.GeocoderNotFound("x"), ConfigError),
    (KeyError("lat"), TransientError),
    (TypeError("NoneType"), TransientError),
])
def test_exception_mapping(raised: Exception, ours: type[Exception]) -> None:
    with pytest.raises(ours) as info, translating("p", ["SECRET"]):
        raise raised
    if isinstance(raised, gexc.GeocoderRateLimited):
        assert info.value.retry_after == 3  # type: ignore[attr-defined]
    elif isinstance(raised, gexc.GeocoderQuotaExceeded):
        assert info.value.retry_after == QUOTA_PAUSE  # type: ignore[attr-defined]


def test_secrets_are_scrubbed_from_messages() -> None:
    with pytest.raises(TransientError) as info, translating("google", ["SECRET"]):
        raise gexc.GeocoderServiceError("GET /x?address=a&key=SECRET and again SECRET")
    assert "SECRET" not in str(info.value)


def test_one_line_leaves_out_empty_parts() -> None:
    assert one_line(GeoQuery("", "", "PADOVA", "", "", "IT")) == "PADOVA"
    assert one_line(GeoQuery("RUE X 1", "75001", "PARIS", "", "FRANCIA", "FR")) == (
        "RUE X 1, 75001 PARIS, FRANCIA")
