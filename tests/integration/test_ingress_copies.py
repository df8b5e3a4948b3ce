"""Copies of recorded events (moto, template tables): a copy's body must be the recorded one, and signed bytes
stay "once" for `replay_guard_days` on sources whose signature carries no timestamp."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest

from hookline.adapters.aws.stores import GUARD_ITEM
from hookline.core.ports import EVENT_ITEM
from hookline.ingress import ingress as ingress_module
from hookline.ingress.ingress import Ingress
from hookline.ingress.signatures import sign
from hookline.validation import parse_config
from tests.integration.test_ingress import Clock, delivery_began, queued
from tests.support.moto_ingress import make_ingress

SECRET = "copies-test-secret"
DAY = 24 * 3600
WINDOW = 7 * DAY  # the default idempotency window

CONFIG = {
    "sources": {
        "github": {"verify": {"scheme": "github", "secrets": ["env:COPIES_SECRET"]}},
        # id = the body's SHA-256 (signed), no timestamp: the record is keyed on the bytes themselves
        "plain": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:COPIES_SECRET"], "header": "X-Sig"}},
        "stripe": {"verify": {"scheme": "stripe", "secrets": ["env:COPIES_STRIPE"]}},
        "short": {"verify": {"scheme": "github", "secrets": ["env:COPIES_SECRET"]}, "replay_guard_days": 10},
    },
    "destinations": {"crm": {"url": "http://127.0.0.1:9/x"}},
    "routes": [{"name": f"{s}-r", "source": s, "destination": "crm"} for s in ("github", "plain", "stripe", "short")],
}
STRIPE_SECRET = "whsec_copies_test"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPIES_SECRET", SECRET)
    monkeypatch.setenv("COPIES_STRIPE", STRIPE_SECRET)


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    monkeypatch.setattr(ingress_module, "count", lambda name, reason=None, value=1: names.append(name))
    return names


def make(stack: Any, clock: Clock, threshold: int = 200 * 1024) -> Ingress:
    return make_ingress(stack, parse_config(CONFIG), clock=clock, large_body_threshold=threshold)


def request(source: str, payload: dict, delivery: str | None = None, at: float | None = None) -> tuple[dict, bytes]:
    body = json.dumps(payload).encode()
    cfg = parse_config(CONFIG).sources[source].verify
    secret = STRIPE_SECRET if cfg.scheme == "stripe" else SECRET
    headers = {k.lower(): v for k, v in sign(cfg, secret, body, msg_id=delivery, now=at).items()}
    headers.update({"x-github-event": "issues", "content-type": "application/json"})
    return headers, body


def event_record(stack: Any, event_id: str) -> dict[str, Any]:
    return stack.ddb.Table(stack.events_table).get_item(Key={"event_id": event_id, "route": EVENT_ITEM})["Item"]


# ---------------------------------------------------------------- a copy's body is the recorded one


def test_a_different_body_under_a_recorded_id_is_refused_and_never_replaces_the_stored_body(
        stack: Any, metrics: list[str], logs: io.StringIO) -> None:
    # Given a GitHub event whose body went to S3 (claim check), queued, and delivery not begun yet
    clock = Clock()
    ingress = make(stack, clock, threshold=1024)
    headers, body = request("github", {"issue": {"number": 1, "text": "original " * 200}}, delivery="d-swap")
    assert ingress.accept("github", headers, body).status == 202
    [task] = queued(stack)
    assert stack.s3.get_object(Bucket=stack.bucket, Key=task.s3_key)["Body"].read() == body
    # When, after the first invocation's queueing window (queue_by) and before delivery's first claim, a
    # different body validly signed by the sender (another capture) arrives under the same X-GitHub-Delivery
    clock.now += 31
    other_headers, other = request("github", {"issue": {"number": 2, "text": "attacker " * 200}}, delivery="d-swap")
    resp = ingress.accept("github", other_headers, other)
    # Then it is refused (not a duplicate), with a plain message; counted and logged without the body
    assert resp.status == 409 and resp.body.get("status") != "duplicate"
    assert "different body" in resp.body["error"] and "d-swap" in resp.body["error"]
    assert "ConflictingCopy" in metrics and "Duplicate" not in metrics
    log = logs.getvalue()
    assert "d-swap" in log and "different body" in log
    assert "attacker" not in log and "original" not in log and SECRET not in log
    # And nothing was queued, the stored body is the first one, the record untouched
    assert queued(stack) == []
    assert stack.s3.get_object(Bucket=stack.bucket, Key=task.s3_key)["Body"].read() == body
    assert "duplicates" not in event_record(stack, "d-swap")
    # And the sender's own copy (the same bytes) is still queued by a late copy, as before (crash recovery)
    assert ingress.accept("github", headers, body).status == 200
    [again] = queued(stack)
    assert stack.s3.get_object(Bucket=stack.bucket, Key=again.s3_key)["Body"].read() == body


def test_a_different_body_is_refused_at_every_stage_of_the_recorded_event(stack: Any, metrics: list[str]) -> None:
    # Given a recorded GitHub event
    clock = Clock()
    ingress = make(stack, clock)
    headers, body = request("github", {"issue": {"number": 3}}, delivery="d-stages")
    assert ingress.accept("github", headers, body).status == 202
    queued(stack)
    other_headers, other = request("github", {"issue": {"number": 4}}, delivery="d-stages")
    # While the first invocation may still be queueing, after queue_by, and once delivery has begun: never queued
    assert ingress.accept("github", other_headers, other).status == 409
    clock.now += 31
    assert ingress.accept("github", other_headers, other).status == 409
    delivery_began(stack, "d-stages", "github-r")
    assert ingress.accept("github", other_headers, other).status == 409
    assert queued(stack) == [] and metrics.count("ConflictingCopy") == 3
    # While the same bytes remain a duplicate
    assert ingress.accept("github", headers, body).body == {"status": "duplicate", "id": "d-stages"}


def test_the_digest_rides_in_the_one_conditional_write(stack: Any) -> None:
    # Given the ingress role's client with its requests counted
    fn = stack.function("IngressFunction")
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    fn.ddb_client.meta.events.register("before-call.dynamodb", count)
    try:
        ingress = make(stack, Clock())
        stripe_at = ingress.deps.clock()
        for source, payload, delivery in (("github", {"n": 1}, "d-digest"), ("stripe", {"id": "evt_digest"}, None)):
            headers, body = request(source, payload, delivery=delivery, at=stripe_at)
            calls.clear()
            assert ingress.accept(source, headers, body).status == 202
            # Then one write request each (a transaction with the guard, or a PutItem), and the digest is on `#event`
            assert calls == (["TransactWriteItems"] if source == "github" else ["PutItem"])
    finally:
        fn.ddb_client.meta.events.unregister("before-call.dynamodb", count)
    for event_id in ("d-digest", "evt_digest"):
        assert event_record(stack, event_id)["body_sha256"].startswith("sha256:")


# ---------------------------------------------------------------- the replay guard outlives the window


def test_a_capture_replayed_under_a_new_id_is_refused_for_replay_guard_days(stack: Any) -> None:
    # Given a GitHub delivery accepted and delivered
    clock = Clock()
    ingress = make(stack, clock)
    headers, body = request("github", {"issue": {"number": 5}}, delivery="d-cap")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-cap", "github-r")
    queued(stack)
    # When the captured request is replayed 8 days later (past the 7-day idempotency window) under a new id
    clock.now += 8 * DAY
    replay = dict(headers, **{"x-github-delivery": "d-cap-8"})
    resp = ingress.accept("github", replay, body)
    # Then it is refused as a copy of the original: answered with the original's id, never queued
    assert (resp.status, resp.body) == (200, {"status": "duplicate", "id": "d-cap"})
    # and so is the capture under its own id, its record older than the window
    assert ingress.accept("github", headers, body).body == {"status": "duplicate", "id": "d-cap"}
    assert queued(stack) == []
    # When it is replayed 91 days after the first reception (past replay_guard_days, 90): accepted again
    clock.now += 83 * DAY
    late = ingress.accept("github", dict(headers, **{"x-github-delivery": "d-cap-91"}), body)
    assert (late.status, late.body) == (202, {"status": "accepted", "id": "d-cap-91"})
    assert [t.event_id for t in queued(stack)] == ["d-cap-91"]
    # And the guard now refers to that reception, for another 90 days
    guards = [i for i in stack.ddb.Table(stack.events_table).scan()["Items"] if i["route"] == GUARD_ITEM
              and i["event_ref"] in ("d-cap", "d-cap-91")]
    assert [(g["event_ref"], float(g["received_at"])) for g in guards] == [("d-cap-91", clock.now)]
    assert int(guards[0]["expires_at"]) >= clock.now + 90 * DAY - 1


def test_the_idempotency_window_still_governs_duplicates_of_an_id(stack: Any) -> None:
    clock = Clock()
    ingress = make(stack, clock)
    headers, body = request("github", {"issue": {"number": 6}}, delivery="d-win")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-win", "github-r")
    queued(stack)
    # Within the window, another body under the id is a conflicting copy (not a duplicate, not queued)
    clock.now += WINDOW - 60
    second_headers, second = request("github", {"issue": {"number": 7}}, delivery="d-win")
    assert ingress.accept("github", second_headers, second).status == 409
    # After the window, the id is free: the sender's new event under a reused key is accepted
    clock.now += 120
    assert ingress.accept("github", second_headers, second).body == {"status": "accepted", "id": "d-win"}
    assert [t.event_id for t in queued(stack)] == ["d-win"]
    # and within the window of that reception, it is the duplicate
    delivery_began(stack, "d-win", "github-r")
    clock.now += DAY
    assert ingress.accept("github", second_headers, second).body == {"status": "duplicate", "id": "d-win"}
    assert queued(stack) == []


def test_a_source_without_a_timestamp_and_with_a_signed_id_is_guarded_as_long(stack: Any) -> None:
    # Given an hmac-sha256 source whose id is the body's hash (signed, but no timestamp limits a replay)
    clock = Clock()
    ingress = make(stack, clock)
    headers, body = request("plain", {"order": 8})
    first = ingress.accept("plain", headers, body)
    assert first.status == 202
    queued(stack)
    # When the capture comes back after the idempotency window: refused; after replay_guard_days: accepted
    clock.now += 30 * DAY
    assert ingress.accept("plain", headers, body).body == {"status": "duplicate", "id": first.body["id"]}
    assert queued(stack) == []
    clock.now += 61 * DAY
    assert ingress.accept("plain", headers, body).status == 202


def test_replay_guard_days_is_set_per_source(stack: Any) -> None:
    clock = Clock()
    ingress = make(stack, clock)
    headers, body = request("short", {"issue": {"number": 9}}, delivery="d-short")
    assert ingress.accept("short", headers, body).status == 202
    queued(stack)
    clock.now += 9 * DAY
    assert ingress.accept("short", dict(headers, **{"x-github-delivery": "d-short-9"}), body).status == 200
    clock.now += 2 * DAY
    assert ingress.accept("short", dict(headers, **{"x-github-delivery": "d-short-11"}), body).status == 202


def replays_at_once(ingress: Ingress, headers: dict, body: bytes, tag: str, n: int = 10) -> list[Any]:
    barrier = threading.Barrier(n)
    answers: list[Any] = []

    def post(i: int) -> None:
        barrier.wait()
        answers.append(ingress.accept("github", dict(headers, **{"x-github-delivery": f"{tag}-{i}"}), body))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_concurrent_replays_are_refused_in_the_guard_and_accepted_once_after_it(stack: Any) -> None:
    # Given a delivered GitHub event
    clock = Clock()
    ingress = make(stack, clock)
    headers, body = request("github", {"issue": {"number": 10}}, delivery="d-many")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-many", "github-r")
    queued(stack)
    # When ten threads replay it at once, each under a new id, 8 days later: none is queued
    clock.now += 8 * DAY
    answers = replays_at_once(ingress, headers, body, "d-8")
    assert {a.status for a in answers} <= {200, 409} and queued(stack) == []
    assert [a.body for a in answers if a.status == 200] == [{"status": "duplicate", "id": "d-many"}] * sum(
        a.status == 200 for a in answers)
    # When ten threads replay it at once 91 days later: exactly one is accepted, the others are its copies
    clock.now += 83 * DAY
    answers = replays_at_once(ingress, headers, body, "d-91")
    accepted = [a.body["id"] for a in answers if a.status == 202]
    assert len(accepted) == 1 and {a.status for a in answers} <= {202, 200, 409}
    assert [t.event_id for t in queued(stack)] == accepted


def test_a_copy_after_seconds_minutes_hours_and_days_until_each_window_ends(stack: Any) -> None:
    # Given a delivered GitHub event, and the clock moved forward from its reception
    clock = Clock()
    ingress = make(stack, clock)
    headers, body = request("github", {"issue": {"number": 11}}, delivery="d-aging")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-aging", "github-r")
    queued(stack)
    start = clock.now
    replay = dict(headers, **{"x-github-delivery": "d-aging-new"})
    other_headers, other = request("github", {"issue": {"number": 11}, "edited": True}, delivery="d-aging")
    for elapsed in (1, 60, 3600, 6 * 3600, WINDOW - 1, WINDOW + 1, 30 * DAY, 90 * DAY - 1):
        clock.now = start + elapsed
        # Then the same bytes are the recorded event, under its id and under a new one, until replay_guard_days
        assert ingress.accept("github", headers, body).body == {"status": "duplicate", "id": "d-aging"}, elapsed
        assert ingress.accept("github", replay, body).body == {"status": "duplicate", "id": "d-aging"}, elapsed
        # and other bytes under its id are refused while the idempotency window lasts
        if elapsed < WINDOW:
            assert ingress.accept("github", other_headers, other).status == 409, elapsed
    assert queued(stack) == []
    # When the id is reused for other bytes after the window: a new event; the old capture is still refused
    assert ingress.accept("github", other_headers, other).status == 202
    assert [t.event_id for t in queued(stack)] == ["d-aging"]
    assert ingress.accept("github", replay, body).body == {"status": "duplicate", "id": "d-aging"}
    # And once replay_guard_days have passed since the first reception, the capture is a new event again
    clock.now = start + 90 * DAY + 1
    assert ingress.accept("github", replay, body).body == {"status": "accepted", "id": "d-aging-new"}
    assert [t.event_id for t in queued(stack)] == ["d-aging-new"]
