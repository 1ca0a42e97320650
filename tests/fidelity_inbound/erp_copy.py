"""A stand-in ERP import program for the fidelity corpus: keeps a copy of each record file
the command sink hands it, as OUT_DIR/<stream>-<unique_id>.json.

    python erp_copy.py RECORD_FILE OUT_DIR
"""

import json
import shutil
import sys
from pathlib import Path

record_file, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
doc = json.loads(record_file.read_text(encoding="utf-8"))
out_dir.mkdir(parents=True, exist_ok=True)
shutil.copyfile(record_file, out_dir / f"{doc['stream']}-{doc['unique_id']}.json")
print(f"DOC-{doc['unique_id']}")
