"""An address as the cache knows it: street, CAP, city, province and country, normalised.

Two spellings of one place should share one cache entry (and one request): case,
accents, punctuation, spacing and the usual Italian abbreviations do not matter, and a
CAP the ERP stored as a number gets its leading zeros back. The same normalised parts
are what the geocoder is sent, so docs/guide/geocoding.md can say exactly what leaves the premises.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from connector.ports import GeoQuery

# Country names an Italian ERP writes in NAZIONE, in Italian and English, -> ISO 3166-1.
_COUNTRIES = {
    "IT": ("ITALIA", "ITALY", "IT", "ITA", "I"),
    "SM": ("SAN MARINO", "REPUBBLICA DI SAN MARINO", "SM", "SMR", "RSM"),
    "VA": ("CITTA DEL VATICANO", "VATICANO", "VATICAN CITY", "VA", "VAT"),
    "CH": ("SVIZZERA", "SWITZERLAND", "CH", "CHE"),
    "FR": ("FRANCIA", "FRANCE", "FR", "FRA", "F"),
    "DE": ("GERMANIA", "GERMANY", "DEUTSCHLAND", "DE", "DEU", "D"),
    "AT": ("AUSTRIA", "OSTERREICH", "AT", "AUT", "A"),
    "SI": ("SLOVENIA", "SI", "SVN", "SLO"),
    "HR": ("CROAZIA", "CROATIA", "HR", "HRV"),
    "ES": ("SPAGNA", "SPAIN", "ESPANA", "ES", "ESP", "E"),
    "PT": ("PORTOGALLO", "PORTUGAL", "PT", "PRT", "P"),
    "BE": ("BELGIO", "BELGIUM", "BE", "BEL", "B"),
    "NL": ("PAESI BASSI", "OLANDA", "NETHERLANDS", "NL", "NLD"),
    "LU": ("LUSSEMBURGO", "LUXEMBOURG", "LU", "LUX", "L"),
    "GB": ("REGNO UNITO", "GRAN BRETAGNA", "UNITED KINGDOM", "INGHILTERRA", "GB", "GBR", "UK"),
    "IE": ("IRLANDA", "IRELAND", "IE", "IRL"),
    "GR": ("GRECIA", "GREECE", "GR", "GRC"),
    "MT": ("MALTA", "MT", "MLT"),
    "PL": ("POLONIA", "POLAND", "PL", "POL"),
    "CZ": ("REPUBBLICA CECA", "CECHIA", "CZECHIA", "CZ", "CZE"),
    "HU": ("UNGHERIA", "HUNGARY", "HU", "HUN"),
    "RO": ("ROMANIA", "RO", "ROU"),
    "DK": ("DANIMARCA", "DENMARK", "DK", "DNK"),
    "SE": ("SVEZIA", "SWEDEN", "SE", "SWE"),
    "US": ("STATI UNITI", "USA", "UNITED STATES", "US"),
}
_CODE_OF = {name: code for code, names in _COUNTRIES.items() for name in names}

# The common abbreviations of Italian street types, so "P.ZZA" and "PIAZZA" share an entry.
_ABBREVIATIONS = {
    "V": "VIA", "V.": "VIA", "VLE": "VIALE", "V.LE": "VIALE", "P.ZZA": "PIAZZA",
    "P.ZA": "PIAZZA", "PZA": "PIAZZA", "PZZA": "PIAZZA", "P.LE": "PIAZZALE", "PLE": "PIAZZALE",
    "C.SO": "CORSO", "CSO": "CORSO", "L.GO": "LARGO", "LGO": "LARGO", "STR.": "STRADA",
    "LOC.": "LOCALITA", "LOC": "LOCALITA", "FRAZ.": "FRAZIONE", "FRAZ": "FRAZIONE",
    "S.S.": "SS", "S.P.": "SP", "S.R.": "SR", "V.COLO": "VICOLO", "VLO": "VICOLO",
}
_PUNCT = re.compile(r"[^\w/-]+")  # runs of spaces and punctuation, but / and - (12/A, 3-5)
# "§" stands for a line break in tracciati text; "°" and "º" follow numbers (N° 12).
_BREAKS = str.maketrans({"§": " ", "°": " ", "º": " "})


def _upper(text: str) -> str:
    """Upper case without accents."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_BREAKS))
        text = "".join(c for c in text if not unicodedata.combining(c))
    return text.upper()


def _clean(text: str) -> str:
    return _PUNCT.sub(" ", text).strip(" -/")


def normalise_street(text: str) -> str:
    parts = _upper(text).split(None, 1)
    if parts:  # the street type only: "VIA V NOVEMBRE" keeps its V
        first = parts[0].rstrip(",;:")
        parts[0] = _ABBREVIATIONS.get(first, first)
    return _clean(" ".join(parts))


@lru_cache(maxsize=16384)  # cities, provinces and countries repeat from row to row
def normalise_text(text: str) -> str:
    """City, province, country, and what an operator types to find an entry."""
    return _clean(_upper(text))


def country_code(country: str) -> str | None:
    """The ISO code of a normalised country name, None when it is not one we know."""
    return _CODE_OF.get(country)


class Address(NamedTuple):
    street: str
    postcode: str
    city: str
    province: str
    country: str  # the ERP's text, normalised; "" when it sent none
    country_code: str | None

    @property
    def key(self) -> str:
        """The cache key: the country by its code when known, so ITALIA and ITALY agree."""
        return "|".join((self.street, self.postcode, self.city, self.province,
                         self.country_code or self.country))

    @property
    def text(self) -> str:
        """One line for people: `VIA ROMA 1, 35100 PADOVA PD, IT`."""
        place = " ".join(p for p in (self.postcode, self.city, self.province) if p)
        return ", ".join(p for p in (self.street, place, self.country_code or self.country) if p)

    def query(self) -> GeoQuery:
        """What the geocoder is sent: the parts, and the country named even when implied."""
        country = self.country or (_COUNTRIES[self.country_code][0]
                                   if self.country_code in _COUNTRIES else "")
        return GeoQuery(self.street, self.postcode, self.city, self.province, country,
                        self.country_code)


@lru_cache(maxsize=16384)
def _postcode(text: str, code: str | None) -> str:
    n = _clean(_upper(text))
    if code == "IT":
        n = n.replace(" ", "")
        if n.isdigit() and len(n) < 5:
            n = n.zfill(5)  # an ERP that keeps the CAP as a number drops the zeros
    return n


def normalise(street: str, postcode: str, city: str, province: str, country: str,
              default_country: str) -> Address | None:
    """The cache's form of an address; None when it is too thin to place (no city or CAP)."""
    n_street = normalise_street(street)
    n_city = normalise_text(city)
    n_province = normalise_text(province)
    n_country = normalise_text(country)
    code = country_code(n_country) if n_country else default_country.upper()
    n_postcode = _postcode(postcode, code)
    if code == default_country.upper():
        n_country = ""  # one entry whether the ERP wrote ITALIA, ITALY or nothing
    if not (n_city or n_postcode):
        return None
    return Address(n_street, n_postcode, n_city, n_province, n_country, code)
