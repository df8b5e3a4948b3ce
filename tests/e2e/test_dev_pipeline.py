"""The whole pipeline through `hookline dev`: HTTP in, SQS, deliver, HTTP out to real local receivers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from hookline.ingress.signatures import sign
from hookline.validation import load_config
from tests.e2e.helpers import DevProcess, Pipeline, as_a_sender_retries, dev_env, free_port, report, write_config
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e

ISSUE = {"action": "opened", "issue": {"number": 42, "title": "Checkout times out", "user": {"login": "octocat"}},
         "repository": {"full_name": "acme/shop"}}


def post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body if method != "GET" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def send_github(p: Pipeline, event: str, delivery: str | None = None, payload: dict | None = None) -> tuple[int, Any]:
    delivery = delivery or str(uuid.uuid4())
    # Distinct events carry distinct bytes (GitHub's payloads have timestamps and ids): the same signed
    # bytes under another X-GitHub-Delivery are a replay, answered "duplicate".
    body = json.dumps({**(payload or ISSUE), "hook_id": delivery}).encode()
    verify = load_config(p.config).sources["github"].verify
    headers = sign(verify, "e2e-github-secret", body, msg_id=delivery)
    headers.update({"X-GitHub-Event": event, "Content-Type": "application/json"})
    return post(f"{p.dev.url}/webhooks/github", body, headers)


def requests_for(receiver: Receiver, key: str) -> list[Any]:
    return [r for r in receiver.requests if r.headers.get("idempotency-key") == key]


def wait_requests(receiver: Receiver, key: str, count: int, timeout: float = 15.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = requests_for(receiver, key)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{key}: expected {count} request(s), got {len(requests_for(receiver, key))}")


def test_signed_event_sent_with_hookline_send_is_delivered_with_the_mapped_body(pipeline: Pipeline,
                                                                               tmp_path: Path) -> None:
    # Given a payload file and `hookline send` run next to the running `hookline dev` (no --url, no --config)
    data = tmp_path / "issue.json"
    data.write_text(json.dumps(ISSUE))
    # When it is sent
    out = subprocess.run([sys.executable, "-m", "hookline.cli", "send", "github", "--data", str(data),
                          "--event", "ok"], cwd=pipeline.dev.cwd, env=dev_env(), capture_output=True, text=True,
                         timeout=30)
    # Then ingress accepted it, and the receiver got the mapped body once, with its Idempotency-Key
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("HTTP 202 ")
    event_id = json.loads(out.stdout.split(" ", 2)[2])["id"]
    [received] = wait_requests(pipeline.receivers["ok"], f"{event_id}:to-ok", 1)
    assert received.path == "/ok"
    assert received.json() == {"title": "Checkout times out", "number": "42"}
    assert received.headers["content-type"].startswith("application/json")
    # And the console told the story in one line each way
    pipeline.dev.wait_for(rf"← github {event_id} 202 accepted \(routes: to-ok\)")
    pipeline.dev.wait_for(rf"→ to-ok {event_id} attempt 1: 200 in \d+ ms")


def test_a_duplicate_is_acknowledged_and_delivered_once(pipeline: Pipeline) -> None:
    # Given an event that was accepted
    delivery = f"dup-{uuid.uuid4()}"
    assert send_github(pipeline, "ok", delivery) == (202, {"status": "accepted", "id": delivery})
    # When the sender sends the same delivery again (a copy before delivery has begun is told 409, in progress)
    status, body = as_a_sender_retries(lambda: send_github(pipeline, "ok", delivery), lambda answer: answer[0])
    # Then it is answered as a duplicate and delivered exactly once
    assert (status, body) == (200, {"status": "duplicate", "id": delivery})
    wait_requests(pipeline.receivers["ok"], f"{delivery}:to-ok", 1)
    time.sleep(2.5)  # a second delivery would have happened by now (batching window 1 s)
    assert len(requests_for(pipeline.receivers["ok"], f"{delivery}:to-ok")) == 1


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(pipeline: Pipeline) -> None:
    # Given a destination answering 500, 500, then 200, and a retry schedule of [1, 1] seconds
    delivery = f"flaky-{uuid.uuid4()}"
    # When an event is routed to it
    assert send_github(pipeline, "flaky", delivery)[0] == 202
    # Then the same request arrives three times and the third one is delivered
    got = wait_requests(pipeline.receivers["flaky"], f"{delivery}:to-flaky", 3, timeout=20)
    assert len({r.body for r in got}) == 1
    assert got[1].at - got[0].at >= 0.9
    pipeline.dev.wait_for(rf"→ to-flaky {delivery} attempt 1: 500 in \d+ ms, retry in 1 s")
    pipeline.dev.wait_for(rf"→ to-flaky {delivery} attempt 3: 200 in \d+ ms, delivered")


def test_an_always_failing_receiver_leaves_the_event_in_the_dlq(pipeline: Pipeline) -> None:
    # Given a destination that always answers 500
    delivery = f"broken-{uuid.uuid4()}"
    # When an event is routed to it
    assert send_github(pipeline, "broken", delivery)[0] == 202
    # Then after the first attempt and both retries it is dead-lettered
    wait_requests(pipeline.receivers["broken"], f"{delivery}:to-broken", 3, timeout=20)
    pipeline.dev.wait_for(rf"→ to-broken {delivery} attempt 3: 500 in \d+ ms, dead-lettered: retries_exhausted",
                          timeout=10)
    # And `hookline dlq list` finds it through the running dev (no flags, no AWS account)
    out = subprocess.run([sys.executable, "-m", "hookline.cli", "dlq", "list", "--json"], cwd=pipeline.dev.cwd,
                         env=dev_env(), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    [entry] = [e for e in json.loads(out.stdout) if e["id"] == delivery]
    assert entry["route"] == "to-broken"
    assert entry["reason"] == "retries_exhausted"
    assert entry["attempts"] == 3


def test_api_gateway_answers_what_api_gateway_answers(pipeline: Pipeline) -> None:
    url = pipeline.dev.url
    # No route for the method or the path: API Gateway's own 404
    assert post(f"{url}/webhooks/github", b"", {}, method="PUT") == (404, {"message": "Not Found"})
    # GET is routed (handshakes): a source whose provider makes none answers 404 itself
    assert post(f"{url}/webhooks/github", b"", {}, method="GET") == (404, {"error": "not found"})
    assert post(f"{url}/elsewhere", b"{}", {"Content-Type": "application/json"}) == (404, {"message": "Not Found"})
    # Routed, but the function says no: unknown source, bad signature
    status, body = post(f"{url}/webhooks/nope", b"{}", {"Content-Type": "application/json"})
    assert (status, body) == (404, {"error": "not found"})  # the detail is in the log, not the answer
    status, body = post(f"{url}/webhooks/github", b"{}", {"Content-Type": "application/json",
                                                          "X-Hub-Signature-256": "sha256=00"})
    assert status == 401 and "error" in body


def test_ctrl_c_stops_everything_and_removes_the_state_file(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # Given a running `hookline dev` with the demo CRM
    receivers = {"ok": Receiver()}
    config = write_config(tmp_path, receivers)
    crm_port, port = free_port(), free_port()
    dev = DevProcess(tmp_path, config, port, "--demo-crm", str(crm_port))
    try:
        seconds = dev.wait_ready()
        report(request, f"hookline dev (second start, with the demo CRM): ready in {seconds:.2f} s")
        state = dev.state()
        assert state["outputs"]["WebhookUrl"] == f"http://127.0.0.1:{port}/webhooks/"
        assert state["endpoint_url"].startswith("http://127.0.0.1:")
        assert state["config"] == str(config.resolve())
        assert {"DeliveryQueueUrl", "DeadLetterQueueUrl", "EventsTableName", "RecordsTableName"} <= set(
            state["outputs"])
        assert post(f"http://127.0.0.1:{crm_port}/contacts", b'{"a": 1}', {"Content-Type": "application/json"}) \
            == (200, {"ok": True})
        dev.wait_for(r'CRM received POST /contacts: \{"a": 1\}')
    finally:
        # When Ctrl-C is pressed
        code, took = dev.interrupt()
    # Then it exits 0 promptly and leaves no state behind
    assert code == 0, dev.output()
    assert took < 2.5, f"took {took:.2f} s to stop"
    assert not (tmp_path / ".hookline" / "dev.json").exists()
