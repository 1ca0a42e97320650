"""Remote paths: <root>/<company>/<folder>/<name>, and the staging area beside them."""

from __future__ import annotations

FOLDERS = ("gestionale", "multimedia", "reports")
NESTED_FOLDERS = ("multimedia", "reports")  # a catalog tree; gestionale is flat
STAGING_DIR = ".connector-staging"  # AppManager reads only the FOLDERS above
REPLACED_DIR = ".replaced"

# Names the Dropbox service refuses or that the desktop client never syncs (rclone's list).
_REFUSED_NAMES = {"desktop.ini", "thumbs.db", ".ds_store", "icon\r", ".dropbox", ".dropbox.attr"}


def company_base(root: str, company: str) -> str:
    """'/' + root + company; root "" or "/" is the account (or app folder) root."""
    parts = [p for p in root.strip().strip("/").split("/") if p] + [company]
    return "/" + "/".join(parts)


def name_problem(folder: str, name: str) -> str | None:
    """Why Dropbox (or the desktop client) would refuse `name` in `folder`, or None.

    Catalog media keep their folder tree (multimedia/<tree>/<file>, and reports too):
    each part of the path is checked; tracciati (gestionale) are flat.
    """
    if folder not in FOLDERS:
        return f"unknown publish folder {folder!r} (expected one of {', '.join(FOLDERS)})"
    parts = name.split("/") if folder in NESTED_FOLDERS else [name]
    for part in parts:
        if not part or "/" in part or "\\" in part or part in (".", ".."):
            return f"{name!r} cannot be a Dropbox path (empty, '.', '..' or a backslash)"
        if part.lower() in _REFUSED_NAMES:
            return f"Dropbox refuses the name {part!r}"
        if len(part.encode("utf-8")) > 255:
            return f"name too long for Dropbox ({len(part)} chars): {part[:40]}..."
        if part != part.strip():
            return f"{part!r} has leading or trailing spaces, which Dropbox strips"
    return None


def lower(path: str) -> str:
    """Dropbox compares paths case-insensitively; path_lower is its key."""
    return path.lower()
