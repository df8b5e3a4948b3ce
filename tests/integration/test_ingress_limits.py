"""Ingress under the audit's findings: batch sizes, replays under a new id, leaks (moto, template tables)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookline.adapters.aws.stores import QueuePublisher
from hookline.core.messages import MAX_BATCH_BYTES, DeliveryTask
from hookline.ingress.ingress import Ingress
from hookline.ingress.signatures import sign
from hookline.validation import parse_config
from tests.integration.test_ingress import delivery_began, queued
from tests.support.moto_ingress import make_ingress

SECRET = "it-is-a-test-secret"
ROUTES = 9


def config() -> dict[str, Any]:
    return {
        "sources": {
            "github": {"verify": {"scheme": "github", "secrets": ["env:TEST_GH_SECRET"]}},
            "shop": {"verify": {"scheme": "shopify", "secrets": ["env:TEST_GH_SECRET"]}},
            "app": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:TEST_GH_SECRET"], "header": "X-Sig",
                               "id_header": "X-Event-Id"}},
            "sw": {"verify": {"scheme": "standard-webhooks", "secrets": ["env:TEST_SW_SECRET"]}},
            "nokey": {"verify": {"scheme": "github", "secrets": ["env:TEST_EMPTY_SECRET"]}},
        },
        "destinations": {"crm": {"url": "http://127.0.0.1:9/x"}},
        "routes": [{"name": f"r{i}", "source": "github", "destination": "crm"} for i in range(ROUTES)]
        + [{"name": f"{s}-r", "source": s, "destination": "crm"} for s in ("shop", "app", "sw")],
    }


class CountingClient:
    """The SQS client, with each SendMessageBatch's entry count and payload size kept."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.batches: list[tuple[int, int]] = []

    def send_message_batch(self, **kwargs: Any) -> Any:
        entries = kwargs["Entries"]
        self.batches.append((len(entries), sum(len(e["MessageBody"].encode()) for e in entries)))
        return self._inner.send_message_batch(**kwargs)


def make(stack: Any, client: Any = None) -> Ingress:
    return make_ingress(stack, parse_config(config()), sqs=client)


def signed(source: str, body: bytes, msg_id: str | None = None, **extra: str) -> dict[str, str]:
    cfg = parse_config(config()).sources[source].verify
    secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM=" if cfg.scheme == "standard-webhooks" else SECRET
    headers = {k.lower(): v for k, v in sign(cfg, secret, body, msg_id=msg_id).items()}
    headers["content-type"] = "application/json"
    headers.update(extra)
    return headers


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GH_SECRET", SECRET)
    monkeypatch.setenv("TEST_SW_SECRET", "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM=")
    monkeypatch.setenv("TEST_EMPTY_SECRET", "")  # set but empty: no usable secret


# ---------------------------------------------------------------- fix 1: batches by bytes, claim check


def test_nine_routes_of_a_146_kb_body_are_accepted_with_the_body_stored_once(stack: Any) -> None:
    # Given a 146 KB body (under the 200 KiB inline threshold) that matches nine routes
    body = json.dumps({"blob": "x" * 146_000}).encode()
    client = CountingClient(stack.function("IngressFunction").sqs)
    # When it arrives
    resp = make(stack, client).accept("github", signed("github", body, "d-9x146"), body)
    # Then it is accepted, every route gets a pointer to one stored copy, and no batch broke SQS's limit
    assert resp.status == 202, resp.body
    tasks = queued(stack)
    assert sorted(t.route for t in tasks) == sorted(f"r{i}" for i in range(ROUTES))
    assert {t.s3_key for t in tasks} != {None} and len({t.s3_key for t in tasks}) == 1
    assert stack.s3.get_object(Bucket=stack.bucket, Key=tasks[0].s3_key)["Body"].read() == body
    assert len(stack.s3.list_objects_v2(Bucket=stack.bucket).get("Contents", [])) == 1
    assert client.batches and all(n <= 10 and size <= MAX_BATCH_BYTES for n, size in client.batches)


