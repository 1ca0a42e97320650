"""Every section of `connector status` speaks the configured language, the extraction's,
the legacy route's, geocoding's and the Dropbox API's included (their facts stay English)."""

from __future__ import annotations

import time

from adapters.dropbox_api import status as dropbox_status
from connector import i18n
from connector.extract import status as extract_status
from connector.geocode import status as geocode_status
from connector.legacy import status as legacy_status

EXTRACT = {"enabled": True, "running": None, "published": [
    {"layout": "io_art", "rows": 12, "at": time.time(), "mode": "full"}],
    "runs": [{"ok": False, "dry_run": True, "summary": {}, "started": time.time(),
              "mode": "full", "trigger": "cli"}],
    "jobs": [{"job": "articles", "schedule": "every 15 min", "next_due": None}]}
LEGACY = {"enabled": True, "folder": "/x/appmanager", "files_imported": 3,
          "last_import_at": None, "last_scan_at": None, "waiting": 2,
          "oldest_waiting_age_s": 40.0, "other_company": 1, "other_company_files": ["a"],
          "quarantined": 1, "quarantine": "/x/q", "quarantined_files": ["b"]}
GEOCODE = {"enabled": True, "provider": "nominatim", "requests_per_second": 1, "cached": 5,
           "counts": {"found": 3, "manual": 0, "pending": 1, "failed": 1, "not_found": 0,
                      "imprecise": 0},
           "paused_until": time.time() + 60, "last_failures": []}
DROPBOX = {"mode": "api", "remote": "/ACME", "files_published": 4, "last_published_at": None,
           "refresh_token_from": "env", "open_upload_sessions": 1,
           "bytes_pending_in_sessions": 10}


def _render() -> list[str]:
    return (extract_status.render(EXTRACT) + legacy_status.render(LEGACY)
            + geocode_status.render(GEOCODE) + dropbox_status.render(DROPBOX))


def test_the_sections_in_italian_and_english() -> None:
    with i18n.use("en"):
        english = "\n".join(_render())
    with i18n.use("it"):
        italian = "\n".join(_render())
    for text in ("extract:", "running now: nothing", "FAILED", "last publish io_art: 12 rows",
                 "schedule articles: every 15 min", "legacy files: /x/appmanager",
                 "waiting 2 (oldest 40s)", "quarantined 1 in /x/q",
                 "geocoding (nominatim, up to 1 request(s) a second):",
                 "paused by the provider until", "dropbox api: /ACME, 4 files published",
                 "1 large upload(s) to resume"):
        assert text in english, text
    for text in ("estrazione:", "in corso: niente", "FALLITA",
                 "ultima pubblicazione io_art: 12 righe", "pianificazione articles",
                 "file legacy: /x/appmanager", "in attesa 2 (il più vecchio da 40 s)",
                 "in quarantena 1 in /x/q", "geocodifica (nominatim, fino a 1 richieste",
                 "sospesa dal fornitore fino a", "dropbox api: /ACME, 4 file pubblicati, ultimo mai",
                 "1 caricamenti grandi da riprendere"):
        assert text in italian, text
