"""AWS-native destinations (adapters): EventBridge PutEvents, SQS SendMessageBatch, SNS PublishBatch, Lambda
Invoke and Step Functions StartExecution, answering as the HTTP sender does (-> HttpResult), so the engine's
outcome rules apply unchanged:

- stored / started / invoked: delivered (reported as 200);
- throttling, AWS's 5xx, no answer (timeout, connection), an entry a batch failed on AWS's side, a Lambda
  function error (sync invocation): retried on the schedule;
- access denied, a target that does not exist, a request AWS finds invalid: DLQ `config` (the configuration
  or the stack's IAM parameters must change; the error names the call and the target);
- a message over the target's size limit: DLQ `permanent_http`, as a 413 would be (checked before the call;
  retrying cannot make it fit).

EventBridge, SQS and SNS batch the records of a delivery batch (one Coalescer per destination, at most 10
entries and 256 KB a call); Lambda and Step Functions are one call a record.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hookline.adapters.aws import stores
from hookline.core import outcomes
from hookline.core.config import DestinationConfig
from hookline.core.outcomes import HttpResult, truncate
from hookline.core.targets import BATCHED_TYPES, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, TargetMessage, detail_object
from hookline.delivery.send.warehouse import Coalescer, PutResult

SERVICE = {"eventbridge": "events", "sqs": "sqs", "sns": "sns", "lambda": "lambda", "stepfunctions": "stepfunctions"}
# Largest message each call takes (bytes of the body): SQS, SNS, EventBridge 256 KB; Lambda 256 KB async,
# 6 MB sync; Step Functions input 256 KB.
MAX_MESSAGE = {"eventbridge": 256 * 1024, "sqs": 256 * 1024, "sns": 256 * 1024, "stepfunctions": 256 * 1024}
MAX_LAMBDA = {"async": 256 * 1024, "sync": 6 * 1024 * 1024}
RETRY_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestThrottled",
    "RequestLimitExceeded", "KMSThrottlingException", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalError", "InternalFailure", "InternalException", "InternalServerError", "ServiceException",
    "ResourceNotReadyException", "ResourceConflictException", "EC2ThrottledException", "ENILimitReachedException",
    "SubnetIPAddressLimitReachedException", "KMSNotFoundException", "RequestTimeout", "RequestTimeoutException",
})
TOO_LARGE_CODES = frozenset({"RequestTooLargeException", "RequestEntityTooLargeException", "BatchRequestTooLong",
                             "RequestEntityTooLarge", "InvalidParameterValueException.TooLarge"})
# An EventBridge entry's ErrorCode that a later call can get past.
EVENTS_RETRY_ENTRY_CODES = frozenset({"ThrottlingException", "InternalFailure", "InternalException",
                                      "ServiceUnavailableException"})

RETRY, CONFIG, TOO_LARGE = "retry", "config", "too_large"


class FunctionFailed(Exception):
    """A sync Lambda invocation answered with X-Amz-Function-Error: retried on the schedule."""


def classify(e: Exception) -> str:
    """RETRY, CONFIG or TOO_LARGE for an AWS error."""
    if not isinstance(e, ClientError):
        return RETRY  # no answer: timeout, connection, no credentials yet
    code = str(e.response.get("Error", {}).get("Code", ""))
    status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in TOO_LARGE_CODES or status == 413:
        return TOO_LARGE
    if code in RETRY_CODES or status == 429 or status >= 500:
        return RETRY
    return CONFIG


def describe(call: str, target: str | None, e: Exception) -> str:
    if isinstance(e, ClientError):
        error = e.response.get("Error", {})
        return f"{call} {target}: {error.get('Code', '')}: {error.get('Message', '')}"
    return f"{call} {target}: {type(e).__name__}: {e}"


class AwsTargets:
    """ports.TargetSender: one delivery to an AWS target. Clients are made at first use, one per service."""

    def __init__(self, clients: dict[str, Any] | None = None, *, window: float = 0.05, clock: Any = time.time,
                 sleep: Any = time.sleep) -> None:
        self._clients: dict[str, Any] = dict(clients or {})
        self._lock = threading.Lock()
        self._coalescers: dict[str, Coalescer] = {}
        self._queue_urls: dict[str, str] = {}
        self._url_lock = threading.Lock()
        self._window = window
        self._clock = clock
        self._sleep = sleep  # a batch's first entry waits this long (the window) for the others to join

    def client(self, service: str) -> Any:
        with self._lock:  # client creation is not thread-safe
            if service not in self._clients:
                self._clients[service] = stores.client(service)
            return self._clients[service]

    def pending(self) -> int:
        with self._lock:
            coalescers = list(self._coalescers.values())
        return sum(c.pending() for c in coalescers)

    def send(self, dest: DestinationConfig, message: TargetMessage, *, name: str) -> HttpResult:
        started, t0 = self._clock(), time.perf_counter()
        limit = MAX_LAMBDA[dest.invocation] if dest.type == "lambda" else MAX_MESSAGE[dest.type]
        size = len(message.body.encode())
        if size > limit:
            return HttpResult(started_at=started, latency_ms=0.0, status_code=413,
                              error=f"{dest.type} {_target(dest)}: the message is {size} bytes, over the "
                                    f"{limit // 1024} KB the target takes: map fewer fields, or send a reference "
                                    "to the data instead")
        if dest.type in BATCHED_TYPES:
            entry = json.dumps(self._entry(dest, message)).encode()
            failure = self._coalescer(name, dest).submit(entry)
            kind_text = None if failure is None else (CONFIG if failure[1] else RETRY, failure[0])
        else:
            kind_text = self._invoke(dest, message) if dest.type == "lambda" else self._start(dest, message)
        latency = (time.perf_counter() - t0) * 1000
        if kind_text is None:
            return HttpResult(started_at=started, latency_ms=latency, status_code=200, requests_made=1)
        kind, text = kind_text
        if kind == TOO_LARGE:
            return HttpResult(started_at=started, latency_ms=latency, status_code=413, error=truncate(text),
                              requests_made=1)
        return HttpResult(started_at=started, latency_ms=latency, error=truncate(text), requests_made=1,
                          error_kind=outcomes.INVALID_REQUEST if kind == CONFIG else f"{dest.type}_error")

    # -- batched: one entry per record, one call per delivery batch

    def _entry(self, dest: DestinationConfig, m: TargetMessage) -> dict[str, Any]:
        if dest.type == "eventbridge":
            return {"Source": dest.source, "DetailType": m.detail_type, "Detail": detail_object(m.body),
                    "EventBusName": dest.bus}
        fifo = (dest.queue or dest.topic or "").endswith(".fifo")
        ids = {"MessageGroupId": m.group_id, "MessageDeduplicationId": m.deduplication_id} if fifo else {}
        return {("MessageBody" if dest.type == "sqs" else "Message"): m.body, **ids}

    def _coalescer(self, name: str, dest: DestinationConfig) -> Coalescer:
        with self._lock:
            c = self._coalescers.get(name)
            if c is None:
                c = self._coalescers[name] = Coalescer(lambda entries, d=dest: self._put(d, entries),
                                                       window=self._window, max_records=MAX_BATCH_ENTRIES,
                                                       max_bytes=MAX_BATCH_BYTES, sleep=self._sleep)
            return c

    def _put(self, dest: DestinationConfig, lines: list[bytes]) -> PutResult:
        entries = [json.loads(line) for line in lines]
        call = {"eventbridge": "PutEvents", "sqs": "SendMessageBatch", "sns": "PublishBatch"}[dest.type]
        try:
            if dest.type == "eventbridge":
                resp = self.client("events").put_events(Entries=entries)
                return PutResult([_event_failure(dest, r) for r in _padded(resp.get("Entries"), len(entries))])
            numbered = [{"Id": str(i), **e} for i, e in enumerate(entries)]
            if dest.type == "sqs":
                resp = self.client("sqs").send_message_batch(QueueUrl=self._queue_url(dest.queue or ""),
                                                             Entries=numbered)
            else:
                resp = self.client("sns").publish_batch(TopicArn=dest.topic, PublishBatchRequestEntries=numbered)
        except (ClientError, BotoCoreError) as e:
            kind = classify(e)
            return PutResult([(describe(call, _target(dest), e), kind != RETRY)] * len(entries))
        failed = {f["Id"]: f for f in resp.get("Failed") or []}
        return PutResult([None if str(i) not in failed else (
            f"{call} {_target(dest)}: {failed[str(i)].get('Code', '')}: {failed[str(i)].get('Message', '')}",
            bool(failed[str(i)].get("SenderFault"))) for i in range(len(entries))])

    def _queue_url(self, queue: str) -> str:
        if queue.startswith(("https://", "http://")):
            return queue
        client = self.client("sqs")
        with self._url_lock:  # a name: asked once per process, also by threads that miss it together
            url = self._queue_urls.get(queue)
            if url is None:
                url = self._queue_urls[queue] = client.get_queue_url(QueueName=queue)["QueueUrl"]
        return url

    # -- one call per record

    def _invoke(self, dest: DestinationConfig, m: TargetMessage) -> tuple[str, str] | None:
        kind = "RequestResponse" if dest.invocation == "sync" else "Event"
        try:
            resp = self.client("lambda").invoke(FunctionName=dest.function, InvocationType=kind,
                                                Payload=m.body.encode())
        except (ClientError, BotoCoreError) as e:
            return classify(e), describe("lambda Invoke", dest.function, e)
        error = resp.get("FunctionError")
        if error:  # the function ran and failed: its error type and message, as Lambda's runtime reports them
            payload = resp["Payload"].read() if resp.get("Payload") is not None else b""
            try:
                detail = json.loads(payload)
                said = f"{detail.get('errorType', '')}: {detail.get('errorMessage', '')}"
            except (ValueError, AttributeError):
                said = payload[:200].decode("utf-8", "replace")
            return RETRY, f"lambda Invoke {dest.function}: function error ({error}): {said}"
        return None

    def _start(self, dest: DestinationConfig, m: TargetMessage) -> tuple[str, str] | None:
        sfn, name = self.client("stepfunctions"), m.execution_name
        try:
            sfn.start_execution(stateMachineArn=dest.state_machine, name=name, input=m.body)
            return None
        except (ClientError, BotoCoreError) as e:
            if not (isinstance(e, ClientError) and e.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists"):
                return classify(e), describe("states StartExecution", dest.state_machine, e)
        # The name is this delivery's: an earlier attempt started it (its answer was lost, or it finished).
        arn = f"{(dest.state_machine or '').replace(':stateMachine:', ':execution:', 1)}:{name}"
        try:
            started = sfn.describe_execution(executionArn=arn)
        except (ClientError, BotoCoreError) as e:
            return classify(e), describe("states DescribeExecution", arn, e)
        if started.get("input") == m.body:
            return None
        return CONFIG, (f"states StartExecution {dest.state_machine}: execution {name} exists with another input "
                        "(the route's mapping changed since it started); start it again under another name by hand")


def _target(dest: DestinationConfig) -> str:
    return str(dest.bus or dest.queue or dest.topic or dest.function or dest.state_machine)


def _padded(answers: list[dict[str, Any]] | None, n: int) -> list[dict[str, Any]]:
    answers = list(answers or [])
    return answers + [{"ErrorCode": "Missing", "ErrorMessage": "no answer for this entry"}] * (n - len(answers))


def _event_failure(dest: DestinationConfig, r: dict[str, Any]) -> tuple[str, bool] | None:
    code = r.get("ErrorCode")
    if not code:
        return None
    return (f"PutEvents {dest.bus}: {code}: {r.get('ErrorMessage', '')}",
            code not in EVENTS_RETRY_ENTRY_CODES and code != "Missing")
