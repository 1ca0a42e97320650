"""The legacy return files AppManager writes into <company>/appmanager (deprecated route).

`parse_file(name, data, company)` turns one file into web-service-shaped items, or
raises LegacyFileError naming every bad line and field (ForeignCompanyFile when it is
another company's): the ReturnFileParser port (connector.ports) the legacy engine is
given by connector/app.py.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.legacy.dat_files import parse_customer_notes, parse_customers, parse_orders
from adapters.legacy.leads_xml import parse_lead_notes, parse_leads
from connector.model.legacy import LegacyFileError, ParsedRecord, Problem, kind_of

PARSERS: dict[str, Callable[[str, bytes, str], list[ParsedRecord]]] = {
    "orders": parse_orders,
    "customers": parse_customers,
    "customer_notes": parse_customer_notes,
    "leads": parse_leads,
    "lead_notes": parse_lead_notes,
}


def parse_file(name: str, data: bytes, company: str) -> list[ParsedRecord]:
    stream = kind_of(name)
    if stream is None:
        raise LegacyFileError(name, [Problem(None, None, None, "not a legacy return file name")])
    return PARSERS[stream](name, data, company)


__all__ = ["PARSERS", "parse_file"]
