"""Nothing an agent entered is lost: the fields an item carries that the model does not
know are kept as sent (`extra`), bounded in depth; and a record sent without a unique_id
gets an identity derived from its content (`fallback_identity`), stable when AppManager
queues it again.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from connector.errors import RecordError

# The connector's own markers on the items of the legacy route (source, file, line): they
# have columns of their own in the SQL sink and are not the agents' data.
_INTERNAL_KEYS = frozenset({"_source", "_source_ref", "_line"})
_WIRE_NAMES: dict[type, frozenset[str]] = {}


def _wire_names(cls: type) -> frozenset[str]:
    """The item keys `cls` reads: its fields' wire names (righe, dettagli, clienti for the
    lists). The interpreted fields (kind, rows, uom, ...) count too: a key of that name is
    taken for ours, not passed through (AppManager sends none)."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = frozenset(f.encode_name for f in msgspec.structs.fields(cls)
                          if f.name != "extra") | _INTERNAL_KEYS
        _WIRE_NAMES[cls] = names
    return names


def extras_of(cls: type, item: dict[str, Any], prefix: str = "") -> dict[str, Any] | UnsetType:
    """The keys of `item` that `cls` does not read, with their values as sent; UNSET when
    there is none."""
    names = _wire_names(cls)
    extra = {k: plain(v, prefix + k) for k, v in item.items() if k not in names}
    return extra or UNSET


# Deeper than this, a value passed through is taken for a poison item, not agents' data.
MAX_DEPTH = 64


def plain(value: Any, where: str, depth: int = 0) -> Any:
    """A JSON value as sent: numbers the checking path read exactly (Decimal) become JSON
    numbers again, so a passed-through number stays a number. RecordError when nested
    deeper than MAX_DEPTH."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise RecordError(f"{where}: nested more than {MAX_DEPTH} levels deep", field=where)
        if isinstance(value, dict):
            return {k: plain(v, where, depth + 1) for k, v in value.items()}
        return [plain(v, where, depth + 1) for v in value]
    return value


def carries(value: Any, depth: int = 0) -> bool:
    """Does this value carry anything (a clienti entry of nulls and blanks does not)?
    (Called on values `plain` has bounded already.)"""
    if value is None or value == "":
        return False
    if isinstance(value, dict | list) and depth < MAX_DEPTH:
        values = value.values() if isinstance(value, dict) else value
        return any(carries(v, depth + 1) for v in values)
    return True


# Fallback identity ------------------------------------------------------------------------
# What is not part of a record's identity: the queue id (new when AppManager queues it
# again), unique_id (missing, which is why we are here), data_import (the time it entered
# the export queue: the lastDateImport filter works on it, so a re-queued record gets a
# new one) and our own markers.
_NOT_IDENTITY = frozenset({"id", "unique_id", "data_import"}) | _INTERNAL_KEYS
_canonical = msgspec.json.Encoder(order="sorted").encode
FALLBACK_PREFIX = "fp-"


def fallback_identity(item: dict[str, Any]) -> str:
    """The identity of a record sent without unique_id: `fp-` and the first 32 hex digits
    of the SHA-256 of its content (every key but id, unique_id and data_import, as JSON with
    the keys sorted, numbers as numbers). The same record queued again under a new queue
    id gets the same identity, so it lands once."""
    # The lists of an order (rows, their details) nest 4 levels below its fields.
    content = {k: plain(v, k, -4) for k, v in item.items() if k not in _NOT_IDENTITY}
    return FALLBACK_PREFIX + hashlib.sha256(_canonical(content)).hexdigest()[:32]
