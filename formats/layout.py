"""Layouts: the declarative description of every tracciato, loaded once from _table.py."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cache

from formats._table import TABLE
from formats.fieldtypes import DAT_ULT_MOD, Field, parse_type, untyped

CHIAVE = "CHIAVE"
COD_DITTA = "COD_DITTA"


@dataclass(frozen=True)
class Layout:
    """One tracciato: its file name, its fields in documented order, and its rules."""

    name: str
    description: str
    fields: tuple[Field, ...]
    filename: str  # the canonical file name, e.g. io_citta.dat (a glob for legacy files)
    key: str | None = CHIAVE  # the column that must be unique in a file
    header: bool = True  # False: legacy positional AM_* files
    extras_allowed: bool = False  # columns not listed are accepted as untyped text
    minimum_set: bool = False
    group: str = ""
    min_fields: int | None = None  # positional layouts: lines may stop after this many
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {f.name: f for f in self.fields}
        for f in self.fields:
            for alias in f.aliases:
                by_name.setdefault(alias, f)
        object.__setattr__(self, "_by_name", by_name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def typed(self) -> bool:
        """False when the spec gives no type/length for some field (or no list at all)."""
        return all(f.typed for f in self.fields) and not self.extras_allowed

    @property
    def has_dat_ult_mod(self) -> bool:
        return DAT_ULT_MOD in self._by_name

    def get(self, name: str) -> Field | None:
        f = self._by_name.get(name)
        return f if f is not None and f.name == name else None

    def field_for(self, name: str) -> Field | None:
        """The Field of a header column: listed ones (by their documented or an alternate
        name), or untyped when extras are allowed."""
        f = self._by_name.get(name)
        if f is None and self.extras_allowed:
            return untyped(name)
        return f

    def canonical_name(self, name: str) -> str | None:
        """The documented name of a column when `name` is one of its known alternate names."""
        f = self._by_name.get(name)
        return f.name if f is not None and f.name != name else None

    def matches_filename(self, filename: str) -> bool:
        base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
        pattern = self.filename.lower()
        if any(c in pattern for c in "*?["):
            return fnmatch.fnmatchcase(base, pattern)
        return base == pattern


_FIELD_RANGE = re.compile(r"^(.*)\{(\d+)\.\.(\d+)\}(.*)$")


def _expand(name: str) -> list[str]:
    m = _FIELD_RANGE.match(name)
    if m is None:
        return [name]
    head, lo, hi, tail = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    return [f"{head}{i}{tail}" for i in range(lo, hi + 1)]


def _parse_table(text: str) -> dict[str, Layout]:
    layouts: dict[str, Layout] = {}
    current: dict[str, object] | None = None
    tokens: list[str] = []

    def finish() -> None:
        if current is None:
            return
        if len(tokens) % 2:
            raise ValueError(f"layout {current['name']}: odd number of tokens")
        flags = current["flags"]
        assert isinstance(flags, dict)
        fields: list[Field] = []
        if "std" in flags or "nodum" in flags:
            fields.append(parse_type(CHIAVE, f"C{flags.get('chiave', '250')}!"))
            fields.append(parse_type(COD_DITTA, "C50!"))
        for i in range(0, len(tokens), 2):
            for name in _expand(tokens[i]):
                fields.append(parse_type(name, tokens[i + 1]))
        if "std" in flags:
            fields.append(parse_type(DAT_ULT_MOD, "DT"))
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError(f"layout {current['name']}: duplicate field names")
        name = str(current["name"])
        positional = "positional" in flags
        layouts[name] = Layout(
            name=name,
            description=str(current["description"]),
            fields=tuple(fields),
            filename=str(flags.get("file", f"{name}.dat")),
            key=CHIAVE if CHIAVE in names else None,
            header=not positional,
            extras_allowed="extras" in flags,
            minimum_set="min" in flags,
            group=str(flags.get("group", "")),
            min_fields=int(flags["minfields"]) if "minfields" in flags else None,
        )

    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@"):
            finish()
            head, _, description = line[1:].partition(" : ")
            parts = head.split()
            flags: dict[str, str] = {}
            for p in parts[1:]:
                k, _, v = p.partition("=")
                flags[k] = v
            current = {"name": parts[0], "flags": flags, "description": description.strip()}
            tokens = []
        else:
            tokens.extend(line.split())
    finish()
    return layouts


@cache
def _layouts() -> dict[str, Layout]:
    return _parse_table(TABLE)


def all_layouts() -> list[Layout]:
    """Every known layout, in the order of tracciati.md."""
    return list(_layouts().values())


def get_layout(name: str) -> Layout:
    """The layout called `name` (io_citta, io_citta.dat and AM_ORD all work); KeyError if unknown."""
    layouts = _layouts()
    key = name.strip()
    if key in layouts:
        return layouts[key]
    lowered = key.lower().removesuffix(".dat")
    for layout in layouts.values():
        if layout.name.lower() == lowered:
            return layout
    raise KeyError(f"unknown layout {name!r}; `connector layouts` lists them all")


def layout_for_filename(filename: str) -> Layout | None:
    """The layout of a file name (case-insensitive): io_clifor_gen.dat -> io_clifor_gen."""
    for layout in _layouts().values():
        if layout.matches_filename(filename):
            return layout
    return None
