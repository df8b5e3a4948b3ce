"""The delivery engine against moto, with a real local HTTP server as the destination.

Messages travel the real way: a DeliveryTask is sent to the template's delivery queue,
received with all attributes, converted to the Lambda SQS event shape, handled, and the
batch response applied as the event source mapping would (successes deleted). "Time passing"
until a retry is simulated by making the message visible again.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from hookline.adapters.aws.claims import RouteClaims
from hookline.core.messages import DeliveryTask
from hookline.core.oauth import TokenCache
from hookline.delivery import engine as delivery_module
from hookline.delivery.outcomes import results as results_module
from hookline.delivery.send.http import HttpSender
from hookline.local.sqs_events import to_lambda_records
from hookline.secrets import SecretResolver
from hookline.validation import parse_config
from tests.support.moto_delivery import (
    CRM_TOKEN,
    MAPPED_ROUTE,
    ORDER,
    attrs,
    config,
    dlq_messages,
    enqueue,
    failed,
    make_delivery,
    make_visible,
    receive,
    route_item,
    run,
    task,
)
from tests.support.receiver import Receiver, Script

SIGNING_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CLIENT_SECRET = "oauth-client-secret-xyz"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TOKEN", CRM_TOKEN)
    monkeypatch.setenv("SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("CRM_CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


class Metrics:
    """Records the delivery engine's metric calls (names and reason dimensions; engine.py and results.py)."""

    def __init__(self) -> None:
        self.counts: list[tuple[str, str | None]] = []

    def __call__(self, name: str, reason: str | None = None, value: float = 1) -> None:
        self.counts.append((name, reason))

    def names(self) -> list[str]:
        return [n for n, _ in self.counts]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Metrics:
    recorder = Metrics()
    monkeypatch.setattr(delivery_module, "count", recorder)
    monkeypatch.setattr(results_module, "count", recorder)
    return recorder


