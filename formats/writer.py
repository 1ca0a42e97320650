"""Records -> the canonical tracciato (UTF-8 with BOM, CRLF, header, DAT_ULT_MOD constant).

Why a BOM: the reference connector (NTS Business, .NET StreamWriter with Encoding.UTF8)
has always written UTF-8 with a BOM, so that is the form AppManager is known to read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from connector.errors import RecordError
from formats.fieldtypes import DAT_ULT_MOD, DAT_ULT_MOD_VALUE, SECTION, Field, untyped
from formats.layout import Layout

BOM = b"\xef\xbb\xbf"
_NEWLINES = re.compile(r"\r\n|\r|\n")
_FLUSH_ROWS = 512


@dataclass
class WriteResult:
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0


def clean_text(value: str) -> str:
    """§1 rules 8-9: | becomes _, every line break (CRLF, CR, LF) becomes §."""
    if "|" in value:
        value = value.replace("|", "_")
    if "\r" in value or "\n" in value:
        value = _NEWLINES.sub(SECTION, value)
    return value


def _columns_for(layout: Layout, first: Mapping[str, object] | None,
                 columns: Sequence[str] | None) -> list[str]:
    if not layout.header:
        names = list(layout.field_names)  # positional: every field, in order
    elif columns is not None:
        names = list(columns)
    elif first is None:
        names = list(layout.field_names)
    else:
        present = set(first)
        names = [f.name for f in layout.fields if f.name in present or f.name == DAT_ULT_MOD
                 or (f.required and present.isdisjoint(f.aliases))]
        names += [k for k in first if layout.get(k) is None]  # alternate names, extras
    if layout.has_dat_ult_mod and DAT_ULT_MOD not in names:
        names.append(DAT_ULT_MOD)
    for n in names:
        if layout.field_for(n) is None:
            raise RecordError(f"{layout.name} has no field {n}", field=n)
    return names


def write_records(fp: BinaryIO, layout: Layout, records: Iterable[Mapping[str, object]], *,
                  length_policy: str = "error", header: bool = True,
                  columns: Sequence[str] | None = None) -> WriteResult:
    """Write records as a canonical tracciato; RecordError names the record and the field.

    Columns: `columns` if given, else the layout fields present in the first record (plus
    the required ones and DAT_ULT_MOD) in layout order, then extra keys when the layout
    allows extras. Values: str as is (checked), None = empty, date/datetime formatted
    ddmmyyyy / ddmmyyyyhhmmss, Decimal/float/int with a comma within the field's scale,
    bool as -1/0. Text: | -> _, line breaks -> §, then the length policy (error or truncate
    with a warning). DAT_ULT_MOD is always 01011900000000. Does not check CHIAVE
    uniqueness (validate_file/canonicalize do).
    """
    if length_policy not in ("error", "truncate"):
        raise ValueError("length_policy must be 'error' or 'truncate'")
    truncate = length_policy == "truncate"
    result = WriteResult()
    it: Iterator[Mapping[str, object]] = iter(records)
    first = next(it, None)
    names = _columns_for(layout, first, columns)
    result.columns = names
    fields: list[Field] = [layout.field_for(n) or untyped(n) for n in names]
    known = set(names)
    with_header = header and layout.header
    fp.write(BOM)
    if with_header:
        fp.write(("|".join(names) + "\r\n").encode("utf-8"))
    if first is None:
        return result
    buf: list[str] = []
    number = 0
    for rec in _chain(first, it):
        number += 1
        extra = [k for k in rec if k not in known]
        if extra:
            raise RecordError(f"record {number}: field {extra[0]} is not a column of this "
                              f"{layout.name} file ({', '.join(names[:6])}...)",
                              field=extra[0], record=number)
        values = []
        for name, f in zip(names, fields, strict=True):
            if f.name == DAT_ULT_MOD:
                values.append(DAT_ULT_MOD_VALUE)
                continue
            values.append(_value(f, rec.get(name), number, truncate, result, layout))
        buf.append("|".join(values))
        result.rows += 1
        if len(buf) >= _FLUSH_ROWS:
            fp.write(("\r\n".join(buf) + "\r\n").encode("utf-8"))
            buf.clear()
    if buf:
        fp.write(("\r\n".join(buf) + "\r\n").encode("utf-8"))
    return result


def _chain(first: Mapping[str, object], rest: Iterator[Mapping[str, object]]
           ) -> Iterator[Mapping[str, object]]:
    yield first
    yield from rest


def _value(f: Field, value: object, number: int, truncate: bool, result: WriteResult,
           layout: Layout) -> str:
    try:
        text = f.format(value)
    except ValueError as exc:
        raise RecordError(f"record {number}, field {f.name}: {exc}", field=f.name,
                          record=number) from exc
    if isinstance(value, str) or f.kind == "C" or not f.typed:
        text = clean_text(text)
    if f.is_valid(text):
        return text
    if truncate and f.may_truncate and len(text) > f.length:
        result.warning_count += 1
        if len(result.warnings) < 1000:
            result.warnings.append(f"record {number}, field {f.name}: {len(text)} characters "
                                   f"cut to {f.length}")
        text = text[:f.length]
        if f.is_valid(text):
            return text
    rule = f.problem(text) or "invalid value"
    raise RecordError(f"record {number}, field {f.name}: {rule}", field=f.name, record=number,
                      layout=layout.name)
