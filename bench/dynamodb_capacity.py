"""Request units the handlers' DynamoDB calls would consume on an on-demand table.

Why not moto's `ReturnConsumedCapacity`: moto answers it with a flat 1.0 (writes, queries) or 0.5
(GetItem) whatever the item size, the consistency or the indexes. This meter sits in front of moto
(a WSGI middleware in local mode's AWS endpoint), reads each item's size from moto's store before
and after the call, and applies DynamoDB's documented rounding:

- write (PutItem, UpdateItem, DeleteItem, failed conditions included): 1 WRU per started KB of the
  larger of the item's size before and after; +1 WRU for a global secondary index entry written or
  removed (our only GSI is KEYS_ONLY on an attribute set at put, so updates never touch it);
- GetItem: 1 RRU per started 4 KB if strongly consistent, half that if eventually consistent;
- Query: the items read (index entries: key attributes + 100 bytes each), per started 4 KB, halved
  on an index (always eventually consistent).
Item sizes come from moto's own measure (attribute names + values), which omits DynamoDB's few bytes
of overhead per list or map element: it can only round down near a KB boundary.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from local.aws.front import is_handler_dynamodb_call
from local.template.names import REGION

INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds per index item
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


class CapacityMeter:
    def __init__(self, labels: dict[str, str], tables_with_index: set[str]) -> None:
        """`labels`: a short name for each table name; `tables_with_index`: tables with a GSI."""
        self.labels = labels
        self.tables_with_index = tables_with_index
        self.read_units = 0.0
        self.write_units = 0.0
        self.calls: dict[str, int] = defaultdict(int)  # "Table.Operation" -> count
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.read_units, self.write_units = 0.0, 0.0
            self.calls.clear()

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        def metered(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if not is_handler_dynamodb_call(environ):
                return app(environ, start_response)
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            operation = environ["HTTP_X_AMZ_TARGET"].split(".", 1)[1]
            request = json.loads(body or b"{}")
            before = self._item_size(request) if operation in WRITES or operation == "GetItem" else 0
            response = b"".join(app(environ, start_response))
            after = self._item_size(request) if operation in WRITES else 0
            self._record(request, operation, before, after, response)
            return [response]

        return metered

    def _record(self, request: dict[str, Any], operation: str, before: int, after: int, response: bytes) -> None:
        table = request.get("TableName", "?")
        read = write = 0.0
        if operation in WRITES:
            write = max(1, math.ceil(max(before, after) / 1024))
            index_touched = (operation == "PutItem" and before == 0 and after > 0) or (operation == "DeleteItem" and before > 0)
            if table in self.tables_with_index and index_touched:
                write += 1
        elif operation == "GetItem":
            read = max(1, math.ceil(before / 4096)) * (1.0 if request.get("ConsistentRead") else 0.5)
        elif operation == "Query":
            answer = json.loads(response or b"{}")
            if "IndexName" in request:
                entry = INDEX_ENTRY_OVERHEAD + 80  # key attributes of a KEYS_ONLY entry
                read = max(1, math.ceil(answer.get("ScannedCount", 0) * entry / 4096)) * 0.5
            else:
                size = sum(len(json.dumps(item)) for item in answer.get("Items", []))
                read = max(1, math.ceil(size / 4096)) * (1.0 if request.get("ConsistentRead") else 0.5)
        with self._lock:
            self.read_units += read
            self.write_units += write
            self.calls[f"{self.labels.get(table, table)}.{operation}"] += 1

    def _item_size(self, request: dict[str, Any]) -> int:
        """The stored item's size in bytes by moto's measure, 0 if there is none."""
        key = request.get("Key")
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        try:
            table = backend.get_table(request["TableName"])
            if key is None:  # PutItem: the key is in the item
                key = {name: request["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name}
            item = backend.get_item(request["TableName"], key)
        except Exception:  # noqa: BLE001 - a missing table or a malformed key: moto answers the call with its error
            return 0
        return item.size() if item else 0
