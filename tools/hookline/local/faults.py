"""Process faults for `hookline dev`, seeded, for the chaos run (`make chaos`). Off unless asked for.

`HOOKLINE_FAULTS` holds a JSON object:

- `seed` (int): the faults are drawn from `random.Random(seed)`, one stream per fault kind;
- `ingress_error` (0..1): the chance that an AWS call the ingress function makes to record an
  event fails with a 5xx-like ClientError, as a throttled or unavailable table or queue does:
  the `#event` record (PutItem, or TransactWriteItems with its replay guard), the S3 claim check, the
  queueing (SendMessage for one route, SendMessageBatch for more), and a copy's look for delivery
  (Query) and duplicate counter (UpdateItem). Not the release of a record whose queueing failed
  (DeleteItem, or a TransactWriteItems of Deletes): that record's copies would wait out the
  invocation's deadline;
- `deliver_kill` (0..1): the chance that a deliver invocation "dies" after its handler returned
  (every HTTP 2xx is done) but before the poller acknowledges the batch: nothing is deleted, and
  the messages it had not failed come back after `kill_visibility_seconds` (Lambda would wait for
  the queue's visibility timeout; the chaos run has no three minutes to spare per crash);
- `log` (path): one JSON line per injected fault, so the run can count what it survived;
- `batches` (path): one JSON line per delivery batch the pollers hand to a function (each message's
  id and receive count, those the batch failed, whether it was killed), so the run can count receives
  that reached no batch and messages that came back after their acknowledgement.

The ingress fault is matched by thread: `runtime.LocalFunction` runs each invocation on a thread
named after the function's logical id. Nothing here runs in Lambda: only `hookline dev` installs it.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

ENV = "HOOKLINE_FAULTS"
INGRESS_FUNCTION = "IngressFunction"
DELIVER_FUNCTION = "DeliverFunction"
INGRESS_OPERATIONS = frozenset({"PutItem", "TransactWriteItems", "UpdateItem", "Query", "PutObject", "SendMessage",
                                "SendMessageBatch"})


@dataclass
class Faults:
    seed: int = 0
    ingress_error: float = 0.0
    deliver_kill: float = 0.0
    kill_visibility_seconds: int = 1
    log: str | None = None
    batches: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        # Seeded on purpose: a chaos run must be repeatable, nothing here is a secret.
        self._ingress_rng = random.Random(f"{self.seed}:ingress")  # nosec B311
        self._kill_rng = random.Random(f"{self.seed}:kill")  # nosec B311

    def _draw(self, rng: random.Random, p: float) -> bool:
        if p <= 0:
            return False
        with self._lock:
            return rng.random() < p

    def record(self, kind: str, **fields: Any) -> None:
        if self.log:
            with self._lock, open(self.log, "a") as f:
                f.write(json.dumps({"fault": kind, "at": time.time(), **fields}) + "\n")

    # -- ingress: an AWS call fails

    def ingress_call_fails(self, operation: str, params: Any = None) -> bool:
        if operation not in INGRESS_OPERATIONS or _is_release(operation, params):
            return False
        if not threading.current_thread().name.startswith(INGRESS_FUNCTION + "-"):
            return False
        if self._draw(self._ingress_rng, self.ingress_error):
            self.record("ingress_error", operation=operation)
            return True
        return False

    # -- deliver: killed between the 2xx and the acknowledgement

    def kill_before_ack(self, function: str) -> bool:
        return function == DELIVER_FUNCTION and self._draw(self._kill_rng, self.deliver_kill)


_installed: Faults | None = None


def installed() -> Faults | None:
    return _installed


def install_from_env() -> Faults | None:
    """Read HOOKLINE_FAULTS and hook the AWS client calls once; None (and no hook) when unset."""
    global _installed
    spec = os.environ.get(ENV, "").strip()
    if not spec or _installed is not None:
        return _installed
    try:
        faults = Faults(**json.loads(spec))
    except (ValueError, TypeError) as e:
        raise SystemExit(f"{ENV} is not a JSON object of seed/ingress_error/deliver_kill/"
                         f"kill_visibility_seconds/log/batches: {e}") from None
    _patch_aws_calls(faults)
    _installed = faults
    return faults


def _is_release(operation: str, params: Any) -> bool:
    items = (params or {}).get("TransactItems", [])
    return operation == "TransactWriteItems" and any("Delete" in item for item in items)


def _patch_aws_calls(faults: Faults) -> None:
    # Every boto3 client (Powertools builds its own sessions) goes through BaseClient._make_api_call.

    original = BaseClient._make_api_call

    def make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        if faults.ingress_call_fails(operation_name, api_params):
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected by HOOKLINE_FAULTS"},
                               "ResponseMetadata": {"HTTPStatusCode": 503}}, operation_name)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]


def kill_before_ack(poller: Any, messages: list[dict[str, Any]], result: Any) -> bool:
    """The poller's seam: True when this batch's invocation is to be treated as killed before its ack."""
    faults = _installed
    if faults is None or not faults.kill_before_ack(poller.function.logical_id):
        return False
    # The messages the function did not fail would reappear after the visibility timeout: sooner here.
    for m in messages:
        if m["MessageId"] in result.failed_ids:
            continue
        try:
            poller.sqs.change_message_visibility(QueueUrl=poller.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                 VisibilityTimeout=faults.kill_visibility_seconds)
        except Exception:  # noqa: S112 -- the message still returns, after the queue's own timeout # nosec B112
            continue
    faults.record("deliver_kill", messages=len(messages))
    result.failed_ids = {m["MessageId"] for m in messages}
    result.problem = "fault injected: the invocation was killed before the batch was acknowledged"
    return True


def record_batch(poller: Any, messages: list[dict[str, Any]], result: Any, killed: bool = False) -> None:
    """The poller's seam: one line per batch when HOOKLINE_FAULTS names a `batches` file."""
    faults = _installed
    if faults is None or not faults.batches:
        return
    line = {"at": time.time(), "queue": poller.queue_arn.rsplit(":", 1)[-1], "killed": killed,
            "messages": [[m["MessageId"], int((m.get("Attributes") or {}).get("ApproximateReceiveCount") or 0)]
                         for m in messages],
            "failed": sorted(result.failed_ids)}
    with faults._lock, open(faults.batches, "a") as f:
        f.write(json.dumps(line) + "\n")
