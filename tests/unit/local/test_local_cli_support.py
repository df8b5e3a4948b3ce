"""Env files, `hookline send`'s request, the demo CRM's line and the console's lines."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from hookline.commands.send import build_request, target_url
from hookline.ingress.signatures import verify
from hookline.local.console import Console
from hookline.local.demo_crm import describe
from hookline.local.envfile import EnvFileError, default_env_file, load_env_file, parse_env_file
from hookline.local.gateway import Exchange, Route
from hookline.local.poller import BatchResult
from hookline.validation import parse_config


def test_env_file_parsing(tmp_path: Path) -> None:
    f = tmp_path / "demo.env"
    f.write_text("# comment\n\nA=1\nexport B = two words \nC='quoted'\nD=\"x=y\"\n")
    assert parse_env_file(f) == {"A": "1", "B": "two words", "C": "quoted", "D": "x=y"}
    f.write_text("not a pair\n")
    with pytest.raises(EnvFileError, match=":1:"):
        parse_env_file(f)


def test_exported_variables_win_over_the_file(tmp_path: Path) -> None:
    f = tmp_path / "demo.env"
    f.write_text("A=file\nB=file\n")
    env = {"A": "shell"}
    assert load_env_file(f, env) == (["B"], ["A"])
    assert env == {"A": "shell", "B": "file"}


def test_default_env_file_is_demo_env_next_to_the_config(tmp_path: Path) -> None:
    config = tmp_path / "hookline.yaml"
    assert default_env_file(config) is None
    (tmp_path / "demo.env").write_text("A=1\n")
    assert default_env_file(config) == (tmp_path / "demo.env").resolve()


CFG = parse_config({
    "sources": {
        "github": {"verify": {"scheme": "github", "secrets": ["env:X"]}},
        "stripe": {"verify": {"scheme": "stripe", "secrets": ["env:X"]}},
        "sw": {"verify": {"scheme": "standard-webhooks", "secrets": ["env:X"]}},
    },
    "destinations": {"d": {"url": "http://127.0.0.1:9/x"}},
    "routes": [{"name": "r", "source": "github", "destination": "d"}],
})


def test_send_signs_like_the_sender_and_adds_its_headers() -> None:
    body = b'{"issue": {"number": 1}}'
    headers = build_request(CFG.sources["github"].verify, "s3cret", body, event=None, msg_id=None,
                            content_type="application/json", extra=["X-Extra: yes"])
    assert headers["X-GitHub-Event"] == "issues" and headers["X-Extra"] == "yes"
    assert len(headers["X-GitHub-Delivery"]) == 36
    verify(CFG.sources["github"].verify, ["s3cret"], headers, body)
    again = build_request(CFG.sources["github"].verify, "s3cret", body, event="ping", msg_id="d-1",
                          content_type="application/json", extra=[])
    assert again["X-GitHub-Event"] == "ping" and again["X-GitHub-Delivery"] == "d-1"
    sw_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    for name, secret in (("stripe", "whsec_abc"), ("sw", sw_secret)):
        h = build_request(CFG.sources[name].verify, secret, body, event=None, msg_id=None,
                          content_type="application/json", extra=[])
        verify(CFG.sources[name].verify, [secret], h, body)
    with pytest.raises(ValueError, match="Name: value"):
        build_request(CFG.sources["github"].verify, "s", body, event=None, msg_id=None, content_type="x",
                      extra=["nocolon"])


def test_send_url_defaults() -> None:
    assert target_url(None, {}, "github") == "http://127.0.0.1:3000/webhooks/github"
    assert target_url(None, {"ingress_url": "http://127.0.0.1:4000/webhooks/"}, "github") == \
        "http://127.0.0.1:4000/webhooks/github"
    assert target_url("https://abc.execute-api.us-east-1.amazonaws.com/webhooks/", {}, "stripe") == \
        "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/stripe"
    assert target_url("http://h/exact", {"ingress_url": "http://x/"}, "github") == "http://h/exact"


def test_demo_crm_line() -> None:
    assert describe("POST", "/contacts", b'{"title": "Bug", "number": "42"}') == \
        'CRM received POST /contacts: {"title": "Bug", "number": "42"}'
    assert describe("POST", "/contacts", b"plain") == "CRM received POST /contacts: plain"


# ---------------------------------------------------------------- console


class FakeEvents:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def get(self, event_id: str) -> list[dict[str, Any]]:
        return [i for i in self.items if i["event_id"] == event_id]


class Inv:
    ok = True
    error_trace = ""
    duration_ms = 3.0

    def describe_error(self) -> str:
        return ""


def lines(console: Console) -> list[str]:
    return [line.split(" ", 1)[1] for line in console.out.getvalue().splitlines()]  # type: ignore[attr-defined]


def test_console_request_lines() -> None:
    events = FakeEvents([{"event_id": "d-1", "route": "#event", "routes": ["issues-to-crm"]}])
    console = Console(events, io.StringIO())
    route = Route("POST", "/webhooks/{source}", object())  # type: ignore[arg-type]
    console.request(Exchange("POST", "/webhooks/github", 202, b'{"status": "accepted", "id": "d-1"}', 12.3, route,
                             {"source": "github"}))
    console.request(Exchange("POST", "/webhooks/github", 401, b'{"error": "bad signature"}', 2, route,
                             {"source": "github"}))
    console.request(Exchange("GET", "/nope", 404, b'{"message": "Not Found"}', 0.1))
    assert lines(console) == [
        "← github d-1 202 accepted (routes: issues-to-crm) 12 ms",
        "← github 401 rejected: bad signature 2 ms",
        "← GET /nope 404 Not Found",
    ]


def test_console_prints_each_new_attempt_once() -> None:
    item = {"event_id": "d-1", "route": "r", "status": "retrying", "next_attempt_at": 9e18, "attempts": [
        {"at": 1, "status_code": 500, "latency_ms": 12.4, "error": "HTTP 500", "outcome": "retry"}]}
    console = Console(FakeEvents([item]), io.StringIO())
    record = {"messageId": "m", "body": json.dumps({"event_id": "d-1", "route": "r"})}
    console.batch("DeliverFunction", BatchResult([record], Inv(), failed_ids={"m"}))
    console.batch("DeliverFunction", BatchResult([record], Inv(), failed_ids={"m"}))  # nothing new
    item["attempts"].append({"at": 2, "status_code": 200, "latency_ms": 3, "error": None, "outcome": "delivered"})
    item["status"] = "delivered"
    console.batch("DeliverFunction", BatchResult([record], Inv()))
    out = lines(console)
    assert len(out) == 2
    assert out[0].startswith("→ r d-1 attempt 1: 500 in 12 ms, retry in ")
    assert out[1] == "→ r d-1 attempt 2: 200 in 3 ms, delivered"


def test_console_dead_letter_line() -> None:
    item = {"event_id": "d-2", "route": "r", "status": "dead", "reason": "permanent_http", "attempts": [
        {"at": 1, "status_code": 404, "latency_ms": 5, "error": "HTTP 404", "outcome": "permanent"}]}
    console = Console(FakeEvents([item]), io.StringIO())
    console.batch("DeliverFunction", BatchResult([{"messageId": "m", "body": json.dumps(
        {"event_id": "d-2", "route": "r"})}], Inv()))
    assert lines(console) == ["→ r d-2 attempt 1: 404 in 5 ms, dead-lettered: permanent_http"]


def test_console_shows_the_retry_delay_delivery_chose_even_when_it_reads_the_item_late() -> None:
    # Delivery chose a 1 s retry; the console reads the item 0.6 s later (a loaded machine)
    item = {"event_id": "d-1", "route": "r", "status": "retrying", "next_attempt_at": time.time() + 0.4,
            "attempts": [{"at": 1, "status_code": 500, "latency_ms": 5, "error": "HTTP 500", "outcome": "retry",
                          "retry_in": 1}]}
    console = Console(FakeEvents([item]), io.StringIO())
    record = {"messageId": "m", "body": json.dumps({"event_id": "d-1", "route": "r"})}
    console.batch("DeliverFunction", BatchResult([record], Inv(), failed_ids={"m"}))
    assert lines(console) == ["→ r d-1 attempt 1: 500 in 5 ms, retry in 1 s"]
