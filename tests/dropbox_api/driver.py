"""Child process: runs the real publisher (real SDK) against the fake server.

The SDK reads DROPBOX_API_HOST / DROPBOX_API_CONTENT_HOST when it is imported, so each
scenario runs in a fresh process whose environment points at the fake. Usage:
    python tests/dropbox_api/driver.py SPEC.json
SPEC: {"config": {...connector.yaml as a dict...}, "base": DIR,
       "batches": [[{"path": P, "folder": F, "name": N}, ...], ...]}
Prints one JSON line per batch: {"ok": true, "receipts": [...]} or
{"ok": false, "error": "TransientError", "message": "..."}; SIGTERM sets the stop event.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from adapters.dropbox_api.content_hash import content_hash_file
from connector.app import build_publisher
from connector.config import parse_config
from connector.errors import ConnectorError, StopRequested
from connector.ports import PublishItem
from connector.state import StateStore


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            h.update(piece)
    return h.hexdigest()


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    cfg = parse_config(spec["config"], Path(spec["base"]))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store = StateStore(cfg.state_dir)
    try:
        publisher = build_publisher(cfg, store, stop)
    except (ConnectorError, StopRequested) as exc:
        print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}),
              flush=True)
        return 1
    # Tests only: shorter first backoff so fault scenarios stay fast (Retry-After still wins).
    publisher.caller.initial = float(  # type: ignore[attr-defined]
        os.environ.get("DROPBOX_TEST_RETRY_INITIAL", "0.5"))
    print(json.dumps({"ready": True}), flush=True)
    code = 0
    for batch in spec["batches"]:
        items = []
        for it in batch:
            p = Path(it["path"])
            items.append(PublishItem(local_path=p, folder=it["folder"], name=it["name"],
                                     size=p.stat().st_size, sha256=_sha256(p),
                                     content_hash=it.get("content_hash")
                                     or content_hash_file(p)))
        try:
            receipts = publisher.publish_batch(items)
        except (ConnectorError, StopRequested) as exc:
            print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc),
                              "tags": getattr(exc, "context", {}).get("tags")}, default=str),
                  flush=True)
            code = 1
            continue
        print(json.dumps({"ok": True, "receipts": [
            {k: str(v) if isinstance(v, Path) else v
             for k, v in dataclasses.asdict(r).items()} for r in receipts]}), flush=True)
    publisher.close()
    store.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
