"""The reference pages, generated from the code and checked by tests/core/test_docs.py:

    python -m service.reference            # (make docs) write docs/reference/*.md
    python -m service.reference --check    # exit 1 naming each stale page

docs/reference/cli.md comes from the argument parser, docs/reference/configuration.md from
the configuration model (its frozen dataclasses; each key's description is the comment
beside or above its field, or else its entry in the model's KEY_DOCS). The parser and the
model are reached through one function each, so moving them changes one import here. The
pages depend on the code alone: never on the Python version or the terminal's width, as
argparse's own help text does.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import re
import sys
import textwrap
import tokenize
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml

REPO = Path(__file__).resolve().parents[1]
CLI_PAGE = Path("docs/reference/cli.md")
CONFIG_PAGE = Path("docs/reference/configuration.md")
REGENERATE = "make docs"

# Where each configuration section is explained: (guide page, its title), from docs/reference/.
GUIDES = {
    "": ("../guide/configuration.md", "Configuring the connector"),
    "log": ("../guide/service.md#logs", "Running as a service: logs"),
    "dropbox": ("../guide/dropbox-api.md", "Publishing through the Dropbox API"),
    "export": ("../guide/export.md", "Export"),
    "export.max_bad_rows": ("../guide/export.md#held-back-rows",
                            "Export: held-back rows"),
    "export.dialects[]": ("../guide/tracciati.md#erp-csv-exports-exportdialects",
                          "Tracciati: ERP CSV exports"),
    "import": ("../guide/import.md", "Importing from AppManager"),
    "import.appmanager": ("../guide/import.md#pointing-the-connector-at-a-real-appmanager",
                          "Importing: pointing the connector at a real AppManager"),
    "import.legacy": ("../guide/erp-sinks.md#the-legacy-return-files-appmanagers-deprecated-ascii-route",
                      "ERP sinks: the legacy return files"),
    "import.erp": ("../guide/erp-sinks.md", "Delivering to the ERP"),
    "import.erp.sql": ("../guide/erp-sinks.md#the-sql-sink", "ERP sinks: the SQL sink"),
    "import.erp.command": ("../guide/erp-sinks.md#the-command-sink",
                           "ERP sinks: the command sink"),
    "sandbox": ("../guide/import.md#trying-it-the-bundled-appmanager-sandbox",
                "Importing: the bundled AppManager sandbox"),
    "status": ("../guide/service.md#health-status-and-metrics-over-http",
               "Running as a service: health, status and metrics"),
    "console": ("../guide/console.md", "The web console"),
    "notifications": ("../guide/service.md#notifications", "Running as a service: notifications"),
    "service": ("../guide/service.md", "Running as a service"),
    "extract": ("../guide/extract.md", "Extracting from the ERP database"),
    "extract.schedule": ("../guide/extract.md#scheduling", "Extracting: scheduling"),
    "extract.jobs[].schedule": ("../guide/extract.md#scheduling", "Extracting: scheduling"),
    "extract.media.schedule": ("../guide/extract.md#scheduling", "Extracting: scheduling"),
    "extract.jobs[]": ("../guide/extract.md#writing-the-queries-for-an-erp",
                       "Extracting: writing the queries"),
    "extract.media": ("../guide/extract.md#catalog-media", "Extracting: catalog media"),
    "geocode": ("../guide/geocoding.md", "Geocoding"),
}


def cli_parser() -> argparse.ArgumentParser:
    """The connector's argument parser (the one place that knows where the CLI lives)."""
    from service.cli import build_parser

    return build_parser()


def config_model() -> tuple[type, dict[str, str], set[str], dict[str, str]]:
    """The configuration model: the root dataclass, the YAML names of fields whose Python
    names differ, the fields not read from YAML, and the descriptions kept apart."""
    from connector import config

    return config.Config, config._YAML_NAMES, config._NOT_FROM_YAML, config.KEY_DOCS


# --- the command line ------------------------------------------------------------------------

def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:  # type: ignore[type-arg]
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[
        tuple[str, str, argparse.ArgumentParser]]:
    """(full name, help, parser) of every command and sub-command, depth first."""
    sub = _subparsers(parser)
    if sub is None:
        return
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    for name, child in sub.choices.items():
        full = f"{prefix} {name}".strip()
        yield full, helps.get(name, ""), child
        yield from commands(child, full)


def _metavar(action: argparse.Action) -> str:
    if action.metavar is not None:
        names = action.metavar if isinstance(action.metavar, tuple) else (action.metavar,)
    elif action.choices is not None:
        names = ("{" + ",".join(map(str, action.choices)) + "}",)
    else:
        names = (action.dest if not action.option_strings else action.dest.upper(),)
    nargs = action.nargs
    if isinstance(nargs, int):
        return " ".join(names[i % len(names)] for i in range(nargs))
    one = names[0]
    return {None: one, "?": f"[{one}]", "*": f"[{one} ...]", "+": f"{one} [{one} ...]",
            argparse.REMAINDER: "..."}.get(nargs, one)


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _invocation(action: argparse.Action) -> str:
    if not action.option_strings:
        return _metavar(action)
    value = f" {_metavar(action)}" if _takes_value(action) else ""
    return ", ".join(action.option_strings) + value


