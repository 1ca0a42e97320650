"""formats/: the tracciati of iCommerce as data, their judge, reader, writer and converters.

Pure code: no daemon, no I/O beyond the file objects and paths it is given.
"""

from formats.dialect import Dialect, convert
from formats.fieldtypes import DAT_ULT_MOD_VALUE, SECTION, TEXT_CAP, Field
from formats.layout import Layout, all_layouts, get_layout, layout_for_filename
from formats.media import MediaName, parse_media_name
from formats.reader import read_records
from formats.report import ValidationReport, Violation
from formats.templates import describe_layouts, template
from formats.validate import canonicalize, validate_file, validate_stream
from formats.writer import WriteResult, write_records

__all__ = [
    "DAT_ULT_MOD_VALUE", "SECTION", "TEXT_CAP", "Dialect", "Field", "Layout", "MediaName",
    "ValidationReport", "Violation", "WriteResult", "all_layouts", "canonicalize", "convert",
    "describe_layouts", "get_layout", "layout_for_filename", "parse_media_name",
    "read_records", "template", "validate_file", "validate_stream", "write_records",
]