class SqsSpy:
    """The stack's SQS client, recording ChangeMessageVisibility calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.visibility: list[int] = []

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.visibility.append(kwargs["VisibilityTimeout"])
        return self._client.change_message_visibility(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


# ---------------------------------------------------------------- delivered


def test_delivered_with_the_mapped_body_and_the_contract_headers(stack: Any, receiver: Receiver,
                                                                 lambda_context: Any, counted: Metrics) -> None:
    # Given a route with a transform and a destination with a secret header
    cfg = config(receiver.url, route=MAPPED_ROUTE,
                 dest={"headers": {"Authorization": "Bearer {secret:env:CRM_TOKEN}", "X-Tenant": "acme"}})
    enqueue(stack, task("evt-1"))
    messages = receive(stack)
    # When the batch is handled
    response = run(stack, make_delivery(stack, cfg), messages, lambda_context)
    # Then the destination got the mapped body with the contract's headers
    assert failed(response) == set()
    [req] = receiver.requests
    assert req.method == "POST" and req.path == "/contacts"
    assert req.json() == {"order": "1001", "email": "ada@example.com", "total_cents": 4200}
    assert req.headers["content-type"] == "application/json"
    assert req.headers["idempotency-key"] == "evt-1:orders-to-crm"
    assert req.headers["authorization"] == f"Bearer {CRM_TOKEN}"
    assert req.headers["x-tenant"] == "acme"
    assert req.headers["user-agent"].startswith("hookline/")
    # And the message is gone, the event log says delivered with the attempt
    assert receive(stack) == []
    item = route_item(stack, "evt-1")
    assert item["status"] == "delivered"
    [attempt] = item["attempts"]
    assert attempt["status_code"] == 200 and attempt["outcome"] == "delivered" and attempt["latency_ms"] >= 0
    assert item["delivered_at"] >= item["received_at"]
    assert item["expires_at"] > time.time() + 29 * 24 * 3600  # the event log's TTL (30 days), set by the claim
    assert counted.names() == ["Delivered"]


def test_without_transform_the_original_body_goes_out_unchanged(stack: Any, receiver: Receiver,
                                                                  lambda_context: Any) -> None:
    raw = b'{"id":   7, "note": "spacing and key order kept"}'
    enqueue(stack, task("evt-raw", body=raw))
    run(stack, make_delivery(stack, config(receiver.url)), receive(stack), lambda_context)
    [req] = receiver.requests
    assert req.body == raw
    assert req.headers["content-type"] == "application/json"


def test_a_claim_checked_body_is_read_from_s3(stack: Any, receiver: Receiver, lambda_context: Any) -> None:
    raw = json.dumps({"id": 5, "customer": {"email": "x@example.com"}, "total": 1, "pad": "z" * 300_000}).encode()
    stack.s3.put_object(Bucket=stack.bucket, Key="payloads/shop/big", Body=raw)
    enqueue(stack, task("evt-big", s3_key="payloads/shop/big"))
    run(stack, make_delivery(stack, config(receiver.url, route=MAPPED_ROUTE)), receive(stack), lambda_context)
    assert receiver.requests[0].json() == {"order": "5", "email": "x@example.com", "total_cents": 1}


# ---------------------------------------------------------------- retries and the DLQ


def test_a_500_sets_the_next_delay_and_reports_the_item_failed(stack: Any, lambda_context: Any,
                                                              counted: Metrics) -> None:
    with Receiver(Script(statuses=[500], body=b"upstream down")) as dest:
        sqs = SqsSpy(stack.function("DeliverFunction").sqs)
        enqueue(stack, task("evt-500"))
        messages = receive(stack)
        response = run(stack, make_delivery(stack, config(dest.url), sqs=sqs), messages, lambda_context)
    # Then the item is reported failed, with the first scheduled delay (60 s +-10 %)
    assert failed(response) == {messages[0]["MessageId"]}
    [delay] = sqs.visibility
    assert 54 <= delay <= 66
    # And the message is not visible before that delay
    assert receive(stack) == []
    item = route_item(stack, "evt-500")
    assert item["status"] == "retrying"
    assert item["attempts"][0]["status_code"] == 500 and item["attempts"][0]["outcome"] == "retry"
    assert "HTTP 500: upstream down" in item["last_error"]
    assert item["next_attempt_at"] > time.time() + 50
    assert counted.names() == ["Retried"]


def test_retry_after_is_honoured(stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[429], headers={"Retry-After": "3600"})) as dest:
        sqs = SqsSpy(stack.function("DeliverFunction").sqs)
        enqueue(stack, task("evt-429"))
        response = run(stack, make_delivery(stack, config(dest.url), sqs=sqs), receive(stack), lambda_context)
    assert len(failed(response)) == 1
    assert sqs.visibility == [3600]


def test_after_the_last_retry_the_event_is_in_the_dlq_with_its_reason(stack: Any, lambda_context: Any,
                                                                      counted: Metrics) -> None:
    # Given a destination that keeps failing and the default schedule (3 retries)
    with Receiver(Script(statuses=[503], body=b"maintenance")) as dest:
        sqs = SqsSpy(stack.function("DeliverFunction").sqs)
        delivery = make_delivery(stack, config(dest.url, route=MAPPED_ROUTE), sqs=sqs)
        enqueue(stack, task("evt-dead"))
        # When it is attempted once and then after every scheduled delay
        for _ in range(4):
            messages = receive(stack)
            assert len(messages) == 1
            if failed(run(stack, delivery, messages, lambda_context)):
                make_visible(stack, messages)
        requests_made = len(dest.requests)
    # Then the delays followed the schedule and the fourth failure dead-lettered it
    assert requests_made == 4
    assert len(sqs.visibility) == 3
    assert all(0.9 * s <= d <= 1.1 * s for d, s in zip(sqs.visibility, (60, 300, 1800), strict=True))
    assert receive(stack) == []
    [dead] = dlq_messages(stack)
    a = attrs(dead)
    assert a["reason"] == "retries_exhausted"
    assert a["route"] == "orders-to-crm" and a["source"] == "shop" and a["event_id"] == "evt-dead"
    assert a["status_code"] == "503" and a["attempts"] == "4"
    assert a["last_error"] == "HTTP 503: maintenance"
    assert float(a["first_attempt_at"]) <= float(a["last_attempt_at"])
    assert json.loads(a["mapped_body"]) == {"order": "1001", "email": "ada@example.com", "total_cents": 4200}
    # The body is the task, ready for replay, counting the attempts made
    replay = DeliveryTask.model_validate_json(dead["Body"])
    assert replay.event_id == "evt-dead" and replay.prior_attempts == 4
    item = route_item(stack, "evt-dead")
    assert item["status"] == "dead" and item["reason"] == "retries_exhausted" and len(item["attempts"]) == 4
    assert counted.counts.count(("DeadLettered", "retries_exhausted")) == 1
    assert counted.names().count("Retried") == 3


def test_a_400_goes_to_the_dlq_without_retries(stack: Any, lambda_context: Any, counted: Metrics) -> None:
    with Receiver(Script(statuses=[400], body=b'{"error": "email is invalid"}')) as dest:
        sqs = SqsSpy(stack.function("DeliverFunction").sqs)
        enqueue(stack, task("evt-400"))
        response = run(stack, make_delivery(stack, config(dest.url), sqs=sqs), receive(stack), lambda_context)
        assert len(dest.requests) == 1
    # Acknowledged (not failed), no delay set, straight to the DLQ
    assert failed(response) == set()
    assert sqs.visibility == []
    assert receive(stack) == []
    [dead] = dlq_messages(stack)
    a = attrs(dead)
    assert (a["reason"], a["status_code"], a["attempts"]) == ("permanent_http", "400", "1")
    assert a["last_error"] == 'HTTP 400: {"error": "email is invalid"}'
    assert counted.counts == [("DeadLettered", "permanent_http")]


def test_each_route_retries_on_its_own(stack: Any, lambda_context: Any) -> None:
    # Given one event fanned out to two routes, one destination healthy, one failing
    with Receiver() as good, Receiver(Script(statuses=[500, 200])) as bad:
        cfg = config(good.url, extra_routes=[{"name": "orders-to-wh", "source": "shop", "destination": "wh"}],
                     extra_destinations={"wh": {"url": f"{bad.url}/b"}})
        delivery = make_delivery(stack, cfg)
        enqueue(stack, task("evt-fan", route="orders-to-crm"), task("evt-fan", route="orders-to-wh"))
        first = receive(stack)
        response = run(stack, delivery, first, lambda_context)
        assert len(failed(response)) == 1
        make_visible(stack, [m for m in first if m["MessageId"] in failed(response)])
        # When the failed route is retried
        second = receive(stack)
        assert [DeliveryTask.model_validate_json(m["Body"]).route for m in second] == ["orders-to-wh"]
        run(stack, delivery, second, lambda_context)
        # Then the healthy route was never sent again
        assert len(good.requests) == 1 and len(bad.requests) == 2
    assert route_item(stack, "evt-fan", "orders-to-crm")["status"] == "delivered"
    assert route_item(stack, "evt-fan", "orders-to-wh")["status"] == "delivered"


# ---------------------------------------------------------------- no double effects


def test_the_same_sqs_message_delivered_twice_gives_one_request(stack: Any, receiver: Receiver,
                                                                lambda_context: Any, counted: Metrics) -> None:
    delivery = make_delivery(stack, config(receiver.url))
    enqueue(stack, task("evt-twice"))
    messages = receive(stack)
    event = to_lambda_records(messages, stack.queue_arn, stack.region)
    # When SQS hands the very same message over twice (at-least-once delivery)
    first = delivery.handle(event, lambda_context)
    second = delivery.handle(event, lambda_context)
    # Then both copies are acknowledged and the destination saw one request
    assert failed(first) == failed(second) == set()
    assert len(receiver.requests) == 1
    assert counted.names() == ["Delivered", "DeliveryDeduplicated"]
    assert len(route_item(stack, "evt-twice")["attempts"]) == 1


def test_a_copy_arriving_while_the_first_is_sending_waits_and_sends_nothing(stack: Any,
                                                                           lambda_context: Any) -> None:
    with Receiver(Script(delay_seconds=0.5)) as dest:
        sqs = SqsSpy(stack.function("DeliverFunction").sqs)
        delivery = make_delivery(stack, config(dest.url), sqs=sqs)
        enqueue(stack, task("evt-race"))
        event = to_lambda_records(receive(stack), stack.queue_arn, stack.region)
        results: dict[str, Any] = {}
        slow = threading.Thread(target=lambda: results.setdefault("first", delivery.handle(event, lambda_context)))
        slow.start()
        dest.wait_for(1)
        # When a second copy is handled while the first request is in flight
        results["second"] = delivery.handle(event, lambda_context)
        slow.join()
        # Then the copy is put back briefly, with no request of its own
        assert failed(results["second"]) == {event["Records"][0]["messageId"]}
        assert sqs.visibility == [5]
        assert failed(results["first"]) == set()
        # And when it comes back, it is acknowledged without sending
        assert failed(delivery.handle(event, lambda_context)) == set()
        assert len(dest.requests) == 1


class Crash(BaseException):
    """The function dies (timeout, out of memory): nothing after this point runs."""


class CrashingClaims(RouteClaims):
    """Dies once, right after the write that completes the claim and logs the delivered attempt."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.armed = True

    def _update_record(self, data_record: Any) -> None:
        super()._update_record(data_record)
        if self.armed:
            self.armed = False
            raise Crash("killed right after the HTTP call was recorded")


