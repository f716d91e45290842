"""The values an import writes for a parsed order, and the process that parses big files next to the database.

Pure (no Django, no ORM), so it runs in a child process that never loads the project. A package of three modules,
whose public names are all importable from here:

- `feed.values`: `profile_values`, `order_values`, `line_values` and `product_key`, what both writers store for an
  `OrderRow` (truncated to the columns' lengths), in the column orders `PROFILE_FIELDS`, `ORDER_VALUE_FIELDS`,
  `LINE_VALUE_FIELDS`;
- `feed.encoding`: `Encoder`, a batch of rows → what the staged writers put into their two staging tables: the
  text of PostgreSQL's COPY, or SQLite's rows as executemany binds them; `EncodingBatch` encodes each row as it
  is parsed, so a batch never holds its parsed rows;
- `feed.process`: `FeedProcess`, a child process that parses the file pair and encodes batch after batch while
  the parent only hands the text to the database (one core for the parser, one for the database), and
  `batched_into`, which cuts a parsed stream into batches.
"""

from __future__ import annotations

from huitouke.orders.feed.encoding import (
    CELL_SEP,
    DECIMAL_COLUMNS,
    FLAG_COLUMNS,
    INTEGER_COLUMNS,
    POSTGRESQL,
    ROW_SEP,
    SQLITE,
    Encoded,
    Encoder,
    EncodingBatch,
    RowFormat,
    copy_cell,
    copy_line,
    fingerprint_digest,
    order_fingerprint,
    sqlite_cell,
)
from huitouke.orders.feed.process import (
    FeedFailed,
    FeedProcess,
    FeedRequest,
    batched,
    batched_into,
    main,
)
from huitouke.orders.feed.values import (
    DIGEST_COLUMNS,
    LINE_STAGE_COLUMNS,
    LINE_VALUE_FIELDS,
    ORDER_STAGE_COLUMNS,
    ORDER_VALUE_FIELDS,
    PROFILE_FIELDS,
    STORED_PROFILE_FIELDS,
    Levels,
    customer_name,
    fingerprint_key,
    level_note,
    levels_merge,
    line_values,
    order_values,
    product_key,
    profile_values,
    stored_profile,
)

__all__ = [
    "CELL_SEP",
    "DECIMAL_COLUMNS",
    "DIGEST_COLUMNS",
    "FLAG_COLUMNS",
    "INTEGER_COLUMNS",
    "LINE_STAGE_COLUMNS",
    "LINE_VALUE_FIELDS",
    "ORDER_STAGE_COLUMNS",
    "ORDER_VALUE_FIELDS",
    "POSTGRESQL",
    "PROFILE_FIELDS",
    "ROW_SEP",
    "SQLITE",
    "STORED_PROFILE_FIELDS",
    "Encoded",
    "Encoder",
    "EncodingBatch",
    "FeedFailed",
    "FeedProcess",
    "FeedRequest",
    "Levels",
    "RowFormat",
    "batched",
    "batched_into",
    "copy_cell",
    "copy_line",
    "customer_name",
    "fingerprint_digest",
    "fingerprint_key",
    "level_note",
    "levels_merge",
    "line_values",
    "main",
    "order_fingerprint",
    "order_values",
    "product_key",
    "profile_values",
    "sqlite_cell",
    "stored_profile",
]
