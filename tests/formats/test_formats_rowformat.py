"""The row formatter: every value exactly as formats writes it, every bad value reported
with line, field, value and rule, bad rows left out, and mapping mistakes named."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats import get_layout, validate_stream, write_records
from formats.rowformat import PlanError, Problems, compile_plan, format_block

ART = get_layout("io_art")


def _plan(cols: list[str], **kw: object):
    return compile_plan(ART, cols, mapping=kw.pop("mapping", {}),  # type: ignore[arg-type]
                        key_template=kw.pop("key", "{COD_DITTA}§{COD_ART}"),  # type: ignore[arg-type]
                        company="ACME", **kw)  # type: ignore[arg-type]


def test_bad_values_are_reported_and_their_rows_left_out():
    plan = _plan(["cod_art", "des_art", "um1", "prezzo_retail", "fattore_conversione",
                  "flg_mod_um_default"])
    rows = [
        ("A1", "ok", "PZ", Decimal("1.50"), 2, 0),
        ("A2", "x" * 300, "PZ", 1, 1, 0),  # DES_ART over 255
        ("A3", "ok", "PZZZ", 1, 1, 0),  # UM1 over 3
        (None, "no code", "PZ", 1, 1, 0),  # COD_ART required
        ("A5", "ok", "PZ", "12,5x", 1, 0),  # not a number
        ("A6", "ok", "PZ", 1, 1, 1),  # flag must be 0/-1
        ("A7", "ok", "PZ", Decimal("1.123456789"), Decimal("1E+2"), True),  # rounded, plain, -1
    ]
    problems = Problems()
    block = format_block(plan, rows, 2, problems)
    assert block.line_nos == [2, 8]
    lines = block.text.split("\r\n")
    assert lines[0] == "ACME§A1|ACME|A1|ok|PZ|2|1,50|0|01011900000000"
    assert lines[1] == "ACME§A7|ACME|A7|ok|PZ|100|1,12345679|-1|01011900000000"
    got = {(p.line, p.column) for p in problems.items}
    assert got == {(3, "DES_ART"), (4, "UM1"), (5, "COD_ART"),
                   (6, "PREZZO_RETAIL"), (7, "FLG_MOD_UM_DEFAULT")}
    texts = {p.column: p.to_text() for p in problems.items}
    assert texts["UM1"] == ("line 4, column UM1, value 'PZZZ': text is 4 characters long; "
                            "the maximum for UM1 is 3")
    assert "flag must be 0 (no) or -1 (yes)" in texts["FLG_MOD_UM_DEFAULT"]
    assert "required" in texts["COD_ART"]


def test_truncate_policy_cuts_and_warns():
    plan = _plan(["cod_art", "um1"], length_policy="truncate")
    block = format_block(plan, [("A1", "PZZZ")], 2, Problems())
    assert block.text == "ACME§A1|ACME|A1|PZZ|01011900000000"
    assert plan.warnings == ["line 2, field UM1: 4 characters cut to 3"]


def test_sqlite_style_text_dates_and_numbers_are_converted():
    layout = get_layout("io_listini_full")
    plan = compile_plan(layout, ["cod_art", "prezzo", "data_inizio", "data_fine"],
                        mapping={}, key_template="{COD_DITTA}§{COD_ART}", company="ACME")
    block = format_block(plan, [("A1", "12.50", "2024-01-31", None),
                                ("A2", 3, dt.date(2024, 2, 29), "2024-02-30")], 2, p := Problems())
    assert block.text == "ACME§A1|ACME|A1|31012024||12,50|01011900000000"
    assert [(x.line, x.column) for x in p.items] == [(3, "DATA_FINE")]


def test_separators_inside_values_fall_back_safely():
    plan = _plan(["cod_art", "des_art"])
    block = format_block(plan, [("A1", "a\x1fb"), ("A2", "c\x1ed|e\r\nf")], 2, Problems())
    assert block.text.split("\r\n") == ["ACME§A1|ACME|A1|a\x1fb|01011900000000",
                                        "ACME§A2|ACME|A2|c\x1ed_e§f|01011900000000"]


@pytest.mark.parametrize("cols,key,message", [
    (["cod_art", "prezzo"], "{COD_DITTA}§{COD_ART}", "query column 'prezzo' is not a field of "
     "io_art (did you mean PREZZO_RETAIL?)"),
    (["des_art"], "{COD_DITTA}§{DES_ART}", "no column for the required field COD_ART"),
    (["cod_art"], None, "io_art needs a CHIAVE: set key:"),
    (["cod_art"], "{COD_DITTA}§{CODICE}", "key: {CODICE} is neither a field"),
    (["cod_art", "chiave"], "{COD_ART}", "the query selects CHIAVE and key: is set too"),
])
def test_mapping_mistakes_are_named(cols, key, message):
    with pytest.raises(PlanError) as err:
        _plan(cols, key=key)
    assert message in str(err.value)


def test_helper_column_only_for_the_key():
    plan = _plan(["cod_art", "ditta_erp"], key="{ditta_erp}/{COD_ART}")
    block = format_block(plan, [("A1", 7)], 2, Problems())
    assert block.text == "7/A1|ACME|A1|01011900000000"


_text = st.one_of(st.none(), st.integers(-99, 999),
                  st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40),
                  st.sampled_from(["a|b", "x\r\ny", "\x1f", "\x1e|", "  ", "EUR"]))
_num = st.one_of(st.none(), st.booleans(), st.integers(-10**25, 10**25),
                 st.decimals(allow_nan=False, allow_infinity=False, places=3,
                             min_value=-10**6, max_value=10**6),
                 st.decimals(allow_nan=False, allow_infinity=False),
                 st.floats(allow_nan=False, allow_infinity=False),
                 st.sampled_from(["12.50", "-3", "1,5", " 7", "abc", "1e3"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_text, _num, _num, st.one_of(st.none(), st.dates())), min_size=1,
                max_size=8))
def test_fast_path_matches_the_formats_writer(rows):
    """Whatever the values, a row either comes out exactly as formats.write_records writes
    it, or it is reported (and write_records refuses it too)."""
    layout = get_layout("io_art_ultacq")  # C, D, I and an untyped column
    cols = ["valuta", "prz", "num_doc", "data_doc"]
    plan = compile_plan(layout, ["cod_art", *cols], mapping={},
                        key_template="{COD_DITTA}§{COD_ART}", company="ACME")
    keyed = [(f"A{i}", *r) for i, r in enumerate(rows)]
    problems = Problems()
    block = format_block(plan, keyed, 2, problems)
    ours = dict(zip(block.line_nos, block.text.split("\r\n") if block.rows else [],
                    strict=True))
    for i, row in enumerate(keyed):
        record = {"CHIAVE": f"ACME§A{i}", "COD_DITTA": "ACME", "COD_ART": row[0],
                  **dict(zip([c.upper() for c in cols], row[1:], strict=True))}
        for name, value in record.items():  # the documented help for text numbers (SQLite)
            f = layout.get(name)
            if (f is not None and f.typed and f.kind in ("D", "I") and isinstance(value, str)
                    and re.fullmatch(r"-?\d+(?:\.\d+)?", value)):
                record[name] = Decimal(value) if "." in value else int(value)
        buf = io.BytesIO()
        try:
            write_records(buf, layout, [record], columns=plan.names)
        except Exception:  # noqa: BLE001 - formats refuses it: so must we
            assert i + 2 not in ours
            continue
        theirs = buf.getvalue().decode("utf-8-sig").split("\r\n")[1]
        assert ours.get(i + 2) == theirs
    if block.rows:
        data = ("\ufeff" + plan.header + "\r\n" + block.text + "\r\n").encode()
        assert validate_stream(io.BytesIO(data), layout).valid