def test_a_crash_after_the_http_call_gives_no_second_request(stack: Any, receiver: Receiver,
                                                             lambda_context: Any) -> None:
    fn = stack.function("DeliverFunction")
    delivery = make_delivery(stack, config(receiver.url),
                             persistence=CrashingClaims(fn.events_table, boto3_client=fn.ddb_client))
    enqueue(stack, task("evt-crash"))
    messages = receive(stack)
    # When the function dies after the destination answered 2xx (no batch response at all)
    with pytest.raises(Crash):
        delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
    assert len(receiver.requests) == 1
    # And SQS redelivers the message after its visibility timeout
    make_visible(stack, messages)
    again = receive(stack)
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    response = run(stack, delivery, again, lambda_context)
    # Then it is acknowledged, recorded as delivered, and no second request was made
    assert failed(response) == set()
    assert len(receiver.requests) == 1
    item = route_item(stack, "evt-crash")
    assert item["status"] == "delivered" and len(item["attempts"]) == 1
    assert receive(stack) == []


class CrashingSender(HttpSender):
    """Dies once, after the request went out but before its answer is recorded."""

    def __init__(self) -> None:
        super().__init__(SecretResolver())
        self.armed = True

    def send(self, *args: Any, **kwargs: Any) -> Any:
        # The short invocation below exists only to expire the in-progress record quickly.
        result = super().send(*args, **{**kwargs, "deadline": None})
        if self.armed:
            self.armed = False
            raise Crash("killed while the request was in flight")
        return result


