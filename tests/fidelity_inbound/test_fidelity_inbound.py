"""The inbound fidelity corpus: records shaped as each public writer shapes them (AMHelper's
web-service classes across their history, the reference connector's reading code, the API
documentation pages; `records/*.json`, the source noted in each file, values synthetic)
go through the real import path (the sandbox over HTTP, the client, the journal) into
every ERP sink: files (JSON and tracciato), SQL staging tables (SQLite, PostgreSQL,
MariaDB) and a command. Each is accepted, delivered once, and every field it carried is
at the ERP: in its column or model field, or in `extra` - including a field no version
of the library has, added at every level of every record. The tracciato carries what its
positions can (`CARRIED`); the rest of a record is not in those files by design."""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from adapters.appmanager.client import AppManagerClient
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.command_sink import CommandSink, CommandSinkSettings
from adapters.erp.files_render import safe_part
from adapters.erp.files_sink import FilesSink
from adapters.erp.sql_sink import SqlSink, SqlSinkSettings
from connector.errors import RecordError
from connector.importing.journal import Journal
from connector.importing.poller import Importer
from connector.model import Order, decode_raw, parse_wire_datetime
from connector.ports import ErpSink
from connector.state import StateStore
from tests.dbservers import MARIA_URL, PG_URL, server_problem

HERE = Path(__file__).parent
KEY = "fidelity-key"
UNKNOWN = "zz_campo_nuovo"  # a field no version of AMHelper has
SINKS = ["files-json", "files-tracciato", "sql-sqlite", "sql-postgresql", "sql-mariadb",
         "command"]
TOP_TABLES = {"orders": "orders", "customers": "customer_changes",
              "customer_notes": "customer_notes", "leads": "leads", "lead_notes": "lead_notes",
              "activities": "activities"}


@dataclass(frozen=True)
class Case:
    name: str  # file stem [index]
    stream: str
    item: dict[str, Any]  # as the writer shapes it, plus UNKNOWN at every level


def _with_unknown(stream: str, item: dict[str, Any]) -> dict[str, Any]:
    item = json.loads(json.dumps(item))
    item[UNKNOWN] = {"nested": [1, 2.5, "x"], "flag": False}
    for i, row in enumerate(item.get("righe") or []):
        row[UNKNOWN] = f"riga-{i}"
        for j, det in enumerate(row.get("dettagli") or []):
            det[UNKNOWN] = i * 10 + j
    for cust in (item.get("clienti") or [])[:1]:
        cust[UNKNOWN] = True
    return item


