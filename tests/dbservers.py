"""The database servers of this machine, for tests that need a real PostgreSQL or MariaDB.

Tests skip with the reason only when a server cannot be reached.
"""

from __future__ import annotations

import sqlalchemy as sa

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIA_URL = "mysql+pymysql://root:@127.0.0.1:3306/test?charset=utf8mb4"

_reachable: dict[str, str | None] = {}


def server_problem(url: str) -> str | None:
    """None when the server answers, else why not (cached per run)."""
    if url not in _reachable:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            _reachable[url] = None
        except Exception as exc:  # noqa: BLE001 - any failure means: skip with the reason
            _reachable[url] = f"{url.split('://', maxsplit=1)[0]} not reachable: {str(exc).splitlines()[0]}"
        finally:
            engine.dispose()
    return _reachable[url]
