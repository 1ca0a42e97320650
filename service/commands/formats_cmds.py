"""connector validate | layouts | template: the formats/ library on the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from connector import i18n
from connector.config import Config, default_config_path
from connector.errors import ConfigError
from formats import get_layout, validate_file
from formats.dialect import Dialect, convert, dialect_for
from formats.fieldtypes import DAT_ULT_MOD, KIND_NAMES, Field
from formats.layout import Layout, all_layouts
from formats.templates import describe_layout, describe_layouts, template


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate", help="judge tracciati files; exit 0 no errors (warnings "
                       "allowed), 1 any error, 2 usage")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("--layout", metavar="LAYOUT", default=None,
                   help="judge every FILE as this layout instead of going by file name")
    p.add_argument("--max-errors", type=_count, default=1000, metavar="N",
                   help="keep at most N errors and N warnings per file (the rest are counted)")
    p.add_argument("--strict", action="store_true",
                   help="every warning is an error (the documented layout enforced)")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="the files to judge; the layout comes from each file's name (a CSV "
                        "matching one of the configuration's export.dialects is judged as "
                        "the export converts it; a medium by its name and its content)")
    p.set_defaults(func=validate_cmd)

    p = sub.add_parser("layouts", help="list the known tracciati")
    p.add_argument("name", nargs="?", metavar="LAYOUT", help="show the fields of one layout")
    p.add_argument("--fields", action="store_true",
                   help="show each field's type, documented length, alternate names and "
                        "sources (of LAYOUT, or of every layout)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=layouts_cmd)

    what = "print the header row of a tracciato and one example row, to start a file from"
    p = sub.add_parser("template", help=what, description=what[0].upper() + what[1:] + ".")
    p.add_argument("layout", metavar="LAYOUT",
                   help="the tracciato, e.g. io_citta (`connector layouts` lists them)")
    p.set_defaults(func=template_cmd)


def _layout_or_none(name: str) -> Layout | None:
    try:
        return get_layout(name)
    except KeyError:
        print(f"connector: unknown layout {name!r}; `connector layouts` lists them",
              file=sys.stderr)
        return None


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


def validate_cmd(args: argparse.Namespace) -> int:
    layout = None
    if args.layout:
        layout = _layout_or_none(args.layout)
        if layout is None:
            return 2
    paths = [Path(f) for f in args.files]
    missing = [p for p in paths if not p.is_file()]
    for p in missing:
        print(f"connector: {p}: no such file", file=sys.stderr)
    if missing:
        return 2
    from connector.i18n import _
    from service.progress import Progress, wanted

    cfg = None if layout is not None else _config_for_validate(args, paths)
    dialects = cfg.export.dialects if cfg is not None else []
    results = []
    all_valid = True
    # A bar on a terminal (stderr; the reports stay on stdout): over the files when there
    # are several, over the bytes of one big file.
    one_big = len(paths) == 1 and _size(paths[0]) >= _BIG_FILE
    with Progress(_("validating"), wanted(args) and (len(paths) > 1 or one_big)) as bar:
        for i, path in enumerate(paths):
            bar.update(i, len(paths), path.name)
            on_read = None
            if one_big:
                def on_read(done: int, size: int, name: str = path.name) -> None:
                    bar.update(done // 1024, size // 1024, _("{file} (KiB)").format(file=name))
            dialect = dialect_for(path.name, dialects) if dialects else None
            if dialect is not None and cfg is not None:
                report = _convert(path, dialect, cfg, args)
            else:
                report = validate_file(path, layout, max_errors=args.max_errors,
                                       strict=args.strict, on_read=on_read)
            all_valid &= report.valid
            if args.json:
                extra = {"dialect": dialect.match} if dialect is not None else {}
                results.append({"file": str(path), **extra, **report.to_dict()})
            else:
                sys.stdout.write(report.to_text(str(path), tr=i18n.catalog(),
                                                thousands=i18n.thousands()))
    if args.json:
        json.dump({"valid": all_valid, "strict": args.strict, "files": results}, sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return 0 if all_valid else 1


def _config_for_validate(args: argparse.Namespace, paths: list[Path]) -> Config | None:
    """The configuration, for its export.dialects and its locale: the one named (--config,
    an error when it is wrong), else ./connector.yaml ($CONNECTOR_CONFIG) if there is one
    (when it cannot be read, the files are judged without it; a note says so when a CSV
    file, which its dialects would have judged, is among them)."""
    from service.commands import config_from

    if args.config is None and not default_config_path().is_file():
        return None
    try:
        return config_from(args)
    except ConfigError as exc:
        if args.config is not None:
            raise
        if not any(p.suffix.lower() == ".csv" for p in paths):
            return None
        print(i18n._("connector: {path} not used (it is not valid: {problem}); CSV files are "
                     "judged without its export.dialects").format(
            path=default_config_path(), problem=exc.errors[0] if exc.errors else exc.message),
            file=sys.stderr)
        return None


def _convert(path: Path, dialect: Dialect, cfg: Config, args: argparse.Namespace) -> Any:
    """A dialect's CSV judged as the export converts it (the converted text discarded)."""
    with open(path, "rb") as src, open(os.devnull, "wb") as sink:
        return convert(src, sink, dialect, company=cfg.company,
                       length_policy=cfg.export.length_policy, max_errors=args.max_errors,
                       strict=args.strict or cfg.export.strictness == "strict")


