"""The import path: AppManager (or legacy files) -> journal -> ERP sink, exactly once."""
