"""Child process: one publisher (connector.app.build_publisher) answering commands.

The Dropbox SDK reads DROPBOX_API_HOST and the other hosts when it is imported, so the
API publisher runs in a process whose environment points at the fake server (the folder
publisher could run in the test's own process; it runs here too, so both meet the
contract the same way). Usage: python tests/contract/publisher_child.py CONFIG.json
Reads one JSON command a line on stdin:
    {"op": "publish" | "holding", "items": [{"path", "folder", "name"}, ...]}
    {"op": "check"} | {"op": "close"}
and answers one JSON line: {"ok": true, "result": ...} or
{"ok": false, "error": "<ConnectorError subclass>", "message": "..."}.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from adapters.dropbox_api.content_hash import content_hash_file
from connector.app import build_publisher
from connector.config import parse_config
from connector.errors import ConnectorError
from connector.ports import PublishItem
from connector.state import StateStore


def _item(it: dict[str, str]) -> PublishItem:
    path = Path(it["path"])
    data = path.read_bytes()
    return PublishItem(local_path=path, folder=it["folder"], name=it["name"], size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(),
                       content_hash=content_hash_file(path))


def main() -> int:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout: answers
    spec = json.loads(Path(sys.argv[1]).read_text())
    cfg = parse_config(spec["config"], Path(spec["base"]))
    store = StateStore(cfg.state_dir)
    publisher = build_publisher(cfg, store, threading.Event())
    if hasattr(publisher, "caller"):  # the API one: a short first backoff keeps tests quick
        publisher.caller.initial = 0.05
    print(json.dumps({"ready": True, "name": publisher.name}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        result: Any = None
        try:
            if cmd["op"] == "publish":
                result = [dataclasses.asdict(r)
                          for r in publisher.publish_batch([_item(i) for i in cmd["items"]])]
            elif cmd["op"] == "holding":
                result = sorted(publisher.holding([_item(i) for i in cmd["items"]]))
            elif cmd["op"] == "check":
                publisher.check_destination()
            elif cmd["op"] == "close":
                publisher.close()
                print(json.dumps({"ok": True, "result": None}), flush=True)
                break
        except ConnectorError as exc:
            print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}),
                  flush=True)
            continue
        print(json.dumps({"ok": True, "result": result}, default=str), flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
