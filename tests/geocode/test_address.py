"""Address normalisation: one cache entry per place, however the ERP spells it."""

from __future__ import annotations

import pytest

from connector.geocode.address import normalise


def key(street: str, cap: str, city: str, prov: str = "", country: str = "") -> str:
    a = normalise(street, cap, city, prov, country, "IT")
    assert a is not None
    return a.key


@pytest.mark.parametrize("a,b", [
    (("Via Roma 1", "35100", "Padova", "PD"), ("VIA  ROMA, 1", "35100", "PADOVA", "pd")),
    (("P.zza Garibaldi 3", "35100", "Padova"), ("Piazza Garibaldi 3", "35100", "Padova")),
    (("C.so Italia 7", "20100", "Milano"), ("corso italia 7", "20100", "milano")),
    (("Via Roma 1", "100", "Roma", "RM"), ("Via Roma 1", "00100", "Roma", "RM")),
    (("Via Roma 1", "47121", "Forlì", "FC"), ("Via Roma 1", "47121", "FORLI'", "FC")),
    (("Via Roma 1", "35100", "Padova", "PD", "Italia"), ("Via Roma 1", "35100", "Padova", "PD", "")),
    (("Via Roma 1", "35100", "Padova", "PD", "ITALY"), ("Via Roma 1", "35100", "Padova", "PD", "IT")),
    (("Via Roma 1§int. 3", "35100", "Padova"), ("Via Roma 1 int 3", "35100", "Padova")),
])
def test_spellings_of_one_place_share_a_key(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert key(*a) == key(*b)


@pytest.mark.parametrize("a,b", [
    (("Via Roma 1", "35100", "Padova"), ("Via Roma 2", "35100", "Padova")),
    (("Via Roma 1", "35100", "Padova"), ("Via Roma 1", "35100", "Padova", "", "Francia")),
    (("Via V Novembre 1", "35100", "Padova"), ("Via Via Novembre 1", "35100", "Padova")),
])
def test_different_places_differ(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert key(*a) != key(*b)


def test_too_thin_to_place() -> None:
    assert normalise("Via Roma 1", "", "", "PD", "", "IT") is None
    assert normalise("", "", "", "", "ITALIA", "IT") is None
    assert normalise("", "35100", "", "", "", "IT") is not None


def test_what_is_sent() -> None:
    """Only street, CAP, city, province and country, normalised; the country is named."""
    a = normalise("P.zza dei Signori, 1", "35139", "Padova", "pd", "", "IT")
    assert a is not None
    q = a.query()
    assert (q.street, q.postcode, q.city, q.province, q.country, q.country_code) == (
        "PIAZZA DEI SIGNORI 1", "35139", "PADOVA", "PD", "ITALIA", "IT")
    f = normalise("Rue de Rivoli 1", "75001", "Paris", "", "Francia", "IT")
    assert f is not None and f.query().country_code == "FR" and f.query().country == "FRANCIA"
    u = normalise("Main St 1", "X1", "Springfield", "", "Freedonia", "IT")
    assert u is not None and u.country_code is None and u.query().country == "FREEDONIA"
