"""A stand-in for an ERP's import program, as the command sink runs it.

    python erp_program.py RECORD_FILE LOG_FILE

Imports the record by appending its unique_id to LOG_FILE (the "ERP database"), and
prints a document number. Refuses (exit 3, reason on stderr) a customer whose name is
longer than 255 characters. Skips a unique_id it has already imported (exit 0), the way
an ERP program should to make the route exactly-once. ERP_SLEEP=seconds: hang first.
"""

import json
import os
import sys
import time
from pathlib import Path

record_file, log_file = sys.argv[1], sys.argv[2]
doc = json.loads(Path(record_file).read_text(encoding="utf-8"))
if os.environ.get("ERP_SLEEP"):
    time.sleep(float(os.environ["ERP_SLEEP"]))
name = (doc["record"].get("ragione_sociale") or "") if doc["stream"] == "customers" else ""
if len(name) > 255:
    sys.stderr.write("E042 ragione_sociale troppo lunga (max 255)\n" + "dettaglio " * 2000)
    sys.exit(3)
seen = set()
if os.path.exists(log_file):
    seen = {line.split("\t")[0] for line in Path(log_file).read_text(encoding="utf-8").splitlines()}
if doc["unique_id"] in seen:
    print(f"already imported {doc['unique_id']} (replay={os.environ.get('CONNECTOR_REPLAY')})")
    sys.exit(0)
with open(log_file, "a", encoding="utf-8") as f:
    f.write(f"{doc['unique_id']}\t{doc['stream']}\t{os.environ.get('CONNECTOR_REPLAY')}\n")
print(f"DOC-{len(seen) + 1}")
