"""Parsers for leads_data_*.xml and leads_note_*.xml: .NET DataSet XML (DataSet.WriteXml).

The shape is `<NewDataSet>` (any name) holding an optional inline `<xs:schema>` and one
element per row (the DataTable's name), whose child elements are the columns. Column
names are those of AMHelper's rec_exp_leads / rec_exp_leads_note
(../shared/spec/appmanager-api.md §4); they map onto the web-service wire names by
lower-casing, plus the few renames below. Values are in the invariant culture
(ISO dates, dot decimals), as .NET writes them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from adapters.legacy.dat import check_company
from connector.model.legacy import LegacyFileError, ParsedRecord, Problem

_RENAMES = {
    "cda_progetto": "cod_prog",
    "des_note": "note",
    "dat_insert": "data_import",
    "id": "legacy_id",
}
_XS = "{http://www.w3.org/2001/XMLSchema}"
_DIFFGRAM = "{urn:schemas-microsoft-com:xml-diffgram-v1}"
_DATE_COLUMNS = {"data_import"}
# FATTURATO is text, as in AMHelper's TestataLeadsExport: not checked as a number.


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _rows(name: str, data: bytes) -> list[ET.Element]:
    try:
        # expat (>= 2.4.1) resolves no external entity and stops entity-expansion bombs.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        raise LegacyFileError(name, [Problem(line, None, None, f"not well-formed XML "
                                                               f"(column {col}): {exc}")]) from None
    parent = root
    # DataSet.WriteXml(XmlWriteMode.DiffGram) wraps rows in <diffgr:diffgram><NewDataSet>.
    diff = root if root.tag == f"{_DIFFGRAM}diffgram" else None
    if diff is not None:
        children = [c for c in diff if not c.tag.startswith(_DIFFGRAM)]
        parent = children[0] if children else diff
    return [child for child in parent if not child.tag.startswith(_XS)
            and not child.tag.startswith(_DIFFGRAM)]


def _parse(name: str, data: bytes, company: str, stream: str) -> list[ParsedRecord]:
    problems: list[Problem] = []
    out: list[ParsedRecord] = []
    rows = _rows(name, data)
    check_company(name, [(_column(row, "cod_ditta") or "") for row in rows], company)
    for index, row in enumerate(rows, start=1):
        item: dict[str, Any] = {}
        for col in row:
            key = _local(col.tag).lower()
            key = _RENAMES.get(key, key)
            if key == "note" and stream == "lead_notes":
                key = "nota"
            text = (col.text or "").replace("\u00a7", "\n")
            item[key] = text if text != "" else None
        if len(row) == 0:
            problems.append(Problem(index, None, None, f"row <{_local(row.tag)}> has no columns"))
            continue
        ditta = (item.get("cod_ditta") or "").strip()
        if ditta and ditta.upper() != company.upper():
            problems.append(Problem(index, "COD_DITTA", ditta,
                                    f"COD_DITTA of another company in a file of {company} "
                                    "(one file holds one company's records)"))
        for key in _DATE_COLUMNS:
            value = item.get(key)
            if value is not None and not _looks_like_iso_date(value):
                problems.append(Problem(index, key.upper(), value, "not an ISO 8601 date"))
        if stream == "lead_notes" and not (item.get("cod_lead") or "").strip():
            problems.append(Problem(index, "COD_LEAD", None, "a lead note needs the lead's code"))
        legacy_id = (item.get("legacy_id") or "").strip()
        unique_id = f"legacy:{name}:{index}"
        item.update({"id": int(legacy_id) if legacy_id.isdigit() else index, "unique_id": unique_id,
                     "_source": "legacy", "_source_ref": name, "_line": index})
        out.append(ParsedRecord(stream, unique_id, item, index))
    if problems:
        # For XML, "line" is the row number within the DataSet (1 = first row).
        raise LegacyFileError(name, problems)
    return out


def _column(row: ET.Element, key: str) -> str | None:
    """A row's column by its lower-cased name (as _parse reads it)."""
    for col in row:
        if _local(col.tag).lower() == key:
            return col.text
    return None


def _looks_like_iso_date(value: str) -> bool:
    from datetime import datetime

    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, _, frac = text.partition(".")
    if frac:  # .NET writes 7 fractional digits; keep the zone, drop the fraction
        zone = frac.lstrip("0123456789")
        text = head + zone
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_leads(name: str, data: bytes, company: str) -> list[ParsedRecord]:
    """leads_data_*.xml: new leads (COD_LEAD empty) or updates."""
    return _parse(name, data, company, "leads")


def parse_lead_notes(name: str, data: bytes, company: str) -> list[ParsedRecord]:
    """leads_note_*.xml: notes on leads."""
    return _parse(name, data, company, "lead_notes")
