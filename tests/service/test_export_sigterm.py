"""SIGTERM while the real export loop publishes a large drop: exit 0 within the deadline,
nothing half-published, every source either archived (published) or still waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from svc_helpers import REPO, NotifyListener, config_dict, wait_until

pytest.importorskip("connector.export.loop", reason="the export loop is not there yet")

CITTA_HEADER = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD"


def _code(i: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(digits[(i // 36 ** k) % 36] for k in (3, 2, 1, 0))  # CODICE: 4 characters


def citta(rows: int) -> bytes:
    lines = [CITTA_HEADER] + [f"ACME§{_code(i)}|ACME|{_code(i)}|CITTA {i}|35{i % 1000:03d}|PD|"
                              "01011900000000" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_sigterm_during_a_large_export(tmp_path: Path, notify_listener: NotifyListener):
    data = config_dict(tmp_path, export={"enabled": True, "settle_seconds": 0.2,
                                         "rescan_seconds": 2, "min_free_mb": 1},
                       service={"stop_deadline_seconds": 30}, log={"level": "info"})
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(data))
    export = tmp_path / "export"
    (export / "multimedia").mkdir(parents=True)
    sources: dict[str, bytes] = {"io_citta.dat": citta(60_000)}
    for i in range(40):
        sources[f"multimedia/foto{i:02d} [ART{i}].jpg"] = b"\xff\xd8\xff" + os.urandom(512 * 1024)
    for rel, body in sources.items():
        (export / rel).write_bytes(body)

    env = {**os.environ, "PYTHONPATH": str(REPO), "NOTIFY_SOCKET": notify_listener.name}
    with open(tmp_path / "err", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config), "run"],
                                env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        notify_listener.wait_for("READY=1")
        staging = tmp_path / "staging"
        wait_until(lambda: staging.is_dir() and any(staging.iterdir()), timeout=30,
                   what="a burst in progress")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(40) == 0, (tmp_path / "err").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    notify_listener.wait_for("STOPPING=1", timeout=1)

    company = tmp_path / "Dropbox" / "ACME"
    published = {p.relative_to(company).as_posix(): p for p in company.rglob("*") if p.is_file()}
    archive = tmp_path / "archive"
    archived = {"/".join(p.relative_to(archive).parts[1:]) for p in archive.rglob("*")
                if p.is_file()}
    for rel, body in sources.items():
        dest = ("gestionale/" + rel) if rel.endswith(".dat") else rel
        if dest in published:
            got = published[dest].read_bytes().removeprefix(b"\xef\xbb\xbf")  # tracciati get a BOM
            assert got == body, f"{dest} published incomplete"
            assert rel in archived, f"{rel} published but not archived"
        else:
            assert (export / rel).read_bytes() == body, f"{rel} neither published nor waiting"
    for name in published:
        assert not name.endswith((".tmp", ".part")) and "/." not in "/" + name, name
    assert not staging.exists() or not any(staging.iterdir()), "staging left behind"
