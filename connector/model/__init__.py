"""The kernel's model: what the agents entered on their iPads, as our own records, the
inbound envelope (one queue item as received), the pages of a queue, and the decoders
from the wire. It imports nothing of ours but itself and connector.errors.

- codes: the streams and the code values of appmanager-api.md §2.10, and how they are read;
- records: the records (Order with its rows, size details and new customer; CustomerChange,
  CustomerNote, Lead, LeadNote, Activity), their shared fields declared once;
- inbound: InboundRecord and the two decoders, decode_raw (JSON text, the import path) and
  decode_record (an item read as JSON already), which give the same result;
- fast, checking, wire, extras: how those decoders read an item (msgspec straight into the
  model; value by value, naming the field of an error; dates, numbers and text; the fields
  passed through and the identity of a record sent without one);
- pages: RawPage, Page and Malformed, and decode_item (one item's failure is its own);
- legacy: the legacy return files' vocabulary (the stream a file name feeds, a file's
  records as queue items, why a file is refused);
- jsonguard: bounds on JSON text from the network, checked before anything decodes it.

Import from this package (`from connector.model import Order`); its modules import each
other, never the package.
"""

from connector.model.codes import (
    ACTIVITY_STATES,
    FREE_GOODS,
    OFFER_TYPES,
    ORDER_TYPES,
    STREAMS,
    UOM_TYPES,
    order_kind,
)
from connector.model.extras import FALLBACK_PREFIX, MAX_DEPTH, fallback_identity
from connector.model.inbound import InboundRecord, decode_raw, decode_record
from connector.model.legacy import (
    ForeignCompanyFile,
    LegacyFileError,
    ParsedRecord,
    Problem,
    kind_of,
)
from connector.model.pages import Malformed, Page, PageMeta, RawPage, decode_item, raw_queue_id
from connector.model.records import (
    STREAM_MODELS,
    Activity,
    CustomerChange,
    CustomerNote,
    Lead,
    LeadNote,
    Model,
    NewCustomer,
    Order,
    OrderRow,
    RowDetail,
    delivery_date_of,
    to_jsonable,
)
from connector.model.wire import parse_wire_datetime, queue_id_of

__all__ = [
    "ACTIVITY_STATES", "FALLBACK_PREFIX", "FREE_GOODS", "MAX_DEPTH", "OFFER_TYPES",
    "ORDER_TYPES", "STREAMS", "STREAM_MODELS", "UOM_TYPES", "Activity", "CustomerChange",
    "CustomerNote", "ForeignCompanyFile", "InboundRecord", "Lead", "LeadNote",
    "LegacyFileError", "Malformed", "Model", "NewCustomer", "Order", "OrderRow", "Page",
    "PageMeta", "ParsedRecord", "Problem", "RawPage", "RowDetail", "decode_item",
    "decode_raw", "decode_record", "delivery_date_of", "fallback_identity", "kind_of",
    "order_kind", "parse_wire_datetime", "queue_id_of", "raw_queue_id", "to_jsonable",
]