def _synopsis(name: str, parser: argparse.ArgumentParser) -> str:
    groups = {id(a): g for g in parser._mutually_exclusive_groups for a in g._group_actions}
    parts, done = [f"connector {name}"], set()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            parts.append(f"{action.metavar or 'COMMAND'} ...")
            continue
        group = groups.get(id(action))
        if group is not None:
            if id(group) not in done:
                done.add(id(group))
                inner = " | ".join(_short(a) for a in group._group_actions)
                parts.append(f"({inner})" if group.required else f"[{inner}]")
            continue
        text = _short(action)
        parts.append(text if action.required or not action.option_strings else f"[{text}]")
    return " ".join(parts)


def _short(action: argparse.Action) -> str:
    if not action.option_strings:
        return _metavar(action)
    opt = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
    return f"{opt} {_metavar(action)}" if _takes_value(action) else opt


def _cell(text: str) -> str:
    """One line of a Markdown table cell, its text shown as written."""
    text = " ".join(text.split())
    for c in "\\|<*":
        text = text.replace(c, "\\" + c)
    return text


def _argument_help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%(" in text:
        text = text % dict(vars(action), prog=prog)
    extra = []
    if action.choices is not None and action.metavar is not None and not all(
            str(c) in text for c in action.choices):
        extra.append("one of " + ", ".join(f"`{c}`" for c in action.choices))
    default = action.default
    if (_takes_value(action) and default not in (None, argparse.SUPPRESS, [], "")
            and "default" not in text):
        extra.append(f"default `{default}`")
    if isinstance(action, argparse._AppendAction) and "repeatable" not in text:
        extra.append("repeatable")
    if action.required and action.option_strings:
        extra.append("required")
    return _cell("; ".join([text, *extra]) if extra else text)


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if a.help != argparse.SUPPRESS and not isinstance(
                a, argparse._HelpAction | argparse._SubParsersAction | argparse._VersionAction)]


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    parser = parser or cli_parser()
    out = ["# Command-line reference", "",
           f"<!-- Generated from the argument parser by `{REGENERATE}` "
           "(python -m service.reference): do not edit by hand. -->", "",
           "```", "connector [--config PATH] [--debug] [--version] COMMAND ...", "```", "",
           "What each command is for, with examples, is in the "
           "[guides](../guide/README.md#commands); exit codes: 0 success, 1 the work found "
           "problems, 2 usage or configuration error.", "",
           "| global option | what |", "|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        out.append(f"| `{_invocation(action)}` | {_argument_help(action, 'connector')} |")
    out += ["", "| command | what |", "|---|---|"]
    every = list(commands(parser))
    for name, help_text, _ in every:
        out.append(f"| [`{name}`](#{_slug('connector ' + name)}) | {_cell(help_text)} |")
    for name, help_text, child in every:
        level = "#" * (1 + len(name.split()))
        out += ["", f"{level} `connector {name}`", "", _cell(help_text), ""]
        if child.description:
            out += [_cell(child.description), ""]
        out += ["```", _synopsis(name, child), "```"]
        args = _arguments(child)
        if args:
            out += ["", "| argument | what |", "|---|---|"]
            out += [f"| `{_invocation(a)}` | {_argument_help(a, child.prog)} |" for a in args]
    return "\n".join(out) + "\n"


# --- the configuration ---------------------------------------------------------------------

def _comments(cls: type) -> dict[str, str]:
    """Field name -> the comment beside its line (or its last line), else the comment lines
    right above it."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    by_line: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            by_line[tok.start[0]] = tok.string.lstrip("#").strip()
    klass = ast.parse(source).body[0]
    assert isinstance(klass, ast.ClassDef)
    found: dict[str, str] = {}
    for stmt in klass.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        end = stmt.end_lineno or stmt.lineno
        beside = [by_line[n] for n in range(stmt.lineno, end + 1)
                  if n in by_line and lines[n - 1].lstrip()[:1] != "#"]
        above: list[str] = []
        n = stmt.lineno - 1
        while n >= 1 and lines[n - 1].lstrip().startswith("#"):
            above.insert(0, by_line.get(n, ""))
            n -= 1
        text = " ".join(beside) or " ".join(above)
        if text:
            found[stmt.target.id] = text
    return found


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        inner = [a for a in args if a is not type(None)]
        return (inner[0] if len(inner) == 1 else typing.Union[tuple(inner)],  # noqa: UP007
                type(None) in args)
    return tp, False


def _type_name(tp: Any) -> str:
    tp, nullable = _unwrap(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        name = " \\| ".join(f"`{a}`" for a in args)
    elif origin is list:
        name = f"list of {_type_name(args[0])}"
    elif origin is dict:
        name = f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    elif dataclasses.is_dataclass(tp):
        name = "section"
    else:
        name = {Path: "path", str: "text", int: "integer", float: "number",
                bool: "true/false"}.get(tp, getattr(tp, "__name__", str(tp)))
    return f"{name} or `null`" if nullable else name


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and _plain_yaml(value) != value:
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _plain_yaml(text: str) -> Any:
    """What YAML reads from the text written unquoted (None when it cannot)."""
    try:
        return yaml.safe_load(f"[{text}]")[0]
    except (yaml.YAMLError, IndexError):
        return None


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{_yaml_value(f.default)}`"
    if f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        return "" if dataclasses.is_dataclass(value) else f"`{_yaml_value(value)}`"
    return "required"


@dataclasses.dataclass
class Key:
    path: str
    type: str
    default: str
    comment: str  # beside or above its field
    key_doc: str  # its KEY_DOCS entry

    @property
    def description(self) -> str:
        return self.comment or self.key_doc


@dataclasses.dataclass
class Section:
    path: str
    doc: str
    note: str
    keys: list[Key]


def sections() -> list[Section]:
    """Every section of connector.yaml, depth first, with its keys."""
    root, yaml_names, not_from_yaml, key_docs = config_model()
    found: list[Section] = []

    def walk(cls: type, path: str, note: str) -> None:
        hints = typing.get_type_hints(cls)
        comments = _comments(cls)
        doc = inspect.cleandoc(cls.__doc__ or "") if cls.__doc__ and not cls.__doc__.startswith(
            cls.__name__ + "(") else ""
        section = Section(path, doc, note, [])
        found.append(section)
        nested: list[tuple[type, str, str]] = []
        for f in dataclasses.fields(cls):
            if f.name in not_from_yaml:
                continue
            name = yaml_names.get(f.name, f.name)
            key = f"{path}.{name}" if path else name
            tp, nullable = _unwrap(hints[f.name])
            if dataclasses.is_dataclass(tp):
                nested.append((typing.cast(type, tp), key,
                               "optional: absent (`null`) unless set" if nullable else ""))
                continue
            item = typing.get_args(tp)[0] if typing.get_origin(tp) is list else None
            if item is not None and dataclasses.is_dataclass(item):
                nested.append((typing.cast(type, item), f"{key}[]",
                               f"a list (default {_default(f)}), each entry a mapping of "
                               "these keys"))
                continue
            section.keys.append(Key(key, _type_name(hints[f.name]), _default(f),
                                    comments.get(f.name, ""), key_docs.get(key, "")))
        for child in nested:
            walk(*child)

    walk(root, "", "")
    return found


def config_reference() -> str:
    out = ["# Configuration reference (`connector.yaml`)", "",
           f"<!-- Generated from the configuration model by `{REGENERATE}` "
           "(python -m service.reference): do not edit by hand. -->", "",
           "Every key is optional except `company` and the keys marked required inside an "
           "optional section. Relative paths are relative to the folder of the configuration "
           "file; secrets are never values here, only the names of the environment variables "
           "that hold them. `connector check-config` checks a file against this model and "
           "lists every problem with its key path. The commented default is "
           "[connector.yaml](../../connector.yaml); how to set it up is in the "
           "[guides](../guide/configuration.md).", ""]
    every = sections()
    out += ["| section | explained in |", "|---|---|"]
    for s in every:
        link, title = _guide(s.path)
        out.append(f"| [{_title(s.path)}](#{_slug(_title(s.path))}) | [{title}]({link}) |")
    for s in every:
        out += ["", f"## {_title(s.path)}", ""]
        if s.doc:
            out += [" ".join(s.doc.split()), ""]
        if s.note:
            out += [s.note[0].upper() + s.note[1:] + ".", ""]
        link, title = _guide(s.path)
        out += [f"Explained in [{title}]({link}).", ""]
        if s.keys:
            out += ["| key | type | default | description |", "|---|---|---|---|"]
            out += [f"| `{k.path}` | {k.type} | {k.default} | {_cell(_describe(k.description))} |"
                    for k in s.keys]
    return "\n".join(out) + "\n"


def _title(path: str) -> str:
    return f"`{path}`" if path else "Top level"


def _guide(path: str) -> tuple[str, str]:
    """The guide of a section: its own, else its closest parent's."""
    while path not in GUIDES:
        path = path.rpartition(".")[0]
    return GUIDES[path]


def _describe(text: str) -> str:
    """A field's comment as a table cell: Python's None said as YAML's null, one sentence
    style (lower-case start, no closing full stop)."""
    text = re.sub(r"\bNone\b", "null", " ".join(text.split()))
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    return text[:-1] if text.endswith(".") and text.count(". ") == 0 else text


# --- pages ---------------------------------------------------------------------------------

def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def pages() -> dict[Path, str]:
    return {CLI_PAGE: cli_reference(), CONFIG_PAGE: config_reference()}


def stale(root: Path = REPO) -> list[Path]:
    """The committed pages that differ from what the code generates now."""
    found = []
    for rel, text in pages().items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            found.append(rel)
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m service.reference", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    ap.add_argument("--root", type=Path, default=REPO, help="the repository (default: this one)")
    args = ap.parse_args(argv)
    if args.check:
        old = stale(args.root)
        for rel in old:
            print(f"{rel} is stale: run `{REGENERATE}`", file=sys.stderr)
        return 1 if old else 0
    for rel, text in pages().items():
        path = args.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
