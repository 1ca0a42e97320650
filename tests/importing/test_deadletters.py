"""The dead-letter controls (`connector deadletters list|show|discard`, beside `retry`) on a
real journal fed by the real importer from the sandbox: a discarded record is never written
to the ERP again, never lost (listed by `--all`), and every action is recorded."""

from __future__ import annotations

import getpass
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.appmanager import sandbox_demo
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.files_sink import FilesSink
from connector import controls, i18n
from connector.importing import deadletters as dl
from connector.importing.journal.delivery import Attempt
from service.cli import main
from tests.conftest import make_config_dict
from tests.importing.conftest import Rig
from tests.importing.test_import_sandbox import PickySink

WHO = f"cli:{getpass.getuser()}"


@pytest.fixture(autouse=True)
def _keep_locale() -> Any:
    """The commands set the process's locale from the configuration: put it back."""
    before = i18n.current()
    yield
    i18n.set_default(before)


@pytest.fixture
def rig(sandbox: SandboxServer, tmp_path: Path) -> Any:
    picky = PickySink(FilesSink(tmp_path / "erp", "json", company="ACME"))
    r = Rig(sandbox, tmp_path, sink=picky)
    yield r
    r.close()


def _refused(rig: Any, sandbox: SandboxServer, ids: list[int]) -> None:
    """Orders with these unique ids, the ERP refusing all of them: dead letters."""
    for uid in ids:
        rig.sink.refuse.add(f"orders/{uid}")
    for uid in ids:
        order = sandbox_demo.demo_order(random.Random(uid), rows=1)
        sandbox.enqueue("orders", {**order, "unique_id": uid, "cod_clifor": f"C\x1b[31m{uid}"})
    rig.importer.run_cycle(["orders"])


def test_dead_letters_are_listed_shown_and_one_discarded_for_good(rig: Any,
                                                                  sandbox: SandboxServer) -> None:
    _refused(rig, sandbox, [101, 102])
    found = dl.letters(rig.store)
    assert {d.id for d in found} == {"orders/101", "orders/102"}
    d = next(x for x in found if x.id == "orders/101")
    assert (d.stream, d.record_id, d.state, d.attempts) == ("orders", "101", "dead", 1)
    assert "is blocked" in d.reason and "\x1b" not in d.reason and "\\x1b[31m" in d.reason
    shown = dl.show(rig.store, "101")  # the record id alone, when it is unique
    assert shown.letter.id == "orders/101" and not shown.truncated
    assert json.loads(shown.payload.replace("\\x1b", "\\u001b"))["unique_id"] == 101
    assert "\n  " in shown.payload  # pretty-printed
    gone = dl.discard(rig.store, "orders/101", who="console:anna")
    assert gone.state == "discarded" and gone.next_retry_at is None
    assert [x.id for x in dl.letters(rig.store)] == ["orders/102"]
    assert {x.id for x in dl.letters(rig.store, include_discarded=True)} == {"orders/101",
                                                                              "orders/102"}
    (act,) = controls.actions(rig.store)
    assert (act.action, act.who, act.target) == ("deadletter.discard", "console:anna",
                                                 "orders/101")
    # never retried, even forced (as `connector retry`), nor when AppManager sends it again
    assert [r.key for r in rig.journal.retry_due(force=True)] == ["orders/102"]
    rig.sink.refuse.clear()
    rig.sink.calls.clear()
    queue_id = next(e.last_queue_id for e in rig.journal.entries() if e.key == "orders/101")
    sandbox.requeue("orders", queue_id)  # AppManager sends it again
    rig.importer.run_cycle(["orders"], retry=True)
    assert "orders/101" not in rig.sink.calls
    assert rig.journal.entry("orders/101").state == "discarded"
    # an ERP write of it already under way when it was discarded does not bring it back
    letter_rec = _record(rig, "orders/101")
    from connector.importing.journal import delivery

    with rig.store.transaction() as conn:
        delivery.save_outcomes(conn, [Attempt(letter_rec, "dead", None, "again", "files")],
                               1e12, lambda n: 60.0)
    assert rig.journal.entry("orders/101").state == "discarded"


def _record(rig: Any, key: str) -> Any:
    from connector.model import decode_raw

    row = rig.store.query_one("SELECT payload FROM import_payload WHERE key = ?", (key,))
    return decode_raw("orders", bytes(row["payload"]) if not isinstance(row["payload"], str)
                      else row["payload"].encode())