def test_a_body_that_fits_routes_times_body_stays_inline_in_one_batch(stack: Any) -> None:
    body = json.dumps({"blob": "y" * 20_000}).encode()
    client = CountingClient(stack.function("IngressFunction").sqs)
    assert make(stack, client).accept("github", signed("github", body, "d-inline"), body).status == 202
    tasks = queued(stack)
    assert len(tasks) == ROUTES and all(t.inline_body() == body for t in tasks)
    assert len(client.batches) == 1


def test_publisher_splits_batches_by_encoded_size_and_count() -> None:
    sent: list[list[dict[str, str]]] = []

    class Fake:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
            sent.append(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def task(i: int, size: int) -> DeliveryTask:
        return DeliveryTask(event_id="e", source="s", route=f"r{i}", received_at=1.0, body="z" * size)

    # Given 25 tasks of mixed sizes, some near the single-message limit
    tasks = [task(i, 120_000 if i % 3 == 0 else 900) for i in range(25)]
    # When published
    QueuePublisher("q", client=Fake()).publish(tasks)
    # Then every task went once, in order, in batches within both SQS limits
    flat = [json.loads(e["MessageBody"])["route"] for batch in sent for e in batch]
    assert flat == [t.route for t in tasks]
    assert all(len(b) <= 10 and sum(len(e["MessageBody"].encode()) for e in b) <= MAX_BATCH_BYTES for b in sent)


# ---------------------------------------------------------------- fix 5: a replay under a new id


@pytest.mark.parametrize(("source", "id_header"), [
    ("github", "x-github-delivery"), ("shop", "x-shopify-webhook-id"), ("app", "x-event-id"),
])
def test_the_same_signed_bytes_under_a_new_id_are_a_duplicate(stack: Any, source: str, id_header: str) -> None:
    # Given an accepted event whose id header is not covered by the signature
    ingress = make(stack)
    body = json.dumps({"order": 17, "source": source}).encode()
    headers = signed(source, body, "id-original")
    assert ingress.accept(source, headers, body).status == 202
    delivery_began(stack, "id-original", "r0" if source == "github" else f"{source}-r")
    # When a captured copy is re-sent with a new id
    replay = ingress.accept(source, {**headers, id_header: "id-forged"}, body)
    # Then it is answered as a duplicate of the original and queues nothing more
    assert (replay.status, replay.body) == (200, {"status": "duplicate", "id": "id-original"})
    # And the sender's own redelivery (same id) is a duplicate, as before
    assert ingress.accept(source, headers, body).status == 200
    assert len(queued(stack)) == (ROUTES if source == "github" else 1)


def test_a_different_body_under_a_new_id_is_a_new_event(stack: Any) -> None:
    ingress = make(stack)
    one, two = b'{"n": 1}', b'{"n": 2}'
    assert ingress.accept("shop", signed("shop", one, "s-1"), one).status == 202
    assert ingress.accept("shop", signed("shop", two, "s-2"), two).status == 202


def test_the_same_id_with_other_signed_bytes_is_refused_not_a_duplicate(stack: Any) -> None:
    # The contract (SPEC 2026-12-06): a copy whose signed bytes differ from the recorded event's is never
    # queued; it is refused (409), not answered as the event it is not (tests/integration/test_ingress_copies.py)
    ingress = make(stack)
    one, two = b'{"n": 1, "attempt": 1}', b'{"n": 1, "attempt": 2}'
    assert ingress.accept("shop", signed("shop", one, "s-same"), one).status == 202
    delivery_began(stack, "s-same", "shop-r")
    again = ingress.accept("shop", signed("shop", two, "s-same"), two)
    assert again.status == 409 and "different body" in again.body["error"]
    assert len(queued(stack)) == 1


def test_the_same_id_with_other_bytes_after_a_503_is_accepted(stack: Any) -> None:
    # Given a first copy that failed to queue (503: nothing recorded, the sender retries)
    from tests.integration.test_ingress import FlakyPublisher

    publisher = FlakyPublisher(QueuePublisher(stack.queue_url, client=stack.sqs), failures=1)
    ingress = make(stack)
    ingress.deps.publisher = publisher
    one, two = b'{"n": 5, "attempt": 1}', b'{"n": 5, "attempt": 2}'
    assert ingress.accept("shop", signed("shop", one, "s-retry"), one).status == 503
    # When the sender's retry carries other bytes under the same id, it is the event, accepted
    assert ingress.accept("shop", signed("shop", two, "s-retry"), two).status == 202
    assert [t.inline_body() for t in queued(stack)] == [two]


def test_standard_webhooks_ids_are_signed_so_each_new_id_is_a_new_event(stack: Any) -> None:
    ingress = make(stack)
    body = b'{"type": "invoice.paid"}'
    assert ingress.accept("sw", signed("sw", body, "msg_1"), body).status == 202
    assert ingress.accept("sw", signed("sw", body, "msg_2"), body).status == 202
    delivery_began(stack, "msg_1", "sw-r")
    assert ingress.accept("sw", signed("sw", body, "msg_1"), body).status == 200


# ---------------------------------------------------------------- fix 6: what leaks


def test_an_unusable_secret_is_not_revealed_to_the_caller(stack: Any, caplog: pytest.LogCaptureFixture) -> None:
    body = b'{"a": 1}'
    resp = make(stack).accept("nokey", signed("github", body, "n-1"), body)
    assert resp.status == 401
    assert "secret" not in resp.body["error"] and "configured" not in resp.body["error"]


def test_credentials_in_request_headers_never_reach_the_queue(stack: Any) -> None:
    body = b'{"a": 2}'
    creds = {"x-api-key": "k-123", "proxy-authorization": "Basic Zm9vOmJhcg==", "authorization": "Bearer t",
             "cookie": "s=1", "x-auth-token": "tok", "x-amz-security-token": "sts", "x-csrf-token": "c",
             "x-client-secret": "shh", "api-key": "k2", "x-access-token": "a"}
    resp = make(stack).accept("app", signed("app", body, "c-1", **creds, **{"x-trace": "keep"}), body)
    assert resp.status == 202
    (task,) = queued(stack)
    assert not set(creds) & set(task.headers)
    assert task.headers["x-trace"] == "keep" and task.headers["x-event-id"] == "c-1"


# ---------------------------------------------------------------- found by the chaos run


def test_concurrent_invocations_in_one_process_each_see_their_own_request(
        stack: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> None:
    # `hookline dev` runs several ingress environments as threads of one process; Powertools'
    # resolver keeps the current event on its class, so one request could be answered with another's.
    import threading

    from functions.ingress import app
    from hookline.wiring import Services, install

    with stack.run_as("IngressFunction"):  # the handler makes its own clients: with the ingress role's keys
        services = Services(stack.settings, config=parse_config(config()))
        install(services)
        try:
            def event(i: int) -> dict[str, Any]:
                source = ("github", "shop", "app")[i % 3]
                body = json.dumps({"i": i}).encode()
                return {"version": "2.0", "routeKey": "POST /webhooks/{source}", "rawPath": f"/webhooks/{source}",
                        "rawQueryString": "", "headers": signed(source, body, f"id-{i}"),
                        "pathParameters": {"source": source}, "isBase64Encoded": False, "body": body.decode(),
                        "requestContext": {"http": {"method": "POST", "path": f"/webhooks/{source}",
                                                    "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                                    "userAgent": "t"},
                                           "requestId": f"r{i}", "routeKey": "POST /webhooks/{source}",
                                           "stage": "$default", "accountId": "1", "apiId": "a",
                                           "domainName": "d", "domainPrefix": "d", "time": "t", "timeEpoch": 0}}

            answers: dict[int, dict[str, Any]] = {}
            barrier = threading.Barrier(12)

            def call(i: int) -> None:
                barrier.wait()
                answers[i] = app.handler(event(i), lambda_context)

            threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            install(None)
    for i, answer in answers.items():
        assert answer["statusCode"] == 202, (i, answer)
        assert json.loads(answer["body"])["id"] == f"id-{i}", (i, answer)
