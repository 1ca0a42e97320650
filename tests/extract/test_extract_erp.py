"""The demo ERP on SQLite, PostgreSQL and MariaDB: exported into valid tracciati; three
changed rows show exactly their keys in the dry-run diff and the changed run hands
over only the affected files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from connector.app import extract_once as run_once
from connector.state import StateStore
from formats import get_layout, validate_file

ALL = ["io_clifor_gen", "io_clifor_dest", "io_art", "io_listini_full", "io_giacenze"]


def _take_all(watch: Path, into: Path) -> list[str]:
    """What the export pipeline would do: take every file out of the watch folder."""
    into.mkdir(exist_ok=True)
    names = sorted(p.name for p in watch.iterdir())
    for name in names:
        shutil.move(watch / name, into / name)
    return names


def test_demo_erp_exports_valid_tracciati_and_diffs_exactly(erp, extract_config, tmp_path):
    cfg = extract_config(erp)
    store = StateStore(cfg.state_dir)
    out = io.StringIO()

    res = run_once(cfg, store, mode="full", out=out)
    assert res.ok, res.report
    handed = _take_all(cfg.export.watch, tmp_path / "taken1")
    assert handed == sorted(f"{n}.dat" for n in ALL)
    for name in ALL:
        report = validate_file(tmp_path / "taken1" / f"{name}.dat", get_layout(name))
        assert report.valid, report.to_text(name)
    rows = {o.name: o.rows for o in res.outcomes}
    # 10% of the price rows expired 400 days ago: outside the :since_180 window
    assert rows == {"io_clifor_gen": 20, "io_clifor_dest": 30, "io_art": 50,
                    "io_listini_full": 54, "io_giacenze": 80}
    gen = (tmp_path / "taken1" / "io_clifor_gen.dat").read_bytes().decode("utf-8-sig")
    assert gen.startswith("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|TAG|INDIRIZZO|")
    c003 = next(line for line in gen.split("\r\n") if line.startswith("ACME§C003|"))
    assert "pays late _ call first§second line" in c003  # | and newline made safe
    if erp.kind == "sqlite":  # REAL and INTEGER come back from SQLite's NUMERIC columns
        assert "|45.3601|11.7897|" in c003 and "|1503|" in c003
    else:  # DECIMAL comes back with its scale
        assert "|45.360100|11.789700|" in c003  # LATITUDINE/LONGITUDINE keep the dot
        assert "|1503,00|" in c003  # FIDO_AZIENDALE with a comma

    # three rows change in the ERP: one customer, one article price, one stock figure
    erp.execute("UPDATE {p}customers SET name = 'Ferramenta Nuova' WHERE code = 'C007'")
    erp.execute("UPDATE {p}articles SET retail = 99.5 WHERE code = 'A0012'")
    erp.execute("UPDATE {p}stock SET available = 0 WHERE article = 'A0003' AND warehouse = '02'")

    dry = run_once(cfg, store, mode="changed", dry_run=True, out=io.StringIO())
    assert dry.ok, dry.report
    assert not any(cfg.export.watch.iterdir()), "a dry run writes nothing"
    diffs = {o.name: o.diff for o in dry.outcomes if o.diff is not None}
    assert len(diffs) == len(ALL)
    assert diffs["io_clifor_gen"].changed_keys == ["ACME§C007"]
    assert diffs["io_art"].changed_keys == ["ACME§A0012"]
    assert diffs["io_giacenze"].changed_keys == ["ACME§A0003§02"]
    for name, d in diffs.items():
        assert (d.added, d.removed) == (0, 0), name
        assert d.changed == (1 if name in ("io_clifor_gen", "io_art", "io_giacenze") else 0)
    assert "changed: ACME§C007" in dry.report and "DRY RUN" in dry.report

    res = run_once(cfg, store, mode="changed", out=io.StringIO())
    assert res.ok, res.report
    assert sorted(p.name for p in cfg.export.watch.iterdir()) == [
        "io_art.dat", "io_clifor_gen.dat", "io_giacenze.dat"]
    status = {o.name: o.status for o in res.outcomes}
    assert status["io_clifor_dest"] == status["io_listini_full"] == "unchanged"
    new_gen = (cfg.export.watch / "io_clifor_gen.dat").read_bytes().decode("utf-8-sig")
    assert "ACME§C007|ACME|0|C007|Ferramenta Nuova|" in new_gen

    # after that publish nothing differs any more
    again = run_once(cfg, store, mode="changed", dry_run=True, out=io.StringIO())
    assert all(o.diff is not None and o.diff.empty for o in again.outcomes), again.report


def test_added_and_removed_keys_and_full_mode(sqlite_erp, extract_config):
    erp = sqlite_erp
    cfg = extract_config(erp, jobs=erp.jobs(["io_clifor_dest", "io_art"]))
    store = StateStore(cfg.state_dir)
    assert run_once(cfg, store, out=io.StringIO()).ok
    for p in cfg.export.watch.iterdir():
        p.unlink()
    erp.execute("DELETE FROM {p}destinations WHERE customer = 'C002' AND code = 'D2'")
    erp.execute("INSERT INTO {p}destinations (customer, code, name, preferred) "
                "VALUES ('C020', 'D9', 'Nuovo', 0)")
    dry = run_once(cfg, store, mode="changed", dry_run=True, entities=["io_clifor_dest"],
                   out=io.StringIO())
    (d,) = [o.diff for o in dry.outcomes if o.diff is not None]
    assert (d.added_keys, d.changed_keys, d.removed_keys) == (["ACME§C020§D9"], [],
                                                             ["ACME§C002§D2"])
    assert [o.name for o in dry.outcomes] == ["io_clifor_dest"]
    # full mode hands over every tracciato, changed or not
    res = run_once(cfg, store, mode="full", out=io.StringIO())
    assert sorted(p.name for p in cfg.export.watch.iterdir()) == ["io_art.dat",
                                                                 "io_clifor_dest.dat"]
    assert {o.name: o.status for o in res.outcomes} == {"io_clifor_dest": "published",
                                                        "io_art": "published"}


def test_query_file_beside_the_config_and_column_mapping(sqlite_erp, extract_config, tmp_path):
    erp = sqlite_erp
    sql = tmp_path / "sql" / "art.sql"
    sql.parent.mkdir()
    sql.write_text(f"SELECT code, descr, retail FROM {erp.table('articles')} "
                   "WHERE blocked = :blocked ORDER BY code", encoding="utf-8")
    cfg = extract_config(erp, jobs=[{
        "layout": "io_art", "query_file": "sql/art.sql", "key": "{COD_DITTA}-{code}",
        "columns": {"descr": "DES_ART", "retail": "PREZZO_RETAIL", "code": "COD_ART"},
        "params": {"blocked": "int:1"}}])
    store = StateStore(cfg.state_dir)
    res = run_once(cfg, store, out=io.StringIO())
    assert res.ok, res.report
    text = (cfg.export.watch / "io_art.dat").read_bytes().decode("utf-8-sig").split("\r\n")
    assert text[0] == "CHIAVE|COD_DITTA|COD_ART|DES_ART|PREZZO_RETAIL|DAT_ULT_MOD"
    assert text[1:-1] == ["ACME-A0017|ACME|A0017|Vite M5 x 17 zincata|2,0978|01011900000000",
                          "ACME-A0034|ACME|A0034|Vite M10 x 34 zincata|4,1956|01011900000000"]
