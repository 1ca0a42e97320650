"""Layouts: the declarative description of every tracciato, loaded once from _table.py."""

from __future__ import annotations

import dataclasses
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
    # Where the layout comes from: (tag, place) pairs, e.g. ("AMH", "CSV/imp/rec_art.cs").
    refs: tuple[tuple[str, str], ...] = ()
    # False: DAT_ULT_MOD is accepted (and set to the constant) but not added when a file
    # lacks it, because no public writer or page of this tracciato has it.
    append_dat_ult_mod: bool = True
    alt_filenames: tuple[str, ...] = ()  # other names the sources give the same file
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)
    _by_alias: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "_by_alias", {a: f for f in self.fields for a in f.aliases})

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
        """True when the published file carries DAT_ULT_MOD (added when the source lacks it)."""
        return DAT_ULT_MOD in self._by_name and self.append_dat_ult_mod

    @property
    def sources(self) -> tuple[str, ...]:
        """The source tags of the layout, in table order (IW, DI, AMH, CIB, CIC)."""
        return tuple(dict.fromkeys(tag for tag, _ in self.refs))

    def get(self, name: str) -> Field | None:
        """The Field listed under exactly this name (aliases are not resolved)."""
        return self._by_name.get(name)

    def field_for(self, name: str) -> Field | None:
        """The Field of a header column: listed ones (by name or alternate name), or
        untyped when extras are allowed."""
        f = self._by_name.get(name) or self._by_alias.get(name)
        if f is None and self.extras_allowed:
            return untyped(name)
        return f

    def canonical_name(self, name: str) -> str | None:
        """The layout's name of the field when `name` is one of its known alternate names
        (VALUTA for COD_VALUTA in io_art_ultacq), else None (listed names included)."""
        f = self._by_alias.get(name)
        return f.name if f is not None else None

    def matches_filename(self, filename: str) -> bool:
        base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
        for name in (self.filename, *self.alt_filenames):
            pattern = name.lower()
            if any(c in pattern for c in "*?["):
                if fnmatch.fnmatchcase(base, pattern):
                    return True
            elif base == pattern:
                return True
        return False


_FIELD_RANGE = re.compile(r"^(.*)\{(\d+)\.\.(\d+)\}(.*)$")
_SOURCE_GROUP = re.compile(r"\[([^\]]*)\]")
# Columns whose value identifies or links records: a code, a key, a registration number.
_KEY_LIKE = re.compile(r"^(?:CHIAVE(?:_\w+)?|COD_\w+|CODICE|ID_\w+|(?:ULT_)?NUM_?REG)$")
KNOWN_SOURCES = ("IW", "DI", "AMH", "CIB", "CIC")
_REF_SPLIT = re.compile(r";\s*(?=(?:" + "|".join(KNOWN_SOURCES) + r") )")


def _expand(name: str) -> list[str]:
    m = _FIELD_RANGE.match(name)
    if m is None:
        return [name]
    head, lo, hi, tail = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    return [f"{head}{i}{tail}" for i in range(lo, hi + 1)]


def _expand_names(token: str) -> list[tuple[str, tuple[str, ...]]]:
    """NAME/ALIAS{1..3} -> [(NAME1, (ALIAS1,)), ...]: a name and its alternate names."""
    parts = [_expand(p) for p in token.split("/")]
    if any(len(p) != len(parts[0]) for p in parts):
        raise ValueError(f"{token}: a name and its aliases must expand to as many columns")
    return [(names[0], tuple(names[1:])) for names in zip(*parts, strict=True)]


def _make_field(name: str, aliases: tuple[str, ...], token: str,
                sources: tuple[str, ...]) -> Field:
    marked = "^" in token
    f = parse_type(name, token.replace("^", ""))
    key_like = marked or bool(_KEY_LIKE.match(name))
    return dataclasses.replace(f, sources=sources, aliases=aliases, key_like=key_like)