def test_a_crash_during_the_http_call_sends_again_once_the_invocation_is_over(stack: Any, receiver: Receiver,
                                                                             lambda_context: Any) -> None:
    # At-least-once: a send that may not have completed is not lost; the destination's
    # Idempotency-Key lets it drop the copy.
    delivery = make_delivery(stack, config(receiver.url), sender=CrashingSender(), time_reserve_seconds=0)
    enqueue(stack, task("evt-midcrash"))
    messages = receive(stack)
    lambda_context.remaining_ms = 200
    with pytest.raises(Crash):
        delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
    assert len(receiver.requests) == 1
    time.sleep(0.3)  # the crashed invocation's time is up: its in-progress record has expired
    make_visible(stack, messages)
    lambda_context.remaining_ms = 30_000
    response = run(stack, delivery, receive(stack), lambda_context)
    assert failed(response) == set()
    assert len(receiver.requests) == 2
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"evt-midcrash:orders-to-crm"}
    assert route_item(stack, "evt-midcrash")["status"] == "delivered"


def test_a_failed_delivery_is_sent_again_on_retry(stack: Any, lambda_context: Any) -> None:
    # The idempotency record only remembers successes: a 5xx must not block the retry.
    with Receiver(Script(statuses=[502, 200])) as dest:
        delivery = make_delivery(stack, config(dest.url))
        enqueue(stack, task("evt-again"))
        messages = receive(stack)
        run(stack, delivery, messages, lambda_context)
        make_visible(stack, messages)
        response = run(stack, delivery, receive(stack), lambda_context)
        assert failed(response) == set()
        assert len(dest.requests) == 2
        assert dest.requests[0].headers["idempotency-key"] == dest.requests[1].headers["idempotency-key"]
    item = route_item(stack, "evt-again")
    assert item["status"] == "delivered" and [a["status_code"] for a in item["attempts"]] == [502, 200]


