"""`connector import --once` takes the legacy route when the configuration says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import make_config_dict
from tests.legacy.samples import customer_line, order_file

REPO = Path(__file__).resolve().parents[2]


def test_import_once_reads_legacy_files(tmp_path: Path) -> None:
    data = make_config_dict(tmp_path)
    data["import"] = {"enabled": True, "source": "legacy",
                      "legacy": {"settle_seconds": 0.0},
                      "erp": {"sink": "files", "path": str(tmp_path / "erp")}}
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    folder = tmp_path / "Dropbox" / "ACME" / "appmanager"
    folder.mkdir(parents=True)
    (folder / "IB_AM_ORD_1042_1.DAT").write_text(order_file("1042"), encoding="utf-8")
    (folder / "IB_AM_CF_ANA_1_1.DAT").write_text(customer_line() + "\r\n", encoding="utf-8")
    (folder / "IB_AM_ORD_9_9.DAT").write_text("ACME|R|not a date\r\n", encoding="utf-8")
    run = [sys.executable, "-m", "connector", "--config", str(config), "import", "--once"]
    res = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr  # one file was quarantined
    assert "legacy files: imported 2, quarantined 1" in res.stdout
    landed = sorted(p.name for p in (tmp_path / "erp").glob("*.json"))
    assert len(landed) == 2
    payloads = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "erp").glob("*.json")]
    assert {p["stream"] for p in payloads} == {"orders", "customers"}
    assert not (folder / "IB_AM_ORD_1042_1.DAT").exists()
    assert list((tmp_path / "quarantine" / "legacy").glob("IB_AM_ORD_9_9.DAT*"))
    # a second run finds nothing new and lands nothing twice
    res = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "legacy files: imported 0, quarantined 0" in res.stdout
    assert sorted(p.name for p in (tmp_path / "erp").glob("*.json")) == landed
