"""Per-key ordering: `routes[].ordered: true` events travel through an SQS FIFO queue, one group per key.

The producing side (record key, MessageGroupId, deduplication id, which queue a task goes to) is the
fan-out step, core/fanout.py, shared by ingress and sync; this module holds the consuming side
(the FIFO adapter is adapters/aws/stores.py's FifoPublisher).

- Ingress evaluates the route's `key` over the envelope and sends the task to the ordered
  (FIFO) delivery queue with `MessageGroupId = <route>#<key>` and a deduplication id derived
  from `event_id:route` (an ingress retry within 5 minutes is dropped by SQS itself). An event
  whose key evaluates to nothing gets a group of its own (`<route>#~<event id>`): it is not
  ordered against anything, and blocks nothing.
- SQS hands out a group's messages in order and none of them while one is in flight, so a
  retrying event (its visibility set to the retry delay) holds back the later events of its
  key, and only those: other groups flow.
- The deliver function processes a FIFO batch group by group (`process_fifo_batch`): in order
  within a group, groups concurrently. At the first record of a group that is not finished
  (retrying, deferred, in progress) the rest of that group is not processed; they are reported
  failed and made visible again at once (SQS still holds them behind the unfinished one).

Routes without `ordered` keep the standard queue.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any


def is_fifo_record(record: Any) -> bool:
    """An SQSRecord from a FIFO queue (ordered routes)."""
    return str(record.event_source_arn or "").endswith(".fifo")


def is_fifo_batch(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and str(records[0].get("eventSourceARN", "")).endswith(".fifo")


def _group(record: Any) -> str:
    return str(record.attributes.message_group_id or record.message_id)


def process_fifo_batch(records: list[Any], process: Callable[[Any], Any], unfinished: Callable[[Any], bool],
                       pool: Executor) -> tuple[list[Any], list[Any]]:
    """Process each group in order (groups concurrently). Returns (results, records skipped behind a failure).

    `process(record)` returns a result; `unfinished(result)` says whether the record stays on the
    queue, which stops its group: the later records of that group are skipped, not processed.
    """
    groups: dict[str, list[Any]] = {}
    for record in records:
        groups.setdefault(_group(record), []).append(record)

    def run(members: list[Any]) -> tuple[list[Any], list[Any]]:
        done: list[Any] = []
        for i, record in enumerate(members):
            result = process(record)
            done.append(result)
            if unfinished(result):
                return done, members[i + 1:]
        return done, []

    futures = [pool.submit(run, members) for members in groups.values()]
    results: list[Any] = []
    skipped: list[Any] = []
    for f in futures:
        done, rest = f.result()
        results += done
        skipped += rest
    return results, skipped
