"""`connector console password [--user NAME] [--role admin|viewer]`: set a console password.

The user is admin when --user is not given; a new user is an administrator unless --role
says viewer; an existing one keeps its role unless --role changes it. The password is read
from standard input when it is not a terminal (one line: `echo ... | connector console
password` in a set-up script), else asked twice without echo. It works while the daemon
runs (the users live in the state store) and ends that user's other sessions.
"""

from __future__ import annotations

import argparse
import getpass
import sys


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("console", help="the web console: set a user's password")
    csub = p.add_subparsers(dest="console_command", metavar="SUBCOMMAND")
    pw = csub.add_parser("password", help="set the password of a console user (admin by default)")
    pw.add_argument("--user", default="admin", metavar="NAME",
                    help="the user (default: admin); created when new")
    pw.add_argument("--role", choices=["admin", "viewer"], default=None,
                    help="admin: every action; viewer: read only (default: admin for a new "
                         "user, unchanged for an existing one)")
    pw.set_defaults(func=password)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _read_password() -> str | None:
    from connector.i18n import _

    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass(_("New password: "))
    if getpass.getpass(_("Again: ")) != first:
        print("connector: " + _("the two passwords differ; nothing changed"), file=sys.stderr)
        return None
    return first


def password(args: argparse.Namespace) -> int:
    from connector import i18n
    from connector.i18n import _
    from connector.state import StateStore
    from service.commands import config_from
    from service.console.users import UserError, Users, check_name

    cfg = config_from(args)
    i18n.set_default(cfg.locale)
    try:
        check_name(args.user)
    except UserError as exc:
        print(f"connector: {exc}", file=sys.stderr)
        return 2
    secret = _read_password()
    if secret is None:
        return 2
    users = Users(StateStore(cfg.state_dir))
    try:
        existed = users.get(args.user) is not None
        user = users.set_password(args.user, secret, args.role)
    except UserError as exc:
        print(f"connector: {exc}", file=sys.stderr)
        return 2
    from connector import controls

    controls.record_action(users.store, "user password set" if existed else "user added",
                           who="connector console password", target=user.name,
                           detail=f"({user.role})")
    role = _("administrator") if user.role == "admin" else _("viewer")
    text = (_("Password of {user} ({role}) changed; their other sessions are closed.")
            if existed else _("User {user} ({role}) created: log in to the console with it."))
    print(text.format(user=user.name, role=role))
    if cfg.console.http:
        scheme = "https" if cfg.console.tls_cert else "http"
        print(_("The console: {url}").format(url=f"{scheme}://{cfg.console.http}/"))
    else:
        print(_("The console is off: set console.http in the configuration to serve it."))
    return 0