def test_a_timeout_is_retried(stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(delay_seconds=1.0)) as dest:
        enqueue(stack, task("evt-slow"))
        cfg = config(dest.url, dest={"timeout_seconds": 0.2})
        response = run(stack, make_delivery(stack, cfg), receive(stack), lambda_context)
    assert len(failed(response)) == 1
    item = route_item(stack, "evt-slow")
    assert item["status"] == "retrying" and item["attempts"][0]["status_code"] is None
    assert "timed out after 0.2 s" in item["last_error"]


def test_a_refused_connection_is_retried(stack: Any, lambda_context: Any) -> None:
    with Receiver() as closed:
        url = closed.url
    enqueue(stack, task("evt-refused"))
    response = run(stack, make_delivery(stack, config(url)), receive(stack), lambda_context)
    assert len(failed(response)) == 1
    assert "connection failed" in route_item(stack, "evt-refused")["last_error"]


def test_a_redirect_is_not_followed_and_is_permanent(stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[301], headers={"Location": "https://new.example.com/contacts"})) as dest:
        enqueue(stack, task("evt-moved"))
        run(stack, make_delivery(stack, config(dest.url)), receive(stack), lambda_context)
        assert len(dest.requests) == 1
    a = attrs(dlq_messages(stack)[0])
    assert (a["reason"], a["status_code"]) == ("permanent_http", "301")
    assert "redirect to https://new.example.com/contacts not followed" in a["last_error"]


# ---------------------------------------------------------------- signing and OAuth2


def test_a_signed_delivery_verifies_with_the_standardwebhooks_package(stack: Any, receiver: Receiver,
                                                                      lambda_context: Any) -> None:
    cfg = config(receiver.url, route=MAPPED_ROUTE, dest={"signing": {"secret": "env:SIGNING_SECRET"}})
    enqueue(stack, task("evt-signed"))
    run(stack, make_delivery(stack, cfg), receive(stack), lambda_context)
    [req] = receiver.requests
    payload = Webhook(SIGNING_SECRET).verify(req.body, req.headers)
    assert payload == {"order": "1001", "email": "ada@example.com", "total_cents": 4200}
    assert req.headers["webhook-id"] == req.headers["idempotency-key"] == "evt-signed:orders-to-crm"
    # A tampered body does not verify (the oracle is not trivially satisfied)
    with pytest.raises(Exception, match="signature"):
        Webhook(SIGNING_SECRET).verify(req.body.replace(b"1001", b"1002"), req.headers)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def oauth_sender(clock: Clock) -> HttpSender:
    secrets = SecretResolver()
    sender = HttpSender(secrets)
    sender.oauth = TokenCache(secrets, sender.session, clock=clock)
    return sender


