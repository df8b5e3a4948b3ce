"""The queues, the payload bucket, the HTTP sender and the secrets, in memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hookline.core.errors import PayloadMissing, QueueUnavailable
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import HttpResult
from tests.support.fakes.tables import Clock


class FakeQueue:
    """ports.TaskQueue, OrderedTaskQueue and DeliveryQueues: what was published, dead-lettered, re-enqueued,
    delayed. `fail` > 0 makes that many publish calls raise QueueUnavailable, as a failed batch entry does."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tasks: list[DeliveryTask] = []
        self.grouped: list[tuple[DeliveryTask, str]] = []
        self.dead: list[dict[str, Any]] = []  # {"MessageBody", "MessageAttributes"}, as the DLQ receives them
        self.requeued: list[dict[str, Any]] = []  # a deferral's copies: {"queue_arn", "MessageBody", "DelaySeconds"}
        self.visibility: list[int] = []
        self.fail = 0

    def publish(self, tasks: list[DeliveryTask]) -> None:
        with self.lock:
            if self.fail > 0:
                self.fail -= 1
                raise QueueUnavailable(f"{len(tasks)} of {len(tasks)} messages not queued (ServiceUnavailable)")
            self.tasks.extend(DeliveryTask.model_validate_json(t.model_dump_json()) for t in tasks)

    def publish_grouped(self, tasks: list[tuple[DeliveryTask, str]]) -> None:
        with self.lock:
            self.grouped.extend(tasks)

    def dead_letter(self, body: str, attributes: dict[str, Any]) -> None:
        with self.lock:
            self.dead.append({"MessageBody": body, "MessageAttributes": attributes})

    def change_visibility(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        with self.lock:
            self.visibility.append(seconds)

    def requeue(self, queue_arn: str, body: str, delay_seconds: int) -> None:
        with self.lock:
            self.requeued.append({"queue_arn": queue_arn, "MessageBody": body, "DelaySeconds": delay_seconds})

    def dead_letters(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.dead)


class FakePayloadStore:
    """ports.PayloadStore: bodies by key; a missing key raises core's PayloadMissing, as the adapter's get does."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def put(self, key: str, body: bytes, content_type: str | None = None) -> str:
        with self.lock:
            self.bodies[key] = bytes(body)
        return key

    def get(self, key: str) -> bytes:
        with self.lock:
            if key not in self.bodies:
                raise PayloadMissing(f"payload {key} is no longer in the bucket (expired or deleted)")
            return self.bodies[key]


class FakeSender:
    """ports.Sender: answers from a script (status codes or HttpResults, the last one repeated), every call
    recorded. `before_answer` runs inside the send (a crash, a second copy arriving meanwhile)."""

    def __init__(self, *answers: int | HttpResult, clock: Clock = time.time) -> None:
        self.answers = list(answers) or [200]
        self.calls: list[dict[str, Any]] = []
        self.clock = clock
        self.lock = threading.Lock()
        self.before_answer: Callable[[], None] | None = None

    def send(self, dest: Any, *, event_id: str, route: str, body: bytes, content_type: str = "application/json",
             deadline: float | None = None, url: str | None = None, method: str | None = None) -> HttpResult:
        with self.lock:
            self.calls.append({"event_id": event_id, "route": route, "body": body, "url": url or dest.url,
                               "method": method or dest.method})
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if self.before_answer is not None:
            self.before_answer()
        if isinstance(answer, HttpResult):
            return answer
        return HttpResult(started_at=self.clock(), latency_ms=12.0, status_code=answer, requests_made=1,
                          error=None if 200 <= answer < 300 else f"HTTP {answer}")


class FakeWarehouse:
    """ports.WarehouseSink: each line kept per destination name, answered 200 as adapters.aws.sinks.Warehouse
    answers a stored record (its Firehose/S3 errors are covered on moto, tests/integration/test_warehouse.py)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.lines: dict[str, list[bytes]] = {}
        self.clock = clock
        self.lock = threading.Lock()

    def send(self, dest: Any, *, body: bytes, name: str | None = None) -> HttpResult:
        with self.lock:
            self.lines.setdefault(name or dest.type, []).append(body)
        return HttpResult(started_at=self.clock(), latency_ms=1.0, status_code=200, requests_made=1)


class FakeSigner:
    """ports.RequestSigner: records what it was asked to sign; its `Authorization` names service and region."""

    def __init__(self) -> None:
        self.signed: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def sign(self, *, method: str, url: str, headers: dict[str, str], body: bytes, service: str,
             region: str) -> dict[str, str]:
        with self.lock:
            self.signed.append({"method": method, "url": url, "headers": dict(headers), "body": body,
                                "service": service, "region": region})
        return {"Authorization": f"FAKE-SIGV4 {service}/{region}", "X-Amz-Date": "20260101T000000Z"}


class FakeSecrets:
    """ports.Secrets: `env:NAME` references looked up in a dict; a missing one fails as SecretResolver does."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def resolve(self, ref: str) -> str:
        from hookline.core.errors import SecretResolutionError

        name = ref.split(":", 1)[-1]
        if name not in self.values:
            raise SecretResolutionError(f"secret {ref!r} is not set")
        return self.values[name]

    def resolve_all(self, refs: list[str]) -> list[str]:
        return [self.resolve(r) for r in refs]

    def interpolate(self, template: str) -> str:
        return template
