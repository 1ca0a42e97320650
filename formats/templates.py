"""Templates (a header plus one example row per layout) and the listing of all layouts."""

from __future__ import annotations

from formats.fieldtypes import DAT_ULT_MOD, DAT_ULT_MOD_VALUE, Field
from formats.layout import CHIAVE, COD_DITTA, Layout, all_layouts

EXAMPLE_COMPANY = "ACME"
_KNOWN = {"CAP": "35031", "PROVINCIA": "PD", "CITTA": "ABANO TERME", "UM": "PZ", "UM1": "PZ",
          "NAZIONE": "ITALIA", "EMAIL": "info@example.it", "TELEFONO": "0491234567"}


def example_value(f: Field) -> str:
    """A valid, plausible value for a field (what a clerk would type)."""
    if f.name == DAT_ULT_MOD:
        return DAT_ULT_MOD_VALUE
    if f.name == COD_DITTA:
        return EXAMPLE_COMPANY
    if not f.typed:
        return "A001" if "COD" in f.name or f.required else ""
    k = f.kind
    if k == "C" and f.name in _KNOWN:
        return _KNOWN[f.name][:f.length]
    if k == "C":
        if "COD" in f.name or f.required or f.name in ("UM", "UM1", "PROVINCIA", "BARCODE"):
            return "A001"[:f.length]
        if f.name.startswith(("DES", "RAG_SOC", "TITOLO", "NOTA", "NOME")):
            return "Example text"[:f.length]
        return ""
    if k == "I":
        return "1"
    if k == "D":
        return "1,5" if f.scale else "1"
    if k == "L":
        return "45.406400" if f.scale >= 6 else "45.4"
    if k == "Dt":
        return "02012013"
    if k == "DT":
        return "02012013093000"
    return "0"  # F


def example_record(layout: Layout) -> dict[str, str]:
    record = {f.name: example_value(f) for f in layout.fields}
    if CHIAVE in record:
        own = [f.name for f in layout.fields if f.required and f.name not in (CHIAVE, COD_DITTA)]
        record[CHIAVE] = "§".join([EXAMPLE_COMPANY] + [record[n] for n in own])[:250]
    return record


def template(layout: Layout) -> str:
    """The header row plus one example row (lines end with LF; the writer uses CRLF)."""
    record = example_record(layout)
    lines = []
    if layout.header:
        lines.append("|".join(layout.field_names))
    lines.append("|".join(record[n] for n in layout.field_names))
    return "\n".join(lines) + "\n"


def describe_layout(layout: Layout) -> str:
    flags = []
    if layout.minimum_set:
        flags.append("minimum set")
    if not layout.header:
        flags.append("no header row")
    if layout.extras_allowed:
        flags.append("extra columns allowed")
    if not all(f.typed for f in layout.fields):
        flags.append("partly untyped in the spec")
    head = f"{layout.name}  ({layout.filename})  {layout.description}"
    if flags:
        head += "  [" + ", ".join(flags) + "]"
    key = f"  key: {layout.key}" if layout.key else "  key: none"
    body = [f"    {i:>2} {f.describe()}" for i, f in enumerate(layout.fields, 1)]
    return "\n".join([head, key, *body])


def describe_layouts(verbose: bool = True) -> str:
    """Every layout; with verbose, every field with type, length and whether it is required."""
    if verbose:
        return "\n\n".join(describe_layout(layout) for layout in all_layouts()) + "\n"
    rows = []
    for layout in all_layouts():
        mark = "*" if layout.minimum_set else " "
        rows.append(f"{mark} {layout.name:<26} {len(layout.fields):>3} fields  "
                    f"{layout.filename:<28} {layout.description}")
    return "\n".join(rows) + "\n"
