"""The legacy import route: AppManager's AM_*.DAT and leads XML return files."""
