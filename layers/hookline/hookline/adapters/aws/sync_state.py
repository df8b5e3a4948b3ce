"""Sync state and the per-version ledger, in the event log table (an adapter: boto3 Table).

Items (partition `event_id`, sort `route`):

- `#sync:<name>` / `#state`: the watermark, the last run's figures, when the next run is due,
  the checkpoint of an unfinished run (its next request, the watermark it started from, the
  highest value seen so far, its run id) and the run lock (`lease_until`, `lease_run`).
- `<sync>:<id>@<version>` / `#event`: the event log's own item for a pulled record, which is
  also its claim. It is written with a *conditional* PutItem (the one write per new record that
  the "never twice" guarantee needs: BatchWriteItem cannot be conditional, and DynamoDB's
  TransactWriteItems would need permissions IAM does not name). It carries `queued` once the
  record's tasks are in the queue, or else `claim_until` and `claim_run`: an unqueued claim
  whose run died becomes claimable again after `claim_until`, and the same run (resumed from
  its checkpoint) may take it back at once.

Everything else is batched: BatchGetItem (100 keys) finds the versions already recorded before
any write, BatchWriteItem (25 items) writes the route items and the `queued` marks.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from hookline.core.ports import EVENT_ITEM

STATE_ITEM = "#state"
BATCH_GET_MAX = 100


def state_key(name: str) -> dict[str, str]:
    return {"event_id": f"#sync:{name}", "route": STATE_ITEM}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_float=Decimal)


class SyncStore:
    def __init__(self, table: Any, clock: Any = time.time) -> None:
        self._table = table
        self._clock = clock

    @property
    def table_name(self) -> str:
        return str(self._table.name)

    # -- state

    def get_state(self, name: str) -> dict[str, Any]:
        item = self._table.get_item(Key=state_key(name), ConsistentRead=True).get("Item")
        return _plain(item) if item else {}

    def all_states(self, names: list[str]) -> dict[str, dict[str, Any]]:
        found = self._batch_get([state_key(n) for n in names])
        return {n: found.get(f"#sync:{n}", {}) for n in names}

    def acquire(self, name: str, run_id: str, until: float) -> bool:
        """The run lock: one run of a sync at a time (a lock left by a dead run expires)."""
        try:
            self._table.update_item(
                Key=state_key(name), UpdateExpression="SET lease_until = :until, lease_run = :run",
                ConditionExpression=Attr("lease_until").not_exists() | Attr("lease_until").lt(_dynamo(self._clock())),
                ExpressionAttributeValues=_dynamo({":until": until, ":run": run_id}))
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def save(self, name: str, run_id: str, *, release: bool = False, remove: tuple[str, ...] = (),
             **fields: Any) -> None:
        """Set `fields` on the state item (None removes a field); `release` drops the run lock."""
        names, values, sets, removes = {}, {}, [], list(remove)
        for i, (key, value) in enumerate(fields.items()):
            names[f"#f{i}"] = key
            if value is None:
                removes.append(f"#f{i}")
            else:
                values[f":v{i}"] = value
                sets.append(f"#f{i} = :v{i}")
        if release:
            removes += ["lease_until", "lease_run"]
        expr = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
        kwargs: dict[str, Any] = {"Key": state_key(name), "UpdateExpression": expr.strip()}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = _dynamo(values)
        self._table.update_item(**kwargs)

    # -- the ledger

    def lookup(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._batch_get([{"event_id": e, "route": EVENT_ITEM} for e in dict.fromkeys(event_ids)])

    def claim(self, item: dict[str, Any], run_id: str, until: float) -> bool:
        """Conditional PutItem of a new record's event item; False when another run holds or queued it."""
        now = self._clock()
        cond = (Attr("event_id").not_exists()
                | (Attr("queued").not_exists() & (Attr("claim_until").lt(_dynamo(now)) | Attr("claim_run").eq(run_id))))
        try:
            self._table.put_item(Item=_dynamo({**item, "claim_until": until, "claim_run": run_id}),
                                 ConditionExpression=cond)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def write(self, items: list[dict[str, Any]]) -> None:
        """BatchWriteItem puts, 25 a request (boto3's batch writer resends unprocessed items)."""
        if not items:
            return
        with self._table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=_dynamo(item))

    def _batch_get(self, keys: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        client = self._table.meta.client
        for start in range(0, len(keys), BATCH_GET_MAX):
            request: dict[str, Any] = {self.table_name: {"Keys": keys[start:start + BATCH_GET_MAX],
                                                         "ConsistentRead": True}}
            for _ in range(8):
                resp = client.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    out[item["event_id"]] = _plain(item)
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05)
        return out
