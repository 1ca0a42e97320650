"""connector db init [--sql [--dialect NAME]]: the SQL sink's staging tables."""

from __future__ import annotations

import argparse

DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb", "mssql")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("db", help="the SQL sink's staging tables")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    init = dsub.add_parser("init", help="create the staging tables (idempotent; adds the columns "
                                        "a later version added to existing ones), or print their DDL")
    init.add_argument("--sql", action="store_true",
                      help="print the CREATE statements instead of running them")
    init.add_argument("--dialect", choices=DIALECTS, default=None,
                      help="with --sql: the database the DDL is for (default: that of import.erp.sql.url)")
    init.set_defaults(func=db_init)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def db_init(args: argparse.Namespace) -> int:
    from connector.app import build_sql_sink
    from service.commands import config_from

    cfg = config_from(args)
    # The DDL of a named dialect needs no database, so not the URL's secret either.
    sink = build_sql_sink(cfg, need_url=not (args.sql and args.dialect))
    if args.sql:
        print(sink.ddl(args.dialect), end="")
        return 0
    try:
        names = sink.create_tables()
        print(f"staging tables ready in {sink.engine.url.render_as_string(hide_password=True)}:")
        for name in names:
            print(f"  {name}")
        if sink.added_columns:
            print("columns added to existing tables (an earlier version made them):")
            for column in sink.added_columns:
                print(f"  {column}")
    finally:
        sink.close()
    if cfg.import_.erp.sink != "sql":
        print(f"note: import.erp.sink is {cfg.import_.erp.sink!r}; set it to sql to write here")
    return 0