def layouts_cmd(args: argparse.Namespace) -> int:
    if args.name:
        layout = _layout_or_none(args.name)
        if layout is None:
            return 2
        layouts = [layout]
    else:
        layouts = all_layouts()
    if args.json:
        if args.name or args.fields:
            data: object = [layout_dict(lay) for lay in layouts]
            if args.name:
                data = layout_dict(layouts[0])
        else:
            data = [{k: v for k, v in layout_dict(lay).items() if k != "fields"}
                    for lay in layouts]
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if args.fields:
        sys.stdout.write("\n\n".join(describe_fields(lay) for lay in layouts) + "\n")
        return 0
    if args.name:
        print(describe_layout(layouts[0]))
        return 0
    sys.stdout.write(describe_layouts(verbose=False))
    print("* = minimum set. `connector layouts LAYOUT --fields` shows the fields of one, "
          "with their sources.")
    return 0


def documented(f: Field) -> str:
    """The field's documented size: characters, digits, precision,scale or the format."""
    if not f.typed:
        return "-"
    if f.kind == "C":
        return str(f.documented_length or f.length)
    if f.kind == "I":
        return f"{f.length} digit{'s' if f.length > 1 else ''}"
    if f.kind in ("D", "L"):
        return f"{f.length},{f.scale}"
    return {"Dt": "ddmmyyyy", "DT": "ddmmyyyyhhmmss", "F": "0/-1"}[f.kind]


def _dat_ult_mod(layout: Layout) -> str:
    if layout.get(DAT_ULT_MOD) is None:
        return "none"
    return "added when missing" if layout.has_dat_ult_mod else "accepted, not added"


def describe_fields(layout: Layout) -> str:
    """One layout with, per field: type, documented size, flags, aliases and sources."""
    head = f"{layout.name}  ({layout.filename})  {layout.description}"
    lines = [head]
    if layout.alt_filenames:
        lines.append("  also named: " + ", ".join(layout.alt_filenames))
    lines.append(f"  key: {layout.key or 'none'}; DAT_ULT_MOD: {_dat_ult_mod(layout)}")
    for tag, place in layout.refs:
        lines.append(f"  {tag:<4} {place}")
    rows = [("#", "field", "type", "documented", "flags", "also named", "sources")]
    for i, f in enumerate(layout.fields, 1):
        flags = ",".join(flag for flag, on in (("required", f.required), ("key", f.key_like))
                         if on)
        rows.append((str(i), f.name, f.type_code, documented(f), flags,
                     " ".join(f.aliases), " ".join(f.sources)))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [r[c].rjust(widths[c]) if c == 0 else r[c].ljust(widths[c])
                 for c in range(len(widths))]
        lines.append(("    " + "  ".join(cells) + "  " + r[-1]).rstrip())
    return "\n".join(lines)


def layout_dict(layout: Layout) -> dict[str, Any]:
    return {
        "name": layout.name, "file": layout.filename, "also_named": list(layout.alt_filenames),
        "description": layout.description, "group": layout.group,
        "minimum_set": layout.minimum_set, "header": layout.header, "key": layout.key,
        "dat_ult_mod": _dat_ult_mod(layout), "sources": list(layout.sources),
        "refs": [{"source": tag, "place": place} for tag, place in layout.refs],
        "fields": [{
            "name": f.name, "type": f.type_code, "kind": KIND_NAMES[f.kind] if f.typed else None,
            "length": f.length if f.typed else None, "scale": f.scale if f.typed else None,
            "documented": documented(f), "documented_length": f.documented_length,
            "required": f.required, "typed": f.typed, "key_like": f.key_like,
            "aliases": list(f.aliases), "sources": list(f.sources),
        } for f in layout.fields],
    }


def template_cmd(args: argparse.Namespace) -> int:
    layout = _layout_or_none(args.layout)
    if layout is None:
        return 2
    sys.stdout.write(template(layout))
    return 0


_BIG_FILE = 8 * 1024 * 1024  # one file this big gets a bar of its own: seconds of work


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