def test_what_cannot_be_discarded_is_refused_and_nothing_changes(rig: Any,
                                                                 sandbox: SandboxServer) -> None:
    _refused(rig, sandbox, [201])
    sandbox.enqueue("orders", {**sandbox_demo.demo_order(random.Random(202), rows=1),
                               "unique_id": 202})
    rig.importer.run_cycle(["orders"])
    with pytest.raises(dl.DeadLetterError, match="not a dead letter"):
        dl.discard(rig.store, "orders/202", who=WHO)  # delivered
    with pytest.raises(dl.DeadLetterError, match="no record"):
        dl.discard(rig.store, "orders/999", who=WHO)
    with pytest.raises(dl.DeadLetterError, match="no record"):
        dl.show(rig.store, "../../etc/passwd")
    dl.discard(rig.store, "orders/201", who=WHO)
    with pytest.raises(dl.DeadLetterError, match="already discarded"):
        dl.discard(rig.store, "orders/201", who=WHO)
    assert [a.action for a in controls.actions(rig.store)] == ["deadletter.discard"]
    assert rig.journal.entry("orders/202").state == "delivered"


def test_the_commands_and_retry_record_who_did_what(rig: Any, sandbox: SandboxServer,
                                                    tmp_path: Path, capsys) -> None:
    _refused(rig, sandbox, [301, 302])
    data = make_config_dict(tmp_path, **{
        "import": {"enabled": True, "appmanager": {"url": sandbox.url},
                   "erp": {"sink": "files", "path": str(tmp_path / "erp"), "format": "json"}}})
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    base = ["--config", str(config), "deadletters"]
    capsys.readouterr()  # the in-process sandbox's log lines
    assert main([*base, "list", "--json"]) == 0
    assert {d["id"] for d in json.loads(capsys.readouterr().out)} == {"orders/301", "orders/302"}
    assert main([*base, "list"]) == 0
    out = capsys.readouterr().out
    assert "orders/301" in out and "is blocked" in out and "attempts 1" in out
    assert "\x1b" not in out
    assert main([*base, "show", "orders/301"]) == 0
    out = capsys.readouterr().out
    assert "reason: ERP: customer" in out and '"unique_id": 301' in out
    assert main([*base, "show", "orders/301", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "orders/301"
    assert main([*base, "discard", "orders/301"]) == 0
    assert "discarded" in capsys.readouterr().out
    assert main([*base, "discard", "orders/301"]) == 1
    assert "already discarded" in capsys.readouterr().err
    assert main([*base, "list"]) == 0
    assert "orders/301" not in capsys.readouterr().out
    assert main([*base, "list", "--all"]) == 0
    assert "orders/301" in capsys.readouterr().out
    # `connector retry` writes the other one (the files sink takes it), never the discarded
    assert main(["--config", str(config), "retry"]) == 0
    capsys.readouterr()
    written = {json.loads(p.read_text(encoding="utf-8"))["unique_id"]
               for p in (tmp_path / "erp").glob("orders_*.json")}
    assert 302 in written and 301 not in written
    acts = controls.actions(rig.store)
    assert [(a.action, a.who) for a in acts] == [("retry", WHO), ("deadletter.discard", WHO)]
    # in Italian
    data["locale"] = "it"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main([*base, "list", "--all"]) == 0
    assert "scartato" in capsys.readouterr().out


def test_a_record_whose_erp_write_keeps_failing_is_a_dead_letter_a_fresh_one_is_not(
        rig: Any) -> None:
    from connector.importing.journal import delivery
    from connector.model import decode_record

    order = {**sandbox_demo.demo_order(random.Random(401), rows=1), "unique_id": 401, "id": 9}
    rec = decode_record("orders", order)
    assert rig.journal.record(rec)  # journaled, never tried (a crash before the write)
    with pytest.raises(dl.DeadLetterError, match="not a dead letter"):
        dl.discard(rig.store, "orders/401", who=WHO)
    with rig.store.transaction() as conn:  # the ERP was down: failed, retried later
        delivery.save_outcomes(conn, [Attempt(rec, "failed", None, "ERP locked", "files")],
                               1e9, lambda n: 60.0)
    (d,) = dl.letters(rig.store)
    assert (d.id, d.state, d.attempts, d.reason) == ("orders/401", "failing", 1, "ERP locked")
    assert dl.discard(rig.store, "401", who=WHO).state == "discarded"
    assert rig.journal.retry_due(force=True) == [] and rig.journal.pending() == []