def _corpus() -> list[Case]:
    cases = []
    for path in sorted((HERE / "records").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["source"] and data["writer"], path.name  # every file says where from
        for i, item in enumerate(data["records"]):
            cases.append(Case(f"{path.stem}[{i}]", data["stream"],
                              _with_unknown(data["stream"], item)))
    return cases


CASES = _corpus()


# What reached the ERP ---------------------------------------------------------------------
MISSING = object()


@dataclass
class Landed:
    kind: str
    company: str
    folder: Path
    sql: SqlSink | None
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # case -> (key, unique_id)
    queue_ids: dict[str, int] = field(default_factory=dict)  # case -> the sandbox's queue id
    states: dict[str, str] = field(default_factory=dict)  # key -> journal state
    warnings: dict[str, list[str]] = field(default_factory=dict)  # key -> warnings


def _open_sink(kind: str, root: Path) -> tuple[ErpSink, SqlSink | None]:
    if kind.startswith("files-"):
        return FilesSink(root / "erp", kind.removeprefix("files-"), company="ACME"), None
    if kind == "command":
        cfg = CommandSinkSettings(argv=[sys.executable, str(HERE / "erp_copy.py"), "{file}",
                                      str(root / "erp")],
                                timeout_seconds=30, workdir=root / "work",
                                ledger=root / "state" / "erp_command.sqlite")
        (root / "work").mkdir(parents=True, exist_ok=True)
        return CommandSink(cfg), None
    db = kind.removeprefix("sql-")
    url = {"sqlite": f"sqlite:///{root / 'staging.sqlite'}", "postgresql": PG_URL,
           "mariadb": MARIA_URL}[db]
    if db != "sqlite":
        problem = server_problem(url)
        if problem:
            pytest.skip(problem)
    sink = SqlSink(SqlSinkSettings(url=url, table_prefix=f"f{uuid.uuid4().hex[:8]}_"))
    sink.create_tables()
    return sink, sink


@pytest.fixture(scope="module", params=SINKS)
def landed(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landed]:
    """The whole corpus imported once into one sink kind, as `connector run` would."""
    kind: str = request.param
    root = tmp_path_factory.mktemp(kind)
    sink, sql = _open_sink(kind, root)
    sb = SandboxServer(root / "sandbox.sqlite", auth_key=KEY, seed=False).start()
    store = StateStore(root / "state")
    journal = Journal(store)
    client = AppManagerClient(sb.url, KEY, attempts=2, retry_initial=0.01, retry_max=0.05)
    out = Landed(kind, "ACME", root / "erp", sql)
    try:
        for case in CASES:
            (qid,) = sb.store.enqueue_many(case.stream, [case.item])
            rec = decode_raw(case.stream, msgspec.json.encode({**case.item, "id": qid}))
            out.keys[case.name] = (rec.key, rec.unique_id)
            out.queue_ids[case.name] = qid
        result = Importer(client, journal, sink, store, page_size=50).run_cycle()
        assert not result.problems, result
        assert sum(s.delivered for s in result.streams.values()) == len(CASES)
        for e in journal.entries():
            out.states[e.key] = e.state
        for w in journal.warnings(limit=1000):
            out.warnings.setdefault(w.key, []).append(w.warning)
        yield out
    finally:
        client.close()
        sb.close()
        store.close()
        if sql is not None:
            sql.drop_tables()
        sink.close()


# Reading the ERP side back ------------------------------------------------------------------
Part = tuple[Any, ...]  # ("head",) ("row", i) ("det", i, j) ("cust",)


def _expected(item: dict[str, Any]) -> Iterator[tuple[Part, str, Any]]:
    """(part, key, value) for every field the record carried."""
    for k, v in item.items():
        if k not in ("righe", "clienti"):
            yield ("head",), k, v
    for i, row in enumerate(item.get("righe") or []):
        for k, v in row.items():
            if k != "dettagli":
                yield ("row", i), k, v
        for j, det in enumerate(row.get("dettagli") or []):
            for k, v in det.items():
                yield ("det", i, j), k, v
    clienti = item.get("clienti") or []
    if clienti and not (item.get("cod_clifor") or "").strip():
        for k, v in clienti[0].items():
            yield ("cust",), k, v


def _json_part(doc: dict[str, Any], part: Part) -> dict[str, Any]:
    rec = doc["record"]
    if part[0] == "head":
        return rec  # type: ignore[no-any-return]
    if part[0] == "row":
        return rec["rows"][part[1]]  # type: ignore[no-any-return]
    if part[0] == "det":
        return rec["rows"][part[1]]["details"][part[2]]  # type: ignore[no-any-return]
    return rec["new_customer"]  # type: ignore[no-any-return]


def _from_json_part(obj: dict[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    return (obj.get("extra") or {}).get(key, MISSING)


def _sql_row(landed: Landed, stream: str, uid: str, part: Part) -> dict[str, Any]:
    sink = landed.sql
    assert sink is not None
    s = sink.schema
    if part[0] == "head":
        logical, where = TOP_TABLES[stream], [s.col(TOP_TABLES[stream], "unique_id") == uid]
    elif part[0] == "row":
        logical = "order_rows"
        where = [s.col(logical, "order_unique_id") == uid, s.col(logical, "row_no") == part[1] + 1]
    elif part[0] == "det":
        logical = "order_row_details"
        where = [s.col(logical, "order_unique_id") == uid, s.col(logical, "row_no") == part[1] + 1,
                 s.col(logical, "detail_no") == part[2] + 1]
    else:
        logical, where = "new_customers", [s.col("new_customers", "order_unique_id") == uid]
    with sink.engine.connect() as conn:
        (row,) = conn.execute(sa.select(s.tables[logical]).where(*where)).all()
    return dict(row._mapping)


def _from_sql_row(row: dict[str, Any], part: Part, stream: str, key: str) -> Any:
    if key == "id":
        return row["queue_id" if part[0] == "head" else "row_queue_id"]
    if stream == "leads" and key == "fatturato":
        return row["fatturato_text"]
    if key in row:
        return row[key]
    return json.loads(row["extra"] or "{}").get(key, MISSING)


# The legacy layouts: field -> (position, kind). Only these fields have a position.
CARRIED: dict[str, dict[Part | str, dict[str, tuple[int, str]]]] = {
    "orders": {
        "head": {"cod_ditta": (0, "text"), "ext_cod_tipo_ord": (1, "text"),
                 "data_ordine": (2, "date"), "guid_test_ord": (3, "text"),
                 "cod_clifor": (4, "text"), "cod_agente": (5, "text"),
                 "cod_destinazione": (8, "text"), "cod_cond_pag": (32, "text"),
                 "cod_cond_pag_deperibilita": (33, "text"), "cod_operatore": (34, "text"),
                 "note": (36, "text"), "cod_serie_ordini": (52, "text"),
                 "num_doc_aggiunta": (53, "text")},
        "row": {"note": (7, "text"), "ext_cod_tipo_riga_ord": (9, "code"),
                "codice_articolo": (10, "text"), "descrizione_riga": (11, "text"),
                "cod_um_1": (12, "text"), "cod_um_2": (13, "text"), "qta": (14, "dec"),
                "qta_2": (15, "dec"), "prezzo": (16, "dec"), "prezzo_2": (17, "dec"),
                "tipo_um": (18, "code"), "ext_cod_tipo_riga_omag": (19, "code"),
                **{f"sconto_{k}": (19 + k, "dec") for k in range(1, 7)},
                "sconto_importo": (26, "dec"), "mag_perc_1": (27, "dec"),
                "mag_perc_2": (28, "dec"), "mag_importo": (29, "dec"),
                "codice_confezione": (30, "text"), "qta_confezione": (31, "dec"),
                "data_consegna_riga": (35, "date")},
        "cust": {"telefono1": (3, "text"), "telefono": (3, "text"), "telefono2": (4, "text"),
                 "fax": (5, "text"), "cellulare": (6, "text"), "email": (7, "text"),
                 "partita_iva": (8, "text"), "ragione_sociale": (9, "text"),
                 "indirizzo": (10, "text"), "cap": (11, "text"), "des_citta": (12, "text"),
                 "provincia": (13, "text"), "cod_cond_pag": (14, "text"),
                 "codice_fiscale": (15, "text")},
    },
    "customers": {"head": {"cod_ditta": (0, "text"), "cod_cliente": (1, "text"),
                           "telefono1": (3, "text"), "telefono2": (4, "text"), "fax": (5, "text"),
                           "cellulare": (6, "text"), "email": (7, "text"),
                           "partita_iva": (8, "text"), "ragione_sociale": (9, "text"),
                           "indirizzo": (10, "text"), "cap": (11, "text"), "citta": (12, "text"),
                           "provincia": (13, "text"), "cod_cond_pag": (14, "text"),
                           "codice_fiscale": (15, "text"), "unique_id": (16, "text")}},
    "customer_notes": {"head": {"cod_ditta": (0, "text"), "cod_cliente": (1, "text"),
                                "progressivo": (3, "text"), "tipo_nota": (4, "text"),
                                "nota": (5, "text"), "unique_id": (6, "text")}},
}


def _dat_lines(folder: Path, name: str) -> list[list[str]]:
    text = (folder / name).read_bytes().decode("utf-8-sig")
    return [line.split("|") for line in text.split("\r\n") if line]


@dataclass(frozen=True)
class _Matched:
    """A legacy-layout value already compared with what the layout should carry there."""

    ok: bool
    want: Any
    got: Any


# Comparing ---------------------------------------------------------------------------------
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def _norm(v: Any) -> Any:
    """A value as sent or as landed, in one comparable form: numbers as Decimal, dates as
    wall-clock time to the second, text as text, nested values element by element."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float | Decimal):
        return Decimal(str(v)).normalize()
    if isinstance(v, datetime):
        return v.replace(tzinfo=None, microsecond=0)
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    text = str(v)
    if _NUMBER.fullmatch(text.strip()):
        return Decimal(text.strip().replace(",", ".")).normalize()
    try:
        d = parse_wire_datetime(text)
    except RecordError:
        return text
    return d.replace(tzinfo=None, microsecond=0) if d else None


def _same(sent: Any, got: Any, key: str) -> bool:
    if key == "guid_test_ord" and isinstance(sent, str) and isinstance(got, str):
        return sent.strip().lower() == got.strip().lower()  # one device guid, any case
    return bool(_norm(sent) == _norm(got))


def _tracciato_value(case: Case, part: Part, key: str, kind: str, got: str) -> tuple[Any, Any]:
    """(expected, landed) for a field of the legacy layout, in comparable form."""
    item = case.item
    if kind == "date":
        sent = item[key] if part[0] == "head" else item["righe"][part[1]][key]
        d = parse_wire_datetime(sent)
        return (d.date() if d else None), (datetime.strptime(got, "%d%m%Y").date() if got else None)
    if kind == "code":  # written as the model reads it (the reference connector's reading)
        order = decode_raw("orders", msgspec.json.encode({**item, "id": 1})).model
        assert isinstance(order, Order)
        r = order.rows[part[1]]
        want = {"ext_cod_tipo_riga_ord": "2" if r.is_descriptive else "0",
                "ext_cod_tipo_riga_omag": {"normal": "0", "free_goods_recharged": "1",
                                           "free_goods_not_recharged": "2",
                                           "goods_discount": "3",
                                           "goods_discount_not_in_total": "4"}[r.free_goods],
                "tipo_um": ("0" if r.is_descriptive and (r.tipo_um or "").strip() == "0"
                            else {"primary": "1", "secondary": "2", "package": "3"}[r.uom])}
        return want[key], got
    sent = _sent(case, part, key)
    if kind == "dec":
        return _norm(sent), _norm(got.replace(",", ".") if got else None)
    if key == "guid_test_ord":
        return sent, got
    if key == "cod_ditta":
        return (sent or "").strip() or "ACME", got
    return _norm(sent), _norm(got)


def _sent(case: Case, part: Part, key: str) -> Any:
    item = case.item
    if part[0] == "head":
        return item.get(key)
    if part[0] == "row":
        return item["righe"][part[1]].get(key)
    if part[0] == "det":
        return item["righe"][part[1]]["dettagli"][part[2]].get(key)
    return item["clienti"][0].get(key)


# The tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_field_of_every_writer_reaches_the_erp(landed: Landed, case: Case) -> None:
    key, uid = landed.keys[case.name]
    assert landed.states[key] == "delivered"
    lookup = _reader(landed, case, uid)
    missing, wrong = [], []
    for part, k, sent in _expected(case.item):
        if k == "unique_id" and not str(sent or "").strip():
            assert uid.startswith("fp-") and "identity is derived" in landed.warnings[key][0]
            continue
        if part == ("head",) and k == "id":
            sent = landed.queue_ids[case.name]  # the queue id is AppManager's (the sandbox's)
        got = lookup(part, k)
        if got is SKIP:
            continue
        if got is MISSING:
            missing.append(f"{part} {k}")
        elif isinstance(got, _Matched):
            if not got.ok:
                wrong.append(f"{part} {k}: the layout should carry {got.want!r}, has {got.got!r}")
        elif not _same(sent, got, k):
            wrong.append(f"{part} {k}: sent {sent!r}, at the ERP {got!r}")
    assert not missing and not wrong, f"{landed.kind} {case.name}: missing {missing}, " \
                                      f"different {wrong}"


SKIP = object()


def _reader(landed: Landed, case: Case, uid: str) -> Callable[[Part, str], Any]:
    stream = case.stream
    if landed.kind in ("files-json", "command") or (
            landed.kind == "files-tracciato" and stream not in CARRIED):
        name = (f"{stream}_{safe_part(uid)}.json" if landed.kind.startswith("files")
                else f"{stream}-{uid}.json")
        doc = json.loads((landed.folder / name).read_text(encoding="utf-8"))

        def from_json(part: Part, k: str) -> Any:
            if part[0] == "head" and k == "id":
                return doc["id"]
            return _from_json_part(_json_part(doc, part), k)
        return from_json
    if landed.kind == "files-tracciato":
        ditta = (case.item.get("cod_ditta") or "").strip() or landed.company
        layout = {"orders": "AM_ORD", "customers": "AM_CF_ANA", "customer_notes": "AM_CF_NOTE"}
        lines = _dat_lines(landed.folder, f"{layout[stream]}_{ditta}_{safe_part(uid)}.DAT")
        new = (_dat_lines(landed.folder, f"AM_CF_ANA_{ditta}_NEW_{safe_part(uid)}.DAT")
               if stream == "orders" and case.item.get("clienti")
               and not case.item.get("cod_clifor") else None)

        def from_dat(part: Part, k: str) -> Any:
            where = CARRIED[stream].get(part[0], {}).get(k)
            if where is None:
                return SKIP  # no position for it in the legacy layout
            pos, kind = where
            line = (new[0] if part[0] == "cust" and new else
                    lines[part[1]] if part[0] == "row" else lines[0])
            want, got = _tracciato_value(case, part, k, kind, line[pos])
            return _Matched(want == got, want, got)
        return from_dat

    def from_sql(part: Part, k: str) -> Any:
        return _from_sql_row(_sql_row(landed, stream, uid, part), part, stream, k)
    return from_sql


def test_the_corpus_covers_every_field_the_model_knows() -> None:
    """Every field of every model struct is sent by some record of the corpus (the model
    has no field no writer sends), and every record is in a file that names its source."""
    from connector.model import STREAM_MODELS, NewCustomer, OrderRow, RowDetail

    sent: dict[type, set[str]] = {}
    for case in CASES:
        cls = STREAM_MODELS[case.stream]
        for part, k, _ in _expected(case.item):
            owner = {"head": cls, "row": OrderRow, "det": RowDetail, "cust": NewCustomer}[part[0]]
            sent.setdefault(owner, set()).add(k)
    ours = {"nr_ord_orig", "tipo_clifor"}  # the legacy files' fields, in tests/legacy
    for cls in (*STREAM_MODELS.values(), OrderRow, RowDetail, NewCustomer):
        computed = {"kind", "new_customer", "rows", "delivery_date", "details", "is_descriptive",
                    "free_goods", "uom", "state", "extra"}
        fields = {f.encode_name for f in msgspec.structs.fields(cls)} - computed - ours
        fields -= {"righe", "dettagli", "clienti"}
        assert fields <= sent.get(cls, set()), f"{cls.__name__}: {fields - sent.get(cls, set())}"
