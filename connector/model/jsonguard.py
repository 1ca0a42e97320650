"""Bounds on JSON text from the network, checked before anything decodes it.

JSON decoders recurse once per level of nesting: an answer nested a few thousand levels
deep ends in RecursionError (or worse) in whatever decodes it next, and a number past
SQLite's 64-bit range ends in OverflowError where it is stored. Both are checked here,
in time linear in the text and without recursion, so that the decoders only ever see
text they can take:

- `within_depth(data, limit)`: is the nesting at most `limit` levels?
- `defuse(data, item_depth)`: an envelope whose items (the containers two levels down,
  `{"testate": [ITEM, ...]}`) may be nested too deeply: each such item is replaced by a
  placeholder string, so the envelope decodes; the placeholders map back to the items'
  own text, which is then refused item by item (quarantined alone).
- `shallow(data)`: an object with every nested container replaced by null, to read its
  top-level fields (the queue id) without decoding the rest.
- `storable_id(value)`: a queue id SQLite can hold (0 .. 2**63 - 1).

A leaf module: the AppManager client, the decode worker and the fuzzing harnesses use it.
"""

from __future__ import annotations

import re

# Levels of nesting an item may have. AppManager's deepest item (an order with rows whose
# details are lists of objects) is five levels deep; the decoders recurse about twice per
# level and Python stops at 1000 frames, so this leaves room either way.
ITEM_DEPTH = 32
ENVELOPE_DEPTH = ITEM_DEPTH + 2  # {"testate": [ item ]}
ID_MAX = 2**63 - 1  # SQLite INTEGER

_OTHER = bytes(b for b in range(256) if b not in b'[]{}"')
_STRING = re.compile(rb'"[^"]*"')  # in text reduced to brackets and quotes
_PAIR = re.compile(rb"[\[{][\]}]")
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+', re.S)
PLACEHOLDER = b'"\\u0000connector:too-deep:%d"'


def _brackets(data: bytes) -> bytes:
    """The text's brackets in order, those inside strings left out. Escaped backslashes
    and quotes go first (left to right, as a JSON reader takes them), so every quote left
    opens or closes a string; then everything but brackets and quotes; then the strings
    (most hold no bracket: `""` once reduced, dropped without a regular expression)."""
    if b"\\" in data:
        if b"\\\\" in data:
            data = data.replace(b"\\\\", b"")
        if b'\\"' in data:
            data = data.replace(b'\\"', b"")
    reduced = data.translate(None, _OTHER)
    if b'"' in reduced:
        reduced = reduced.replace(b'""', b"")
        if b'"' in reduced:
            reduced = _STRING.sub(b"", reduced)
    return reduced


def within_depth(data: bytes, limit: int) -> bool:
    """True when the JSON text nests at most `limit` levels (strings do not count).
    Text that is not JSON answers for its brackets as they stand: an unclosed run of
    openers is as deep as it is long, which is what a recursive decoder would meet
    before noticing the text is cut short."""
    if data.count(b"[") + data.count(b"{") <= limit:  # cannot be deeper: no scan needed
        return True
    rest = _brackets(data)
    # Each pass removes the innermost pairs, so k passes empty text of depth k. What no
    # pass can shorten has no opener followed by a closer: closers, then openers.
    for passes in range(limit + 1):
        if not rest:
            return True
        shorter = _PAIR.sub(b"", rest)
        if len(shorter) == len(rest):
            return passes + len(rest.lstrip(b"]}")) <= limit
        rest = shorter
    return not rest


def defuse(data: bytes, item_depth: int = ITEM_DEPTH) -> tuple[bytes, dict[bytes, bytes]]:
    """(the text with each too-deep item replaced by a placeholder, placeholder -> item).

    An item is a container opened two levels down; it is too deep when it nests more than
    `item_depth` levels. Text within ENVELOPE_DEPTH is returned as is, without a copy. A
    container that is too deep at the first two levels (the envelope itself) is left: the
    caller's depth check of the result refuses it."""
    if within_depth(data, item_depth + 2):
        return data, {}
    out: list[bytes] = []
    found: dict[bytes, bytes] = {}
    depth = 0
    kept = 0  # data[:kept] is in `out`
    start = -1  # where the item in hand began (-1: none)
    deepest = 0
    for m in _TOKEN.finditer(data):
        first = data[m.start()]
        if first == 0x22:  # a string
            continue
        n = m.end() - m.start()
        if first in b"[{":
            if depth <= 2 < depth + n and start < 0:
                start = m.start() + (2 - depth)
                deepest = 0
            depth += n
            if start >= 0:
                deepest = max(deepest, depth - 2)
            continue
        if start >= 0 and depth - n <= 2:
            end = m.start() + (depth - 2)
            if deepest > item_depth:
                mark = PLACEHOLDER % len(found)
                found[mark] = data[start:end]
                out += [data[kept:start], mark]
                kept = end
            start = -1
        depth = max(0, depth - n)
    if start >= 0 and deepest > item_depth:  # cut short inside an item
        mark = PLACEHOLDER % len(found)
        found[mark] = data[start:]
        out += [data[kept:start], mark]
        kept = len(data)
    if not found:
        return data, {}
    out.append(data[kept:])
    return b"".join(out), found


def shallow(data: bytes) -> bytes:
    """An object's text with every container below its first level replaced by null
    (`{"id": 3, "rows": [[...]]}` -> `{"id": 3, "rows": null}`); linear, no recursion."""
    out: list[bytes] = []
    depth = 0
    kept = 0
    start = -1
    for m in _TOKEN.finditer(data):
        first = data[m.start()]
        if first == 0x22:
            continue
        n = m.end() - m.start()
        if first in b"[{":
            if depth <= 1 < depth + n and start < 0:
                start = m.start() + (1 - depth)
            depth += n
            continue
        if start >= 0 and depth - n <= 1:
            end = m.start() + (depth - 1)
            out += [data[kept:start], b"null"]
            kept = end
            start = -1
        depth = max(0, depth - n)
    if start >= 0:
        out += [data[kept:start], b"null"]
        kept = len(data)
    out.append(data[kept:])
    return b"".join(out)


def storable_id(value: int | None) -> bool:
    """A queue id the journal can store (SQLite's INTEGER is 64-bit signed)."""
    return value is not None and 0 <= value <= ID_MAX


__all__ = ["ENVELOPE_DEPTH", "ID_MAX", "ITEM_DEPTH", "defuse", "shallow", "storable_id",
           "within_depth"]
