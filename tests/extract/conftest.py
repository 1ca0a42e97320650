"""A demo ERP (customers, destinations, articles, price lists, stock) on SQLite and on the
real PostgreSQL and MariaDB of this machine (skipped with the reason when unreachable).
Server tables get a unique prefix per test and are dropped afterwards."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connector.config import Config
from tests.conftest import make_config_dict
from tests.dbservers import MARIA_URL, PG_URL, server_problem

TABLES = {
    "customers": """code VARCHAR(20) PRIMARY KEY, name VARCHAR(100), address VARCHAR(100),
        vat VARCHAR(20), zip VARCHAR(10), city VARCHAR(50), province VARCHAR(2),
        created DATE, credit DECIMAL(15,2), lat DECIMAL(10,6), lon DECIMAL(10,6),
        price_list VARCHAR(10), note VARCHAR(200)""",
    "destinations": """customer VARCHAR(20) NOT NULL, code VARCHAR(4) NOT NULL,
        name VARCHAR(100), address VARCHAR(100), city VARCHAR(50), province VARCHAR(2),
        preferred INTEGER, PRIMARY KEY (customer, code)""",
    "articles": """code VARCHAR(25) PRIMARY KEY, descr VARCHAR(255), family VARCHAR(4),
        family_descr VARCHAR(30), um VARCHAR(3), retail DECIMAL(18,4), min_qty DECIMAL(18,3),
        blocked INTEGER, image VARCHAR(100)""",
    "prices": """list VARCHAR(10) NOT NULL, article VARCHAR(25) NOT NULL, price DECIMAL(18,4),
        valid_from DATE, valid_to DATE, PRIMARY KEY (list, article)""",
    "stock": """article VARCHAR(25) NOT NULL, warehouse VARCHAR(2) NOT NULL,
        on_hand DECIMAL(18,3), available DECIMAL(18,3), PRIMARY KEY (article, warehouse)""",
}


def demo_rows(today: dt.date) -> dict[str, list[dict[str, Any]]]:
    customers = [
        {"code": f"C{i:03d}", "name": f"Ferramenta {['Rossi', 'Bianchi', 'Verdi'][i % 3]} {i}",
         "address": f"Via Roma {i}", "vat": f"IT{i:011d}", "zip": "35031",
         "city": "Abano Terme", "province": "PD", "created": dt.date(2020, 1 + i % 12, 1 + i),
         "credit": Decimal("1500.00") + i, "lat": Decimal("45.360100"),
         "lon": Decimal("11.789700"), "price_list": "L1" if i % 2 else "L2",
         "note": "pays late | call first\nsecond line" if i == 3 else None}
        for i in range(1, 21)]
    destinations = [
        {"customer": f"C{i:03d}", "code": f"D{j}", "name": f"Magazzino {j}",
         "address": f"Via Po {i * j}", "city": "Padova", "province": "PD",
         "preferred": 1 if j == 1 else 0}
        for i in range(1, 16) for j in (1, 2)]
    articles = [
        {"code": f"A{i:04d}", "descr": f"Vite M{i % 12} x {i} zincata", "family": f"F{i % 5}",
         "family_descr": f"Famiglia {i % 5}", "um": "PZ", "retail": Decimal("0.1234") * i,
         "min_qty": Decimal("1.000"), "blocked": 1 if i % 17 == 0 else 0,
         "image": f"A{i:04d}.jpg" if i <= 3 else None}
        for i in range(1, 51)]
    prices = [
        {"list": lst, "article": f"A{i:04d}", "price": Decimal("1.5") * i,
         "valid_from": dt.date(2024, 1, 1),
         "valid_to": None if i % 10 else today - dt.timedelta(days=400)}
        for lst in ("L1", "L2") for i in range(1, 31)]
    stock = [
        {"article": f"A{i:04d}", "warehouse": w, "on_hand": Decimal("10.5") * i,
         "available": Decimal("9.25") * i}
        for i in range(1, 41) for w in ("01", "02")]
    return {"customers": customers, "destinations": destinations, "articles": articles,
            "prices": prices, "stock": stock}


# The queries an integrator writes for this ERP ({p} is the table prefix of the test).
QUERIES = {
    "io_clifor_gen": """
        SELECT 0 AS tipo_clifor, c.code AS cod_clifor, c.name AS rag_soc, c.address AS indirizzo,
               c.vat AS partita_iva, c.zip AS cap, c.city AS citta, c.province AS provincia,
               c.lat AS latitudine, c.lon AS longitudine, c.created AS data_creazione,
               c.credit AS fido_aziendale, c.price_list AS cod_listino, c.note AS tag
        FROM {p}customers c ORDER BY c.code""",
    "io_clifor_dest": """
        SELECT 0 AS tipo_clifor, d.customer AS cod_clifor, d.code AS cod_dest,
               d.preferred AS preferenziale, d.name AS rag_soc_dest, d.address AS indirizzo,
               d.city AS citta, d.province AS provincia
        FROM {p}destinations d ORDER BY d.customer, d.code""",
    "io_art": """
        SELECT a.code AS cod_art, a.descr AS des_art, a.family AS cod_fam,
               a.family_descr AS des_fam, a.um AS um1,
               CASE WHEN a.blocked = 1 THEN 'BLK' ELSE '' END AS cod_stato,
               a.min_qty AS qta_min_vend, a.retail AS prezzo_retail
        FROM {p}articles a ORDER BY a.code""",
    "io_listini_full": """
        SELECT p.list AS cod_listino, p.article AS cod_art, p.price AS prezzo,
               p.valid_from AS data_inizio, p.valid_to AS data_fine
        FROM {p}prices p
        WHERE p.valid_to IS NULL OR p.valid_to >= :since_180
        ORDER BY p.list, p.article""",
    "io_giacenze": """
        SELECT s.article AS cod_articolo, s.warehouse AS cod_deposito, s.on_hand AS giacenza,
               s.available AS disponibilita, 'PZ' AS um1
        FROM {p}stock s ORDER BY s.article, s.warehouse""",
}
KEYS = {
    "io_clifor_gen": "{COD_DITTA}§{COD_CLIFOR}",
    "io_clifor_dest": "{COD_DITTA}§{COD_CLIFOR}§{COD_DEST}",
    "io_art": "{COD_DITTA}§{COD_ART}",
    "io_listini_full": "{COD_DITTA}§{COD_LISTINO}§{COD_ART}",
    "io_giacenze": "{COD_DITTA}§{COD_ARTICOLO}§{COD_DEPOSITO}",
}


@dataclass
class DemoErp:
    kind: str
    url: str
    prefix: str
    engine: sa.Engine

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql.replace("{p}", self.prefix)), params or {})

    def jobs(self, names: list[str] | None = None, **extra: Any) -> list[dict[str, Any]]:
        return [{"layout": n, "query": QUERIES[n].replace("{p}", self.prefix), "key": KEYS[n],
                 **extra} for n in (names or list(QUERIES))]


def _create(erp: DemoErp) -> None:
    rows = demo_rows(dt.date.today())
    with erp.engine.begin() as conn:
        for name, ddl in TABLES.items():
            conn.execute(sa.text(f"CREATE TABLE {erp.table(name)} ({ddl})"))
            cols = list(rows[name][0])
            if erp.kind == "sqlite":  # sqlite3 binds no Decimal; a NUMERIC column keeps a number
                rows[name] = [{k: float(v) if isinstance(v, Decimal) else v
                               for k, v in r.items()} for r in rows[name]]
            conn.execute(sa.text(f"INSERT INTO {erp.table(name)} ({', '.join(cols)}) VALUES "
                                 f"({', '.join(':' + c for c in cols)})"), rows[name])


def _drop(erp: DemoErp) -> None:
    with erp.engine.begin() as conn:
        for name in TABLES:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {erp.table(name)}"))
    erp.engine.dispose()


def open_erp(kind: str, tmp_path: Path) -> DemoErp:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    else:
        url = PG_URL if kind == "postgresql" else MARIA_URL
        problem = server_problem(url)
        if problem:
            pytest.skip(problem)
    erp = DemoErp(kind, url, f"t{uuid.uuid4().hex[:8]}_", sa.create_engine(url))
    _create(erp)
    return erp


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def erp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DemoErp]:
    e = open_erp(request.param, tmp_path)
    yield e
    _drop(e)


@pytest.fixture
def sqlite_erp(tmp_path: Path) -> Iterator[DemoErp]:
    e = open_erp("sqlite", tmp_path)
    yield e
    _drop(e)


@pytest.fixture
def extract_config(tmp_path: Path) -> Callable[..., Config]:
    """A Config whose extract section reads `erp`; keyword arguments go into extract:."""
    from connector.config import parse_config

    def make(erp: DemoErp, *, jobs: list[dict[str, Any]] | None = None,
             **extract: Any) -> Config:
        section = {"enabled": True, "url": erp.url,
                   "jobs": jobs if jobs is not None else erp.jobs(), **extract}
        return parse_config(make_config_dict(tmp_path, extract=section), tmp_path)

    return make