class TokenServer(Receiver):
    """An OAuth2 token endpoint handing out tok-1, tok-2, ... (one new token per request)."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        super().__init__()

    @property  # type: ignore[override]
    def script(self) -> Script:
        body = {"access_token": f"tok-{len(self.requests)}", "token_type": "Bearer", "expires_in": self.expires_in}
        return Script(body=json.dumps(body).encode())

    @script.setter
    def script(self, value: Script) -> None:
        pass


def oauth_config(idp: Receiver, dest: Receiver) -> Any:
    return config(dest.url, dest={"oauth2": {"token_url": f"{idp.url}/oauth2/token", "client_id": "hookline",
                                             "client_secret": "env:CRM_CLIENT_SECRET", "scope": "api"}})


def test_oauth2_token_is_cached_across_deliveries_and_refreshed_after_expiry(stack: Any, lambda_context: Any) -> None:
    with TokenServer(expires_in=3600) as idp, Receiver() as dest:
        clock = Clock()
        delivery = make_delivery(stack, oauth_config(idp, dest), sender=oauth_sender(clock))
        # Given two batches (4 events) within the token's lifetime
        enqueue(stack, *(task(f"evt-o{i}") for i in range(3)))
        run(stack, delivery, receive(stack), lambda_context)
        clock.now += 1800
        enqueue(stack, task("evt-o3"))
        run(stack, delivery, receive(stack), lambda_context)
        # Then one token request served them all
        assert len(idp.requests) == 1
        form = dict(p.split("=", 1) for p in idp.requests[0].body.decode().split("&"))
        assert form == {"grant_type": "client_credentials", "client_id": "hookline",
                        "client_secret": CLIENT_SECRET, "scope": "api"}
        assert [r.headers["authorization"] for r in dest.requests] == ["Bearer tok-1"] * 4
        # When the token has expired, a new one is fetched
        clock.now += 1800
        enqueue(stack, task("evt-o4"))
        run(stack, delivery, receive(stack), lambda_context)
        assert len(idp.requests) == 2
        assert dest.requests[-1].headers["authorization"] == "Bearer tok-2"


def test_oauth2_401_refreshes_the_token_once_and_resends(stack: Any, lambda_context: Any) -> None:
    with TokenServer() as idp, Receiver(Script(statuses=[401, 200])) as dest:
        delivery = make_delivery(stack, oauth_config(idp, dest), sender=oauth_sender(Clock()))
        enqueue(stack, task("evt-401"))
        response = run(stack, delivery, receive(stack), lambda_context)
    assert failed(response) == set()
    assert len(idp.requests) == 2
    assert [r.headers["authorization"] for r in dest.requests] == ["Bearer tok-1", "Bearer tok-2"]
    assert route_item(stack, "evt-401")["status"] == "delivered"


def test_oauth2_a_second_401_is_permanent(stack: Any, lambda_context: Any) -> None:
    with TokenServer() as idp, Receiver(Script(statuses=[401])) as dest:
        delivery = make_delivery(stack, oauth_config(idp, dest), sender=oauth_sender(Clock()))
        enqueue(stack, task("evt-401x2"))
        run(stack, delivery, receive(stack), lambda_context)
        assert len(dest.requests) == 2 and len(idp.requests) == 2
    a = attrs(dlq_messages(stack)[0])
    assert (a["reason"], a["status_code"]) == ("permanent_http", "401")


def test_token_endpoint_failure_is_retried(stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[503], body=b'{"error": "temporarily_unavailable"}')) as idp, Receiver() as dest:
        cfg = config(dest.url, dest={"oauth2": {"token_url": f"{idp.url}/token", "client_id": "c",
                                                "client_secret": "env:CRM_CLIENT_SECRET"}})
        enqueue(stack, task("evt-idp"))
        response = run(stack, make_delivery(stack, cfg), receive(stack), lambda_context)
        assert len(failed(response)) == 1 and dest.requests == []
    item = route_item(stack, "evt-idp")
    assert item["status"] == "retrying"
    assert "temporarily_unavailable" in item["last_error"] and CLIENT_SECRET not in item["last_error"]


def test_secrets_echoed_by_a_destination_never_reach_the_dlq(stack: Any, lambda_context: Any) -> None:
    echo = f'{{"error": "bad request", "you_sent": "Authorization: Bearer {CRM_TOKEN}"}}'.encode()
    with Receiver(Script(statuses=[422], body=echo)) as dest:
        cfg = config(dest.url, dest={"headers": {"Authorization": "Bearer {secret:env:CRM_TOKEN}"}})
        enqueue(stack, task("evt-echo"))
        run(stack, make_delivery(stack, cfg), receive(stack), lambda_context)
    [dead] = dlq_messages(stack)
    assert CRM_TOKEN not in json.dumps(dead)
    assert "Bearer ***" in attrs(dead)["last_error"]


def test_a_header_secret_that_cannot_be_sent_is_a_config_problem(stack: Any, receiver: Receiver,
                                                                  lambda_context: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TOKEN", "line-one\nInjected: yes")
    cfg = config(receiver.url, dest={"headers": {"Authorization": "Bearer {secret:env:CRM_TOKEN}"}})
    enqueue(stack, task("evt-badhdr"))
    run(stack, make_delivery(stack, cfg), receive(stack), lambda_context)
    assert receiver.requests == []
    a = attrs(dlq_messages(stack)[0])
    assert a["reason"] == "config" and "Authorization" in a["last_error"]
    assert "Injected" not in a["last_error"]


# ---------------------------------------------------------------- mapping, schema drift, config


def test_a_mapping_error_is_permanent_and_names_field_path_and_type(stack: Any, receiver: Receiver,
                                                                    lambda_context: Any, counted: Metrics) -> None:
    enqueue(stack, task("evt-map", body={**ORDER, "total": "forty-two"}))
    response = run(stack, make_delivery(stack, config(receiver.url, route=MAPPED_ROUTE)), receive(stack),
                   lambda_context)
    assert failed(response) == set() and receiver.requests == []
    [dead] = dlq_messages(stack)
    a = attrs(dead)
    assert a["reason"] == "mapping" and "status_code" not in a
    assert "total_cents" in a["last_error"] and "body.total" in a["last_error"] and "str" in a["last_error"]
    assert ("DeadLettered", "mapping") in counted.counts and ("SchemaDrift", None) in counted.counts


SCHEMA = {"type": "object", "required": ["id", "customer"],
          "properties": {"id": {"type": "integer"},
                         "customer": {"type": "object", "required": ["email"],
                                      "properties": {"email": {"type": "string"}}}}}


def test_a_body_that_does_not_match_the_source_schema_is_quarantined(stack: Any, receiver: Receiver,
                                                                     lambda_context: Any, counted: Metrics) -> None:
    # Given a source schema, and an event whose sender changed shape
    cfg = config(receiver.url, route=MAPPED_ROUTE, source={"schema": SCHEMA})
    enqueue(stack, task("evt-drift", body={"id": "1001", "customer": {"mail": "ada@example.com"}, "total": 1}))
    response = run(stack, make_delivery(stack, cfg), receive(stack), lambda_context)
    # Then it is neither mapped nor delivered: DLQ with reason schema and the validation errors
    assert failed(response) == set() and receiver.requests == []
    [dead] = dlq_messages(stack)
    a = attrs(dead)
    assert a["reason"] == "schema"
    assert "sources.shop.schema" in a["last_error"]
    assert "$.customer: 'email' is a required property" in a["last_error"]
    assert "$.id: '1001' is not of type 'integer'" in a["last_error"]
    assert "mapped_body" not in a
    assert ("SchemaDrift", None) in counted.counts and ("DeadLettered", "schema") in counted.counts
    assert route_item(stack, "evt-drift")["reason"] == "schema"


def test_a_route_schema_file_relative_to_the_config_is_used(stack: Any, receiver: Receiver, lambda_context: Any,
                                                            tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "order.json").write_text(json.dumps(SCHEMA))
    cfg = config(receiver.url, route={"schema": "schemas/order.json"}, base_dir=tmp_path)
    delivery = make_delivery(stack, cfg, config_dir=tmp_path)
    enqueue(stack, task("evt-ok"), task("evt-bad", body={"id": 2}))
    run(stack, delivery, receive(stack), lambda_context)
    # The matching event was delivered, the other quarantined
    assert [r.json()["id"] for r in receiver.requests] == [1001]
    [dead] = dlq_messages(stack)
    assert attrs(dead)["event_id"] == "evt-bad" and attrs(dead)["reason"] == "schema"
    assert "routes[0].schema" in attrs(dead)["last_error"]


def test_many_schema_errors_are_summarised(stack: Any, receiver: Receiver, lambda_context: Any) -> None:
    schema = {"type": "object", "properties": {f"f{i}": {"type": "integer"} for i in range(12)}}
    cfg = config(receiver.url, source={"schema": schema})
    enqueue(stack, task("evt-many", body={f"f{i}": "x" * 200 for i in range(12)}))
    run(stack, make_delivery(stack, cfg), receive(stack), lambda_context)
    error = attrs(dlq_messages(stack)[0])["last_error"]
    assert len(error) <= 500 and error.startswith("body does not match sources.shop.schema: $.f0: ")
    more = re.search(r" \(\+(\d+) more\)$", error)
    assert more is not None
    assert error.count("$.f") + int(more.group(1)) == 12


def test_a_route_removed_from_the_config_dead_letters_with_reason_config(stack: Any, receiver: Receiver,
                                                                         lambda_context: Any) -> None:
    enqueue(stack, task("evt-gone", route="no-such-route"))
    run(stack, make_delivery(stack, config(receiver.url)), receive(stack), lambda_context)
    [dead] = dlq_messages(stack)
    assert attrs(dead)["reason"] == "config" and "no-such-route" in attrs(dead)["last_error"]
    assert receiver.requests == []


def test_a_missing_claim_check_dead_letters_with_reason_payload_missing(stack: Any, receiver: Receiver,
                                                                        lambda_context: Any) -> None:
    enqueue(stack, task("evt-nos3", s3_key="payloads/shop/expired"))
    run(stack, make_delivery(stack, config(receiver.url)), receive(stack), lambda_context)
    assert attrs(dlq_messages(stack)[0])["reason"] == "payload_missing"


def test_a_message_that_is_not_a_task_is_dead_lettered_verbatim(stack: Any, receiver: Receiver,
                                                                lambda_context: Any) -> None:
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody='{"hello": "world"}')
    response = run(stack, make_delivery(stack, config(receiver.url)), receive(stack), lambda_context)
    assert failed(response) == set()
    [dead] = dlq_messages(stack)
    assert dead["Body"] == '{"hello": "world"}'
    assert attrs(dead)["reason"] == "invalid_task"


# ---------------------------------------------------------------- concurrency and the handler


def test_a_batch_is_delivered_concurrently(stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(delay_seconds=0.3)) as dest:
        delivery = make_delivery(stack, config(dest.url))
        enqueue(stack, *(task(f"evt-c{i}") for i in range(10)))
        messages = receive(stack)
        assert len(messages) == 10
        started = time.perf_counter()
        response = run(stack, delivery, messages, lambda_context)
        elapsed = time.perf_counter() - started
        assert failed(response) == set() and len(dest.requests) == 10
    # Ten sequential round trips would take 3 s
    assert elapsed < 1.5


def test_mixed_batch_reports_only_the_failed_items(stack: Any, lambda_context: Any) -> None:
    with Receiver() as good, Receiver(Script(statuses=[500])) as bad:
        data = parse_config({
            "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:CRM_TOKEN"], "header": "X"}}},
            "destinations": {"good": {"url": good.url}, "bad": {"url": bad.url}},
            "routes": [{"name": "g", "source": "shop", "destination": "good"},
                       {"name": "b", "source": "shop", "destination": "bad"}],
        })
        enqueue(stack, task("e1", route="g"), task("e2", route="b"), task("e3", route="g"))
        messages = receive(stack)
        response = run(stack, make_delivery(stack, data), messages, lambda_context)
    bad_ids = {m["MessageId"] for m in messages if DeliveryTask.model_validate_json(m["Body"]).route == "b"}
    assert failed(response) == bad_ids


def test_the_deliver_lambda_handler(stack: Any, receiver: Receiver, lambda_context: Any,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from hookline import wiring

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("deliver_app", root / "functions" / "deliver" / "app.py")
    assert spec and spec.loader
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    settings = stack.settings
    monkeypatch.setattr(wiring, "_current", wiring.Services(settings, config=config(receiver.url)))
    enqueue(stack, task("evt-handler"))
    messages = receive(stack)
    with stack.run_as("DeliverFunction"):
        response = app.handler(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
    assert response == {"batchItemFailures": []}
    assert receiver.requests[0].headers["idempotency-key"] == "evt-handler:orders-to-crm"