class _Draft:
    """One layout while its lines are read."""

    def __init__(self, head: str) -> None:
        spec, _, description = head.partition(" : ")
        parts = spec.split()
        self.name = parts[0]
        self.description = description.strip()
        self.flags: dict[str, str] = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            self.flags[k] = v
        self.refs: list[tuple[str, str]] = []
        self.tokens: list[tuple[str, str, tuple[str, ...]]] = []
        self._pending: str | None = None
        self._sources: tuple[str, ...] = ()

    def add_refs(self, text: str) -> None:
        for item in _REF_SPLIT.split(text):
            tag, _, place = item.strip().partition(" ")
            if tag:
                self._check_tags((tag,))
                self.refs.append((tag, place.strip()))

    def add_fields(self, text: str) -> None:
        pieces = _SOURCE_GROUP.split(text)
        for i, piece in enumerate(pieces):
            if i % 2:  # a [TAG TAG] group: the sources of the fields that follow
                self._sources = tuple(piece.split())
                self._check_tags(self._sources)
                continue
            for token in piece.split():
                if self._pending is None:
                    self._pending = token
                else:
                    self.tokens.append((self._pending, token, self._sources))
                    self._pending = None

    def _check_tags(self, tags: tuple[str, ...]) -> None:
        unknown = [t for t in tags if t not in KNOWN_SOURCES]
        if unknown:
            raise ValueError(f"layout {self.name}: unknown source tag(s) {unknown}")

    def build(self) -> Layout:
        if self._pending is not None:
            raise ValueError(f"layout {self.name}: odd number of tokens")
        flags = self.flags
        all_tags = tuple(dict.fromkeys(
            [t for t, _ in self.refs] + [t for _, _, src in self.tokens for t in src]))
        fields: list[Field] = []
        if "std" in flags or "nodum" in flags:
            fields.append(_make_field(CHIAVE, (), f"C{flags.get('chiave', '250')}!", all_tags))
            fields.append(_make_field(COD_DITTA, (), "C50!", all_tags))
        for spec, token, sources in self.tokens:
            for name, aliases in _expand_names(spec):
                fields.append(_make_field(name, aliases, token, sources))
        if "std" in flags:
            if flags.get("dum"):
                dum_tags = tuple(flags["dum"].split(","))
            else:  # dumopt: no source has it, the connector accepts it for compatibility
                dum_tags = () if "dumopt" in flags else all_tags
            self._check_tags(dum_tags)
            fields.append(_make_field(DAT_ULT_MOD, (), "DT", dum_tags))
        names = [f.name for f in fields] + [a for f in fields for a in f.aliases]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"layout {self.name}: names listed twice: {twice}")
        positional = "positional" in flags
        return Layout(
            name=self.name,
            description=self.description,
            fields=tuple(fields),
            filename=str(flags.get("file", f"{self.name}.dat")),
            key=CHIAVE if CHIAVE in names else None,
            header=not positional,
            extras_allowed="extras" in flags,
            minimum_set="min" in flags,
            group=str(flags.get("group", "")),
            min_fields=int(flags["minfields"]) if "minfields" in flags else None,
            refs=tuple(self.refs),
            alt_filenames=tuple(n for n in flags.get("alsofile", "").split(",") if n),
            append_dat_ult_mod="dumopt" not in flags,
        )


def _parse_table(text: str) -> dict[str, Layout]:
    layouts: dict[str, Layout] = {}
    current: _Draft | None = None

    def finish() -> None:
        if current is not None:
            if current.name in layouts:
                raise ValueError(f"layout {current.name} listed twice")
            layouts[current.name] = current.build()

    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@"):
            finish()
            current = _Draft(line[1:])
        elif current is None:
            raise ValueError(f"table line outside a layout: {line!r}")
        elif line.startswith("%"):
            current.add_refs(line[1:])
        else:
            current.add_fields(line)
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
    for layout in layouts.values():
        if any(n.lower().removesuffix(".dat") == lowered for n in layout.alt_filenames):
            return layout
    raise KeyError(f"unknown layout {name!r}; `connector layouts` lists them all")


def layout_for_filename(filename: str) -> Layout | None:
    """The layout of a file name (case-insensitive): io_clifor_gen.dat -> io_clifor_gen."""
    for layout in _layouts().values():
        if layout.matches_filename(filename):
            return layout
    return None
