"""connector validate | layouts | template: the formats/ library on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from formats import get_layout, validate_file
from formats.layout import Layout
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
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=validate_cmd)

    p = sub.add_parser("layouts", help="list the known tracciati")
    p.add_argument("name", nargs="?", metavar="LAYOUT", help="show the fields of one layout")
    p.add_argument("--fields", action="store_true", help="show the fields of every layout")
    p.set_defaults(func=layouts_cmd)

    p = sub.add_parser("template", help="print a header-only file with one example row")
    p.add_argument("layout", metavar="LAYOUT")
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
    results = []
    all_valid = True
    for path in paths:
        report = validate_file(path, layout, max_errors=args.max_errors, strict=args.strict)
        all_valid &= report.valid
        if args.json:
            results.append({"file": str(path), **report.to_dict()})
        else:
            sys.stdout.write(report.to_text(str(path)))
    if args.json:
        json.dump({"valid": all_valid, "strict": args.strict, "files": results}, sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return 0 if all_valid else 1


def layouts_cmd(args: argparse.Namespace) -> int:
    if args.name:
        layout = _layout_or_none(args.name)
        if layout is None:
            return 2
        print(describe_layout(layout))
        return 0
    sys.stdout.write(describe_layouts(verbose=args.fields))
    if not args.fields:
        print("* = minimum set. `connector layouts LAYOUT` shows the fields of one.")
    return 0


def template_cmd(args: argparse.Namespace) -> int:
    layout = _layout_or_none(args.layout)
    if layout is None:
        return 2
    sys.stdout.write(template(layout))
    return 0
